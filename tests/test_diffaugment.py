"""DiffAugment: what the discriminators see is augmented, differentiably, real and fake alike."""

from __future__ import annotations

import pytest
import torch

from conftest import tiny_config
from stylecycle.errors import ConfigError
from stylecycle.training.diffaugment import DiffAugment
from stylecycle.training.step import side_by_side_blockers


@pytest.mark.parametrize("policy", ["colour", "translation", "cutout"])
def test_each_augmentation_changes_every_image_keeps_its_shape_and_passes_gradients(policy):
    images = (torch.rand(4, 3, 32, 40) * 2 - 1).requires_grad_(True)
    augmented = DiffAugment((policy,), seed=0)(images)
    assert augmented.shape == images.shape
    assert all(not torch.equal(a, b) for a, b in zip(augmented, images))
    augmented.sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0


def test_translation_shifts_the_picture_and_cutout_blanks_a_square_of_half_its_side():
    image = torch.arange(32 * 32, dtype=torch.float32).reshape(1, 1, 32, 32).expand(1, 3, 32, 32)
    shifted = DiffAugment(("translation",), seed=3)(image)[0, 0]
    inside = shifted[shifted != 0]
    steps = (inside.view(-1)[1:] - inside.view(-1)[:-1]).unique()
    assert 1.0 in steps  # neighbours stay neighbours: a shift, not a shuffle
    blanked = DiffAugment(("cutout",), seed=0)(torch.ones(1, 3, 32, 32))
    zeros = (blanked[0, 0] == 0).nonzero()
    assert 0 < len(zeros) <= 16 * 16 and (zeros.max(0).values - zeros.min(0).values < 16).all()


def test_the_same_seed_draws_the_same_augmentations_and_a_restored_state_repeats_them():
    images = torch.rand(2, 3, 16, 16)
    first, second = DiffAugment(("colour", "translation", "cutout"), seed=5), DiffAugment(("colour", "translation", "cutout"), seed=5)
    assert torch.equal(first(images), second(images))
    state = first.state_dict()
    once = first(images)
    first.load_state_dict(state)
    assert torch.equal(first(images), once)


def test_an_unknown_augmentation_is_a_one_line_error_and_augmenting_keeps_the_halves_in_turn(tmp_path):
    config = tiny_config(tmp_path, tmp_path / "run").updated({"optim": {"diffaugment": "colour,zoom"}})
    with pytest.raises(ConfigError, match="--diffaugment: unknown augmentation 'zoom'; known: colour, translation, cutout"):
        config.validate()
    config = config.updated({"optim": {"diffaugment": "colour"}})
    assert "--diffaugment" in side_by_side_blockers(config.model, config.loss, config.optim, "fp32")
