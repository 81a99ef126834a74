"""How well a demo run learned the style, on the demo's task with a known answer; prints JSON.

The demo's testB/ holds the true stylisation of each testA/ photograph under the same name, so
PSNR and SSIM of the translated photographs against it measure the learned style. The identity
baseline (the untranslated photograph scored against the truth) is printed beside it: a model
that learned anything must beat it. Optionally writes a comparison sheet (photo / translation /
truth) such as the README's ``docs/demo.png``.

    make demo && python benchmarks/demo_quality.py data/demo runs/demo/translated --sheet docs/demo.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

SHEET_HEIGHT = 160


def scores(output: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {
        "psnr": float(peak_signal_noise_ratio(truth, output, data_range=255)),
        "ssim": float(structural_similarity(truth, output, channel_axis=2, data_range=255)),
    }


def comparison_sheet(rows: list[list[Image.Image]], path: Path) -> None:
    """One column per test image; rows scaled to a common height, white gutters between."""
    def scaled(image: Image.Image) -> Image.Image:
        return image.resize((round(image.width * SHEET_HEIGHT / image.height), SHEET_HEIGHT), Image.Resampling.LANCZOS)

    rows = [[scaled(image) for image in row] for row in rows]
    gap = 4
    width = sum(image.width for image in rows[0]) + gap * (len(rows[0]) - 1)
    sheet = Image.new("RGB", (width, len(rows) * SHEET_HEIGHT + gap * (len(rows) - 1)), "white")
    for r, row in enumerate(rows):
        x = 0
        for image in row:
            sheet.paste(image, (x, r * (SHEET_HEIGHT + gap)))
            x += image.width + gap
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the demo dataset (with testA/ and testB/)")
    parser.add_argument("translated", type=Path, help="folder of translated testA images (PNG, same stems)")
    parser.add_argument("--sheet", type=Path, help="also write a comparison sheet PNG here")
    args = parser.parse_args()

    per_image, photos, outputs, truths = {}, [], [], []
    for photo_path in sorted((args.data / "testA").glob("*.png")):
        photo, truth = (np.asarray(Image.open(p).convert("RGB")) for p in (photo_path, args.data / "testB" / photo_path.name))
        output = np.asarray(Image.open(args.translated / photo_path.name).convert("RGB"))
        per_image[photo_path.stem] = {"translated": scores(output, truth), "identity_baseline": scores(photo, truth)}
        photos.append(Image.fromarray(photo)), outputs.append(Image.fromarray(output)), truths.append(Image.fromarray(truth))
    mean = {
        kind: {metric: round(float(np.mean([s[kind][metric] for s in per_image.values()])), 4) for metric in ("psnr", "ssim")}
        for kind in ("translated", "identity_baseline")
    }
    print(json.dumps({"mean": mean, "per_image": per_image}, indent=2))
    if args.sheet:
        comparison_sheet([photos, outputs, truths], args.sheet)


if __name__ == "__main__":
    main()
