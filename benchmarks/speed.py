"""Training and translation speed, and peak training memory; prints one JSON object.

The baseline is a plain eager fp32 CycleGAN step written the way the reference
implementation writes it (six separate generator calls, real and fake through each
discriminator separately), over the very same networks and losses. Both are timed in this
run, alternating, so machine noise hits both alike.

    python benchmarks/speed.py            # full measurement (several minutes on 2 CPU cores)
    python benchmarks/speed.py --quick    # smaller sizes, a smoke run
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from stylecycle.config import Config, DataConfig, ModelConfig, TrainConfig
from stylecycle.data.demo import build_demo_dataset
from stylecycle.losses import adversarial_loss, reconstruction_loss
from stylecycle.model import CycleGAN
from stylecycle.training.trainer import Trainer


def plain_eager_step(model: CycleGAN, opt_g, opt_d, pool_a, pool_b, real_a, real_b) -> None:
    """The reference implementation's step: every network call on its own."""
    lam, lam_idt = model.lambda_cycle, model.lambda_cycle * model.lambda_identity
    model.discriminators().requires_grad_(False)
    fake_b, fake_a = model.G_ab(real_a), model.G_ba(real_b)
    rec_a, rec_b = model.G_ba(fake_b), model.G_ab(fake_a)
    idt_a, idt_b = model.G_ba(real_a), model.G_ab(real_b)
    loss_g = (
        adversarial_loss("lsgan", model.D_b(fake_b), True)
        + adversarial_loss("lsgan", model.D_a(fake_a), True)
        + lam * (reconstruction_loss("l1", rec_a, real_a) + reconstruction_loss("l1", rec_b, real_b))
        + lam_idt * (reconstruction_loss("l1", idt_a, real_a) + reconstruction_loss("l1", idt_b, real_b))
    )
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    model.discriminators().requires_grad_(True)
    loss_d = 0.0
    for disc, real, fake in ((model.D_a, real_a, pool_a.query(fake_a)), (model.D_b, real_b, pool_b.query(fake_b))):
        loss_d = loss_d + 0.5 * (
            adversarial_loss("lsgan", disc(real), True) + adversarial_loss("lsgan", disc(fake.detach()), False)
        )
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()


def trainer_on(data_root: Path, run_dir: Path, size: int) -> Trainer:
    """The real trainer, reference-sized networks (9 blocks, width 64), on real images."""
    torch.manual_seed(0)
    config = Config(
        data=DataConfig(root=data_root, size=size, load_size=size, workers=0),
        model=ModelConfig(n_blocks=9),
        train=TrainConfig(run_dir=run_dir, device="cpu", max_steps=1000),
    )
    return Trainer(config)


def seconds(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def training_speed(data_root: Path, run_dir: Path, size: int, repeats: int) -> dict:
    trainer = trainer_on(data_root, run_dir, size)
    batch = next(iter(trainer.loader))
    real_a, real_b = batch["a"], batch["b"]

    def ours() -> None:
        trainer.train_step(real_a, real_b)

    def plain() -> None:
        plain_eager_step(trainer.model, trainer.opt_g, trainer.opt_d, trainer.pool_a, trainer.pool_b, real_a, real_b)

    ours(), plain()  # warm-up: allocator, oneDNN primitive caches
    ours_times, plain_times = [], []
    for _ in range(repeats):  # alternate, so drifts in machine load hit both alike
        ours_times += seconds(ours, 1)
        plain_times += seconds(plain, 1)
    ours_s, plain_s = statistics.median(ours_times), statistics.median(plain_times)
    return {
        "size": size,
        "batch_size": 1,
        "n_blocks": 9,
        "steps_timed_each": repeats,
        "stylecycle_images_per_s": round(1 / ours_s, 3),
        "plain_eager_fp32_images_per_s": round(1 / plain_s, 3),
        "speedup": round(plain_s / ours_s, 3),
    }


def peak_training_memory_mib(data_root: Path, run_dir: Path, size: int) -> float:
    """Peak resident memory of the real ``stylecycle train`` command taking a few steps."""
    command = [
        sys.executable, "-m", "stylecycle.cli", "train", "--data", str(data_root), "--run-dir", str(run_dir),
        "--size", str(size), "--load-size", str(size), "--max-steps", "3", "--workers", "0", "--device", "cpu",
    ]
    subprocess.run(command, check=True, capture_output=True)
    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


def translation_seconds(size: int, repeats: int) -> float:
    torch.manual_seed(0)
    generator = CycleGAN(ModelConfig(n_blocks=9)).G_ab.eval()
    image = torch.rand(1, 3, size, size) * 2 - 1
    with torch.no_grad():
        generator(image)
        return round(statistics.median(seconds(lambda: generator(image), repeats)), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats: a smoke run")
    args = parser.parse_args()
    train_size, memory_size, translate_size, repeats = (64, 64, 256, 2) if args.quick else (128, 256, 1024, 5)
    with tempfile.TemporaryDirectory() as tmp:
        data_root = build_demo_dataset(Path(tmp) / "data", train_per_domain=8, side=max(train_size, memory_size))
        result = {
            "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(), "torch": torch.__version__},
            "training": training_speed(data_root, Path(tmp) / "speed", train_size, repeats),
            "peak_training_memory": {
                "size": memory_size,
                "batch_size": 1,
                "n_blocks": 9,
                "rss_mib": peak_training_memory_mib(data_root, Path(tmp) / "memory", memory_size),
            },
            "translation": {"size": translate_size, "n_blocks": 9, "seconds": translation_seconds(translate_size, max(1, repeats // 2))},
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
