"""The abstraction stage (--abstraction): edge-preserving patches and edge lines, with a few learnable weights."""

from __future__ import annotations

import pytest
import torch

from conftest import assert_onnx_export_matches, tiny_config, trained_tiny_model
from stylecycle.cli import main
from stylecycle.config import ModelConfig
from stylecycle.data.demo import build_demo_dataset
from stylecycle.inference import Translator
from stylecycle.model import build_generator
from stylecycle.nn.abstraction import (
    BILATERAL_RADIUS,
    BILATERAL_RANGE_SIGMA,
    BILATERAL_SPACE_SIGMA,
    LINE_GAIN,
    STAGE_GAIN,
    THRESHOLD_FLOOR,
    AbstractionStage,
    bilateral,
    kuwahara,
)
from stylecycle.training.trainer import Trainer


def step_edge_with_texture(height: int = 32, width: int = 32) -> torch.Tensor:
    """Dark on the left, bright on the right, both covered in fine noise."""
    torch.manual_seed(0)
    image = torch.full((1, 3, height, width), -0.5)
    image[..., width // 2 :] = 0.5
    return image + 0.1 * torch.randn_like(image)


def test_kuwahara_flattens_texture_and_keeps_the_edge_sharp():
    image = step_edge_with_texture()
    flat = kuwahara(image, 4)
    left, right = flat[..., 4:-4, 4:12], flat[..., 4:-4, 20:28]
    assert left.std() < 0.3 * image[..., 4:-4, 4:12].std() and right.std() < 0.3 * image[..., 4:-4, 20:28].std()
    # either side of the edge keeps its own level: no blur across it
    assert flat[..., 15].mean() < -0.4 and flat[..., 16].mean() > 0.4


def test_the_bilateral_filter_smooths_texture_and_keeps_the_edge_sharp():
    image = step_edge_with_texture()
    smooth = bilateral(image, BILATERAL_RADIUS, BILATERAL_SPACE_SIGMA, BILATERAL_RANGE_SIGMA)
    left, right = smooth[..., 4:-4, 4:12], smooth[..., 4:-4, 20:28]
    assert left.std() < 0.5 * image[..., 4:-4, 4:12].std() and right.std() < 0.5 * image[..., 4:-4, 20:28].std()
    assert smooth[..., 15].mean() < -0.4 and smooth[..., 16].mean() > 0.4  # no blur across the step


def test_the_bilateral_filter_leaves_a_smooth_ramp_as_it_is():
    """Unlike the Kuwahara filters, it makes no patches: a gradient stays a gradient."""
    ramp = torch.linspace(-0.8, 0.8, 48).view(1, 1, 1, 48).expand(1, 3, 48, 48)
    smooth = bilateral(ramp, BILATERAL_RADIUS, BILATERAL_SPACE_SIGMA, BILATERAL_RANGE_SIGMA)
    assert (smooth - ramp)[..., 4:-4].abs().max() < 1e-4


def test_a_stage_saved_before_the_bilateral_filter_loads_with_it_off_and_translates_as_before():
    old = AbstractionStage()
    with torch.no_grad():
        old.mixing.copy_(torch.tensor([0.5, 1.0, -1.0, 0.0, 0.0]) / STAGE_GAIN)
    state = old.state_dict()
    state["mixing"] = state["mixing"][:-1]  # the four operators a stage had before
    weights = torch.softmax(state["mixing"] * STAGE_GAIN, 0)
    image = step_edge_with_texture()
    before = weights[0] * image + sum(w * kuwahara(image, r) for w, r in zip(weights[1:], (2, 4, 6), strict=True))
    stage = AbstractionStage()
    stage.load_state_dict(state)
    assert torch.softmax(stage.mixing * STAGE_GAIN, 0)[-1] < 1e-10
    assert torch.allclose(stage.patches(image), before, atol=1e-6)


def test_a_new_stage_is_nearly_the_identity():
    image = torch.linspace(-0.8, 0.8, 48).view(1, 1, 1, 48).expand(1, 3, 48, 48)  # a smooth ramp: nothing to flatten or ink
    assert (AbstractionStage()(image) - image).abs().max() < 0.02


def test_lines_darken_the_edges_and_leave_flat_regions_alone():
    stage = AbstractionStage()
    stage.set_lines(0.995, 0.15)  # full strength
    image = step_edge_with_texture() * 0.0 + torch.where(torch.arange(32) < 16, -0.5, 0.5)  # a clean step
    out = stage(image)
    assert out[..., 15:17].mean() < -0.9  # both sides of the step turn black
    assert torch.allclose(out[..., 4:10], image[..., 4:10], atol=1e-3) and torch.allclose(out[..., 22:28], image[..., 22:28], atol=1e-3)


def test_lines_put_back_on_their_floor_stay_lines_and_can_rise_again():
    """However far an optimiser step pushes the threshold down, the projection puts it back on the
    floor, where flat regions keep all but a few percent of their brightness (the lines do not turn
    into a darkening of the whole picture) and the threshold still has a gradient to rise by."""
    stage = AbstractionStage()
    stage.set_lines(0.995, 0.15)
    with torch.no_grad():
        stage.threshold.fill_(-10.0)
    stage.keep_lines_above_floor()
    assert stage.threshold.item() * LINE_GAIN == pytest.approx(THRESHOLD_FLOOR)
    image = torch.where(torch.arange(32) < 16, -0.5, 0.5).expand(1, 3, 32, 32)
    out = stage(image)
    assert (out[..., 4:10] - image[..., 4:10]).abs().max() < 0.1 and (out[..., 22:28] - image[..., 22:28]).abs().max() < 0.1
    assert out[..., 15:17].mean() < -0.9  # the step is still inked
    out.mean().backward()
    assert stage.threshold.grad is not None and stage.threshold.grad.item() > 0  # a higher threshold: a brighter picture


def test_training_keeps_the_line_threshold_on_its_floor_after_every_generator_step(tmp_path):
    config = tiny_config(build_demo_dataset(tmp_path / "data", train_per_domain=2, side=32), tmp_path / "run", max_steps=1)
    config.model.abstraction = True
    trainer = Trainer(config)
    stages = [g.abstraction for g in trainer.model.translators().values() if g.abstraction is not None]
    with torch.no_grad():
        for stage in stages:
            stage.threshold.fill_(-1.0)
    trainer.opt_g.step()
    assert all(stage.threshold.item() * LINE_GAIN == pytest.approx(THRESHOLD_FLOOR) for stage in stages) and len(stages) == 2


def test_an_optimiser_step_moves_the_lines_three_times_as_far_as_the_patches():
    """The lines' settings learn at LINE_GAIN, the patches' weights at STAGE_GAIN: one Adam step
    of the same learning rate changes their logits by those multiples of it."""
    stage = AbstractionStage()
    stage.set_lines(0.5, 0.2)
    before = stage.mixing.detach() * STAGE_GAIN, stage.strength.detach() * LINE_GAIN
    optimiser = torch.optim.Adam(stage.parameters(), lr=1e-3)
    stage(step_edge_with_texture()).mean().backward()
    optimiser.step()
    mixing_moved = (stage.mixing.detach() * STAGE_GAIN - before[0]).abs()
    strength_moved = (stage.strength.detach() * LINE_GAIN - before[1]).abs()
    assert torch.allclose(mixing_moved, torch.full_like(mixing_moved, 1e-3 * STAGE_GAIN), rtol=1e-3)
    assert torch.isclose(strength_moved, torch.tensor(1e-3 * LINE_GAIN), rtol=1e-3)
    assert LINE_GAIN == 3 * STAGE_GAIN


def test_the_adversarial_loss_can_move_every_weight_of_the_stage():
    generator = build_generator(ModelConfig(ngf=4, n_blocks=1, abstraction=True))
    generator(step_edge_with_texture()).mean().backward()
    assert generator.abstraction is not None
    # every entry: each smoothing operator's mixing weight, the photo's and the bilateral's included
    assert all(parameter.grad is not None and (parameter.grad != 0).all() for parameter in generator.abstraction.parameters())


@pytest.mark.parametrize("model", [{"abstraction": True}, {"generator": "lut", "n_blocks": None, "abstraction": True}])
def test_a_model_with_the_stage_trains_translates_tiles_and_exports_to_onnx_and_torchscript(tmp_path, model):
    checkpoint, translator = trained_tiny_model(tmp_path, **model)
    assert translator.generator.abstraction is not None and not translator.generator.pointwise
    # Tiles overlap by more than the stage's reach: no seams, only the feathered blend's trace of
    # each tile's own border. (The network is switched off for this: a two-step network's
    # InstanceNorm differs between tiles by itself.)
    translator.generator.network_enabled = False
    image = torch.rand(3, 150, 200) * 2 - 1
    whole = translator.translate(image)
    tiled = Translator(translator.generator, "cpu", "fp32", max_pixels=64 * 64, tile=96, overlap=24).translate(image)
    assert (tiled - whole).abs().max() < 0.02
    translator.generator.network_enabled = True
    assert_onnx_export_matches(checkpoint, translator, tmp_path)
    assert main(["export", "--checkpoint", str(checkpoint), "--format", "torchscript", "--output", str(tmp_path / "g.pt")]) == 0
    scripted, image = torch.jit.load(str(tmp_path / "g.pt")), torch.rand(1, 3, 37, 91) * 2 - 1
    assert (scripted(image) - translator.translate(image)).abs().max() <= 1e-4
