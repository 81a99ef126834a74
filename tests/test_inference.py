"""Translating users' pictures: any size, any kind, tiles without seams, whole folders, videos."""

from __future__ import annotations

import concurrent.futures
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms
from skimage import data

from conftest import tiny_config
from stylecycle.cli import main
from stylecycle.config import ModelConfig
from stylecycle.data.io import pil_to_tensor
from stylecycle.inference import Translator
from stylecycle.model import build_generator
from stylecycle.tiling import tile_starts
from stylecycle.training.trainer import Trainer


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A real (one-step) stylecycle checkpoint of small networks."""
    root = tmp_path_factory.mktemp("ckpt")
    from stylecycle.data.demo import build_demo_dataset

    data_root = build_demo_dataset(root / "data", train_per_domain=2, side=32)
    return Trainer(tiny_config(data_root, root / "run", max_steps=1)).run()


def photo(width: int, height: int) -> Image.Image:
    return Image.fromarray(data.astronaut()).resize((width, height), Image.Resampling.BICUBIC)


@pytest.mark.parametrize("height,width", [(301, 517), (33, 7), (1, 1), (64, 63)])
def test_the_output_has_the_input_size_for_odd_sizes(checkpoint, height, width):
    translator = Translator.from_checkpoint(checkpoint, device="cpu", precision="fp32")
    assert translator.translate(torch.rand(3, height, width) * 2 - 1).shape == (3, height, width)
    assert translator.translate(photo(width, height)).size == (width, height)


def test_the_python_api_returns_the_kind_of_picture_it_was_given(checkpoint):
    translator = Translator.from_checkpoint(checkpoint, device="cpu", precision="fp32")
    picture = photo(40, 30)
    as_pil, as_array = translator.translate(picture), translator.translate(np.asarray(picture))
    as_tensor = translator.translate(pil_to_tensor(picture))
    assert isinstance(as_pil, Image.Image) and as_pil.mode == "RGB"
    assert isinstance(as_array, np.ndarray) and as_array.shape == (30, 40, 3) and as_array.dtype == np.uint8
    assert isinstance(as_tensor, torch.Tensor) and as_tensor.shape == (3, 30, 40)
    assert np.array_equal(np.asarray(as_pil), as_array)
    with pytest.raises(TypeError, match="PIL image, a NumPy array or a tensor"):
        translator.translate("photo.jpg")


def seam_ratio(image: torch.Tensor, borders: list[int], window: int = 8) -> float:
    """How much the image's column-mean profile steps across the given columns, relative to the
    median step anywhere: about 1 where nothing happens there, far more along a seam (a change
    of tone from one tile to the next). Averaging over rows keeps the pictures' own detail out."""
    profile = image.mean(dim=(0, 1))
    steps = torch.stack(
        [(profile[x : x + window].mean() - profile[x - window : x].mean()).abs() for x in range(window, len(profile) - window)]
    )
    return float(steps[[b - window for b in borders]].mean() / steps.median())


def test_a_tiled_translation_matches_the_whole_one_and_shows_no_seams():
    torch.manual_seed(0)
    generator = build_generator(ModelConfig(generator="resnet_6blocks", ngf=8))
    image = pil_to_tensor(photo(2048, 1536))
    whole = Translator(generator, "cpu", "fp32", max_pixels=2048 * 1536).translate(image)
    tiled = Translator(generator, "cpu", "fp32", max_pixels=1024 * 768, tile=512, overlap=64).translate(image)
    assert tiled.shape == whole.shape
    # The stated tolerance: statistics measured at a quarter of the pixels shift the tone a
    # little (this random-weight network is more sensitive to them than trained ones).
    assert (tiled - whole).abs().mean().item() < 0.08

    starts = tile_starts(2048, 512, 64)
    borders = sorted({s for s in starts[1:]} | {s + 512 for s in starts[:-1]})  # where tiles begin and end
    assert seam_ratio(tiled, borders) < max(2.0, 1.5 * seam_ratio(whole, borders))  # no more than the picture has there
    # The detector does see seams when tiles are translated on their own (each its own statistics).
    naive = torch.cat([Translator(generator, "cpu", "fp32").translate(image[..., s : s + 512]) for s in range(0, 2048, 512)], dim=-1)
    assert seam_ratio(naive, [512, 1024, 1536]) > 8


def test_an_exif_rotated_photo_comes_out_upright(checkpoint, tmp_path):
    upright = photo(48, 32)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: viewers turn it 90 degrees clockwise
    (tmp_path / "in").mkdir()
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "in" / "phone.jpg", exif=exif, quality=98)
    assert translate_cli(checkpoint, tmp_path / "in", tmp_path / "out") == 0
    assert Image.open(tmp_path / "out" / "phone.jpg").size == (48, 32)


def test_output_formats_quality_and_the_icc_profile(checkpoint, tmp_path):
    (tmp_path / "in").mkdir()
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo(64, 48).save(tmp_path / "in" / "tagged.png", icc_profile=profile)
    base = ["translate", "--checkpoint", str(checkpoint), "--input", str(tmp_path / "in"), "--device", "cpu"]
    assert main([*base, "--output", str(tmp_path / "png")]) == 0
    assert Image.open(tmp_path / "png" / "tagged.png").info.get("icc_profile") == profile
    assert main([*base, "--output", str(tmp_path / "low"), "--format", "jpeg", "--quality", "10"]) == 0
    assert main([*base, "--output", str(tmp_path / "high"), "--format", "jpeg", "--quality", "95"]) == 0
    assert (tmp_path / "low" / "tagged.jpg").stat().st_size < (tmp_path / "high" / "tagged.jpg").stat().st_size
    assert Image.open(tmp_path / "high" / "tagged.jpg").info.get("icc_profile") == profile
    assert main([*base, "--output", str(tmp_path / "webp"), "--format", "webp"]) == 0
    assert Image.open(tmp_path / "webp" / "tagged.webp").format == "WEBP"


def test_globs_batches_side_by_side_and_skip_existing(checkpoint, tmp_path, capsys):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for i in range(3):
        photo(40 + 8 * (i == 2), 32).save(tmp_path / "in" / "sub" / f"p{i}.png")
    photo(40, 32).save(tmp_path / "in" / "p0.tif")
    photo(40, 32).save(tmp_path / "in" / "sub" / "p0.tif")  # collides with sub/p0.png as PNG
    base = ["translate", "--checkpoint", str(checkpoint), "--device", "cpu", "--precision", "fp32"]
    assert main([*base, "--input", str(tmp_path / "in" / "**" / "*.png"), "--output", str(tmp_path / "one"), "--batch-size", "1"]) == 0
    assert main([*base, "--input", str(tmp_path / "in" / "**" / "*.png"), "--output", str(tmp_path / "three"), "--batch-size", "3"]) == 0
    for i in range(3):
        assert np.array_equal(
            np.asarray(Image.open(tmp_path / "one" / "sub" / f"p{i}.png")), np.asarray(Image.open(tmp_path / "three" / "sub" / f"p{i}.png"))
        )
    assert main([*base, "--input", str(tmp_path / "in"), "--output", str(tmp_path / "all")]) == 0
    assert sorted(p.name for p in (tmp_path / "all" / "sub").iterdir()) == ["p0.png.png", "p0.tif.png", "p1.png", "p2.png"]
    capsys.readouterr()
    assert main([*base, "--input", str(tmp_path / "in"), "--output", str(tmp_path / "all"), "--skip-existing"]) == 0
    assert "5 already there" in capsys.readouterr().out
    assert main([*base, "--input", str(tmp_path / "in" / "p0.tif"), "--output", str(tmp_path / "pair"), "--side-by-side"]) == 0
    assert Image.open(tmp_path / "pair" / "p0.png").size == (80, 32)


def translate_cli(checkpoint: Path, source: Path, output: Path, *flags: str) -> int:
    """``stylecycle translate`` on the CPU, as a user types it."""
    return main(["translate", "--checkpoint", str(checkpoint), "--input", str(source), "--output", str(output), "--device", "cpu", *flags])


def make_video(path, frames: int, fps: int, with_audio: bool, size: tuple[int, int] = (64, 48)) -> None:
    import av

    with av.open(str(path), mode="w") as out:
        video = out.add_stream("mpeg4", rate=fps)
        (video.width, video.height), video.pix_fmt = size, "yuv420p"
        audio = out.add_stream("aac", rate=16000) if with_audio else None
        for i in range(frames):
            frame = av.VideoFrame.from_image(photo(*size).rotate(i * 5))
            for packet in video.encode(frame):
                out.mux(packet)
        if audio is not None:
            samples = (np.sin(np.arange(16000 * frames // fps) / 10) * 0.3).astype(np.float32)[None]
            for start in range(0, samples.shape[1], 1024):
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start : start + 1024]), format="flt", layout="mono")
                chunk.sample_rate = 16000
                for packet in audio.encode(chunk):
                    out.mux(packet)
            for packet in audio.encode():
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)


def test_a_video_keeps_its_frame_count_frame_rate_and_audio(checkpoint, tmp_path):
    import av

    make_video(tmp_path / "clip.mp4", frames=12, fps=12, with_audio=True)
    assert translate_cli(checkpoint, tmp_path / "clip.mp4", tmp_path / "out", "--temporal-smoothing", "0.5") == 0
    with av.open(str(tmp_path / "out" / "clip.mp4")) as result:
        video = result.streams.video[0]
        assert video.average_rate == 12 and (video.width, video.height) == (64, 48)
        assert sum(1 for _ in result.decode(video=0)) == 12
        assert len(result.streams.audio) == 1


def test_onnx_export_agrees_with_pytorch_and_onnxruntime_at_any_size(checkpoint, tmp_path):
    import onnxruntime

    assert main(["export", "--checkpoint", str(checkpoint), "--format", "onnx", "--output", str(tmp_path / "g.onnx")]) == 0
    session = onnxruntime.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    translator = Translator.from_checkpoint(checkpoint, device="cpu", precision="fp32")
    for height, width in ((37, 91), (128, 96)):
        image = torch.rand(1, 3, height, width) * 2 - 1
        ours = translator.translate(image)
        theirs = torch.from_numpy(session.run(None, {"image": image.numpy()})[0])
        assert (ours - theirs).abs().max().item() <= 1e-4


def test_torchscript_and_safetensors_exports_reload_to_the_same_outputs(checkpoint, tmp_path):
    image = torch.rand(1, 3, 45, 70) * 2 - 1
    expected = Translator.from_checkpoint(checkpoint, direction="b2a", device="cpu", precision="fp32").translate(image)
    assert (
        main(
            [
                "export",
                "--checkpoint",
                str(checkpoint),
                "--direction",
                "b2a",
                "--format",
                "safetensors",
                "--output",
                str(tmp_path / "g.safetensors"),
            ]
        )
        == 0
    )
    reloaded = Translator.from_checkpoint(tmp_path / "g.safetensors", device="cpu", precision="fp32").translate(image)
    assert torch.equal(reloaded, expected)
    assert (
        main(
            ["export", "--checkpoint", str(checkpoint), "--direction", "b2a", "--format", "torchscript", "--output", str(tmp_path / "g.pt")]
        )
        == 0
    )
    scripted = torch.jit.load(str(tmp_path / "g.pt"))
    assert (scripted(image) - expected).abs().max().item() <= 1e-5


def test_a_side_by_side_video_holds_the_source_beside_its_translation(checkpoint, tmp_path):
    import av

    make_video(tmp_path / "clip.mp4", frames=3, fps=8, with_audio=False)
    assert translate_cli(checkpoint, tmp_path / "clip.mp4", tmp_path / "out", "--side-by-side") == 0
    with av.open(str(tmp_path / "out" / "clip.mp4")) as result:
        assert (result.streams.video[0].width, result.streams.video[0].height) == (128, 48)
        assert sum(1 for _ in result.decode(video=0)) == 3


def test_one_translator_serves_two_threads_at_once_while_one_of_them_tiles(checkpoint):
    """Tiling shares one image's statistics across its tiles; that is state of the call, so a
    picture translated meanwhile on another thread, with the same translator, keeps its own."""
    translator = Translator.from_checkpoint(checkpoint, device="cpu", precision="fp32", max_pixels=96 * 96, tile=160)
    torch.manual_seed(0)
    large, small = torch.rand(3, 300, 280) * 2 - 1, torch.rand(3, 48, 40) * 2 - 1
    large_alone, small_alone = translator.translate(large), translator.translate(small)

    in_first_tile, small_done = threading.Event(), threading.Event()

    def pause_in_the_first_tile(module, inputs):
        if inputs[0].shape[-2:] == (160, 160) and not in_first_tile.is_set():
            in_first_tile.set()
            small_done.wait(30)

    hook = translator.generator.register_forward_pre_hook(pause_in_the_first_tile)
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            tiled = pool.submit(translator.translate, large)
            assert in_first_tile.wait(30)
            small_meanwhile = translator.translate(small)
            small_done.set()
            large_meanwhile = tiled.result(30)
    finally:
        hook.remove()
    torch.testing.assert_close(small_meanwhile, small_alone)
    torch.testing.assert_close(large_meanwhile, large_alone)
