"""Translating images with a trained generator, at the images' own resolution.

Images up to ``max_pixels`` go through the network whole; larger ones are translated in
overlapping tiles that share one set of normalisation statistics (see :mod:`stylecycle.tiling`),
so memory stays bounded and no seams show.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from PIL import Image
from torch import nn

from .config import Direction, Method, TranslateConfig
from .data.io import pil_to_tensor, tensor_to_pil, to_rgb
from .device import memory_format, resolve_device
from .errors import ConfigError
from .generator_files import load_generator
from .memory import reusing_freed_memory
from .precision import Precision, autocast, resolve_precision
from .tiling import translate_tiled

# Neighbouring tiles overlap by this many pixels, blended across it (the tile size and the
# largest untiled image are options: TranslateConfig).
OVERLAP = 64

Picture = TypeVar("Picture", Image.Image, np.ndarray, torch.Tensor)


class Translator:
    """One direction of a trained CycleGAN, ready to translate images of any size."""

    def __init__(
        self,
        generator: nn.Module,
        device: torch.device | str = "cpu",
        precision: Precision = "fp32",
        *,
        channels_last: bool | None = None,
        max_pixels: int = TranslateConfig.max_pixels,
        tile: int = TranslateConfig.tile,
        overlap: int = OVERLAP,
    ) -> None:
        if not 0 < overlap < tile:
            raise ConfigError(f"the tile overlap ({overlap}) must be positive and smaller than the tile ({tile})")
        self.device = torch.device(device)
        self.precision = resolve_precision(precision, self.device)
        self.memory_format = memory_format(channels_last, self.device)
        self.generator = generator.to(self.device, memory_format=self.memory_format).eval()  # type: ignore[call-overload]  # documented, missing from the stubs
        self.max_pixels, self.tile, self.overlap = max_pixels, tile, overlap

    @classmethod
    def from_checkpoint(
        cls,
        path: Path,
        direction: Direction = "a2b",
        device: str = "auto",
        precision: Precision = "auto",
        generator: str | None = None,
        channels_last: bool | None = None,
        method: Method | None = None,
        **tiling: int,
    ) -> Translator:
        """A translator for ``direction`` of the checkpoint at ``path`` (see :func:`load_generator`)."""
        network, _ = load_generator(path, direction, generator, method)
        return cls(network, resolve_device(device), precision, channels_last=channels_last, **tiling)

    def translate(self, image: Picture) -> Picture:
        """Translate a picture, returned in the kind it came in: a PIL image (RGB, its ICC profile
        kept), a uint8 HxWx3 (or HxW) NumPy array, or a float tensor in [-1, 1], 3xHxW or Nx3xHxW."""
        if isinstance(image, torch.Tensor):
            return self.translate_tensor(image)
        if isinstance(image, Image.Image):
            out = tensor_to_pil(self.translate_tensor(pil_to_tensor(to_rgb(image))))
            if "icc_profile" in image.info:
                out.info["icc_profile"] = image.info["icc_profile"]
            return out
        if isinstance(image, np.ndarray):
            return np.asarray(self.translate(Image.fromarray(image)))
        raise TypeError(f"cannot translate a {type(image).__name__}: pass a PIL image, a NumPy array or a tensor")

    @torch.no_grad()
    def translate_tensor(self, image: torch.Tensor) -> torch.Tensor:
        """3xHxW (or Nx3xHxW) in [-1, 1] → the same shape, translated, on the input's device."""
        batch = image.unsqueeze(0) if image.dim() == 3 else image
        height, width = batch.shape[-2:]
        # A pointwise generator (a colour table alone) costs a few bytes a pixel: it needs no tiles.
        if height * width <= self.max_pixels or getattr(self.generator, "pointwise", False):
            out = self._run(batch.to(self.device)).float().to(image.device)
        else:
            out = torch.stack(
                [
                    translate_tiled(
                        self._run,
                        one.float().cpu(),
                        tile=self.tile,
                        overlap=self.overlap,
                        statistics_pixels=self.max_pixels,
                        device=self.device,
                    ).to(image.device)
                    for one in batch
                ]
            )
        return out[0] if image.dim() == 3 else out

    def _run(self, batch: torch.Tensor) -> torch.Tensor:
        with reusing_freed_memory(), autocast(self.device, self.precision):
            return self.generator(batch.to(torch.float32, memory_format=self.memory_format))
