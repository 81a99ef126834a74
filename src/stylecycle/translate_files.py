"""``stylecycle translate`` on files: a file, a folder (mirrored) or a glob; images and videos.

One unreadable file is reported and skipped; the rest are translated. Outputs are written
atomically, so an interrupted run leaves no half-written image, and ``skip_existing`` lets the
next run pick up where it stopped.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from tqdm.auto import tqdm

from .config import OutputFormat, TranslateConfig
from .data.datasets import candidate_files
from .data.io import (
    IMAGE_EXTENSIONS,
    pil_to_tensor,
    read_pil,
    save_pil,
    tensor_to_pil,
)
from .data.io import side_by_side as pair_side_by_side
from .errors import DataError, ImageReadError
from .inference import Translator
from .video import translate_video

log = logging.getLogger("stylecycle")

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm"})
SUFFIX_OF_FORMAT = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}
KEPT_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})  # formats "auto" writes back as they came
TRANSLATABLE = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS


@dataclass
class Report:
    written: list[tuple[Path, Path]] = field(default_factory=list)  # (input, its translation), in order
    existing: int = 0  # skipped because the output was already there
    skipped: list[str] = field(default_factory=list)  # unreadable inputs, one message each

    @property
    def translated(self) -> int:
        return len(self.written)


def expand_input(source: Path) -> list[tuple[Path, Path]]:
    """(file, path relative to the output folder) for a file, a folder (recursive) or a glob."""
    if source.is_dir():
        files = candidate_files(source, TRANSLATABLE)
        if not files:
            raise DataError(f"--input {source} holds no images or videos")
        return [(path, path.relative_to(source)) for path in files]
    if source.is_file():
        if source.suffix.lower() not in TRANSLATABLE:
            raise DataError(f"--input {source} is neither an image nor a video file (by its extension)")
        return [(source, Path(source.name))]
    if glob.has_magic(str(source)):
        base = Path(*iter_until_magic(source.parts))  # the folder the pattern starts in: mirrored from there
        matches = [Path(p) for p in sorted(glob.glob(str(source), recursive=True))]
        files = [p for p in matches if p.is_file() and p.suffix.lower() in TRANSLATABLE]
        if not files:
            raise DataError(f"--input {source} matches no image or video files")
        return [(path, path.relative_to(base)) for path in files]
    raise DataError(f"--input {source} does not exist")


def iter_until_magic(parts: tuple[str, ...]) -> Iterator[str]:
    """The leading parts of a path pattern that hold no wildcard."""
    for part in parts:
        if glob.has_magic(part):
            return
        yield part


def output_suffix(source: Path, fmt: OutputFormat) -> str:
    """``auto`` keeps JPEG, PNG and WebP as they came (and videos as MP4), and writes PNG otherwise."""
    suffix = source.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return ".mp4"
    if fmt == "auto":
        return suffix if suffix in KEPT_SUFFIXES else ".png"
    return SUFFIX_OF_FORMAT[fmt]


def plan_outputs(source: Path, output: Path, fmt: OutputFormat) -> list[tuple[Path, Path]]:
    """(input, output) pairs. Two inputs that would write the same output (``a.tif`` and
    ``a.png`` as PNG) keep their own suffix in the name instead (``a.tif.png``), so none is lost."""
    pairs = [(path, relative.with_suffix(output_suffix(path, fmt))) for path, relative in expand_input(Path(source))]
    counts: dict[Path, int] = {}
    for _, target in pairs:
        counts[target] = counts.get(target, 0) + 1
    return [(path, output / (target if counts[target] == 1 else target.with_name(path.name + target.suffix))) for path, target in pairs]


def translate_files(
    translator: Translator,
    source: Path,
    output: Path,
    *,
    fmt: OutputFormat = TranslateConfig.format,
    quality: int = TranslateConfig.quality,
    batch_size: int = TranslateConfig.batch_size,
    skip_existing: bool = TranslateConfig.skip_existing,
    side_by_side: bool = TranslateConfig.side_by_side,
    temporal_smoothing: float = TranslateConfig.temporal_smoothing,
    max_video_frames: int | None = None,
    max_frame_pixels: int | None = None,
) -> Report:
    """Translate everything ``source`` names (a file, a folder or a glob) into ``output``; the
    options are those of ``stylecycle translate`` (:class:`~stylecycle.config.TranslateConfig`);
    the web page also bounds the frames of videos (:func:`~stylecycle.video.translate_video`)."""
    report = Report()
    jobs = plan_outputs(Path(source), Path(output), fmt)
    if skip_existing:
        todo = [(src, dst) for src, dst in jobs if not dst.exists()]
        report.existing = len(jobs) - len(todo)
        jobs = todo
    images = [(src, dst) for src, dst in jobs if src.suffix.lower() not in VIDEO_EXTENSIONS]
    with tqdm(total=len(images), unit="img", desc="translating", dynamic_ncols=True, disable=not images) as bar:
        for batch in batches(images, batch_size, translator.max_pixels, report):
            outputs = translator.translate_tensor(torch.stack([pil_to_tensor(image) for _, _, image in batch]))
            for (source_image, target, image), translated in zip(batch, outputs):
                result = tensor_to_pil(translated)
                picture = pair_side_by_side(image, result) if side_by_side else result
                save_pil(picture, target, quality=quality, icc_profile=image.info.get("icc_profile"))
                report.written.append((source_image, target))
            bar.update(len(batch))
    for video, target in jobs:
        if video.suffix.lower() in VIDEO_EXTENSIONS:
            translate_video(
                translator,
                video,
                target,
                smoothing=temporal_smoothing,
                side_by_side=side_by_side,
                max_frames=max_video_frames,
                max_frame_pixels=max_frame_pixels,
            )
            report.written.append((video, target))
    return report


def batches(
    jobs: list[tuple[Path, Path]], batch_size: int, max_pixels: int, report: Report
) -> Iterator[list[tuple[Path, Path, Image.Image]]]:
    """Consecutive readable images of one size, up to ``batch_size`` at a time (an image too big
    to go through whole is tiled, alone); unreadable ones are logged, counted and left out."""
    pending: list[tuple[Path, Path, Image.Image]] = []
    for source, target in jobs:
        try:
            image = read_pil(source)
        except ImageReadError as exc:
            log.warning("skipped: %s", exc)
            report.skipped.append(str(exc))
            continue
        if pending and (image.size != pending[0][2].size or len(pending) == batch_size):
            yield pending
            pending = []
        pending.append((source, target, image))
        if image.width * image.height > max_pixels:
            yield pending
            pending = []
    if pending:
        yield pending
