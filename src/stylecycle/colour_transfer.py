"""Colour transfer between the two training folders, as the colour stages' starting table
(``--colour-init transfer``).

Why: the two folders already say, before any training, how the style's colours differ from the
photographs': their colour distributions. Carrying one onto the other by optimal transport is the
classical unpaired colour transfer (Pitié, Kokaram and Dahyot, "Automated colour grading using
colour distribution transfer", CVIU 2007: rotate the colour space at random, match each axis's
1-D distribution by its quantiles, repeat). It takes a second or two, where the adversarial
training of the same table takes minutes: on the benchmark's colour grade the transferred table
alone scores 12 dB above the untouched photograph. Training then starts from it, so that the
pixel network's steps go to what colour cannot do (flat regions, lines, texture).

The transfer moves the points of the identity table with the maps that carry A's colours onto
B's, so it needs no image at translation time: the result is an ordinary table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import torch

from .errors import DataError
from .nn.colour import identity_table
from .nn.generators import Generator

log = logging.getLogger("stylecycle")

SAMPLED_COLOURS = 100_000  # per domain: enough for 256 quantiles per axis to be smooth
QUANTILES = 256
ITERATIONS = 10  # measured on the benchmark's three styles: 10 is as good as 30 or 60
# Which colours each generator carries onto which: G_ab takes A's to B's.
DIRECTIONS = {"G_ab": ("a", "b"), "G_ba": ("b", "a")}


def sample_colours(images: Iterable[torch.Tensor], count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` x 3 colours in [-1, 1], drawn evenly from the uint8 C x H x W images (each
    image gives the same number, so that large images do not outvote small ones)."""
    images = list(images)
    if not images:
        raise DataError("--colour-init transfer: none of a folder's images can be read any more; run `stylecycle check-data`")
    per_image = -(-count // len(images))
    picks = []
    for image in images:
        pixels = image.reshape(3, -1).T
        picks.append(pixels[torch.randint(len(pixels), (per_image,), generator=generator)])
    return torch.cat(picks)[:count].float().div(127.5).sub(1.0)


def quantile_map(source: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The monotone map that carries the 1-D distribution of ``source`` onto that of ``target``,
    as matching quantiles (from, to)."""
    levels = torch.linspace(0.0, 1.0, QUANTILES)
    return torch.quantile(source, levels), torch.quantile(target, levels)


def shift(values: torch.Tensor, from_q: torch.Tensor, to_q: torch.Tensor) -> torch.Tensor:
    """How far each of ``values`` moves under a :func:`quantile_map`: linear between the
    quantiles, the shift of the nearest end beyond them. A value that several quantiles share (a
    colour many pixels have: a flat region, a posterised level) goes to the middle of their
    targets, not to either end, so that flat-colour styles are not shifted off-centre."""
    inside = values.clamp(from_q[0], from_q[-1])
    first, after = torch.searchsorted(from_q, inside), torch.searchsorted(from_q, inside, right=True)
    upper = after.clamp(1, QUANTILES - 1)
    x0, x1 = from_q[upper - 1], from_q[upper]
    between = (upper - 1) + ((inside - x0) / (x1 - x0).clamp_min(1e-9)).clamp(0.0, 1.0)
    index = torch.where(after > first, (first + after - 1) / 2, between)  # fractional, among the quantiles
    lower = index.floor().long().clamp(0, QUANTILES - 2)
    fraction = index - lower
    return to_q[lower] * (1 - fraction) + to_q[lower + 1] * fraction - inside


def transfer_table(source: torch.Tensor, target: torch.Tensor, size: int, seed: int = 0) -> torch.Tensor:
    """The 3 x size^3 table (:func:`~stylecycle.nn.colour.identity_table`'s layout) that carries
    the colours ``source`` (N x 3, [-1, 1]) onto the distribution of ``target``."""
    generator = torch.Generator().manual_seed(seed)
    moved = source.clone()
    points = identity_table(size).reshape(3, -1).T.contiguous()
    for _ in range(ITERATIONS):
        rotation, _ = torch.linalg.qr(torch.randn(3, 3, generator=generator))
        for axis in rotation.T:
            along = moved @ axis
            from_q, to_q = quantile_map(along, target @ axis)
            points += torch.outer(shift(points @ axis, from_q, to_q), axis)
            moved += torch.outer(shift(along, from_q, to_q), axis)
    return points.T.reshape(3, size, size, size).clamp(-1.0, 1.0)


def start_from_transfer(translators: dict[str, Generator], images: dict[str, list[torch.Tensor]], seed: int) -> None:
    """Set each generator's colour stage to the transfer from its input's folder to its output's."""
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    colours = {domain: sample_colours(domain_images, SAMPLED_COLOURS, generator) for domain, domain_images in images.items()}
    for name, translator in translators.items():
        source, target = DIRECTIONS[name]
        stage = translator.colour
        assert stage is not None  # Config.validate requires a colour stage for --colour-init transfer
        stage.start_from(transfer_table(colours[source], colours[target], stage.size, seed))
    log.info("colour stages start from the colour transfer between the folders (%.1f s)", time.perf_counter() - started)
