"""Where the quality benchmark's decibels are: what a colour mapping can score at most, and what
the styles' spatial half (patches, lines) is worth. No training; about five minutes on 2 cores.

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
  none): what its lines are worth;
- ``stage's patches + best colour mapping``: the abstraction stage's own smoothing (the photo, or
  one of its operators — a Kuwahara radius, the bilateral filter —, whichever scores best) under the best colour mapping:
  what a generator made of that stage and a colour table can score at most, without lines;
- ``stage's patches and lines + best colour mapping``: the whole stage (patches and lines) at its
  best fixed settings (one operator, a line strength and threshold from a grid) under the best
  colour mapping: what that stage and a colour table can score at most with its lines;
- ``stage's patches + truths' own colour transfer``: the same patches, coloured by the colour
  transfer from their colours to the test truths' own (the same contents, no pairs): as close as
  matching colour distributions can come, which is what a model trained without pairs does.

With ``--checkpoint RUN`` (a run trained on the one style of ``--styles``, on the data
``stylecycle make-benchmark`` builds for it), the run's translation and its generator's parts
scored apart: its abstraction stage under the best colour mapping, its stage and colour table
without the network, its colour table alone, and the style's own spatial steps coloured by its
colour table. Together they say whether a trained model's colours or its spatial half fall short.

    python benchmarks/headroom.py --output benchmarks/results/headroom
    python benchmarks/headroom.py --styles poster --checkpoint runs/poster --output /tmp/poster_run
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from stylecycle.colour_transfer import start_from_transfer
from stylecycle.config import ModelConfig
from stylecycle.data.demo import build_demo_dataset
from stylecycle.data.io import pil_to_uint8, read_pil
from stylecycle.data.styles import (
    STYLES,
    bilateral,
    kuwahara,
    outline,
    poster_ink,
    poster_patches,
    self_guided,
    to_array,
    to_image,
    xdog_lines,
)
from stylecycle.evaluation import paired_scores
from stylecycle.inference import Translator
from stylecycle.model import build_generator
from stylecycle.nn.abstraction import AbstractionStage

TABLE_SIZE = 17
LINE_STRENGTHS = (0.25, 0.5, 0.75, 0.95)  # the grid of the stage's line settings that headroom tries
LINE_THRESHOLDS = (0.06, 0.08, 0.12, 0.18, 0.25)  # above the stage's floor, 0.05
Colour = Callable[[np.ndarray], np.ndarray]  # H x W x 3 in [0, 1] in, the same out: recoloured or filtered


def applied(network: Callable[[torch.Tensor], torch.Tensor]) -> Colour:
    """``network`` (a [-1, 1] image in, one out: a colour table, a filter) as a function of H x W x 3 arrays in [0, 1]."""

    @torch.no_grad()
    def apply(x: np.ndarray) -> np.ndarray:
        return as_array(network(as_tensor(x)))

    return apply


def as_tensor(x: np.ndarray) -> torch.Tensor:
    """An H x W x 3 array in [0, 1] as the networks take it: 1 x 3 x H x W in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).permute(2, 0, 1)[None] * 2 - 1


def as_array(image: torch.Tensor) -> np.ndarray:
    return ((image[0].permute(1, 2, 0).float() + 1) / 2).clamp(0.0, 1.0).numpy()


def colour_transfer(images_a: list[torch.Tensor], images_b: list[torch.Tensor]) -> Colour:
    """The untrained colour table that ``--colour-init transfer`` computes between two folders of
    (uint8, C x H x W) images: what the colour stages start from."""
    table = build_generator(ModelConfig(generator="lut", lut_size=TABLE_SIZE))
    start_from_transfer({"G_ab": table}, {"a": images_a, "b": images_b}, seed=0)
    return applied(table)


def as_uint8(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)).permute(2, 0, 1)


def stage_patches(x: np.ndarray) -> dict[str, np.ndarray]:
    """The abstraction stage's smoothing operators (:meth:`AbstractionStage.smoothings`), each
    alone, applied to one H x W x 3 photo in [0, 1]: by the operator's name ("photo", "radius 2", "bilateral", ...)."""
    stage = AbstractionStage()
    with torch.no_grad():
        return {name: as_array(operated) for name, operated in zip(stage.operator_names(), stage.smoothings(as_tensor(x)), strict=True)}


def stage_lines(strength: float, threshold: float) -> Colour:
    """The stage's lines alone (:meth:`AbstractionStage.inked`), ``strength`` dark above edges of
    ``threshold``: applied to one of :func:`stage_patches`' outputs, the stage set by hand to one
    operator and its lines."""
    stage = AbstractionStage()
    stage.set_lines(strength, threshold)
    return applied(stage.inked)


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


def comic_steps(photo: Image.Image, colour: Colour) -> tuple[np.ndarray, np.ndarray]:
    smooth = bilateral(bilateral(to_array(photo)))
    return colour(smooth), xdog_lines(smooth)


# Each style's spatial steps (from data.styles), with ``colour`` in place of its colour steps: its
# coloured patches, and its lines as the multiplier that draws them on the patches.
SPATIAL_STEPS: dict[str, Callable[[Image.Image, Colour], tuple[np.ndarray, np.ndarray]]] = {
    "poster": poster_steps,
    "grade": grade_steps,
    "paint": paint_steps,
    "comic": comic_steps,
}


def scored(translations: list[np.ndarray], truths: list[Image.Image]) -> dict[str, float]:
    scores = [paired_scores(to_image(t), truth) for t, truth in zip(translations, truths, strict=True)]
    return {"psnr": round(statistics.mean(s["psnr"] for s in scores), 2), "ssim": round(statistics.mean(s["ssim"] for s in scores), 3)}


def decomposed(style: str, checkpoint: Path, photos: list[Image.Image], truths: list[Image.Image]) -> dict[str, dict[str, Any]]:
    """A trained run's translation, and its generator's parts scored apart: whether its colours
    or its spatial half hold it back."""
    translator = Translator.from_checkpoint(checkpoint, device="cpu")
    rows = {"trained model": scored([to_array(translator.translate(p)) for p in photos], truths)}
    generator = translator.generator.float()
    arrays, true_arrays = [to_array(p) for p in photos], [to_array(t) for t in truths]
    staged = [applied(generator.abstraction)(x) for x in arrays] if generator.abstraction is not None else arrays
    rows["its stage + best colour mapping"] = scored(best_colour_mapping(staged, true_arrays), truths)
    if generator.colour is not None:
        colour = applied(generator.colour)
        rows["its stage and colour table, no network"] = scored([colour(x) for x in staged], truths)
        rows["its colour table alone"] = scored([colour(x) for x in arrays], truths)
        rows["spatial steps + its colour table"] = scored(
            [patches * lines for patches, lines in (SPATIAL_STEPS[style](p, colour) for p in photos)], truths
        )
    return rows


def headroom(style: str, data_root: Path, checkpoint: Path | None = None) -> dict[str, dict[str, Any]]:
    names = [p.name for p in sorted((data_root / "testA").glob("*.png"))]
    photos, truths = [read_pil(data_root / "testA" / n) for n in names], [read_pil(data_root / "testB" / n) for n in names]
    arrays, true_arrays = [to_array(p) for p in photos], [to_array(t) for t in truths]
    folders = {d: [pil_to_uint8(read_pil(p)) for p in sorted((data_root / f"train{d.upper()}").glob("*.png"))] for d in "AB"}
    colour = colour_transfer(folders["A"], folders["B"])
    steps = [SPATIAL_STEPS[style](p, colour) for p in photos]
    # The stage's own patches at each of its settings (photo or one operator), coloured at best by a
    # colour mapping and by a colour transfer: the second from the test truths' own colours, which
    # no model sees, so it is as close as matching colour distributions (without pairs) can come.
    true_uint8 = [pil_to_uint8(t) for t in truths]

    by_photo = [stage_patches(x) for x in arrays]
    patches_at = {name: [operated[name] for operated in by_photo] for name in by_photo[0]}

    def coloured_patches(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        patches = patches_at[name]
        own = colour_transfer([as_uint8(x) for x in patches], true_uint8)
        mapped = scored(best_colour_mapping(patches, true_arrays), truths)
        return {**mapped, "patches": name}, {**scored([own(x) for x in patches], truths), "patches": name}

    def with_lines(name: str, strength: float, threshold: float) -> dict[str, Any]:
        lines = stage_lines(strength, threshold)
        staged = [lines(patches) for patches in patches_at[name]]
        return {**scored(best_colour_mapping(staged, true_arrays), truths), "patches": name, "strength": strength, "threshold": threshold}

    settings = [coloured_patches(name) for name in patches_at]
    best_mapped = max((mapped for mapped, _ in settings), key=lambda row: row["psnr"])
    lined = (with_lines(*setting) for setting in itertools.product(patches_at, LINE_STRENGTHS, LINE_THRESHOLDS))
    best_transferred = max((transferred for _, transferred in settings), key=lambda row: row["psnr"])
    return {
        "untouched photo": scored(arrays, truths),
        "colour transfer": scored([colour(x) for x in arrays], truths),
        "best colour mapping": scored(best_colour_mapping(arrays, true_arrays), truths),
        "patches, no lines + colour transfer": scored([patches for patches, _ in steps], truths),
        "spatial steps + colour transfer": scored([patches * lines for patches, lines in steps], truths),
        "stage's patches + best colour mapping": best_mapped,
        "stage's patches and lines + best colour mapping": max([best_mapped, *lined], key=lambda row: row["psnr"]),
        "stage's patches + truths' own colour transfer": best_transferred,
        **(decomposed(style, checkpoint, photos, truths) if checkpoint is not None else {}),
    }


def setting_name(row: dict[str, Any]) -> str:
    return row["patches"] + (f", lines {row['strength']:.0%} above {row['threshold']:.2f}" if "strength" in row else "")


def markdown(result: dict[str, dict[str, dict[str, Any]]]) -> str:
    styles = list(result)
    lines = ["| translation | " + " | ".join(f"{s}: Δ PSNR (SSIM)" for s in styles) + " |", "|---|" + "---:|" * len(styles)]
    for row in result[styles[0]]:
        cells = [
            f"{result[s][row]['psnr'] - result[s]['untouched photo']['psnr']:+.2f} ({result[s][row]['ssim']:.3f})"
            + (f", {setting_name(result[s][row])}" if "patches" in result[s][row] else "")
            for s in styles
        ]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    photo = ", ".join(f"{s} {result[s]['untouched photo']['psnr']:.2f} dB" for s in styles)
    return "\n".join([*lines, "", f"Δ against the untouched photo ({photo})."])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", nargs="+", choices=list(STYLES), default=list(STYLES))
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/headroom"), help="folder for table.md")
    parser.add_argument(
        "--checkpoint", type=Path, help="a run (or checkpoint) trained on the one style given: adds its translation and its parts' scores"
    )
    args = parser.parse_args()
    if args.checkpoint is not None and len(args.styles) != 1:
        parser.error("--checkpoint: name the one style the run was trained on, with --styles")
    result = {}
    for style in args.styles:
        with tempfile.TemporaryDirectory() as tmp:
            result[style] = headroom(style, build_demo_dataset(Path(tmp) / "data", style=style), args.checkpoint)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "table.md").write_text(markdown(result) + "\n")
    print(markdown(result))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
