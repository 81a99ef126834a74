"""The benchmark's styles: documented, deterministic filters that turn a photograph into its
"true" stylisation, so that a translation can be scored against the answer.

Each is hard enough that the untouched photograph is a poor answer, and each asks for something
different of a model:

- ``poster``: flat colour regions, a warm palette and dark ink edges (spatial and colour);
- ``grade``: a photographic colour grade — edge-preserving smoothing, reduced saturation, a tone
  curve with lifted blacks, split toning (mostly colour; a colour mapping can get it nearly right);
- ``paint``: an oil-paint look — Kuwahara-filtered brush patches, stronger saturation and
  contrast, and outlines (mostly spatial);
- ``comic``: a comic print — bilateral smoothing, every colour replaced by the nearest of nine
  printing inks, and XDoG outlines. Built from operators that the abstraction stage
  (:mod:`stylecycle.nn.abstraction`: Kuwahara patches, Sobel lines) does not have, so that it
  measures how far that stage carries to a style it was not made from.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFilter

Array = np.ndarray
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

# poster: a colour matrix that pushes blues towards ochre and sepia, 8 levels, ink lines
WARM_PALETTE = np.array([[1.05, 0.25, 0.00], [0.10, 0.85, 0.05], [0.00, 0.15, 0.55]], dtype=np.float32)
POSTER_LEVELS = 8
INK_STRENGTH = 2.5

# comic: the printing inks every colour is replaced by (nearest in RGB): navy, cream, ochre,
# red-orange, brown, teal, blue, olive and a warm grey
COMIC_INKS = np.array(
    [
        [0.10, 0.10, 0.15],
        [0.95, 0.92, 0.80],
        [0.90, 0.75, 0.35],
        [0.85, 0.35, 0.20],
        [0.55, 0.25, 0.20],
        [0.25, 0.50, 0.55],
        [0.30, 0.35, 0.65],
        [0.55, 0.60, 0.45],
        [0.60, 0.58, 0.55],
    ],
    dtype=np.float32,
)

# grade: teal shadows and orange highlights
SHADOW_TINT = np.array([-0.04, 0.03, 0.07], dtype=np.float32)
HIGHLIGHT_TINT = np.array([0.08, 0.02, -0.06], dtype=np.float32)


def to_array(image: Image.Image) -> Array:
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def to_image(array: Array) -> Image.Image:
    return Image.fromarray(np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8), mode="RGB")


def luma(rgb: Array) -> Array:
    return (rgb @ LUMA)[..., None]


def box_mean(x: Array, radius: int) -> Array:
    """Mean over a (2r+1)-wide square window, per channel, edges mirrored."""
    from scipy import ndimage  # imported here: the command line lists the styles without loading SciPy

    size = 2 * radius + 1
    return ndimage.uniform_filter(x, size=(size, size, 1), mode="reflect")


def poster(image: Image.Image) -> Image.Image:
    """1. a 5x5 median filter flattens texture into painted patches;
    2. the warm palette matrix, then a 0.9 gamma, recolours them;
    3. each channel is posterised to 8 levels;
    4. dark ink lines are drawn where the smoothed image has edges."""
    smooth = poster_patches(image)
    graded = np.clip(to_array(smooth) @ WARM_PALETTE.T, 0.0, 1.0) ** 0.9
    flat = np.round(graded * (POSTER_LEVELS - 1)) / (POSTER_LEVELS - 1)
    return to_image(flat * poster_ink(smooth))


def poster_patches(image: Image.Image) -> Image.Image:
    """The poster's spatial step 1: texture flattened by a 5x5 median filter."""
    return image.convert("RGB").filter(ImageFilter.MedianFilter(5))


def poster_ink(smooth: Image.Image) -> Array:
    """The poster's spatial step 4, as an H x W x 1 multiplier: dark where the patches have edges."""
    edges = np.asarray(smooth.convert("L").filter(ImageFilter.FIND_EDGES), dtype=np.float32) / 255.0
    return np.clip(1.0 - INK_STRENGTH * edges, 0.0, 1.0)[..., None]


def grade(image: Image.Image) -> Image.Image:
    """1. a self-guided filter (He et al., radius 3, eps 0.004) smooths skin and sky, keeps edges;
    2. saturation is reduced to 60%;
    3. a tone curve: half linear, half smoothstep (a soft S), into [0.1, 0.92] (lifted blacks);
    4. split toning: shadows towards teal, highlights towards orange, weighted by luma squared."""
    x = self_guided(to_array(image))
    x = luma(x) + 0.6 * (x - luma(x))
    x = 0.1 + 0.82 * (0.5 * x + 0.5 * x * x * (3.0 - 2.0 * x))
    y = luma(x)
    return to_image(x + (1.0 - y) ** 2 * SHADOW_TINT + y**2 * HIGHLIGHT_TINT)


def self_guided(x: Array) -> Array:
    """The grade's spatial step 1: the guided filter (radius 3, eps 0.004) with the image as its own guide."""
    mean = box_mean(x, 3)
    variance = box_mean(x * x, 3) - mean * mean
    gain = variance / (variance + 0.004)
    return box_mean(gain, 3) * x + box_mean(mean - gain * mean, 3)


def kuwahara(x: Array, radius: int) -> Array:
    """Each pixel takes the mean of whichever of its four overlapping (r+1)x(r+1) corner windows
    varies least: flat brush patches whose borders follow the image's edges."""
    from scipy import ndimage

    half = radius // 2
    corners = [(dy, dx) for dy in (-half, half) for dx in (-half, half)]
    means = [ndimage.uniform_filter(x, size=(radius + 1, radius + 1, 1), origin=(dy, dx, 0), mode="reflect") for dy, dx in corners]
    squares = [ndimage.uniform_filter(x * x, size=(radius + 1, radius + 1, 1), origin=(dy, dx, 0), mode="reflect") for dy, dx in corners]
    spread = np.stack([(s - m * m).sum(-1) for m, s in zip(means, squares, strict=True)])
    return np.take_along_axis(np.stack(means), spread.argmin(0)[None, ..., None], axis=0)[0]


def paint(image: Image.Image) -> Image.Image:
    """1. a Kuwahara filter of radius 6 turns texture into brush patches;
    2. saturation x1.5 and contrast x1.2 about mid-grey;
    3. dark outlines where the painted luma's Sobel gradient exceeds 0.25."""
    x = kuwahara(to_array(image), 6)
    x = np.clip(luma(x) + 1.5 * (x - luma(x)), 0.0, 1.0)
    x = np.clip((x - 0.5) * 1.2 + 0.5, 0.0, 1.0)
    return to_image(x * outline(x))


def outline(x: Array) -> Array:
    """The paint's spatial step 3, as an H x W x 1 multiplier: dark where ``x``'s luma has a Sobel gradient above 0.25."""
    from scipy import ndimage

    y = luma(x)[..., 0]
    gradient = np.hypot(ndimage.sobel(y, 0), ndimage.sobel(y, 1))
    return np.clip(1.0 - 1.5 * np.clip(gradient - 0.25, 0.0, None), 0.0, 1.0)[..., None]


def comic(image: Image.Image) -> Image.Image:
    """1. two passes of a bilateral filter (radius 3, spatial sigma 2, colour sigma 0.1) smooth
    texture and keep edges;
    2. every colour becomes the nearest of the nine printing inks of ``COMIC_INKS``;
    3. XDoG outlines (Winnemöller et al. 2012) darken the dark side of the luma's edges."""
    smooth = bilateral(bilateral(to_array(image)))
    nearest = ((smooth[..., None, :] - COMIC_INKS) ** 2).sum(-1).argmin(-1)
    return to_image(COMIC_INKS[nearest] * xdog_lines(smooth))


def bilateral(x: Array, radius: int = 3, space_sigma: float = 2.0, colour_sigma: float = 0.1) -> Array:
    """Each pixel becomes the mean of its (2r+1)-square neighbourhood (edges mirrored), weighted by
    distance and by colour similarity: flat regions smooth, edges stay."""
    padded = np.pad(x, ((radius, radius), (radius, radius), (0, 0)), mode="reflect")
    h, w = x.shape[:2]
    total, weights = np.zeros_like(x), np.zeros(x.shape[:2] + (1,), dtype=x.dtype)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            shifted = padded[radius + dy : radius + dy + h, radius + dx : radius + dx + w]
            colour_distance = ((shifted - x) ** 2).sum(-1, keepdims=True)
            weight = np.exp(-(dy * dy + dx * dx) / (2 * space_sigma**2) - colour_distance / (2 * colour_sigma**2))
            total += weight * shifted
            weights += weight
    return total / weights


def xdog_lines(x: Array, sigma: float = 1.0, ratio: float = 1.6, threshold: float = 0.01, sharpness: float = 40.0) -> Array:
    """The comic's step 3, as an H x W x 1 multiplier: a difference of Gaussians of the luma, and
    dark lines where it falls below ``-threshold`` (the dark side of an edge), with a soft ramp."""
    from scipy import ndimage

    y = luma(x)[..., 0]
    dog = ndimage.gaussian_filter(y, sigma, mode="reflect") - ndimage.gaussian_filter(y, sigma * ratio, mode="reflect")
    return (1.0 - np.tanh(sharpness * np.clip(-dog - threshold, 0.0, None)))[..., None]


STYLES: dict[str, Callable[[Image.Image], Image.Image]] = {"poster": poster, "grade": grade, "paint": paint, "comic": comic}
