"""Does the CPU default (bf16 autocast where the hardware has it, channels-last) train as well as fp32? Prints JSON.

Trains the demo recipe (as ``make demo`` does, on freshly built demo data) for the same number
of steps at fp32 (NCHW) and with the defaults, for several seeds, and reports per run: the seconds taken, the
mean training cycle loss over the last quarter of the steps, the cycle loss of the final
networks on the held-out test images (both directions, evaluated in fp32, so the measurement
itself is the same for both), and PSNR/SSIM of the translated test photographs against their
known true stylisation. GAN training is chaotic: different seeds of the same precision differ
too, so the comparison is of means over seeds, with the fp32 seeds' spread beside it.

    python benchmarks/precision_quality.py [--steps 400] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from stylecycle.config import Config, DataConfig, LossConfig, ModelConfig, TrainConfig
from stylecycle.data.demo import build_demo_dataset
from stylecycle.data.io import read_image, read_pil
from stylecycle.evaluation import paired_scores
from stylecycle.inference import Translator
from stylecycle.losses import reconstruction_loss
from stylecycle.training.trainer import Trainer

# name: (precision, channels_last)
CONTENDERS = {"fp32": ("fp32", False), "default": ("auto", None)}


def demo_config(data_root: Path, run_dir: Path, steps: int, name: str, seed: int) -> Config:
    """The Makefile's DEMO_FLAGS, as a config."""
    return Config(
        data=DataConfig(root=data_root, size=96, load_size=112, workers=0),
        model=ModelConfig(generator="resnet_6blocks", ngf=32, ndf=32, n_layers_d=2, global_skip=True),
        loss=LossConfig(lambda_identity=0.0),
        train=TrainConfig(
            run_dir=run_dir,
            max_steps=steps,
            sample_every=0,
            device="cpu",
            precision=CONTENDERS[name][0],
            channels_last=CONTENDERS[name][1],
            seed=seed,  # type: ignore[arg-type]
        ),
    )


def held_out_cycle_loss(final: Path, data_root: Path) -> float:
    """Mean L1 cycle loss (x10, as trained) of the final networks over testA and testB, in fp32."""
    there = {d: Translator.from_checkpoint(final, direction=d, device="cpu", precision="fp32") for d in ("a2b", "b2a")}
    losses = []
    for folder, first, second in (("testA", "a2b", "b2a"), ("testB", "b2a", "a2b")):
        for path in sorted((data_root / folder).glob("*.png")):
            image = read_image(path)
            back = there[second].translate(there[first].translate(image))
            losses.append(10.0 * reconstruction_loss("l1", back, image).item())
    return statistics.mean(losses)


def train_and_score(data_root: Path, run_dir: Path, steps: int, name: str, seed: int) -> dict:
    trainer = Trainer(demo_config(data_root, run_dir, steps, name, seed))
    cycle, step = [], trainer.train_step

    def recording_step(real_a: torch.Tensor, real_b: torch.Tensor):
        losses = step(real_a, real_b)
        cycle.append((losses["cycle_a"] + losses["cycle_b"]).item())
        return losses

    trainer.train_step = recording_step  # type: ignore[method-assign]
    started = time.perf_counter()
    final = trainer.run()
    seconds = time.perf_counter() - started
    translator = Translator.from_checkpoint(final, device="cpu", precision=CONTENDERS[name][0], channels_last=CONTENDERS[name][1])  # type: ignore[arg-type]
    per_image = []
    for photo in sorted((data_root / "testA").glob("*.png")):
        per_image.append(paired_scores(translator.translate(read_pil(photo)), read_pil(data_root / "testB" / photo.name)))
    return {
        "seconds": round(seconds, 1),
        "train_cycle_loss_last_quarter": round(statistics.mean(cycle[-max(1, steps // 4) :]), 4),
        "held_out_cycle_loss": round(held_out_cycle_loss(final, data_root), 4),
        "test_psnr": round(statistics.mean(s["psnr"] for s in per_image), 3),
        "test_ssim": round(statistics.mean(s["ssim"] for s in per_image), 4),
    }


def summary(runs: list[dict], key: str) -> dict:
    values = [run[key] for run in runs]
    return {"mean": round(statistics.mean(values), 4), "min": min(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    result: dict = {"steps": args.steps, "seeds": args.seeds}
    with tempfile.TemporaryDirectory() as tmp:
        data_root = build_demo_dataset(Path(tmp) / "data")
        for name in CONTENDERS:
            runs = [train_and_score(data_root, Path(tmp) / f"{name}_{seed}", args.steps, name, seed) for seed in args.seeds]
            result[name] = {
                "runs": runs,
                **{key: summary(runs, key) for key in ("seconds", "train_cycle_loss_last_quarter", "held_out_cycle_loss", "test_psnr")},
            }
    for key in ("train_cycle_loss_last_quarter", "held_out_cycle_loss"):
        result[f"default_{key}_relative_to_fp32"] = round(result["default"][key]["mean"] / result["fp32"][key]["mean"], 3)
    result["default_speedup"] = round(result["fp32"]["seconds"]["mean"] / result["default"]["seconds"]["mean"], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
