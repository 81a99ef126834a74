"""``stylecycle check-data``: what the trainer would see in a dataset, before a long run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError, ImageReadError
from .datasets import ImageScan, scan_images
from .io import open_checked, read_pil

DOMAIN_FOLDERS = ("trainA", "trainB", "testA", "testB")


@dataclass
class FolderReport:
    """Usable files with their sizes and modes, and skipped files with reasons."""

    scan: ImageScan
    sizes: list[tuple[int, int]] = field(default_factory=list)
    modes: Counter = field(default_factory=Counter)

    def lines(self) -> list[str]:
        scan = self.scan
        out = [f"{scan.folder}: {len(scan.files)} usable, {len(scan.skipped)} skipped"]
        if self.sizes:
            pixels = sorted(self.sizes, key=lambda s: s[0] * s[1])
            median = pixels[len(pixels) // 2]
            out.append(f"  sizes: smallest {fmt(pixels[0])}, median {fmt(median)}, largest {fmt(pixels[-1])}")
            out.append("  modes: " + ", ".join(f"{mode} {count}" for mode, count in self.modes.most_common()))
        out += [f"  skipped {path.relative_to(scan.folder)}: {reason}" for path, reason in scan.skipped]
        return out


def fmt(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def check_folder(folder: Path) -> FolderReport:
    """Scan ``folder`` as training does, then decode every file fully, which also finds the
    truncated files that a header check cannot."""
    scan = scan_images(folder)
    report = FolderReport(ImageScan(scan.folder, skipped=list(scan.skipped)))
    for path in scan.files:
        try:
            with open_checked(path) as image:
                mode = image.mode  # before the conversion to RGB that read_pil does
            size = read_pil(path).size
        except ImageReadError as exc:
            report.scan.skipped.append((path, exc.reason))
            continue
        report.scan.files.append(path)
        report.sizes.append(size)
        report.modes[mode] += 1
    return report


def check_dataset(root: Path) -> list[FolderReport]:
    """Reports for ``root``'s trainA/trainB/testA/testB, or for ``root`` itself when it has none.

    Raises :class:`DataError` when a training folder has no usable image."""
    root = Path(root)
    folders = [root / name for name in DOMAIN_FOLDERS if (root / name).is_dir()] or [root]
    reports = [check_folder(folder) for folder in folders]
    for report in reports:
        if not report.scan.files and not report.scan.folder.name.startswith("test"):
            raise DataError(f"{report.scan.folder} holds no usable image ({len(report.scan.skipped)} skipped)")
    return reports
