"""Users' folders: every kind of image file a phone, camera or web scrape leaves, and broken ones."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import tiny_config
from stylecycle.cli import main
from stylecycle.data.datasets import scan_images
from stylecycle.data.io import read_image
from stylecycle.training.trainer import Trainer


def photo(size: tuple[int, int] = (48, 40)) -> Image.Image:
    rng = np.random.default_rng(sum(size))
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), mode="RGB")


def png_declaring(width: int, height: int) -> bytes:
    """A valid PNG header that declares ``width`` x ``height`` pixels: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def build_corpus(root: Path) -> dict[str, set[str]]:
    """Write the corpus; returns the names expected to be usable, skipped at the scan, skipped
    during training, and ignored (not images at all)."""
    root.mkdir(parents=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    photo((48, 40)).save(root / "rotated.jpg", exif=exif)
    photo().convert("RGBA").save(root / "alpha.png")
    photo().convert("P").save(root / "palette.png", transparency=0)
    full_range_16bit = np.linspace(0, 65535, 40 * 48).reshape(40, 48).astype(np.uint16)
    Image.fromarray(full_range_16bit).save(root / "grey16.png")
    Image.fromarray(full_range_16bit).save(root / "grey16.tif")
    Image.fromarray(np.random.default_rng(1).random((40, 48)).astype(np.float32)).save(root / "float.tif")
    photo().convert("L").save(root / "grey.jpg")
    photo().convert("LA").save(root / "grey_alpha.png")
    photo().convert("CMYK").save(root / "cmyk.jpg")
    photo().save(root / "web.webp")
    photo().save(root / "SHOUTING.JPG")
    photo().convert("1").save(root / "bilevel.bmp")
    (root / "nested" / "deeper").mkdir(parents=True)
    photo().save(root / "nested" / "deeper" / "inside.png")
    (root / "nested" / "deeper" / "back_to_top").symlink_to(root, target_is_directory=True)  # a link loop
    photo((1600, 1200)).save(root / "large.jpg", quality=80)
    # broken, found by the scan
    (root / "empty.jpg").write_bytes(b"")
    (root / "text.png").write_text("I am a text file with an image's name")
    photo((4, 4)).save(root / "tiny.png")
    (root / "bomb.png").write_bytes(png_declaring(30000, 30000))
    # broken in a way only decoding finds: skipped during training
    full = (root / "large.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(full[: len(full) // 3])
    # not images at all: ignored
    (root / ".DS_Store").write_bytes(b"\x00\x01junk")
    (root / "notes.txt").write_text("shot on a phone")
    (root / ".thumbnails").mkdir()
    photo().save(root / ".thumbnails" / "hidden.jpg")
    return {
        "usable": {
            "rotated.jpg",
            "alpha.png",
            "palette.png",
            "grey16.png",
            "grey16.tif",
            "float.tif",
            "grey.jpg",
            "grey_alpha.png",
            "cmyk.jpg",
            "web.webp",
            "SHOUTING.JPG",
            "bilevel.bmp",
            "inside.png",
            "large.jpg",
        },
        "skipped_at_scan": {"empty.jpg", "text.png", "tiny.png", "bomb.png"},
        "skipped_in_training": {"truncated.jpg"},
    }


@pytest.fixture()
def corpus(tmp_path):
    return tmp_path / "awkward", build_corpus(tmp_path / "awkward")


def test_the_scan_keeps_every_decodable_kind_and_skips_the_broken_with_reasons(corpus):
    folder, expected = corpus
    scan = scan_images(folder)
    assert {p.name for p in scan.files} == expected["usable"] | expected["skipped_in_training"]
    reasons = {path.name: reason for path, reason in scan.skipped}
    assert set(reasons) == expected["skipped_at_scan"]
    assert reasons["empty.jpg"] == "empty file"
    assert "decompression bomb" in reasons["bomb.png"] and "smaller than 16" in reasons["tiny.png"]
    assert scan.summary().startswith(f"skipped 4 of 19 files in {folder}")


def test_every_kind_decodes_to_3xHxW_floats_in_minus_one_to_one(corpus):
    folder, expected = corpus
    for path in scan_images(folder).files:
        if path.name in expected["skipped_in_training"]:
            continue
        image = read_image(path)
        assert image.dim() == 3 and image.shape[0] == 3 and image.dtype == torch.float32, path.name
        assert image.min() >= -1 and image.max() <= 1, path.name
    assert read_image(folder / "rotated.jpg").shape[1:] == (48, 40)  # EXIF orientation applied
    grey16 = read_image(folder / "grey16.png")
    assert grey16.max() > 0.9 and grey16.min() < -0.9  # 16-bit range scaled, not clipped to white


def test_training_over_the_corpus_skips_exactly_the_broken_files_and_counts_them(corpus, demo_root, tmp_path, caplog):
    folder, expected = corpus
    config = tiny_config(demo_root, tmp_path / "run")
    config.data.root, config.data.data_a, config.data.data_b = None, folder, demo_root / "trainB"
    trainer = Trainer(config)
    trainer.total_steps = trainer.steps_per_epoch  # one epoch visits every usable A file once
    trainer.run()
    assert [Path(message.split(": ")[0].removeprefix("cannot read image ")).name for message in trainer.unreadable] == ["truncated.jpg"]
    assert "skipped 4 of 19 files" in caplog.text
    assert "1 files became unreadable during training" in caplog.text


def test_a_domain_with_no_usable_image_is_a_one_line_error(corpus, demo_root, tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "empty.jpg").write_bytes(b"")
    (broken / "text.png").write_text("nope")
    code = main(
        ["train", "--data-a", str(broken), "--data-b", str(demo_root / "trainB"), "--run-dir", str(tmp_path / "r"), "--device", "cpu"]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert f"{broken} holds 0 usable images" in err[0] and "empty.jpg: empty file" in err[0]


def test_check_data_lists_what_training_would_skip_including_truncated_files(corpus, capsys):
    folder, expected = corpus
    assert main(["check-data", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"{folder}: 14 usable, 5 skipped" in out
    for name in expected["skipped_at_scan"] | expected["skipped_in_training"]:
        assert f"skipped {name}: " in out
    assert "modes: " in out and "I;16 2" in out and "CMYK 1" in out


def test_check_data_reports_each_domain_of_a_dataset(demo_root, capsys):
    assert main(["check-data", str(demo_root)]) == 0
    out = capsys.readouterr().out
    assert all(f"{demo_root / name}: " in out for name in ("trainA", "trainB", "testA", "testB"))
    assert "every image is usable" in out


def test_a_domain_smaller_than_the_batch_is_a_one_line_error(demo_root, tmp_path, capsys):
    single = tmp_path / "single"
    single.mkdir()
    photo().save(single / "only.png")
    code = main(
        [
            "train",
            "--data-a",
            str(single),
            "--data-b",
            str(demo_root / "trainB"),
            "--batch-size",
            "2",
            "--run-dir",
            str(tmp_path / "r"),
            "--device",
            "cpu",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert f"{single} holds 1 usable images, fewer than --batch-size 2" in err[0]
