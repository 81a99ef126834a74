"""The Translate tab's work: check the uploads, translate them with the CLI's own code (tiling,
formats, colour profiles, videos), and bundle the results."""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..config import TranslateConfig
from ..inference import Translator
from ..translate_files import translate_files
from .safety import Limits, Refused, check_upload


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
    result, inputs = Translated(), Path(work) / "in"
    inputs.mkdir(parents=True, exist_ok=True)
    for upload in map(Path, uploads):
        try:
            check_upload(upload, limits)
        except Refused as exc:
            result.refused.append(str(exc))
            continue
        name = f"{upload.stem}-{direction}{upload.suffix.lower()}"
        while (inputs / name).exists():  # two uploads of the same name keep both
            name = f"{Path(name).stem}-again{upload.suffix.lower()}"
        shutil.copyfile(upload, inputs / name)
    if not any(inputs.iterdir()):
        raise Refused("; ".join(result.refused))
    outputs = Path(work) / "out"
    report = translate_files(translator, TranslateConfig(input=inputs, output=outputs, direction=direction))  # type: ignore[arg-type]
    result.refused += report.skipped
    for source in sorted(inputs.iterdir()):
        translated = next(outputs.glob(f"{source.stem}.*"), None)
        if translated is not None:
            result.pairs.append((source, translated))
    if result.pairs:
        result.archive = Path(work) / "stylecycle-translations.zip"
        with zipfile.ZipFile(result.archive, "w") as archive:
            for _, translated in result.pairs:
                archive.write(translated, translated.name)
    return result
