"""Two unpaired image folders as one dataset, and the sampler that pairs them at random."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import UnidentifiedImageError
from torch import nn
from torch.utils.data import Dataset, Sampler

from ..errors import DataError, ImageReadError, first_line
from .io import IMAGE_EXTENSIONS, open_checked, read_image


# Smaller images hold too little to learn a style from; they are skipped when training.
MIN_TRAIN_SIDE = 16
SKIPPED_NAMED = 3


@dataclass
class ImageScan:
    """The usable image files of a folder, and the skipped ones with the reason for each."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line naming the first few skipped files, for the log."""
        named = "; ".join(f"{path.name}: {reason}" for path, reason in self.skipped[:SKIPPED_NAMED])
        more = f"; and {len(self.skipped) - SKIPPED_NAMED} more" if len(self.skipped) > SKIPPED_NAMED else ""
        return f"skipped {len(self.skipped)} of {len(self.files) + len(self.skipped)} files in {self.folder} ({named}{more})"


def candidate_files(folder: Path) -> list[Path]:
    """Files under ``folder`` with an image extension (any case), recursively; hidden files and
    folders are ignored, and symlinked folders are followed once (a link loop ends there)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist (or is not a folder)")
    found, visited = [], set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        stat = os.stat(root)
        if (stat.st_dev, stat.st_ino) in visited:
            dirs[:] = []
            continue
        visited.add((stat.st_dev, stat.st_ino))
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(root) / f for f in files if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_EXTENSIONS]
    return sorted(found)


def list_images(folder: Path) -> list[Path]:
    """The candidate image files of ``folder``, or an error naming it when there are none."""
    files = candidate_files(folder)
    if not files:
        extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise DataError(f"image folder {folder} holds no images (looked for {extensions})")
    return files


def header_problem(path: Path, min_side: int) -> str | None:
    """Why ``path`` cannot be trained on, judged from its header alone, or None when it can."""
    try:
        with open_checked(path) as image:
            width, height = image.size
    except ImageReadError as exc:
        return exc.reason
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        return first_line(exc) if path.stat().st_size else "empty file"
    if min(width, height) < min_side:
        return f"{width}x{height} is smaller than {min_side} pixels on a side"
    return None


def scan_images(folder: Path, *, min_side: int = MIN_TRAIN_SIDE) -> ImageScan:
    """Every candidate file of ``folder`` validated once, from its header: usable or skipped."""
    scan = ImageScan(Path(folder))
    for path in list_images(folder):
        problem = header_problem(path, min_side)
        if problem is None:
            scan.files.append(path)
        else:
            scan.skipped.append((path, problem))
    return scan


class UnpairedImages(Dataset):
    """Items are dicts ``{"a": 3xHxW, "b": 3xHxW, "unreadable": str}``; indices are
    ``(i_a, i_b, seed)`` triples from :class:`UnpairedSampler`, so the pairing and augmentation
    are decided by the sampler.

    A file that has become unreadable since the scan (deleted, truncated) is replaced by the
    next readable one of its domain; ``unreadable`` names such files, one message per line, so
    the trainer can count them across worker processes.
    """

    def __init__(self, files_a: list[Path], files_b: list[Path], transform: nn.Module, *, min_side: int | None = None) -> None:
        self.files_a, self.files_b, self.transform, self.min_side = files_a, files_b, transform, min_side

    def __len__(self) -> int:
        return max(len(self.files_a), len(self.files_b))

    def __getitem__(self, index: tuple[int, int, int]) -> dict[str, torch.Tensor | str]:
        i_a, i_b, seed = index
        failures: list[str] = []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            a = self._load(self.files_a, i_a, failures)
            b = self._load(self.files_b, i_b, failures)
        return {"a": a, "b": b, "unreadable": "\n".join(failures)}

    def _load(self, files: list[Path], index: int, failures: list[str]) -> torch.Tensor:
        for offset in range(len(files)):
            try:
                return self.transform(read_image(files[(index + offset) % len(files)], min_side=self.min_side))
            except ImageReadError as exc:
                failures.append(str(exc))
        raise DataError(f"none of the {len(files)} images in {files[0].parent} can be read any more ({failures[-1]})")


class UnpairedSampler(Sampler[tuple[int, int, int]]):
    """Each epoch: every image of the larger domain once, in a random order, each paired with a
    random image of the other domain, plus a per-sample augmentation seed.

    Everything is a function of ``(seed, epoch)``, so an epoch can be replayed exactly.
    """

    def __init__(self, n_a: int, n_b: int, *, seed: int) -> None:
        self.n_a, self.n_b, self.seed, self.epoch = n_a, n_b, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return max(self.n_a, self.n_b)

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        length = len(self)
        order_a = self._cover(self.n_a, length, generator)
        order_b = self._cover(self.n_b, length, generator)
        seeds = torch.randint(0, 2**62, (length,), generator=generator)
        return iter(zip(order_a.tolist(), order_b.tolist(), seeds.tolist()))

    @staticmethod
    def _cover(n: int, length: int, generator: torch.Generator) -> torch.Tensor:
        """``length`` indices in ``range(n)``: whole random permutations, the last one cut short."""
        rounds = -(-length // n)
        return torch.cat([torch.randperm(n, generator=generator) for _ in range(rounds)])[:length]
