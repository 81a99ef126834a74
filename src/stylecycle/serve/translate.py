"""The Translate tab's work: check the uploads, translate them with the CLI's own code (tiling,
formats, colour profiles, videos), and bundle the results."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..inference import Translator
from ..translate_files import translate_files
from .safety import Limits, Refused, accept_uploads


@dataclass
class Translated:
    pairs: list[tuple[Path, Path]] = field(default_factory=list)  # (upload, translation), images and videos
    archive: Path | None = None  # every translation in one zip
    refused: list[str] = field(default_factory=list)  # one message per upload that was not translated


def translate_uploads(uploads: list[str], translator: Translator, direction: str, limits: Limits, work: Path) -> Translated:
    """Translate the uploaded files into ``work``; unacceptable ones are listed, not fatal,
    unless none is left."""
    if not uploads:
        raise Refused("upload one or more images (or a video) first")
    if len(uploads) > limits.max_files:
        raise Refused(f"{len(uploads)} files at once; the limit is {limits.max_files}")
    inputs = Path(work) / "in"
    result = Translated(refused=accept_uploads(uploads, inputs, limits))
    if not any(inputs.iterdir()):
        raise Refused("; ".join(result.refused))
    report = translate_files(
        translator, inputs, Path(work) / "out", max_video_frames=limits.max_video_frames, max_frame_pixels=limits.max_pixels
    )
    result.refused += report.skipped
    for source, target in report.written:  # named after the direction too, so a download says what it is
        result.pairs.append((source, target.rename(target.with_name(f"{target.stem}-{direction}{target.suffix}"))))
    if result.pairs:
        result.archive = Path(work) / "stylecycle-translations.zip"
        with zipfile.ZipFile(result.archive, "w") as archive:
            for _, translated in result.pairs:
                archive.write(translated, translated.name)
    return result
