"""The menu of architectures and losses: every combination trains, and each piece does what it claims."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from conftest import tiny_config
from stylecycle.config import Config, LossConfig, ModelConfig
from stylecycle.errors import ConfigError
from stylecycle.losses import gradient_penalty, gram_matrix, style_loss
from stylecycle.model import build_discriminator, build_generator
from stylecycle.nn.attention import SelfAttention
from stylecycle.nn.generators import upsampling
from stylecycle.training.trainer import Trainer

GENERATORS = [
    ("resnet_9blocks", False),
    ("resnet_6blocks", False),
    ("unet_128", False),
    ("unet_256", False),
    ("resnet_6blocks", True),
    ("mobile_resnet_6blocks", False),
    ("lut", False),
]
COMBINATIONS = list(
    itertools.product(
        GENERATORS, ["patch", "pixel", "multiscale"], ["instance", "batch", "sync_batch", "none"], ["lsgan", "vanilla", "hinge", "wgangp"]
    )
)


@pytest.mark.parametrize(
    "generator,discriminator,norm,gan_loss",
    COMBINATIONS,
    ids=["-".join([g[0] + ("+attention" if g[1] else ""), *rest]) for g, *rest in COMBINATIONS],
)
def test_every_architecture_and_loss_combination_takes_a_finite_training_step(
    demo_root_64, tmp_path, generator, discriminator, norm, gan_loss
):
    config = tiny_config(demo_root_64, tmp_path, max_steps=1)
    config.data.size = config.data.load_size = 64
    name, attention = generator
    config.model = ModelConfig(generator=name, attention=attention, ngf=4, ndf=4, n_layers_d=2, discriminator=discriminator, norm=norm)
    config.loss = LossConfig(gan_loss=gan_loss)
    torch.manual_seed(0)
    trainer = Trainer(config)
    batch = next(iter(trainer.loader))
    losses = trainer.train_step(batch["a"], batch["b"])
    assert all(torch.isfinite(v) for v in losses.values()), losses
    assert not trainer.update_skipped
    assert ("gp_a" in losses) == (gan_loss == "wgangp")


def test_the_generator_option_takes_exactly_the_registered_generators(monkeypatch):
    from stylecycle.nn import generators

    monkeypatch.setitem(generators.GENERATORS, "resnet_2blocks", generators.GENERATORS["resnet_6blocks"])
    ModelConfig(generator="resnet_2blocks").validate()  # a newly registered one is known at once
    with pytest.raises(
        ConfigError,
        match="unknown --generator 'resnet_99blocks'; known: lut, mobile_resnet_6blocks, mobile_resnet_9blocks, resnet_2blocks, resnet_6blocks",
    ):
        ModelConfig(generator="resnet_99blocks").validate()


def checkerboard_energy(image: torch.Tensor) -> float:
    """How much the four period-2 sub-grids of an image differ from each other."""
    grids = torch.stack([image[..., i::2, j::2] for i in (0, 1) for j in (0, 1)])
    return float((grids - grids.mean(0)).abs().mean())


@pytest.mark.parametrize("upsample,paints_checkerboard", [("transpose", True), ("resize-conv", False)])
def test_only_transposed_convolutions_paint_a_checkerboard_on_a_constant_input(upsample, paints_checkerboard):
    torch.manual_seed(0)
    layer = upsampling(upsample, 8, 4, 3, bias=True)
    nn.init.normal_(layer.weight if upsample == "transpose" else layer[-1].weight, 0, 0.2)
    with torch.no_grad():
        assert (checkerboard_energy(layer(torch.full((1, 8, 16, 16), 0.5))[..., 2:-2, 2:-2]) > 1e-3) == paints_checkerboard
        # The whole generator too (no normalisation, which would zero a constant map), far from the borders.
        generator = build_generator(ModelConfig(generator="resnet_6blocks", ngf=8, upsample=upsample, norm="none", init_gain=0.2))
        centre = generator(torch.full((1, 3, 256, 256), 0.3))[..., 96:160, 96:160]
        assert (checkerboard_energy(centre) > 1e-3) == paints_checkerboard


def test_the_anti_aliased_generator_paints_no_checkerboard_and_trains(demo_root_64, tmp_path):
    torch.manual_seed(0)
    generator = build_generator(ModelConfig(generator="resnet_6blocks", ngf=8, antialias=True, norm="none", init_gain=0.2))
    with torch.no_grad():
        assert checkerboard_energy(generator(torch.full((1, 3, 256, 256), 0.3))[..., 96:160, 96:160]) < 1e-3
    config = tiny_config(demo_root_64, tmp_path, max_steps=1).updated({"model": {"antialias": True}})
    trainer = Trainer(config)
    batch = next(iter(trainer.loader))
    assert all(torch.isfinite(v) for v in trainer.train_step(batch["a"], batch["b"]).values())
    with pytest.raises(ConfigError, match="--antialias brings its own upsampling"):
        config.updated({"model": {"upsample": "resize-conv"}}).validate()


@pytest.mark.parametrize("layout", [{"antialias": True}, {"upsample": "resize-conv"}])
def test_a_reflect_padded_generator_cannot_tell_where_the_picture_ends(layout):
    """On a flat picture every layer's map is flat, unless a padding tells the border apart: the
    zero-padded reference layout then draws a frame, the reflect-padded one cannot."""
    flat = torch.full((1, 3, 64, 96), 0.3)
    frames = {}
    for padding in ("zeros", "reflect"):
        torch.manual_seed(0)
        generator = build_generator(
            ModelConfig(generator="resnet_6blocks", ngf=8, norm="none", init_gain=0.2, conv_padding=padding, **layout)
        )
        with torch.no_grad():
            frames[padding] = float(generator(flat).std())
    assert frames["zeros"] > 0.01
    assert frames["reflect"] < 1e-5


def test_reflect_padding_keeps_the_reference_state_dict_and_exports():
    zero = build_generator(ModelConfig(generator="resnet_6blocks", ngf=8, antialias=True))
    reflect = build_generator(ModelConfig(generator="resnet_6blocks", ngf=8, antialias=True, conv_padding="reflect"))
    reflect.load_state_dict(zero.state_dict())  # same keys and shapes: the padding holds no weights
    x = torch.rand(1, 3, 40, 52) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(torch.jit.script(reflect)(x), reflect(x))


def test_gradient_penalty_matches_a_hand_computation():
    """For a linear critic D(x) = <w, x> the gradient is w everywhere, so the penalty is (|w| - 1)^2."""
    weight = torch.randn(1, 3, 4, 4)

    def critic(x: torch.Tensor) -> list[torch.Tensor]:
        return [(x * weight).flatten(1).sum(1)]

    penalty = gradient_penalty(critic, torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4))
    torch.testing.assert_close(penalty, (weight.norm() - 1) ** 2)


def test_gradient_penalty_is_zero_for_a_critic_with_unit_gradients():
    def critic(x: torch.Tensor) -> list[torch.Tensor]:
        return [x.flatten(1)[:, 0]]  # gradient (1, 0, 0, ...): norm exactly 1

    assert gradient_penalty(critic, torch.randn(3, 3, 8, 8), torch.randn(3, 3, 8, 8)).item() == pytest.approx(0.0, abs=1e-7)


def test_style_loss_is_zero_for_identical_features_and_positive_otherwise():
    features = {"relu1_2": torch.randn(2, 8, 16, 16), "relu2_2": torch.randn(2, 16, 8, 8)}
    other = {k: torch.randn_like(v) * 2 for k, v in features.items()}
    same = {k: v[:1] for k, v in features.items()}
    assert style_loss(same, same).item() == 0.0
    assert style_loss(same, other).item() > 0.0


def test_gram_matrix_ignores_where_things_are():
    features = torch.randn(1, 4, 8, 8)
    shuffled = features.flatten(2)[..., torch.randperm(64)].view(1, 4, 8, 8)
    torch.testing.assert_close(gram_matrix(features), gram_matrix(shuffled))


def test_self_attention_starts_as_the_identity_and_learns_its_gate():
    block = SelfAttention(16)
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(block(x), x)
    block(x).square().sum().backward()
    assert block.gate.grad is not None and block.gate.grad.abs().item() > 0


def test_spectral_norm_bounds_each_discriminator_layer_by_one():
    discriminator = build_discriminator(ModelConfig(ndf=8, spectral_norm=True, init_gain=1.0))
    for _ in range(20):  # the power iteration sharpens its estimate at each training-mode call
        discriminator(torch.randn(1, 3, 64, 64))
    convs = [m for m in discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert convs
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("norm,has_bias", [("instance", True), ("batch", False), ("none", True)])
def test_convolutions_carry_a_bias_only_where_the_norm_adds_no_shift(norm, has_bias):
    generator = build_generator(ModelConfig(generator="resnet_6blocks", ngf=4, norm=norm))
    stem = generator.model[1]
    assert (stem.bias is not None) == has_bias
    assert any(isinstance(m, nn.BatchNorm2d) for m in generator.modules()) == (norm == "batch")


def test_orthogonal_initialisation_gives_orthogonal_rows_scaled_by_the_gain():
    generator = build_generator(ModelConfig(generator="resnet_6blocks", ngf=4, init="orthogonal", init_gain=0.5))
    weight = generator.model[1].weight.flatten(1)  # 4 rows of 3*7*7
    torch.testing.assert_close(weight @ weight.T, 0.25 * torch.eye(4), atol=1e-5, rtol=0)


def test_a_checkpoint_rebuilds_its_own_architecture_for_translation(demo_root_64, tmp_path):
    from stylecycle.inference import Translator

    config = tiny_config(demo_root_64, tmp_path / "run", max_steps=1)
    config.data.size = config.data.load_size = 64
    config.model = ModelConfig(
        generator="unet_128",
        ngf=4,
        ndf=4,
        n_layers_d=2,
        upsample="resize-conv",
        norm="batch",
        discriminator="multiscale",
        spectral_norm=True,
    )
    final = Trainer(config).run()
    translator = Translator.from_checkpoint(final, device="cpu", precision="fp32")  # no architecture flags
    assert translator.translate(torch.zeros(3, 40, 56)).shape == (3, 40, 56)


def test_a_recipe_sets_defaults_and_given_options_still_win():
    seed = Config.from_recipe({"train": {"recipe": "seed"}})
    assert (seed.loss.cycle_loss, seed.loss.lambda_cycle, seed.loss.lambda_identity) == ("mse", 1.0, 0.0)
    assert (seed.optim.lr, seed.optim.beta1, seed.optim.pool_size, seed.optim.d_first) == (2e-4, 0.9, 0, True)
    overridden = Config.from_recipe({"train": {"recipe": "seed"}, "loss": {"lambda_cycle": 5.0}, "optim": {"pool_size": 10}})
    assert (overridden.loss.lambda_cycle, overridden.optim.pool_size, overridden.loss.cycle_loss) == (5.0, 10, "mse")


def test_with_no_recipe_named_a_run_trains_with_the_fast_recipe_and_the_paper_recipe_is_the_options_own_defaults():
    assert Config.from_recipe({}) == Config.from_recipe({"train": {"recipe": "fast"}})
    assert Config.from_recipe({"train": {"recipe": "paper"}}) == Config().updated({"train": {"recipe": "paper"}})


@pytest.mark.parametrize(
    "given, section, ruled_out, refusal",
    [
        ({"generator": "unet_256"}, "model", "antialias", "--antialias applies to resnet generators only"),
        ({"generator": "lut"}, "model", "antialias", "--antialias applies to resnet generators only"),
        ({"upsample": "resize"}, "model", "antialias", "--antialias brings its own upsampling"),
        ({"colour_lut": False}, "model", "colour_init", "--colour-init transfer starts the colour table"),
        ({"colour_lut": False}, "optim", "colour_lr", "--colour-lr is the learning rate of the colour stages"),
    ],
)
def test_a_recipes_options_that_the_options_given_rule_out_are_left_out_not_refused(tmp_path, given, section, ruled_out, refusal):
    train = {"run_dir": tmp_path}
    config = Config.from_recipe({"model": given, "train": train}).validate()
    assert getattr(getattr(config, section), ruled_out) == getattr(getattr(Config(), section), ruled_out)
    typed = {"model": {**given}, "train": train}
    typed.setdefault(section, {})[ruled_out] = getattr(getattr(Config.from_recipe({}), section), ruled_out)
    with pytest.raises(ConfigError, match=refusal):  # typed, the same option is still refused
        Config.from_recipe(typed).validate()


def test_padding_by_reflection_is_refused_for_the_colour_table_generator_which_has_no_convolutions(tmp_path):
    with pytest.raises(ConfigError, match="--conv-padding reflect .* --generator lut has none"):
        Config.from_recipe({"model": {"generator": "lut", "conv_padding": "reflect"}, "train": {"run_dir": tmp_path}}).validate()


def test_the_seed_recipe_trains_the_discriminators_on_the_generators_before_their_update(demo_root, tmp_path):
    config = Config.from_recipe({"train": {"recipe": "seed"}})
    base = tiny_config(demo_root, tmp_path, max_steps=1)
    config = config.updated({"data": vars(base.data), "model": vars(base.model), "train": vars(base.train)})
    trainer = Trainer(config)
    real_a, real_b = trainer.preview_a[:1], trainer.preview_b[:1]
    with torch.no_grad():
        fake_b_before = trainer.model.G_ab(real_a)
    seen = {}
    pool = trainer.update.pools["b"]
    query = pool.query

    def watched(fake):
        seen["b"] = fake
        return query(fake)

    pool.query = watched
    generator_before = [p.detach().clone() for p in trainer.model.G_ab.parameters()]
    trainer.train_step(real_a, real_b)
    torch.testing.assert_close(seen["b"], fake_b_before)  # judged before the generators moved
    assert any(not torch.equal(a, b) for a, b in zip(generator_before, trainer.model.G_ab.parameters()))  # and then they moved


def test_the_preview_recipe_is_the_small_budget_the_demo_was_measured_with():
    """The demo's published numbers (docs/demo.md, docs/evaluation.md) were measured with these flags; `--recipe preview` must give the same run."""
    spelled_out = {
        "data": {"size": 96, "load_size": 112, "workers": 0},
        "model": {"ngf": 32, "ndf": 32, "generator": "resnet_6blocks", "n_layers_d": 2, "global_skip": True},
        "loss": {"lambda_identity": 0.0},
        "train": {"recipe": "paper", "max_steps": 1500},
    }
    preview = Config.from_recipe({"train": {"recipe": "preview"}})
    assert preview.updated({"train": {"recipe": "paper"}}) == Config.from_recipe(spelled_out)
    assert Config.from_recipe({"train": {"recipe": "standard"}}).data.size == 128
    fast = Config.from_recipe({"train": {"recipe": "fast"}})
    extra = {
        "model": {"colour_lut": True, "antialias": True, "colour_init": "transfer", "abstraction": True},
        "optim": {"colour_lr": 5e-5},
        "train": {"recipe": "fast"},
    }
    assert fast == preview.updated(extra)  # the benchmark's best: preview's networks with the five levers it measured


def test_the_discriminators_may_learn_at_their_own_rate(demo_root_64, tmp_path):
    config = tiny_config(demo_root_64, tmp_path).updated({"optim": {"lr": 1e-4, "lr_d": 4e-4}})
    trainer = Trainer(config)
    assert [g["lr"] for g in trainer.opt_g.param_groups] == [1e-4] and [g["lr"] for g in trainer.opt_d.param_groups] == [4e-4]
    assert Trainer(tiny_config(demo_root_64, tmp_path / "same")).opt_d.param_groups[0]["lr"] == 2e-4  # --lr for both by default
    with pytest.raises(ConfigError, match="--lr-d must be positive"):
        config.updated({"optim": {"lr_d": 0.0}}).validate()
