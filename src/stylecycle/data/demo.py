"""The demo and benchmark data: photographs versus a stylisation of them (``data.styles``; the
demo's is the "warm poster").

Built at run time, with no download, from the public-domain photographs that scikit-image
ships (astronaut, coffee, rocket, Hubble deep field, Chelsea the cat). Domain A holds crops of
the photographs; domain B holds *other* crops of the same photographs passed through one of the
documented filters of :mod:`stylecycle.data.styles`, so the two domains are unpaired but the
mapping between them is known exactly.
That makes it a task with a known answer: ``valB/`` and ``testB/`` hold the true stylisation of
each ``valA/`` and ``testA/`` image under the same file name, so a translation can be scored
against it (``stylecycle evaluate``), and hyper-parameters tuned on the validation pair
(``stylecycle tune``) without looking at the test pair.

Held-out pixels: each photograph is cut into three parts that share no pixel. Training crops
come from the top 75% of its left 70%; the validation images are the bottom 25% of that left
part; the test images are the right 30% strips, plus the whole of Chelsea the cat, which no
training or validation image shows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .io import save_pil
from .styles import STYLES

TRAIN_PHOTOS = ("astronaut", "coffee", "rocket", "hubble_deep_field")
TEST_ONLY_PHOTOS = ("chelsea",)
TRAIN_FRACTION = 0.7  # of each photograph's width; the rest is test
VALIDATION_FRACTION = 0.25  # of the height of the left part; the rest is training


def load_photo(name: str) -> Image.Image:
    """One of scikit-image's bundled photographs, as an RGB PIL image."""
    import skimage.data

    return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")


def random_crops(photos: list[Image.Image], count: int, side: int, rng: np.random.Generator) -> list[Image.Image]:
    """``count`` square crops of random position and scale, each resized to ``side``."""
    crops = []
    for i in range(count):
        photo = photos[i % len(photos)]
        w, h = photo.size
        crop = int(rng.integers(min(side, w, h) // 2, min(w, h) + 1))
        x, y = int(rng.integers(0, w - crop + 1)), int(rng.integers(0, h - crop + 1))
        crops.append(photo.crop((x, y, x + crop, y + crop)).resize((side, side), Image.Resampling.LANCZOS))
    return crops


def build_demo_dataset(root: Path, *, style: str = "poster", train_per_domain: int = 120, side: int = 128, seed: int = 0) -> Path:
    """Write ``trainA``, ``trainB``, ``valA``, ``valB``, ``testA`` and ``testB`` of ``style`` under
    ``root`` and return it. The held-out parts do not depend on the other arguments, so scores of
    runs trained with different settings are comparable."""
    stylize = STYLES[style]
    root = Path(root)
    rng = np.random.default_rng(seed)
    train_parts: list = []
    held_out: dict[str, dict] = {"val": {}, "test": {}}
    for name in TRAIN_PHOTOS:
        photo = load_photo(name)
        split_x = int(photo.width * TRAIN_FRACTION)
        split_y = int(photo.height * (1 - VALIDATION_FRACTION))
        train_parts.append(photo.crop((0, 0, split_x, split_y)))
        held_out["val"][f"{name}_bottom"] = photo.crop((0, split_y, split_x, photo.height))
        held_out["test"][f"{name}_right"] = photo.crop((split_x, 0, photo.width, photo.height))
    for name in TEST_ONLY_PHOTOS:
        held_out["test"][name] = load_photo(name)

    # Independent crops for each domain: no B image is the stylisation of an A image.
    for i, crop in enumerate(random_crops(train_parts, train_per_domain, side, rng)):
        save_pil(crop, root / "trainA" / f"{i:04d}.png")
    for i, crop in enumerate(random_crops(train_parts, train_per_domain, side, rng)):
        save_pil(stylize(crop), root / "trainB" / f"{i:04d}.png")
    for split, images in held_out.items():
        for name, image in images.items():
            save_pil(image, root / f"{split}A" / f"{name}.png")
            save_pil(stylize(image), root / f"{split}B" / f"{name}.png")
    return root
