"""Perceptual and style losses: VGG weights come from a local file, never from the network."""

from __future__ import annotations

import pytest
import torch
import torchvision

from conftest import tiny_config
from stylecycle.cli import main
from stylecycle.config import LossConfig
from stylecycle.errors import ConfigError
from stylecycle.nn.vgg import WEIGHTS_URLS, build_vgg_features
from stylecycle.training.trainer import Trainer


def test_features_are_taken_at_the_named_layers_and_the_network_is_cut_after_the_deepest(random_vgg16_file):
    vgg = build_vgg_features("vgg16", ["relu1_2", "relu3_3"], random_vgg16_file)
    features = vgg(torch.rand(1, 3, 32, 32) * 2 - 1)
    assert {k: tuple(v.shape) for k, v in features.items()} == {"relu1_2": (1, 64, 32, 32), "relu3_3": (1, 256, 8, 8)}
    assert len(vgg.features) == 16  # up to relu3_3, nothing deeper
    assert not any(p.requires_grad for p in vgg.parameters())


def test_a_missing_vgg_weights_file_is_named_with_the_way_out(tmp_path):
    missing = tmp_path / "nowhere.pth"
    with pytest.raises(ConfigError, match="--vgg-weights .*nowhere.pth does not exist; leave --vgg-weights out to use"):
        build_vgg_features("vgg16", ["relu2_2"], missing)


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_the_weights_are_torchvisions_own_file(arch):
    assert WEIGHTS_URLS[arch] == getattr(torchvision.models, f"{arch.upper()}_Weights").IMAGENET1K_V1.url


def test_an_unknown_layer_lists_the_known_ones(random_vgg16_file):
    with pytest.raises(ConfigError, match="no layer relu9_9.*relu1_1"):
        build_vgg_features("vgg16", ["relu9_9"], random_vgg16_file)


def test_weights_of_another_network_are_refused_in_one_line(tmp_path):
    path = tmp_path / "not_vgg.pth"
    torch.save({"features.0.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(ConfigError, match="does not hold vgg16 weights"):
        build_vgg_features("vgg16", ["relu2_2"], path)


def test_perceptual_and_style_losses_join_the_generator_loss_and_train(demo_root, tmp_path, random_vgg16_file):
    config = tiny_config(demo_root, tmp_path, max_steps=1)
    config.loss = LossConfig(lambda_perceptual=1.0, lambda_style=100.0, vgg_weights=random_vgg16_file)
    trainer = Trainer(config)
    losses = trainer.train_step(trainer.preview_a[:1], trainer.preview_b[:1])
    assert {"perceptual_a", "perceptual_b", "style_a", "style_b"} <= set(losses)
    assert all(torch.isfinite(v) and v > 0 for k, v in losses.items() if k.startswith(("perceptual", "style")))
    assert "vgg" not in trainer.state_dict()["networks"]


def test_training_offline_with_style_loss_but_no_weights_stops_with_one_line_naming_the_file_and_where_it_goes(
    demo_root, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty_cache"))
    code = main(
        [
            "train",
            "--data",
            str(demo_root),
            "--run-dir",
            str(tmp_path / "run"),
            "--lambda-style",
            "1",
            "--size",
            "24",
            "--load-size",
            "28",
            "--max-steps",
            "1",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "vgg16-397923af.pth (for the perceptual and style losses) is not in the torch hub cache, and downloads are off" in err
    assert "download https://download.pytorch.org/models/vgg16-397923af.pth and put it in " in err
    assert "empty_cache/checkpoints, or pass it with --vgg-weights" in err and "Traceback" not in err
