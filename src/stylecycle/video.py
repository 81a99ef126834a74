"""Translating videos frame by frame with PyAV: the source's frame rate and audio are kept."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from .atomic import atomic_path
from .data.io import side_by_side as pair_side_by_side
from .errors import ConfigError, DataError, first_line

if TYPE_CHECKING:
    from .inference import Translator

# H.264 where this FFmpeg build has an encoder for it, MPEG-4 Part 2 (always built in) otherwise.
VIDEO_CODECS = ("libx264", "libopenh264", "h264", "mpeg4")


def import_av():
    try:
        import av
    except ImportError as exc:
        raise ConfigError("translating videos needs PyAV: pip install 'stylecycle[video]'") from exc
    return av


def _encoder(av) -> str:
    for name in VIDEO_CODECS:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # noqa: BLE001 - PyAV raises different errors for unknown and unbuilt codecs
            continue
    raise ConfigError("this FFmpeg build has no H.264 or MPEG-4 encoder")


def translate_video(
    translator: Translator,
    source: Path,
    target: Path,
    *,
    smoothing: float = 0.0,
    side_by_side: bool = False,
    max_frames: int | None = None,
    max_frame_pixels: int | None = None,
) -> int:
    """Translate every frame of ``source`` into an MP4 at ``target`` (written atomically) with the
    same frame rate and the first audio track copied unchanged; returns the number of frames.

    ``smoothing`` blends each translated frame with that fraction of the previous output (an
    exponential moving average), which damps the frame-to-frame flicker of per-frame translation
    at the cost of slight trails on fast motion. ``max_frames`` and ``max_frame_pixels`` stop a
    video with more frames, or larger ones, than its uploader may have translated (nothing is
    written then).
    """
    av = import_av()
    try:
        source_container = av.open(str(source))
    except av.FFmpegError as exc:
        raise DataError(f"cannot read video {source}: {first_line(exc)}") from exc
    with source_container as inp:
        if not inp.streams.video:
            raise DataError(f"{source} holds no video stream")
        video = inp.streams.video[0]
        audio = inp.streams.audio[:1]
        rate = video.average_rate or video.guessed_rate or 25
        frames, previous = 0, None
        with atomic_path(target) as tmp:
            with av.open(str(tmp), mode="w", format="mp4") as out:
                encoded = out.add_stream(_encoder(av), rate=rate)
                encoded.width = (video.width * (2 if side_by_side else 1)) // 2 * 2  # 4:2:0 chroma needs even sides
                encoded.height = video.height // 2 * 2
                encoded.pix_fmt = "yuv420p"
                copied_audio = out.add_stream_from_template(audio[0]) if audio else None
                bar = tqdm(total=video.frames or None, unit="frame", desc=source.name, dynamic_ncols=True)
                with bar:
                    for packet in inp.demux(video, *audio):
                        if packet.stream.type == "audio":
                            if packet.dts is not None:
                                packet.stream = copied_audio
                                out.mux(packet)
                            continue
                        for frame in packet.decode():
                            if max_frame_pixels is not None and frame.width * frame.height > max_frame_pixels:
                                raise DataError(
                                    f"{source.name} has {frame.width}x{frame.height} frames, more than {max_frame_pixels} pixels"
                                )
                            if max_frames is not None and frames >= max_frames:
                                raise DataError(f"{source.name} has more than {max_frames} frames, the most allowed")
                            picture = frame.to_image()
                            translated = np.asarray(translator.translate(picture), dtype=np.float32)
                            if smoothing and previous is not None:
                                translated = smoothing * previous + (1 - smoothing) * translated
                            previous = translated
                            result = Image.fromarray(np.clip(np.round(translated), 0, 255).astype(np.uint8))
                            if side_by_side:
                                result = pair_side_by_side(picture, result)
                            new = av.VideoFrame.from_image(result.crop((0, 0, encoded.width, encoded.height)))
                            new.pts = frames
                            for out_packet in encoded.encode(new):
                                out.mux(out_packet)
                            frames += 1
                            bar.update()
                for out_packet in encoded.encode():
                    out.mux(out_packet)
    return frames
