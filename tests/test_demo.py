import numpy as np
from PIL import Image

from stylecycle.data.demo import stylize


def test_demo_dataset_has_the_cyclegan_layout(demo_root):
    assert sorted(p.name for p in demo_root.iterdir()) == ["testA", "testB", "trainA", "trainB"]
    assert len(list((demo_root / "trainA").iterdir())) == len(list((demo_root / "trainB").iterdir())) == 6


def test_testB_holds_the_true_stylisation_of_each_testA_image(demo_root):
    for photo in (demo_root / "testA").iterdir():
        truth = Image.open(demo_root / "testB" / photo.name)
        assert np.array_equal(np.asarray(truth), np.asarray(stylize(Image.open(photo))))


def test_the_two_domains_look_different(demo_root):
    def mean_colour(folder):
        return np.mean([np.asarray(Image.open(p), dtype=float).mean((0, 1)) for p in folder.iterdir()], axis=0)

    a, b = mean_colour(demo_root / "trainA"), mean_colour(demo_root / "trainB")
    assert b[2] < a[2] - 20  # the warm palette drains blue


def test_training_domains_are_unpaired(demo_root):
    """No B training image is the stylisation of an A training image."""
    styled_a = {np.asarray(stylize(Image.open(p))).tobytes() for p in (demo_root / "trainA").iterdir()}
    assert not styled_a & {np.asarray(Image.open(p)).tobytes() for p in (demo_root / "trainB").iterdir()}
