"""Two unpaired image folders as one dataset, and the sampler that pairs them at random."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset, Sampler

from ..errors import DataError
from .io import IMAGE_EXTENSIONS, read_image


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder``, recursively, by case-insensitive extension, hidden ones skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist (or is not a folder)")
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not files:
        extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise DataError(f"image folder {folder} holds no images (looked for {extensions})")
    return files


class UnpairedImages(Dataset):
    """Items are dicts ``{"a": 3xHxW, "b": 3xHxW}``; indices are ``(i_a, i_b, seed)`` triples
    from :class:`UnpairedSampler`, so the pairing and augmentation are decided by the sampler."""

    def __init__(self, files_a: list[Path], files_b: list[Path], transform: nn.Module) -> None:
        self.files_a, self.files_b, self.transform = files_a, files_b, transform

    def __len__(self) -> int:
        return max(len(self.files_a), len(self.files_b))

    def __getitem__(self, index: tuple[int, int, int]) -> dict[str, torch.Tensor]:
        i_a, i_b, seed = index
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return {
                "a": self.transform(read_image(self.files_a[i_a])),
                "b": self.transform(read_image(self.files_b[i_b])),
            }


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
