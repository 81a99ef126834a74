"""The colour stage: a per-image 3D look-up table predicted from a thumbnail, applied to every pixel."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from skimage import data

from conftest import assert_onnx_export_matches, tiny_config, trained_tiny_model
from stylecycle.config import ModelConfig
from stylecycle.data.demo import build_demo_dataset
from stylecycle.data.io import pil_to_tensor
from stylecycle.errors import ConfigError
from stylecycle.inference import Translator
from stylecycle.model import build_generator
from stylecycle.nn.colour import ColourTable, identity_table
from stylecycle.training.trainer import Trainer


def test_a_new_colour_stage_is_exactly_the_identity_at_any_size():
    torch.manual_seed(0)
    for generator in (build_generator(ModelConfig(generator="lut")), build_generator(ModelConfig(ngf=4, n_blocks=1, colour_lut=True))):
        image = torch.rand(2, 3, 37, 91) * 2 - 1
        assert torch.allclose(generator.colour(image), image, atol=1e-6)


def test_the_table_is_applied_to_every_colour_by_trilinear_interpolation():
    """A table holding a mapping that is linear in each colour reproduces it exactly between its
    entries: here red and blue swap, and green is inverted."""
    stage = ColourTable(size=5)
    r, g, b = identity_table(5)
    with torch.no_grad():
        stage.shared.copy_((torch.stack([b, -g, r]) - identity_table(5)).flatten() / stage.gain)
    image = torch.rand(1, 3, 16, 24) * 2 - 1
    assert torch.allclose(stage(image), torch.stack([image[:, 2], -image[:, 1], image[:, 0]], 1), atol=1e-5)


def test_each_image_gets_its_own_table_from_its_thumbnail():
    torch.manual_seed(0)
    stage = ColourTable(size=5)
    with torch.no_grad():
        stage.bases.normal_(0, 0.03)
        stage.weights.weight.normal_(0, 1.0)
    dark, bright = torch.full((1, 3, 32, 32), -0.6), torch.full((1, 3, 32, 32), 0.6)
    dark[..., :16, :] = bright[..., :16, :] = 0.0  # the same colour in both images' top halves...
    out_dark, out_bright = stage(dark), stage(bright)
    assert not torch.allclose(out_dark[..., :16, :], out_bright[..., :16, :], atol=1e-3)  # ...graded differently


def test_a_tiled_translation_grades_every_tile_with_the_whole_images_table():
    torch.manual_seed(0)
    # A colour stage in front of a network is tiled (the network needs it); the network is
    # switched off here so that only the colour stage's part of tiling is measured.
    generator = build_generator(ModelConfig(ngf=4, n_blocks=1, colour_lut=True))
    generator.network_enabled = False
    with torch.no_grad():
        generator.colour.bases.normal_(0, 0.03)
        generator.colour.weights.weight.normal_(0, 1.0)
    image = pil_to_tensor(Image.fromarray(data.astronaut()).resize((400, 300)))
    image[:, :150] = image[:, :150] * 0.2 - 0.6  # a tile from here alone would ask for another table
    whole = Translator(generator, "cpu", "fp32", max_pixels=300 * 400).translate(image)
    tiled = Translator(generator, "cpu", "fp32", max_pixels=100 * 100, tile=128, overlap=16).translate(image)
    alone = Translator(generator, "cpu", "fp32").translate(image[:, :128, :128])
    # Only the thumbnail differs (taken from a smaller copy), and these random tables are far
    # more sensitive to it than trained ones.
    assert (tiled - whole).abs().mean() < 0.01
    assert (alone - whole[:, :128, :128]).abs().mean() > 0.05


def test_a_colour_table_alone_translates_any_size_in_one_pass(monkeypatch):
    from stylecycle import inference

    def no_tiles(*args, **kwargs):
        raise AssertionError("a pointwise generator was tiled")

    monkeypatch.setattr(inference, "translate_tiled", no_tiles)
    translator = Translator(build_generator(ModelConfig(generator="lut")), "cpu", "fp32", max_pixels=64 * 64)
    image = torch.rand(3, 300, 400) * 2 - 1
    assert torch.allclose(translator.translate(image), image, atol=1e-5)


@pytest.mark.parametrize("model", [{"generator": "lut", "n_blocks": None}, {"colour_lut": True, "lut_size": 9}])
def test_a_colour_model_trains_translates_and_exports_to_onnx(tmp_path, model):
    checkpoint, translator = trained_tiny_model(tmp_path, **model)
    assert translator.generator.colour is not None and translator.generator.colour.size == model.get("lut_size", ModelConfig().lut_size)
    assert_onnx_export_matches(checkpoint, translator, tmp_path)


def test_colour_first_trains_only_the_colour_stages_for_that_fraction_of_the_run(tmp_path):
    data = build_demo_dataset(tmp_path / "data", train_per_domain=2, side=32)
    config = tiny_config(data, tmp_path / "run", max_steps=4).updated({"model": {"colour_lut": True}, "optim": {"colour_first": 0.5}})
    trainer = Trainer(config)
    network, colour = trainer.model.G_ab.model, trainer.model.G_ab.colour

    def snapshot() -> tuple[torch.Tensor, torch.Tensor]:
        return torch.cat([p.detach().flatten() for p in network.parameters()]), colour.shared.detach().clone()

    batch = next(iter(trainer.loader))
    for step in range(4):
        before = snapshot()
        trainer.train_step(batch["a"], batch["b"])
        trainer.step += 1
        after = snapshot()
        assert not torch.equal(before[1], after[1])  # the colour stage always learns
        assert torch.equal(before[0], after[0]) == (step < 2)  # the network from half-way on


def test_colour_first_needs_a_colour_stage(tmp_path):
    config = tiny_config(tmp_path, tmp_path / "run").updated({"optim": {"colour_first": 0.3}})
    with pytest.raises(ConfigError, match="--colour-first .* needs --colour-lut"):
        config.validate()
