"""Preprocessing and augmentation of training images, on torchvision.transforms.v2.

The transforms draw from torch's global random generator; :class:`UnpairedImages` seeds it
per sample, so what a sample looks like depends only on the run's seed and the sample's
position in the run, not on which worker process loaded it.
"""

from __future__ import annotations

from torch import nn
from torchvision.transforms import v2


def train_transform(*, size: int, load_size: int, flip: bool) -> nn.Module:
    """The CycleGAN default: resize to ``load_size`` square, random ``size`` crop, random flip."""
    steps: list[nn.Module] = [v2.Resize((load_size, load_size), antialias=True), v2.RandomCrop(size)]
    if flip:
        steps.append(v2.RandomHorizontalFlip())
    return v2.Compose(steps)


def preview_transform(*, size: int) -> nn.Module:
    """Deterministic: resize the short side to ``size`` and take the centre square (sample grids)."""
    return v2.Compose([v2.Resize(size, antialias=True), v2.CenterCrop(size)])
