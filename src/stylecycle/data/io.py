"""The one place where image files become tensors and tensors become files.

Inside the library an image is a float tensor, 3xHxW (or Nx3xHxW), with values in [-1, 1].
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..atomic import atomic_path
from ..errors import ImageReadError, StylecycleError, first_line

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".gif"})

# Pillow's format names for what a file's extension asks for, so that a temporary file name
# (which must not end in the real suffix) still gets written in the right format.
_FORMAT_BY_SUFFIX = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}


# What Pillow raises for files it cannot open or decode (ImageReadError subclasses none of them).
DECODE_ERRORS = (OSError, UnidentifiedImageError, ValueError, SyntaxError)
_WIDE_GREY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def to_rgb(image: Image.Image) -> Image.Image:
    """Upright 8-bit RGB from any mode Pillow decodes.

    - EXIF orientation is applied, so phone photos come out the way they are shown;
    - transparency (RGBA, LA, PA, palette with a transparent colour) is composited onto white;
    - 16-bit grey (I;16, and 32-bit I) is scaled from 0..65535 to 0..255 — Pillow's own
      conversion would clip everything above 255 to white; float grey (F) is taken as 0..1
      when it stays within that range and as 0..255 otherwise;
    - everything else (L, 1, P, CMYK, YCbCr) goes through Pillow's conversion to RGB.
    """
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in _WIDE_GREY_MODES or image.mode == "F":
        grey = np.asarray(image, dtype=np.float64)
        if image.mode != "F":
            grey = grey / 257.0
        elif grey.size and np.nanmax(grey) <= 1.0:
            grey = grey * 255.0
        grey = np.nan_to_num(grey, nan=0.0)
        return Image.fromarray(np.clip(np.round(grey), 0, 255).astype(np.uint8), mode="L").convert("RGB")
    return image.convert("RGB")


def open_checked(path: Path) -> Image.Image:
    """Open ``path`` lazily (header only), refusing decompression bombs; the caller closes it.

    A few hundred bytes can declare gigapixels. Pillow refuses images over twice its
    ``MAX_IMAGE_PIXELS`` (about 179 megapixels by default) and merely warns above that value;
    the warning is silenced so that a legitimate 12000x9000 panorama loads quietly, and the
    refusal becomes a message that says what to do.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    except Image.DecompressionBombError as exc:
        raise ImageReadError(path, f"{first_line(exc)}; shrink it first if it is a real picture") from exc
    except DECODE_ERRORS as exc:
        empty = Path(path).is_file() and Path(path).stat().st_size == 0
        raise ImageReadError(path, "empty file" if empty else first_line(exc)) from exc


def read_pil(path: Path, *, min_side: int | None = None) -> Image.Image:
    """Decode ``path`` to an upright RGB PIL image, or raise :class:`ImageReadError`.

    With ``min_side``, JPEGs are decoded directly at the smallest power-of-two reduction that
    keeps both sides at least ``min_side`` (Pillow's draft mode): a 24-megapixel photo headed
    for a 286-pixel crop then decodes several times faster.
    """
    try:
        with open_checked(path) as image:
            if min_side is not None:
                image.draft("RGB", (min_side, min_side))
            image.load()
            rgb = to_rgb(image)
            profile = rgb_icc_profile(image)
    except DECODE_ERRORS as exc:  # the header was fine, the pixel data is not (truncated, corrupt)
        raise ImageReadError(path, first_line(exc)) from exc
    rgb.info = {"icc_profile": profile} if profile else {}
    return rgb


def rgb_icc_profile(image: Image.Image) -> bytes | None:
    """The image's ICC profile if it describes RGB (the colours of the RGB pixels we produce);
    a CMYK or grey profile would misdescribe them after conversion, so it is dropped."""
    profile = image.info.get("icc_profile")
    return profile if isinstance(profile, bytes) and profile[16:20] == b"RGB " else None


def pil_to_uint8(image: Image.Image) -> torch.Tensor:
    """RGB PIL image → uint8 3xHxW (the compact form the data pipeline resizes and caches)."""
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


def uint8_to_float(image: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 → float in [-1, 1], the library's image range."""
    return image.float().div_(127.5).sub_(1.0)


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image → float 3xHxW in [-1, 1]."""
    return uint8_to_float(pil_to_uint8(image))


def tensor_to_pil(tensor: torch.Tensor) -> Image.Image:
    """Float 3xHxW in [-1, 1] → RGB PIL image (values outside the range are clipped)."""
    if tensor.dim() == 4:
        if tensor.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {tensor.shape[0]}")
        tensor = tensor[0]
    array = tensor.detach().float().cpu().add(1.0).mul(127.5).round().clamp(0, 255).byte()
    return Image.fromarray(array.permute(1, 2, 0).numpy(), mode="RGB")


def read_image_uint8(path: Path, *, min_side: int | None = None) -> torch.Tensor:
    """Decode ``path`` to a uint8 3xHxW tensor (``min_side``: see :func:`read_pil`)."""
    return pil_to_uint8(read_pil(Path(path), min_side=min_side))


def read_image(path: Path, *, min_side: int | None = None) -> torch.Tensor:
    """Decode ``path`` to a float 3xHxW tensor in [-1, 1] (``min_side``: see :func:`read_pil`)."""
    return pil_to_tensor(read_pil(Path(path), min_side=min_side))


def save_pil(image: Image.Image, path: Path, *, quality: int = 95, icc_profile: bytes | None = None) -> None:
    """Write ``image`` atomically, in the format that ``path``'s extension names, with
    ``icc_profile`` embedded where the format has room for one (PNG, JPEG, WebP, TIFF)."""
    path = Path(path)
    fmt = _FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise StylecycleError(f"cannot write {path}: unknown image extension (use .png, .jpg or .webp)")
    options: dict = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if icc_profile and fmt != "BMP":
        options["icc_profile"] = icc_profile
    try:
        with atomic_path(path) as tmp:
            image.save(tmp, format=fmt, **options)
    except OSError as exc:
        raise StylecycleError(f"cannot write {path}: {exc}") from exc


def save_image(tensor: torch.Tensor, path: Path, *, quality: int = 95) -> None:
    """Write a float 3xHxW tensor in [-1, 1] atomically as an image file."""
    save_pil(tensor_to_pil(tensor), path, quality=quality)


def side_by_side(left: Image.Image, right: Image.Image) -> Image.Image:
    """The two pictures next to each other on a white sheet, for comparison."""
    sheet = Image.new("RGB", (left.width + right.width, max(left.height, right.height)), "white")
    sheet.paste(left, (0, 0))
    sheet.paste(right, (left.width, 0))
    return sheet
