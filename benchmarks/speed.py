"""Training and translation speed, and peak training memory; prints one JSON object.

The baseline is a plain eager fp32 CycleGAN step written the way the reference
implementation writes it (six generator calls in one graph, real and fake through each
discriminator separately), over the very same networks and losses. It is timed in this run,
round-robin with stylecycle's step at its default precision and at fp32, so machine noise hits
all of them alike. Peak memory is each contender's own process (import, model, two steps).

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
from collections.abc import Callable
from pathlib import Path

import torch

from stylecycle.config import Config, DataConfig, ModelConfig, TrainConfig
from stylecycle.data.demo import build_demo_dataset
from stylecycle.losses import adversarial_loss, reconstruction_loss
from stylecycle.inference import Translator
from stylecycle.model import CycleGAN, build_generator
from stylecycle.precision import resolve_precision
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


def trainer_on(data_root: Path, run_dir: Path, size: int, precision: str) -> Trainer:
    """The real trainer, reference-sized networks (9 blocks, width 64), on real images."""
    torch.manual_seed(0)
    config = Config(
        data=DataConfig(root=data_root, size=size, load_size=size, workers=0),
        model=ModelConfig(n_blocks=9),
        train=TrainConfig(run_dir=run_dir, device="cpu", max_steps=1000, precision=precision),  # type: ignore[arg-type]
    )
    return Trainer(config)


# name: (precision, whether the step is the plain eager baseline's)
CONTENDERS = {"stylecycle_default": ("auto", False), "stylecycle_fp32": ("fp32", False), "plain_eager_fp32": ("fp32", True)}


def step_function(name: str, data_root: Path, run_dir: Path, size: int) -> Callable[[], None]:
    """One training step of a contender, on its own freshly seeded trainer and the same real batch."""
    precision, plain = CONTENDERS[name]
    trainer = trainer_on(data_root, run_dir, size, precision)
    batch = next(iter(trainer.loader))
    real_a, real_b = batch["a"], batch["b"]
    if plain:
        return lambda: plain_eager_step(trainer.model, trainer.opt_g, trainer.opt_d, trainer.pool_a, trainer.pool_b, real_a, real_b)
    return lambda: trainer.train_step(real_a, real_b)


def seconds(fn: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def training_speed(data_root: Path, run_dir: Path, size: int, repeats: int) -> dict:
    steps = {name: step_function(name, data_root, run_dir, size) for name in CONTENDERS}
    for step in steps.values():
        step()  # warm-up: allocator, oneDNN primitive caches
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):  # round-robin, so drifts in machine load hit every contender alike
        for name, step in steps.items():
            times[name] += seconds(step, 1)
    rates = {name: 1 / statistics.median(t) for name, t in times.items()}
    plain = rates["plain_eager_fp32"]
    return {
        "size": size,
        "batch_size": 1,
        "n_blocks": 9,
        "steps_timed_each": repeats,
        "images_per_s": {name: round(rate, 3) for name, rate in rates.items()},
        "speedup_over_plain_eager_fp32": {name: round(rate / plain, 3) for name, rate in rates.items() if name != "plain_eager_fp32"},
    }


def peak_memory_mib(data_root: Path, run_dir: Path, size: int, contender: str) -> float:
    """Peak resident memory of a fresh process that builds the trainer and takes two steps."""
    command = [sys.executable, __file__, "--probe-memory", contender, "--probe-size", str(size), "--probe-data", str(data_root), "--probe-run", str(run_dir)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return round(float(out.strip().splitlines()[-1]), 1)


def own_peak_rss_mib() -> float:
    """This process's peak resident memory. Linux's VmHWM starts afresh at exec, whereas
    ru_maxrss is inherited from the parent at fork and would report the benchmark's own peak."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def probe_memory(args: argparse.Namespace) -> None:
    step = step_function(args.probe_memory, args.probe_data, args.probe_run, args.probe_size)
    step(), step()
    print(own_peak_rss_mib())


def translation_seconds(size: int, repeats: int) -> dict[str, float]:
    """Seconds to translate one size x size image with the 9-block generator, per precision."""
    torch.manual_seed(0)
    generator = build_generator(ModelConfig(n_blocks=9))
    image = torch.rand(3, size, size) * 2 - 1
    result = {}
    for precision in ("fp32", "auto"):
        translator = Translator(generator, "cpu", precision)  # type: ignore[arg-type]
        translator.translate(image)  # warm-up
        result[f"{translator.precision}{' (default)' if precision == 'auto' else ''}"] = round(
            statistics.median(seconds(lambda: translator.translate(image), repeats)), 3
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats: a smoke run")
    parser.add_argument("--probe-memory", help=argparse.SUPPRESS)
    parser.add_argument("--probe-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--probe-data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe-run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe_memory:
        return probe_memory(args)

    train_size, memory_size, translate_size, repeats = (64, 64, 256, 2) if args.quick else (128, 256, 1024, 5)
    with tempfile.TemporaryDirectory() as tmp:
        data_root = build_demo_dataset(Path(tmp) / "data", train_per_domain=8, side=max(train_size, memory_size))
        result = {
            "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(), "torch": torch.__version__},
            "default_precision_here": resolve_precision("auto", torch.device("cpu")),
            "training": training_speed(data_root, Path(tmp) / "speed", train_size, repeats),
            "peak_training_memory_mib": {
                "size": memory_size,
                "batch_size": 1,
                "n_blocks": 9,
                **{name: peak_memory_mib(data_root, Path(tmp) / "memory", memory_size, name) for name in CONTENDERS},
            },
            "translation_seconds": {"size": translate_size, "n_blocks": 9, **translation_seconds(translate_size, max(1, repeats // 2))},
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
