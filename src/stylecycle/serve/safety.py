"""What the web page accepts from a browser: uploads within limits, and paths that stay inside
the folders the server was given. Everything here raises :class:`Refused`, whose message is
shown to the user as it is."""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..data.io import open_checked
from ..errors import ImageReadError, StylecycleError, first_line
from ..translate_files import VIDEO_EXTENSIONS
from ..video import import_av

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_FPS = 120  # frames per second counted at most against --max-video-seconds


class Refused(StylecycleError):
    """A request the page will not carry out; the message says why, for the user's eyes."""


@dataclass(frozen=True)
class Limits:
    """What one request may upload (set by ``stylecycle serve``'s flags)."""

    max_upload_mb: float
    max_pixels: int
    max_files: int
    max_video_seconds: float = 60.0

    @property
    def max_video_frames(self) -> int:
        """The most frames a video may have, whatever frame rate its header claims."""
        return math.ceil(self.max_video_seconds * MAX_FPS)


def inside(root: Path, relative: str, what: str) -> Path:
    """``root / relative`` if it stays inside ``root`` once ``..`` and symbolic links are
    resolved; an absolute path, a ``..`` escape or a link pointing out is refused."""
    root = Path(root).resolve()
    if not relative or Path(relative).is_absolute():
        raise Refused(f"{what} must be a path inside {root.name}/, not {relative!r}")
    candidate = (root / relative).resolve()
    if candidate != root and root not in candidate.parents:
        raise Refused(f"{what} {relative!r} is outside the folder this server may use")
    return candidate


def run_name(text: str) -> str:
    """A name for a new training run: letters, digits, '.', '_' and '-', so it is one folder."""
    name = text.strip()
    if not NAME.match(name) or ".." in name:
        raise Refused(f"run name {text!r}: use up to 64 letters, digits, '.', '_' or '-' (no spaces or slashes)")
    return name


def check_upload(path: Path, limits: Limits) -> str:
    """'image' or 'video' for an acceptable upload; otherwise :class:`Refused` with the reason."""
    path = Path(path)
    megabytes = path.stat().st_size / 2**20
    if megabytes > limits.max_upload_mb:
        raise Refused(f"{path.name} is {megabytes:.0f} MB; the limit is {limits.max_upload_mb:g} MB")
    if path.suffix.lower() in VIDEO_EXTENSIONS:
        check_video(path, limits)
        return "video"
    try:
        with open_checked(path) as image:
            width, height = image.size
    except ImageReadError as exc:
        raise Refused(f"{path.name} is not an image this page can read ({exc.reason}); upload JPEG, PNG, WebP or TIFF files") from exc
    if width * height > limits.max_pixels:
        raise Refused(
            f"{path.name} is {width}x{height} ({width * height / 1e6:.0f} megapixels); the limit is {limits.max_pixels / 1e6:g} megapixels"
        )
    return "image"


def check_video(path: Path, limits: Limits) -> None:
    """Refuse a video whose frames or length exceed the limits, from its header alone: a small
    file can hold frames of any size, or hours of them, and no frame is decoded here. (A header
    that lies is caught while translating: :func:`~stylecycle.video.translate_video` stops at the
    same limits.)"""
    av = import_av()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise Refused(f"{path.name} holds no video stream")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if container.duration:
                seconds = container.duration / av.time_base
            elif stream.duration and stream.time_base:
                seconds = float(stream.duration * stream.time_base)
            else:
                seconds = None
            frames = stream.frames
    except av.FFmpegError as exc:
        raise Refused(f"{path.name} is not a video this page can read ({first_line(exc)})") from exc
    if width * height > limits.max_pixels:
        raise Refused(
            f"{path.name} has {width}x{height} frames ({width * height / 1e6:.0f} megapixels); the limit is {limits.max_pixels / 1e6:g} megapixels"
        )
    if seconds is None and not frames:
        raise Refused(f"{path.name} does not say how long it is, so it is not translated here")
    if (seconds or 0) > limits.max_video_seconds or frames > limits.max_video_frames:
        length = f"{seconds:.0f} s" if seconds else f"{frames} frames"
        raise Refused(f"{path.name} lasts {length}; the limit is {limits.max_video_seconds:g} s")


def accept_uploads(uploads: list[str], folder: Path, limits: Limits, *, kinds: tuple[str, ...] = ("image", "video")) -> list[str]:
    """Copy the acceptable ``uploads`` into ``folder`` (uploads of the same name are all kept)
    and return a message for each one refused."""
    refused = []
    folder.mkdir(parents=True, exist_ok=True)
    for upload in map(Path, uploads):
        try:
            kind = check_upload(upload, limits)
            if kind not in kinds:
                raise Refused(f"{upload.name}: a {kind} cannot be used here, only {' or '.join(kinds)} files")
        except Refused as exc:
            refused.append(str(exc))
            continue
        name = f"{upload.stem}{upload.suffix.lower()}"
        while (folder / name).exists():
            name = f"{Path(name).stem}-again{upload.suffix.lower()}"
        shutil.copyfile(upload, folder / name)
    return refused
