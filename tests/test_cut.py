"""CUT and FastCUT (``--model cut|fastcut``): PatchNCE, the patch heads, and the one-sided model
from training to translation. Their update is held to the reference's in test_update.py, their
resume in test_resume.py, CUT's own generator files in test_compat.py."""

from __future__ import annotations

import math

import pytest
import torch
from PIL import Image
from test_cli import error_line, run_cli

from conftest import TINY_FLAGS, tiny_config
from stylecycle.config import Config
from stylecycle.errors import ConfigError
from stylecycle.inference import Translator
from stylecycle.losses import patch_nce_loss
from stylecycle.nn.patch_heads import sample_places
from stylecycle.training.checkpoint import load_checkpoint
from stylecycle.training.trainer import Trainer


def test_patch_nce_is_the_cross_entropy_of_each_patch_against_its_own_place_computed_by_hand():
    torch.manual_seed(0)
    query = torch.nn.functional.normalize(torch.randn(2, 3, 4), dim=-1)
    key = torch.nn.functional.normalize(torch.randn(2, 3, 4), dim=-1)
    temperature = 0.5
    expected = []
    for b in range(2):
        total = 0.0
        for i in range(3):
            similarities = [float(query[b, i] @ key[b, j]) / temperature for j in range(3)]
            total += -similarities[i] + math.log(sum(math.exp(s) for s in similarities))
        expected.append(total / 3)  # the mean over the image's patches
    assert patch_nce_loss(query, key, temperature).tolist() == pytest.approx(expected, rel=1e-5)
    # A translation whose patches are exactly its input's scores better than one that shuffles them.
    assert (patch_nce_loss(key, key, 0.07) < patch_nce_loss(key[:, [1, 2, 0]], key, 0.07)).all()
    # The keys are the target: no gradient reaches them.
    query.requires_grad_(True), key.requires_grad_(True)
    patch_nce_loss(query, key).sum().backward()
    assert key.grad is None and query.grad is not None


def test_each_group_of_images_shares_its_sampled_places_and_each_layer_draws_its_own():
    features = [torch.zeros(4, 2, 10, 10), torch.zeros(4, 2, 3, 3)]
    torch.manual_seed(0)
    places = sample_places(features, 16, groups=2)
    assert places[0].shape == (4, 16) and places[1].shape == (4, 9)  # at most every place of a small map
    for layer in places:
        assert all(len(set(row.tolist())) == len(row) for row in layer)  # distinct places
        assert torch.equal(layer[0], layer[1]) and torch.equal(layer[2], layer[3])
    assert not torch.equal(places[0][0], places[0][2])  # the groups draw separately
    assert sorted(places[1][0].tolist()) == list(range(9))


def test_each_model_brings_its_own_defaults_under_the_options_given():
    fastcut = Config.from_recipe({"model": {"method": "fastcut"}})
    assert (fastcut.loss.lambda_nce, fastcut.loss.nce_idt, fastcut.loss.flip_equivariance) == (10.0, False, True)
    cut = Config.from_recipe({"train": {"recipe": "preview"}, "model": {"method": "cut"}})
    assert (cut.loss.lambda_nce, cut.loss.nce_idt, cut.loss.flip_equivariance, cut.data.size) == (1.0, True, False, 96)
    given = Config.from_recipe({"train": {"recipe": "fastcut"}, "loss": {"lambda_nce": 2.0}})
    assert (given.loss.lambda_nce, given.model.antialias, given.model.init) == (2.0, True, "xavier")
    with pytest.raises(ConfigError, match="unknown --model"):
        Config.from_recipe({"model": {"method": "pix2pix"}})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"model": {"generator": "unet_128"}}, "resnet generator"),
        ({"loss": {"lambda_style": 1.0}}, "keeps content by PatchNCE"),
        ({"loss": {"nce_layers": "0,x"}}, "--nce-layers must be"),
    ],
)
def test_options_cut_cannot_use_are_refused_in_one_line(demo_root, tmp_path, options, message):
    config = tiny_config(demo_root, tmp_path).updated({"model": {"method": "cut"}}).updated(options)
    with pytest.raises(ConfigError, match=message):
        config.validate()


def test_a_layer_beyond_the_generator_is_refused_before_training(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path).updated({"model": {"method": "cut"}, "loss": {"nce_layers": "0,99"}})
    with pytest.raises(ConfigError, match="layers 0 to"):
        Trainer(config)


def test_the_patch_heads_exist_and_train_from_step_zero(demo_root, tmp_path):
    """The reference builds them on the first batch; here they are in the first checkpoint and the optimiser."""
    trainer = Trainer(tiny_config(demo_root, tmp_path).updated({"model": {"method": "cut"}}))
    heads = trainer.state_dict()["networks"]["patch_heads"]
    assert len(heads) == 4 * 5  # two linear layers (weight, bias) for each of the 5 layers
    optimised = {id(p) for group in trainer.opt_g.param_groups for p in group["params"]}
    assert all(id(p) in optimised for p in trainer.model.patch_heads.parameters())
    assert set(trainer.state_dict()["networks"]) == {"G_ab", "D_b", "patch_heads"}


@pytest.mark.parametrize("method", ["cut", "fastcut"])
def test_a_one_sided_model_trains_translates_a_to_b_and_refuses_b_to_a(capsys, demo_root, tmp_path, method):
    run = tmp_path / "run"
    code, out, _ = run_cli(
        capsys, "train", "--data", demo_root, "--model", method, "--max-steps", "3", "--sample-every", "3", "--ema", "0.9",
        *TINY_FLAGS, "--run-dir", run,
    )  # fmt: skip
    assert code == 0, out
    state = load_checkpoint(run)
    assert state["config"]["model"]["method"] == method and set(state["ema"]) == {"G_ab_ema", "updates"}
    assert state["config"]["loss"]["nce_idt"] == (method == "cut")
    grid = Image.open(run / "samples" / "step_00000003.png")
    assert grid.height == 2 + 4 * (24 + 2)  # rows A, G(A), B, G(B)

    translate = ["translate", "--checkpoint", run, "--input", demo_root / "testA", "--output", tmp_path / "out", "--device", "cpu"]
    code, _, _ = run_cli(capsys, *translate)
    assert code == 0 and len(list((tmp_path / "out").iterdir())) == len(list((demo_root / "testA").iterdir()))
    code, _, err = run_cli(capsys, *translate, "--direction", "b2a")
    assert code != 0 and f"one-sided {method} model: it translates A to B only" in error_line(err)


def test_a_cut_run_exports_evaluates_and_tunes_like_a_cyclegan_run(capsys, demo_root, tmp_path):
    run = tmp_path / "run"
    assert run_cli(capsys, "train", "--data", demo_root, "--model", "cut", "--max-steps", "2", *TINY_FLAGS, "--run-dir", run)[0] == 0
    image = torch.rand(1, 3, 36, 52) * 2 - 1
    expected = Translator.from_checkpoint(run, device="cpu", precision="fp32").translate(image)
    export = ["export", "--checkpoint", run, "--format", "safetensors", "--output", tmp_path / "g.safetensors"]
    assert run_cli(capsys, *export)[0] == 0
    assert torch.equal(Translator.from_checkpoint(tmp_path / "g.safetensors", device="cpu", precision="fp32").translate(image), expected)
    code, _, err = run_cli(capsys, *export, "--direction", "b2a")
    assert code != 0 and "translates A to B only" in error_line(err)

    report = tmp_path / "report"
    evaluate = ["evaluate", "--checkpoint", run, "--inputs", demo_root / "testA", "--references", demo_root / "testB", "--report", report]
    assert run_cli(capsys, *evaluate, "--device", "cpu")[0] == 0
    assert "psnr" in (report / "metrics.json").read_text()

    tune = ["tune", "--data", demo_root, "--run-dir", tmp_path / "study", "--model", "fastcut", *TINY_FLAGS]
    code, out, _ = run_cli(capsys, *tune, "--param", "lambda_nce=1,10", "--sampler", "grid", "--trial-steps", "2", "--eval-every", "1")
    assert code == 0 and "| 0 | complete |" in out and "| 1 | complete |" in out
