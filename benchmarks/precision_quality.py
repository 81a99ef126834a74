"""Does bf16 autocast (the CPU default where the hardware has it) train as well as fp32? Prints JSON.

Trains the demo recipe (as ``make demo`` does, on freshly built demo data) for the same number
of steps with the same seed at fp32 and at bf16, and reports for each the seconds taken, the
mean cycle loss over the last quarter of the steps, and PSNR/SSIM of the translated held-out
test photographs against their known true stylisation.

    python benchmarks/precision_quality.py [--steps 400]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from demo_quality import scores
from stylecycle.config import Config, DataConfig, LossConfig, ModelConfig, TrainConfig
from stylecycle.data.demo import build_demo_dataset
from stylecycle.data.io import read_image, tensor_to_pil
from stylecycle.inference import Translator
from stylecycle.training.trainer import Trainer


def demo_config(data_root: Path, run_dir: Path, steps: int, precision: str, seed: int) -> Config:
    """The Makefile's DEMO_FLAGS, as a config."""
    return Config(
        data=DataConfig(root=data_root, size=96, load_size=112, workers=0),
        model=ModelConfig(ngf=32, ndf=32, n_blocks=6, n_layers_d=2, global_skip=True),
        loss=LossConfig(lambda_identity=0.0),
        train=TrainConfig(run_dir=run_dir, max_steps=steps, sample_every=0, device="cpu", precision=precision, seed=seed),  # type: ignore[arg-type]
    )


def train_and_score(data_root: Path, run_dir: Path, steps: int, precision: str, seed: int) -> dict:
    trainer = Trainer(demo_config(data_root, run_dir, steps, precision, seed))
    cycle, step = [], trainer.train_step

    def recording_step(real_a, real_b):
        losses = step(real_a, real_b)
        cycle.append((losses["cycle_a"] + losses["cycle_b"]).item())
        return losses

    trainer.train_step = recording_step
    started = time.perf_counter()
    final = trainer.run()
    seconds = time.perf_counter() - started
    translator = Translator.from_checkpoint(final, device="cpu", precision=precision)  # type: ignore[arg-type]
    per_image = []
    for photo in sorted((data_root / "testA").glob("*.png")):
        output = np.asarray(tensor_to_pil(translator.translate(read_image(photo))))
        per_image.append(scores(output, np.asarray(Image.open(data_root / "testB" / photo.name).convert("RGB"))))
    return {
        "seconds": round(seconds, 1),
        "mean_cycle_loss_last_quarter": round(statistics.mean(cycle[-max(1, steps // 4):]), 4),
        "test_psnr": round(statistics.mean(s["psnr"] for s in per_image), 3),
        "test_ssim": round(statistics.mean(s["ssim"] for s in per_image), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_root = build_demo_dataset(Path(tmp) / "data")
        result = {p: train_and_score(data_root, Path(tmp) / p, args.steps, p) for p in ("fp32", "bf16")}
    fp32, bf16 = result["fp32"]["mean_cycle_loss_last_quarter"], result["bf16"]["mean_cycle_loss_last_quarter"]
    result["steps"] = args.steps
    result["bf16_cycle_loss_relative_to_fp32"] = round(bf16 / fp32, 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
