"""Two unpaired image folders as one dataset, and the sampler that pairs them at random."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset, Sampler

from ..errors import DataError, ImageReadError
from .io import IMAGE_EXTENSIONS, open_checked, read_image_uint8

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


def candidate_files(folder: Path, extensions: frozenset[str] = IMAGE_EXTENSIONS) -> list[Path]:
    """Files under ``folder`` with one of ``extensions`` (any case; images by default),
    recursively; hidden files and folders are ignored, and symlinked folders are followed once
    (a link loop ends there)."""
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
        found += [Path(root) / f for f in files if not f.startswith(".") and Path(f).suffix.lower() in extensions]
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

    Each image is decoded, then ``prepare``d (deterministic resizing, cacheable with
    :meth:`fill_cache`), then ``augment``ed under a generator seeded for this sample. A file that
    has become unreadable since the scan (deleted, truncated) is replaced by the next readable
    one of its domain; ``unreadable`` names such files, one per line, so that the trainer can
    count them across worker processes.
    """

    def __init__(
        self,
        files_a: list[Path],
        files_b: list[Path],
        *,
        prepare: nn.Module,
        augment: nn.Module,
        decode_side: int | None = None,
    ) -> None:
        self.files = {"a": files_a, "b": files_b}
        self.prepare, self.augment, self.decode_side = prepare, augment, decode_side
        self.cache: dict[Path, torch.Tensor] = {}

    def __len__(self) -> int:
        return max(len(self.files["a"]), len(self.files["b"]))

    def fill_cache(self) -> list[str]:
        """Decode and prepare every image once, in this process, before workers fork (they then
        share the cache's memory); returns the messages of the files that could not be read."""
        failures: list[str] = []
        for path in sorted(set(self.files["a"]) | set(self.files["b"])):
            try:
                self.cache[path] = self._prepared(path)
            except ImageReadError as exc:
                failures.append(str(exc))
        return failures

    def prepared_images(self, domain: str, limit: int) -> list[torch.Tensor]:
        """Up to ``limit`` readable images of ``domain`` (``"a"`` or ``"b"``), spread evenly over its
        files, prepared but not augmented: what the colour transfer reads the domain's colours from."""
        files = self.files[domain]
        images = []
        for path in files[:: max(1, len(files) // limit)][:limit]:
            try:
                images.append(self._prepared(path))
            except ImageReadError:
                continue  # counted when the training loop meets it
        return images

    def __getitem__(self, index: tuple[int, int, int]) -> dict[str, torch.Tensor | str]:
        i_a, i_b, seed = index
        failures: list[str] = []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            a = self._load("a", i_a, failures)
            b = self._load("b", i_b, failures)
        return {"a": a, "b": b, "unreadable": "\n".join(failures)}

    def _prepared(self, path: Path) -> torch.Tensor:
        cached = self.cache.get(path)
        return cached if cached is not None else self.prepare(read_image_uint8(path, min_side=self.decode_side))

    def _load(self, domain: str, index: int, failures: list[str]) -> torch.Tensor:
        files = self.files[domain]
        for offset in range(len(files)):
            try:
                return self.augment(self._prepared(files[(index + offset) % len(files)]))
            except ImageReadError as exc:
                failures.append(str(exc))
        raise DataError(f"none of the {len(files)} images in {files[0].parent} can be read any more ({failures[-1]})")


class UnpairedSampler(Sampler[tuple[int, int, int]]):
    """Each epoch: every image of the larger domain once, in a random order, each paired with a
    random image of the other domain, plus a per-sample augmentation seed.

    Everything is a function of ``(seed, epoch)``, so an epoch can be replayed exactly; under
    distributed training each rank takes its own share of that same epoch. With
    ``serial`` the images are taken in order (A's i-th with B's i-th, wrapping around), as the
    reference's ``--serial_batches`` does; augmentation seeds stay random.
    """

    def __init__(self, n_a: int, n_b: int, *, seed: int, serial: bool = False, rank: int = 0, world_size: int = 1) -> None:
        self.n_a, self.n_b, self.seed, self.serial = n_a, n_b, seed, serial
        self.rank, self.world_size = rank, world_size
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Replay ``epoch`` from its ``start``-th sample on (a resumed run skips what it has done)."""
        self.epoch, self.start = epoch, start

    def __len__(self) -> int:
        return max(self.n_a, self.n_b) // self.world_size - self.start

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        length = max(self.n_a, self.n_b)
        if self.serial:
            order_a, order_b = torch.arange(length) % self.n_a, torch.arange(length) % self.n_b
        else:
            order_a = self._cover(self.n_a, length, generator)
            order_b = self._cover(self.n_b, length, generator)
        seeds = torch.randint(0, 2**62, (length,), generator=generator)
        # Distributed: every rank draws the same epoch and takes every world_size-th sample of it,
        # cut to equal shares so that all ranks take the same number of steps.
        samples = list(zip(order_a.tolist(), order_b.tolist(), seeds.tolist()))
        share = samples[self.rank :: self.world_size][: length // self.world_size]
        return iter(share[self.start :])

    @staticmethod
    def _cover(n: int, length: int, generator: torch.Generator) -> torch.Tensor:
        """``length`` indices in ``range(n)``: whole random permutations, the last one cut short."""
        rounds = -(-length // n)
        return torch.cat([torch.randperm(n, generator=generator) for _ in range(rounds)])[:length]
