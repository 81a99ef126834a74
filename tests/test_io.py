import numpy as np
import pytest
import torch
from PIL import Image

from stylecycle.data.io import read_image, save_image
from stylecycle.errors import ImageReadError


def test_decoded_images_are_3xHxW_floats_in_minus_one_to_one(tmp_path):
    Image.fromarray(np.array([[[0, 128, 255]] * 5] * 4, dtype=np.uint8)).save(tmp_path / "x.png")
    image = read_image(tmp_path / "x.png")
    assert image.shape == (3, 4, 5) and image.dtype == torch.float32
    assert image[:, 0, 0].tolist() == pytest.approx([-1.0, 128 / 127.5 - 1, 1.0], abs=1e-6)


def test_grayscale_becomes_three_equal_channels(tmp_path):
    Image.fromarray(np.full((6, 6), 200, dtype=np.uint8), mode="L").save(tmp_path / "g.png")
    image = read_image(tmp_path / "g.png")
    assert image.shape == (3, 6, 6) and torch.equal(image[0], image[2])


def test_transparent_pixels_are_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)  # black, fully transparent
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "t.png")
    assert torch.equal(read_image(tmp_path / "t.png"), torch.ones(3, 4, 4))


def test_exif_orientation_is_applied(tmp_path):
    wide = Image.new("RGB", (8, 4))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    wide.save(tmp_path / "r.jpg", exif=exif)
    assert read_image(tmp_path / "r.jpg").shape == (3, 8, 4)


@pytest.mark.parametrize("content", [b"", b"hello, I am text", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20])
def test_unreadable_files_raise_an_error_naming_the_file(tmp_path, content):
    (tmp_path / "bad.png").write_bytes(content)
    with pytest.raises(ImageReadError, match="bad.png"):
        read_image(tmp_path / "bad.png")


def test_saved_images_round_trip_exactly_through_png(tmp_path):
    image = torch.randint(0, 256, (3, 7, 9)).float() / 127.5 - 1
    save_image(image, tmp_path / "out" / "x.png")
    torch.testing.assert_close(read_image(tmp_path / "out" / "x.png"), image)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["x.png"]
