"""The production update against the reference implementation's arithmetic, for every recipe
and for settings that tell the two domains and the loss terms apart."""

from __future__ import annotations

import copy

import pytest
import torch

from stylecycle.config import ONE_SIDED, RECIPES, Config
from stylecycle.training.diffaugment import DiffAugment, parse_policy
from stylecycle.training.pool import ImagePool
from stylecycle.training.reference_update import reference_cut_update, reference_cyclegan_update
from stylecycle.training.trainer import Trainer

# Small networks, whatever the recipe; the recipe decides the objective and its order.
TINY = {"ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_d": 2}
ASYMMETRIC = {"lambda_a": 7.0, "lambda_b": 3.0, "lambda_identity": 0.3}


def compare_with_reference(demo_root, run_dir, given: dict, step_seed: int = 1) -> None:
    """One step of the trainer and one of the reference, from the same weights and batch: the
    same losses and the same gradients on every parameter of every network."""
    given = {
        **given,
        "data": {"root": demo_root, "size": 24, "load_size": 28, "workers": 0, "batch_size": 2, **given.get("data", {})},
        "model": {**given.get("model", {}), **TINY},
        "train": {**given.get("train", {}), "run_dir": run_dir, "device": "cpu", "precision": "fp32", "parallel_halves": False},
    }
    config = Config.from_recipe(given)
    torch.manual_seed(0)
    trainer = Trainer(config)
    real_a, real_b = trainer.preview_a[:2], trainer.preview_b[:2]
    if config.model.method in ONE_SIDED:
        # PatchNCE divides by the norms of the heads' tiny first projections (CUT's small initial
        # weights), so some gradients reach 1e5 and others are the rounding noise of sums that
        # cancel: the two are compared in float64, where that noise is far below the tolerance.
        trainer.model.double()
        real_a, real_b = real_a.double(), real_b.double()
    reference = copy.deepcopy(trainer.model)

    # The gradient penalty's random points, CUT's flips and sampled places come from the global generator.
    torch.manual_seed(step_seed)
    ours = trainer.train_step(real_a, real_b)

    optim, seed = config.optim, config.train.seed
    adam = dict(lr=optim.lr, betas=(optim.beta1, optim.beta2))
    opt_g = torch.optim.Adam(reference.generators().parameters(), **adam)
    opt_d = torch.optim.Adam(reference.discriminators().parameters(), **adam)
    augment = {"augment": DiffAugment(parse_policy(optim.diffaugment), seed=seed + 3)} if optim.diffaugment else {}
    reference.enable_generator_networks(not trainer.in_colour_phase())  # the trainer's phase (--colour-first), not the update's
    torch.manual_seed(step_seed)
    if config.model.method in ONE_SIDED:
        theirs = reference_cut_update(reference, opt_g, opt_d, real_a, real_b, colour_content=optim.colour_content, **augment)
    else:
        pools = {"a": ImagePool(optim.pool_size, seed=seed + 1), "b": ImagePool(optim.pool_size, seed=seed + 2)}
        theirs = reference_cyclegan_update(
            reference, opt_g, opt_d, pools, real_a, real_b, d_first=optim.d_first, colour_content=optim.colour_content, **augment
        )

    assert ours.keys() == theirs.keys()
    for name, loss in ours.items():
        torch.testing.assert_close(loss, theirs[name], rtol=1e-4, atol=1e-6, msg=lambda m, name=name: f"loss {name}: {m}")
    for (name, p), q in zip(trainer.model.named_parameters(), reference.parameters()):
        if name.startswith("vgg."):
            continue
        assert (p.grad is None) == (q.grad is None), name
        scale = 1.0 if q.grad is None else max(1.0, float(q.grad.abs().max()))
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5 * scale, msg=lambda m, name=name: f"gradient of {name}: {m}")


# Every recipe of an adversarial objective (a distillation has no reference code to match: test_distill.py).
ADVERSARIAL = [name for name, recipe in RECIPES.items() if recipe.get("model", {}).get("method") != "distill"]


@pytest.mark.parametrize("recipe", ADVERSARIAL)
def test_every_recipe_computes_the_reference_update(demo_root, tmp_path, recipe):
    compare_with_reference(demo_root, tmp_path, {"train": {"recipe": recipe}})


@pytest.mark.parametrize("recipe", ADVERSARIAL)
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


@pytest.mark.parametrize("nce_idt", [True, False])
def test_cut_computes_the_reference_update(demo_root, tmp_path, nce_idt):
    loss = {"nce_idt": nce_idt, "lambda_nce": 3.0, "nce_patches": 50, "nce_temperature": 0.2}
    compare_with_reference(demo_root, tmp_path, {"train": {"recipe": "cut"}, "loss": loss})


@pytest.mark.parametrize("step_seed", [0, 1], ids=["flipped", "unflipped"])
def test_fastcut_computes_the_reference_update_with_and_without_the_flip(demo_root, tmp_path, step_seed):
    torch.manual_seed(step_seed)
    assert (torch.rand(()) < 0.5) == (step_seed == 0)  # the step's coin: seed 0 flips, seed 1 does not
    compare_with_reference(demo_root, tmp_path, {"train": {"recipe": "fastcut"}, "loss": {"nce_layers": "0,3,9,12"}}, step_seed)


@pytest.mark.parametrize("colour_first", [0.0, 0.5], ids=["network", "colour-phase"])
def test_cut_with_a_colour_stage_and_diffaugment_computes_the_reference_update(demo_root, tmp_path, colour_first):
    optim = {"diffaugment": "colour,translation,cutout", "colour_first": colour_first}
    compare_with_reference(demo_root, tmp_path, {"model": {"method": "cut", "colour_lut": True}, "optim": optim})


@pytest.mark.parametrize("method", ["cyclegan", "cut"])
def test_an_abstraction_stage_learns_from_the_discriminator_alone_as_the_reference_has_it(demo_root, tmp_path, method):
    compare_with_reference(
        demo_root, tmp_path, {"train": {"recipe": "fast"}, "model": {"method": method, "abstraction": True}, "loss": ASYMMETRIC}
    )


@pytest.mark.parametrize("share", [0.0, 0.3])
@pytest.mark.parametrize("method", ["cyclegan", "cut"])
def test_a_colour_stage_learns_from_its_share_of_the_content_terms_as_the_reference_has_it(demo_root, tmp_path, method, share):
    given = {"train": {"recipe": "fast"}, "model": {"method": method}, "optim": {"colour_content": share}, "loss": ASYMMETRIC}
    compare_with_reference(demo_root, tmp_path, given)
