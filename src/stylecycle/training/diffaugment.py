"""Differentiable augmentation of everything the discriminators see (DiffAugment: Zhao et al.,
"Differentiable Augmentation for Data-Efficient GAN Training", NeurIPS 2020).

With a few hundred images a discriminator soon memorises the real ones, and its verdicts stop
telling the generators anything. Augmenting only the real images would teach the generators to
produce augmented-looking pictures; DiffAugment augments real and fake alike, with operations
through which gradients flow, so the generators still learn from every verdict. Each batch gets
fresh random parameters from the augmentation's own random stream, which checkpoints store.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

POLICIES = ("colour", "translation", "cutout")
TRANSLATION = 1 / 8  # largest shift, as a fraction of the side
CUTOUT = 1 / 2  # side of the square cut out, as a fraction of the image's


def parse_policy(text: str) -> tuple[str, ...]:
    """``"colour,translation"`` as a tuple; unknown names raise ValueError."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r}; known: {', '.join(POLICIES)}")
    return names


class DiffAugment:
    """Callable: a batch in [-1, 1] in, the same batch augmented out (one draw per image)."""

    def __init__(self, policy: tuple[str, ...], seed: int) -> None:
        self.policy = policy
        self.random = torch.Generator().manual_seed(seed)

    def __call__(self, x: Tensor) -> Tensor:
        for name in self.policy:
            x = getattr(self, name)(x)
        return x

    def uniform(self, x: Tensor, low: float, high: float) -> Tensor:
        """One number per image of ``x``, shaped to broadcast over it."""
        return (torch.rand(x.shape[0], 1, 1, 1, generator=self.random) * (high - low) + low).to(x.device, x.dtype)

    def colour(self, x: Tensor) -> Tensor:
        """Brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5] (DiffAugment's ranges)."""
        x = x + self.uniform(x, -0.5, 0.5)
        grey = x.mean(1, keepdim=True)
        x = (x - grey) * self.uniform(x, 0.0, 2.0) + grey
        mean = x.mean((1, 2, 3), keepdim=True)
        return (x - mean) * self.uniform(x, 0.5, 1.5) + mean

    def translation(self, x: Tensor) -> Tensor:
        """Shift each image by up to 1/8 of its side each way, filling with zeros."""
        height, width = x.shape[-2:]
        dy, dx = round(height * TRANSLATION), round(width * TRANSLATION)
        padded = F.pad(x, [dx, dx, dy, dy])
        tops = torch.randint(0, 2 * dy + 1, (x.shape[0],), generator=self.random).tolist()
        lefts = torch.randint(0, 2 * dx + 1, (x.shape[0],), generator=self.random).tolist()
        return torch.stack([padded[i, :, top : top + height, left : left + width] for i, (top, left) in enumerate(zip(tops, lefts))])

    def cutout(self, x: Tensor) -> Tensor:
        """Zero a square of half the side at a random place (it may reach past the edges)."""
        height, width = x.shape[-2:]
        size_y, size_x = round(height * CUTOUT), round(width * CUTOUT)
        centre_y = torch.randint(0, height, (x.shape[0], 1, 1), generator=self.random)
        centre_x = torch.randint(0, width, (x.shape[0], 1, 1), generator=self.random)
        rows = (torch.arange(height)[None, :, None] - centre_y).abs() * 2 < size_y
        cols = (torch.arange(width)[None, None, :] - centre_x).abs() * 2 < size_x
        keep = ~(rows & cols)
        return x * keep[:, None].to(x.device, x.dtype)

    def state_dict(self) -> dict[str, Any]:
        return {"random": self.random.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.random.set_state(state["random"])
