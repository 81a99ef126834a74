import pytest
import torch

from conftest import tiny_config
from stylecycle.config import DataConfig
from stylecycle.data.datasets import UnpairedSampler
from stylecycle.data.transforms import augment_transform, prepare_transform, reflect_pad
from stylecycle.errors import ConfigError
from stylecycle.training.trainer import Trainer


def noise(height: int, width: int) -> torch.Tensor:
    return torch.randint(0, 256, (3, height, width), dtype=torch.uint8, generator=torch.Generator().manual_seed(height * width))


def pipeline(image: torch.Tensor, seed: int = 0, **options) -> torch.Tensor:
    data = DataConfig(**{"size": 32, "load_size": 40, **options})
    torch.manual_seed(seed)
    return augment_transform(data)(prepare_transform(data)(image))


@pytest.mark.parametrize(
    "preprocess,shape",
    [
        ("resize_and_crop", (3, 32, 32)),
        ("crop", (3, 32, 32)),
        ("scale_width", (3, 59, 40)),  # width to --load-size, aspect kept: 90 * 40 / 61
        ("scale_width_and_crop", (3, 32, 32)),
        ("none", (3, 88, 60)),  # own size, rounded to the nearest multiples of 4
    ],
)
def test_each_preprocessing_mode_gives_its_shape(preprocess, shape):
    out = pipeline(noise(90, 61), preprocess=preprocess)
    assert out.shape == shape and out.dtype == torch.float32
    assert out.min() >= -1 and out.max() <= 1


def test_crop_mode_pads_images_smaller_than_the_crop_by_reflection():
    out = pipeline(noise(20, 50), preprocess="crop")
    assert out.shape == (3, 32, 32)


def test_random_resized_crop_and_colour_jitter_keep_the_crop_size_and_range():
    out = pipeline(noise(90, 61), crop_scale=0.3, color_jitter=0.4)
    assert out.shape == (3, 32, 32) and out.min() >= -1 and out.max() <= 1


@pytest.mark.parametrize("options", [{}, {"rotate": 20.0, "vflip": True, "color_jitter": 0.3, "crop_scale": 0.5}])
def test_augmentation_is_determined_by_the_seed(options):
    image = noise(70, 80)
    assert torch.equal(pipeline(image, seed=3, **options), pipeline(image, seed=3, **options))
    assert not torch.equal(pipeline(image, seed=3, **options), pipeline(image, seed=4, **options))


def test_vertical_flip_flips_upside_down():
    image = noise(40, 40)
    flipped = {pipeline(image, seed=s, preprocess="none", flip=False, vflip=True)[0, 0, 0].item() for s in range(12)}
    assert len(flipped) == 2  # top-left pixel comes from the top or, flipped, from the bottom row


def test_rotation_fills_its_corners_by_reflection_not_with_a_constant():
    image = noise(64, 64)
    for seed in range(5):
        out = pipeline(image, seed=seed, preprocess="none", flip=False, rotate=40.0)
        assert out.shape == (3, 64, 64)
        for corner in (out[:, :6, :6], out[:, :6, -6:], out[:, -6:, :6], out[:, -6:, -6:]):
            assert corner.std() > 0.1  # noise, not a flat fill


def test_reflection_padding_reaches_beyond_the_image_width():
    assert reflect_pad(noise(5, 3), 7, 9).shape == (3, 23, 17)


def test_serial_batches_pair_images_in_order():
    sampler = UnpairedSampler(3, 5, seed=0, serial=True)
    assert [(a, b) for a, b, _ in sampler] == [(0, 0), (1, 1), (2, 2), (0, 3), (1, 4)]


def test_max_dataset_size_keeps_the_first_images(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path / "run", max_steps=1)
    config.data.max_dataset_size = 2
    trainer = Trainer(config)
    assert len(trainer.loader.dataset) == 2
    assert [p.name for p in trainer.loader.dataset.files["a"]] == ["0000.png", "0001.png"]


def test_the_cache_changes_speed_not_batches(demo_root, tmp_path):
    def batches(cache: bool) -> list[torch.Tensor]:
        config = tiny_config(demo_root, tmp_path / f"run{cache}", max_steps=1)
        config.data.cache, config.data.rotate = cache, 10.0
        trainer = Trainer(config)
        if cache:
            assert len(trainer.loader.dataset.cache) == 12
        return [torch.cat([b["a"], b["b"]]) for b, _ in zip(trainer.loader, range(6))]

    for cached, decoded in zip(batches(True), batches(False)):
        assert torch.equal(cached, decoded)


@pytest.mark.parametrize(
    "options,flag",
    [
        ({"preprocess": "scale_width", "batch_size": 2}, "--batch-size 1"),
        ({"crop_scale": 0.0}, "--crop-scale"),
        ({"rotate": -5.0}, "--rotate"),
    ],
)
def test_inconsistent_data_options_are_refused(options, flag):
    with pytest.raises(ConfigError, match=flag):
        DataConfig(**options).validate()
