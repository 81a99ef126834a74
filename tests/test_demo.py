import numpy as np
import pytest
from PIL import Image

from stylecycle.data.styles import STYLES, poster


def test_demo_dataset_has_the_cyclegan_layout_and_a_validation_split(demo_root):
    assert sorted(p.name for p in demo_root.iterdir()) == ["testA", "testB", "trainA", "trainB", "valA", "valB"]
    assert len(list((demo_root / "trainA").iterdir())) == len(list((demo_root / "trainB").iterdir())) == 6
    assert len(list((demo_root / "valA").iterdir())) == 4 and len(list((demo_root / "testA").iterdir())) == 5


@pytest.mark.parametrize("split", ["val", "test"])
def test_the_B_side_of_each_held_out_split_is_the_true_stylisation_of_its_A_side(demo_root, split):
    for photo in (demo_root / f"{split}A").iterdir():
        truth = Image.open(demo_root / f"{split}B" / photo.name)
        assert np.array_equal(np.asarray(truth), np.asarray(poster(Image.open(photo))))


def test_no_validation_or_test_pixel_is_in_a_training_crop(demo_root):
    """Each photograph is cut into parts: the held-out images tile the parts training never sees."""
    from stylecycle.data.demo import TRAIN_FRACTION, VALIDATION_FRACTION, load_photo

    astronaut = np.asarray(load_photo("astronaut"))  # 512 x 512
    split_x, split_y = int(512 * TRAIN_FRACTION), int(512 * (1 - VALIDATION_FRACTION))
    assert np.array_equal(np.asarray(Image.open(demo_root / "valA" / "astronaut_bottom.png")), astronaut[split_y:, :split_x])
    assert np.array_equal(np.asarray(Image.open(demo_root / "testA" / "astronaut_right.png")), astronaut[:, split_x:])


def test_the_two_domains_look_different(demo_root):
    def mean_colour(folder):
        return np.mean([np.asarray(Image.open(p), dtype=float).mean((0, 1)) for p in folder.iterdir()], axis=0)

    a, b = mean_colour(demo_root / "trainA"), mean_colour(demo_root / "trainB")
    assert b[2] < 0.75 * a[2]  # the warm palette drains blue


def test_training_domains_are_unpaired(demo_root):
    """No B training image is the stylisation of an A training image."""
    styled_a = {np.asarray(poster(Image.open(p))).tobytes() for p in (demo_root / "trainA").iterdir()}
    assert not styled_a & {np.asarray(Image.open(p)).tobytes() for p in (demo_root / "trainB").iterdir()}


def test_make_benchmark_builds_the_dataset_at_the_size_asked(tmp_path, capsys):
    from stylecycle.cli import main

    assert main(["make-benchmark", str(tmp_path / "bench"), "--train-per-domain", "3", "--size", "40"]) == 0
    crops = sorted((tmp_path / "bench" / "trainB").iterdir())
    assert len(crops) == 3 and Image.open(crops[0]).size == (40, 40)
    assert main(["make-benchmark", str(tmp_path / "bad"), "--size", "0"]) == 2
    assert "--size must be positive" in capsys.readouterr().err


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_benchmark_style_is_far_from_the_untouched_photo_and_deterministic(style):
    """A style the input already nearly matches could not tell a model that learned it from one
    that did nothing."""
    from stylecycle.data.demo import load_photo

    photo = load_photo("coffee").resize((160, 120))
    truth = np.asarray(STYLES[style](photo), dtype=float)
    assert np.array_equal(truth, np.asarray(STYLES[style](photo), dtype=float))
    mse = np.mean((truth - np.asarray(photo, dtype=float)) ** 2) / 255.0**2
    assert 10 * np.log10(1 / mse) < 24


def test_make_benchmark_writes_the_style_asked_for(tmp_path):
    from stylecycle.cli import main

    assert main(["make-benchmark", str(tmp_path / "grade"), "--style", "grade", "--train-per-domain", "2", "--size", "32"]) == 0
    photo = tmp_path / "grade" / "testA" / "chelsea.png"
    truth = np.asarray(Image.open(tmp_path / "grade" / "testB" / "chelsea.png"))
    assert np.array_equal(truth, np.asarray(STYLES["grade"](Image.open(photo))))


def test_the_comic_prints_in_its_inks_and_darkens_only_along_edges():
    """Every pixel is one of the nine inks, darkened by an outline or not at all; most are not."""
    from stylecycle.data.demo import load_photo
    from stylecycle.data.styles import COMIC_INKS, comic

    truth = np.asarray(comic(load_photo("chelsea").resize((150, 100))), dtype=float) / 255.0
    inks = np.round(COMIC_INKS * 255.0) / 255.0
    exact = (np.abs(truth[..., None, :] - inks).max(-1) <= 0.5 / 255.0).any(-1)
    assert exact.mean() > 0.7
    # the rest lie below the ink of their hue (the nearest in chromaticity): darkened, never brightened
    darkened = truth[~exact]
    hue = darkened / np.maximum(darkened.sum(-1, keepdims=True), 1e-6)
    nearest = inks[((hue[:, None, :] - inks / inks.sum(-1, keepdims=True)) ** 2).sum(-1).argmin(-1)]
    assert (darkened <= nearest + 0.5 / 255.0).all()
