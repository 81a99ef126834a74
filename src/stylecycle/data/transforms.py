"""Preprocessing and augmentation of training images, on torchvision.transforms.v2.

The pipeline has two halves. ``prepare`` is deterministic (decode-time resizing, on uint8
images), so its output can be cached; ``augment`` is random (crops, flips, rotation, colour
jitter) and ends in the library's float [-1, 1] range. The random transforms draw from torch's
global generator, which :class:`~stylecycle.data.datasets.UnpairedImages` seeds per sample, so
what a sample looks like depends only on the run's seed and its position in the run.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from ..config import DataConfig
from .io import uint8_to_float

SIDE_MULTIPLE = 4


class ScaleWidth(nn.Module):
    """Resize to ``width`` keeping the aspect ratio, but never below ``min_height`` (the crop)."""

    def __init__(self, width: int, min_height: int) -> None:
        super().__init__()
        self.width, self.min_height = width, min_height

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        height = max(self.min_height, round(h * self.width / w))
        return TF.resize(image, [height, self.width], antialias=True)


class RoundToMultiple(nn.Module):
    """Resize each side to its nearest multiple of 4 (at least 4): the size the generator works at."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        target = [max(SIDE_MULTIPLE, round(side / SIDE_MULTIPLE) * SIDE_MULTIPLE) for side in (h, w)]
        return image if target == [h, w] else TF.resize(image, target, antialias=True)


class ToModelRange(nn.Module):
    """uint8 0..255 → float [-1, 1]."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return uint8_to_float(image)


class ReflectRotation(nn.Module):
    """Random rotation by up to ``degrees`` either way, with the corners filled by reflecting the
    image rather than with a constant colour (which a discriminator would learn to spot).

    torchvision's rotation only fills with a constant, so the image is reflection-padded by just
    enough for the rotated frame, rotated, and cropped back to its size.
    """

    def __init__(self, degrees: float) -> None:
        super().__init__()
        self.degrees = degrees

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        angle = float(torch.empty(()).uniform_(-self.degrees, self.degrees))
        h, w = image.shape[-2:]
        cos, sin = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
        pad_x = math.ceil((w * cos + h * sin - w) / 2) + 1
        pad_y = math.ceil((w * sin + h * cos - h) / 2) + 1
        padded = reflect_pad(image, pad_x, pad_y)
        rotated = TF.rotate(padded, angle, interpolation=v2.InterpolationMode.BILINEAR)
        return TF.center_crop(rotated, [h, w])


def reflect_pad(image: torch.Tensor, pad_x: int, pad_y: int) -> torch.Tensor:
    """Reflection padding of any amount: rounds of at most the current side minus one, since a
    single reflection cannot reach further than the image is wide."""
    while pad_x > 0 or pad_y > 0:
        h, w = image.shape[-2:]
        step_x, step_y = min(pad_x, w - 1), min(pad_y, h - 1)
        image = F.pad(image.unsqueeze(0), (step_x, step_x, step_y, step_y), mode="reflect").squeeze(0)
        pad_x, pad_y = pad_x - step_x, pad_y - step_y
    return image


def prepare_transform(data: DataConfig) -> nn.Module:
    """The deterministic, cacheable half: resizing as ``--preprocess`` says, on uint8 images."""
    if data.preprocess == "resize_and_crop":
        return v2.Resize((data.load_size, data.load_size), antialias=True)
    if data.preprocess in ("scale_width", "scale_width_and_crop"):
        return ScaleWidth(data.load_size, min_height=data.size)
    if data.preprocess == "none":
        return RoundToMultiple()
    return nn.Identity()  # crop: full resolution


def decode_side(data: DataConfig) -> int | None:
    """The smallest side decoding may reduce a JPEG to without losing what ``prepare`` keeps."""
    return data.load_size if data.preprocess in ("resize_and_crop", "scale_width", "scale_width_and_crop") else None


def augment_transform(data: DataConfig) -> nn.Module:
    """The random half: crop, flips and colour on uint8, then float [-1, 1], then rotation."""
    steps: list[nn.Module] = []
    if data.preprocess in ("resize_and_crop", "crop", "scale_width_and_crop"):
        if data.crop_scale < 1.0:
            steps.append(v2.RandomResizedCrop(data.size, scale=(data.crop_scale, 1.0), antialias=True))
        else:
            steps.append(v2.RandomCrop(data.size, pad_if_needed=True, padding_mode="reflect"))
    if data.flip:
        steps.append(v2.RandomHorizontalFlip())
    if data.vflip:
        steps.append(v2.RandomVerticalFlip())
    if data.color_jitter > 0:
        j = data.color_jitter
        steps.append(v2.ColorJitter(brightness=j, contrast=j, saturation=j, hue=min(j / 4, 0.5)))
    steps.append(ToModelRange())
    if data.rotate > 0:
        steps.append(ReflectRotation(data.rotate))
    return v2.Compose(steps)


def preview_transform(*, size: int) -> nn.Module:
    """Deterministic: resize the short side to ``size`` and take the centre square (sample grids)."""
    return v2.Compose([v2.Resize(size, antialias=True), v2.CenterCrop(size)])
