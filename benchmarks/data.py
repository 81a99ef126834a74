"""Data-loading throughput next to what training consumes; prints one JSON object.

Decoded + augmented samples per second (one sample = one A and one B image, a 256x256 crop
each) from 1024x768 JPEGs, with 0 and 2 workers, with and without ``--cache``, and in the same
run the samples per second one training step consumes (the real trainer at its default
precision, 9-block generators, batch 1, 256x256). The target: with 2 workers, loading delivers
at least 5x what training consumes, so it is never the bottleneck.

    python benchmarks/data.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from speed import seconds, step_function

from stylecycle.config import Config, DataConfig, ModelConfig, TrainConfig
from stylecycle.data.demo import TRAIN_PHOTOS, load_photo
from stylecycle.data.io import save_pil
from stylecycle.data.styles import poster
from stylecycle.training.trainer import Trainer

JPEG_SIZE = (1024, 768)


def write_jpegs(root: Path, per_domain: int) -> Path:
    """Real photographs, scaled to 1024x768 at varied offsets, as JPEG; B stylised."""
    photos = [load_photo(name).resize((1400, 1050)) for name in TRAIN_PHOTOS]
    for i in range(per_domain):
        photo = photos[i % len(photos)]
        x, y = (37 * i) % (photo.width - JPEG_SIZE[0]), (23 * i) % (photo.height - JPEG_SIZE[1])
        crop = photo.crop((x, y, x + JPEG_SIZE[0], y + JPEG_SIZE[1]))
        save_pil(crop, root / "trainA" / f"{i:03d}.jpg", quality=90)
        save_pil(poster(crop), root / "trainB" / f"{i:03d}.jpg", quality=90)
    return root


def endless(trainer: Trainer):
    """The trainer's batches, epoch after epoch, as its run loop draws them."""
    epoch = 0
    while True:
        trainer.sampler.set_epoch(epoch)
        yield from trainer.loader
        epoch += 1


def loader_samples_per_s(data_root: Path, run_dir: Path, *, workers: int, cache: bool, samples: int) -> dict:
    config = Config(
        data=DataConfig(root=data_root, size=256, load_size=286, workers=workers, cache=cache),
        model=ModelConfig(ngf=8, ndf=8, n_blocks=1),  # the networks are not used here
        train=TrainConfig(run_dir=run_dir, device="cpu", max_steps=1),
    )
    started = time.perf_counter()
    trainer = Trainer(config)
    setup_s = time.perf_counter() - started
    loader = endless(trainer)
    next(loader)  # worker start-up is paid once per run (the workers persist), not per sample
    started = time.perf_counter()
    for _ in range(samples):
        next(loader)
    return {
        "workers": workers,
        "cache": cache,
        "samples_per_s": round(samples / (time.perf_counter() - started), 2),
        "setup_s": round(setup_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and no training step: a smoke run")
    args = parser.parse_args()
    per_domain, samples = (8, 16) if args.quick else (40, 80)
    with tempfile.TemporaryDirectory() as tmp:
        data_root = write_jpegs(Path(tmp) / "data", per_domain)
        loading = [
            loader_samples_per_s(data_root, Path(tmp) / "run", workers=workers, cache=cache, samples=samples)
            for cache in (False, True)
            for workers in (0, 2)
        ]
        result = {"jpeg_size": list(JPEG_SIZE), "crop": 256, "images_per_domain": per_domain, "loading": loading}
        if not args.quick:
            step = step_function("stylecycle_default", data_root, Path(tmp) / "speed", 256)
            step()  # warm-up
            training = 1 / statistics.median(seconds(step, 3))
            two_workers = next(r["samples_per_s"] for r in loading if r["workers"] == 2 and not r["cache"])
            result["training_samples_per_s"] = round(training, 3)
            result["loading_over_training_2_workers_no_cache"] = round(two_workers / training, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
