"""Where the quality benchmark's decibels are: what a colour mapping can score at most, and what
the styles' spatial half (patches, lines) is worth. No training; about 20 seconds on 2 cores,
most of it building the three datasets.

For each style, the held-out test photographs are scored against their truth (Δ PSNR above the
untouched photo, and SSIM) as translated by:

- ``colour transfer``: the colour transfer between the two training folders alone (what
  ``--colour-init transfer`` starts the colour tables from, before any training);
- ``best colour mapping``: a 17^3 table fitted to the test answers themselves (each cell the mean
  of the true colours of the photo colours that fall in it). No pointwise translation — a colour
  table, a grade, any colour-only model — scores higher; it needs the answers, so no model gets it;
- ``spatial steps + colour transfer``: the style's own spatial steps (its patches and lines,
  exactly as its filter draws them), coloured by the transfer. A model that learned the spatial
  half perfectly but the colours only as well as the transfer would score this;
- ``patches, no lines + colour transfer``: the same without the style's lines (the grade has
  none): what its lines are worth.

    python benchmarks/headroom.py --output benchmarks/results/headroom
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from stylecycle.colour_transfer import start_from_transfer
from stylecycle.config import ModelConfig
from stylecycle.data.demo import build_demo_dataset
from stylecycle.data.io import pil_to_uint8, read_pil
from stylecycle.data.styles import STYLES, kuwahara, outline, poster_ink, poster_patches, self_guided, to_array, to_image
from stylecycle.evaluation import paired_scores
from stylecycle.model import build_generator

TABLE_SIZE = 17
Colour = Callable[[np.ndarray], np.ndarray]  # H x W x 3 in [0, 1], recoloured


def colour_transfer(data_root: Path) -> Colour:
    """The untrained colour table that ``--colour-init transfer`` starts from, on the folders' images as they are."""
    table = build_generator(ModelConfig(generator="lut", lut_size=TABLE_SIZE))
    images = {domain: [pil_to_uint8(read_pil(p)) for p in sorted((data_root / f"train{domain.upper()}").glob("*.png"))] for domain in "ab"}
    start_from_transfer({"G_ab": table}, images, seed=0)

    @torch.no_grad()
    def apply(x: np.ndarray) -> np.ndarray:
        image = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None] * 2 - 1
        return ((table(image)[0].permute(1, 2, 0) + 1) / 2).numpy()

    return apply


def best_colour_mapping(photos: list[np.ndarray], truths: list[np.ndarray]) -> list[np.ndarray]:
    """Each photo recoloured by the table of mean true colours per cell of photo colour, fitted on all of them."""
    cells = [
        np.clip(np.round(x * (TABLE_SIZE - 1)).astype(int), 0, TABLE_SIZE - 1) @ np.array([TABLE_SIZE**2, TABLE_SIZE, 1]) for x in photos
    ]
    sums, counts = np.zeros((TABLE_SIZE**3, 3)), np.zeros(TABLE_SIZE**3)
    for cell, truth in zip(cells, truths, strict=True):
        np.add.at(sums, cell.ravel(), truth.reshape(-1, 3))
        np.add.at(counts, cell.ravel(), 1)
    table = sums / np.maximum(counts, 1)[:, None]
    return [table[cell] for cell in cells]


def poster_steps(photo: Image.Image, colour: Colour) -> tuple[np.ndarray, np.ndarray]:
    patches = poster_patches(photo)
    return colour(to_array(patches)), poster_ink(patches)


def grade_steps(photo: Image.Image, colour: Colour) -> tuple[np.ndarray, np.ndarray]:
    return colour(self_guided(to_array(photo))), np.ones((1, 1, 1))  # the grade draws no lines


def paint_steps(photo: Image.Image, colour: Colour) -> tuple[np.ndarray, np.ndarray]:
    painted = colour(kuwahara(to_array(photo), 6))
    return painted, outline(painted)


# Each style's spatial steps (from data.styles), with ``colour`` in place of its colour steps: its
# coloured patches, and its lines as the multiplier that draws them on the patches.
SPATIAL_STEPS: dict[str, Callable[[Image.Image, Colour], tuple[np.ndarray, np.ndarray]]] = {
    "poster": poster_steps,
    "grade": grade_steps,
    "paint": paint_steps,
}


def scored(translations: list[np.ndarray], truths: list[Image.Image]) -> dict[str, float]:
    scores = [paired_scores(to_image(t), truth) for t, truth in zip(translations, truths, strict=True)]
    return {"psnr": round(statistics.mean(s["psnr"] for s in scores), 2), "ssim": round(statistics.mean(s["ssim"] for s in scores), 3)}


def headroom(style: str, data_root: Path) -> dict[str, dict[str, float]]:
    names = [p.name for p in sorted((data_root / "testA").glob("*.png"))]
    photos, truths = [read_pil(data_root / "testA" / n) for n in names], [read_pil(data_root / "testB" / n) for n in names]
    arrays, colour = [to_array(p) for p in photos], colour_transfer(data_root)
    steps = [SPATIAL_STEPS[style](p, colour) for p in photos]
    return {
        "untouched photo": scored(arrays, truths),
        "colour transfer": scored([colour(x) for x in arrays], truths),
        "best colour mapping": scored(best_colour_mapping(arrays, [to_array(t) for t in truths]), truths),
        "patches, no lines + colour transfer": scored([patches for patches, _ in steps], truths),
        "spatial steps + colour transfer": scored([patches * lines for patches, lines in steps], truths),
    }


def markdown(result: dict[str, dict[str, dict[str, float]]]) -> str:
    styles = list(result)
    lines = ["| translation | " + " | ".join(f"{s}: Δ PSNR (SSIM)" for s in styles) + " |", "|---|" + "---:|" * len(styles)]
    for row in result[styles[0]]:
        cells = [f"{result[s][row]['psnr'] - result[s]['untouched photo']['psnr']:+.2f} ({result[s][row]['ssim']:.3f})" for s in styles]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    photo = ", ".join(f"{s} {result[s]['untouched photo']['psnr']:.2f} dB" for s in styles)
    return "\n".join([*lines, "", f"Δ against the untouched photo ({photo})."])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", nargs="+", choices=list(STYLES), default=list(STYLES))
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/headroom"), help="folder for table.md")
    args = parser.parse_args()
    result = {}
    for style in args.styles:
        with tempfile.TemporaryDirectory() as tmp:
            result[style] = headroom(style, build_demo_dataset(Path(tmp) / "data", style=style))
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "table.md").write_text(markdown(result) + "\n")
    print(markdown(result))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
