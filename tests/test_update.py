"""The production update against the reference implementation's arithmetic, for every recipe
and for settings that tell the two domains and the loss terms apart."""

from __future__ import annotations

import copy

import pytest
import torch

from stylecycle.config import RECIPES, Config
from stylecycle.training.diffaugment import DiffAugment, parse_policy
from stylecycle.training.pool import ImagePool
from stylecycle.training.reference_update import reference_cyclegan_update
from stylecycle.training.trainer import Trainer

# Small networks, whatever the recipe; the recipe decides the objective and its order.
TINY = {"ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_d": 2}
ASYMMETRIC = {"lambda_a": 7.0, "lambda_b": 3.0, "lambda_identity": 0.3}


def compare_with_reference(demo_root, run_dir, given: dict) -> None:
    """One step of the trainer and one of the reference, from the same weights and batch: the
    same losses and the same gradients on every parameter of all four networks."""
    given = {
        **given,
        "data": {"root": demo_root, "size": 24, "load_size": 28, "workers": 0, "batch_size": 2, **given.get("data", {})},
        "model": {**given.get("model", {}), **TINY},
        "train": {**given.get("train", {}), "run_dir": run_dir, "device": "cpu", "precision": "fp32", "parallel_halves": False},
    }
    config = Config.from_recipe(given)
    torch.manual_seed(0)
    trainer = Trainer(config)
    reference = copy.deepcopy(trainer.model)
    real_a, real_b = trainer.preview_a[:2], trainer.preview_b[:2]

    torch.manual_seed(1)  # the gradient penalty draws its random points from the global generator
    ours = trainer.train_step(real_a, real_b)

    optim, seed = config.optim, config.train.seed
    adam = dict(lr=optim.lr, betas=(optim.beta1, optim.beta2))
    pools = {"a": ImagePool(optim.pool_size, seed=seed + 1), "b": ImagePool(optim.pool_size, seed=seed + 2)}
    reference.enable_generator_networks(not trainer.in_colour_phase())  # the trainer's phase (--colour-first), not the update's
    torch.manual_seed(1)
    theirs = reference_cyclegan_update(
        reference,
        torch.optim.Adam(reference.generators().parameters(), **adam),
        torch.optim.Adam(reference.discriminators().parameters(), **adam),
        pools,
        real_a,
        real_b,
        d_first=optim.d_first,
        **({"augment": DiffAugment(parse_policy(optim.diffaugment), seed=seed + 3)} if optim.diffaugment else {}),
    )

    assert ours.keys() == theirs.keys()
    for name, loss in ours.items():
        torch.testing.assert_close(loss, theirs[name], rtol=1e-4, atol=1e-6, msg=lambda m, name=name: f"loss {name}: {m}")
    for (name, p), q in zip(trainer.model.named_parameters(), reference.parameters()):
        if name.startswith("vgg."):
            continue
        assert (p.grad is None) == (q.grad is None), name
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5, msg=lambda m, name=name: f"gradient of {name}: {m}")


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_every_recipe_computes_the_reference_update(demo_root, tmp_path, recipe):
    compare_with_reference(demo_root, tmp_path, {"train": {"recipe": recipe}})


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_each_domain_keeps_its_own_cycle_and_identity_weights(demo_root, tmp_path, recipe):
    compare_with_reference(demo_root, tmp_path, {"train": {"recipe": recipe}, "loss": ASYMMETRIC})


@pytest.mark.parametrize("optim", [{"d_first": True}, {"d_first": False}])
def test_the_order_of_the_two_steps_follows_the_recipe(demo_root, tmp_path, optim):
    compare_with_reference(demo_root, tmp_path, {"loss": ASYMMETRIC, "optim": optim})


@pytest.mark.parametrize("gan_loss", ["vanilla", "hinge", "wgangp"])
def test_every_adversarial_loss_computes_the_reference_update(demo_root, tmp_path, gan_loss):
    compare_with_reference(demo_root, tmp_path, {"loss": {**ASYMMETRIC, "gan_loss": gan_loss, "cycle_loss": "mse"}})


def test_perceptual_and_style_terms_compute_the_reference_update(demo_root, tmp_path, random_vgg16_file):
    loss = {**ASYMMETRIC, "lambda_perceptual": 2.0, "lambda_style": 50.0, "vgg_weights": random_vgg16_file}
    compare_with_reference(demo_root, tmp_path, {"loss": loss, "optim": {"d_first": True}})


@pytest.mark.parametrize("d_first", [True, False])
def test_diffaugment_shows_the_discriminators_augmented_images_as_the_reference_does(demo_root, tmp_path, d_first):
    compare_with_reference(
        demo_root, tmp_path, {"loss": ASYMMETRIC, "optim": {"d_first": d_first, "diffaugment": "colour,translation,cutout"}}
    )
