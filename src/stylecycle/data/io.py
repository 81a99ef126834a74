"""The one place where image files become tensors and tensors become files.

Inside the library an image is a float tensor, 3xHxW (or Nx3xHxW), with values in [-1, 1].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..atomic import atomic_path
from ..errors import ImageReadError, StylecycleError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".gif"})

# Pillow's format names for what a file's extension asks for, so that a temporary file name
# (which must not end in the real suffix) still gets written in the right format.
_FORMAT_BY_SUFFIX = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}


def to_rgb(image: Image.Image) -> Image.Image:
    """Upright RGB: EXIF orientation applied, transparency composited onto white."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def read_pil(path: Path) -> Image.Image:
    """Decode ``path`` to an upright RGB PIL image, or raise :class:`ImageReadError`."""
    try:
        with Image.open(path) as image:
            image.load()
            return to_rgb(image)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageReadError(f"cannot read image {path}: {exc}") from exc


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image → float 3xHxW in [-1, 1]."""
    array = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy())
    return array.permute(2, 0, 1).float().div_(127.5).sub_(1.0)


def tensor_to_pil(tensor: torch.Tensor) -> Image.Image:
    """Float 3xHxW in [-1, 1] → RGB PIL image (values outside the range are clipped)."""
    if tensor.dim() == 4:
        if tensor.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {tensor.shape[0]}")
        tensor = tensor[0]
    array = tensor.detach().float().cpu().add(1.0).mul(127.5).round().clamp(0, 255).byte()
    return Image.fromarray(array.permute(1, 2, 0).numpy(), mode="RGB")


def read_image(path: Path) -> torch.Tensor:
    """Decode ``path`` to a float 3xHxW tensor in [-1, 1]."""
    return pil_to_tensor(read_pil(Path(path)))


def save_pil(image: Image.Image, path: Path, *, quality: int = 95) -> None:
    """Write ``image`` atomically, in the format that ``path``'s extension names."""
    path = Path(path)
    fmt = _FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise StylecycleError(f"cannot write {path}: unknown image extension (use .png, .jpg or .webp)")
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    try:
        with atomic_path(path) as tmp:
            image.save(tmp, format=fmt, **options)
    except OSError as exc:
        raise StylecycleError(f"cannot write {path}: {exc}") from exc


def save_image(tensor: torch.Tensor, path: Path, *, quality: int = 95) -> None:
    """Write a float 3xHxW tensor in [-1, 1] atomically as an image file."""
    save_pil(tensor_to_pil(tensor), path, quality=quality)
