"""Translating images too large for one pass: overlapping tiles, feathered blending, and one
set of normalisation statistics shared by every tile.

Translating tiles independently leaves visible seams for two reasons. InstanceNorm normalises
each input by its own statistics, so a sky tile and a forest tile come out with different
brightness; and a convolution near a tile's edge sees padding instead of the neighbouring
pixels. Here the statistics of every InstanceNorm layer are measured once, on the whole image
scaled down to a size that fits in one pass, and every tile is normalised with them; and
neighbouring tiles overlap, their outputs blended with weights that fall linearly to zero
across the overlap, so no tile edge is ever a hard edge in the result.

What remains is a difference from a single whole-image pass (which a big photo cannot afford):
a layer's statistics shift a little with resolution, so the tiled result can differ slightly in
tone from the whole-image one, evenly across the image. (With the statistics of the full-size
image the difference would be a few thousandths; each layer's full-size statistics depend on the
layers before it, so measuring them tile by tile would need one pass over the tiles per layer.)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .nn.norm import Statistics, imposing_statistics, measuring_statistics


def instance_norm_statistics(run: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor) -> Statistics:
    """Per-channel mean and biased variance at the input of every InstanceNorm layer of the
    generator that ``run`` calls (under the caller's precision) to translate ``image`` (1x3xHxW)."""
    with measuring_statistics() as statistics:
        run(image)
    return statistics


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of side ``tile`` covering ``length``, neighbours overlapping by at
    least ``overlap`` (the last tile is flush with the end)."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    return starts + [length - tile]


def feather(length: int, start: int, total: int, overlap: int) -> torch.Tensor:
    """Blending weights along one side of a tile: rising linearly over ``overlap`` pixels where the
    tile has a neighbour before it, falling where it has one after it, 1 elsewhere."""
    weights = torch.ones(length)
    ramp = torch.arange(1, overlap + 1, dtype=torch.float32) / (overlap + 1)
    if start > 0:
        weights[:overlap] = torch.minimum(weights[:overlap], ramp)
    if start + length < total:
        weights[-overlap:] = torch.minimum(weights[-overlap:], ramp.flip(0))
    return weights


def translate_tiled(
    network: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
    *,
    tile: int,
    overlap: int,
    statistics_pixels: int,
    device: torch.device,
) -> torch.Tensor:
    """Translate 3xHxW ``image`` (on the CPU) tile by tile with ``network`` (which runs a
    generator on a 1x3xhxw batch on ``device``); returns 3xHxW on the CPU.

    Only one tile's activations are alive at a time, and the result is accumulated in place,
    so memory grows with the image's pixels (a few bytes each) and not with the network's width.
    """
    _, height, width = image.shape
    scale = min(1.0, math.sqrt(statistics_pixels / (height * width)))
    small = F.interpolate(image[None], size=(max(1, round(height * scale)), max(1, round(width * scale))), mode="area")
    statistics = instance_norm_statistics(network, small.to(device))
    h, w = min(tile, height), min(tile, width)
    out = torch.zeros_like(image, dtype=torch.float32)
    weight_sum = torch.zeros(1, height, width)
    with imposing_statistics(statistics):
        for top in tile_starts(height, tile, overlap):
            for left in tile_starts(width, tile, overlap):
                translated = network(image[:, top : top + h, left : left + w][None].to(device))[0].float().cpu()
                weight = feather(h, top, height, overlap)[:, None] * feather(w, left, width, overlap)[None, :]
                out[:, top : top + h, left : left + w] += translated * weight
                weight_sum[:, top : top + h, left : left + w] += weight
    return out.div_(weight_sum)
