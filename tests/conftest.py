"""Shared fixtures: small but real image folders, built from the demo's photographs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from stylecycle.config import Config, DataConfig, ModelConfig, OptimConfig, TrainConfig
from stylecycle.data.demo import build_demo_dataset
from stylecycle.inference import Translator
from stylecycle.training.trainer import Trainer


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches the internet: pretrained weights come from files the tests place (the
    download path is tested against a server on 127.0.0.1, in test_pretrained.py)."""
    monkeypatch.setenv("STYLECYCLE_OFFLINE", "1")


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real unpaired dataset in the CycleGAN layout: 6 photo crops vs 6 stylised crops, 32x32."""
    return build_demo_dataset(tmp_path_factory.mktemp("demo"), train_per_domain=6, side=32)


# The networks and crops of tiny_config, as flags, for tests that train through the command line.
TINY_FLAGS = "--size 24 --load-size 28 --ngf 4 --ndf 4 --n-blocks 1 --n-layers-d 2 --workers 0 --device cpu".split()


def tiny_config(data_root: Path, run_dir: Path, **train: object) -> Config:
    """A CycleGAN small enough to take a training step in a few milliseconds."""
    return Config(
        data=DataConfig(root=data_root, size=24, load_size=28, workers=0),
        model=ModelConfig(ngf=4, ndf=4, n_blocks=1, n_layers_d=2),
        optim=OptimConfig(),
        train=TrainConfig(**{"run_dir": run_dir, "device": "cpu", "precision": "fp32", "sample_every": 0, **train}),  # type: ignore[arg-type]
    )


def trained_tiny_model(tmp_path: Path, **model: object) -> tuple[Path, Translator]:
    """The checkpoint of a two-step run of tiny_config with ``model``'s fields, and its translator."""
    config = tiny_config(build_demo_dataset(tmp_path / "data", train_per_domain=2, side=32), tmp_path / "run", max_steps=2)
    for field, value in model.items():
        setattr(config.model, field, value)
    checkpoint = Trainer(config).run()
    return checkpoint, Translator.from_checkpoint(checkpoint, device="cpu", precision="fp32")


def assert_onnx_export_matches(checkpoint: Path, translator: Translator, tmp_path: Path) -> None:
    """``stylecycle export --format onnx`` of ``checkpoint`` translates as ``translator`` does, at odd sizes too."""
    import onnxruntime

    from stylecycle.cli import main

    assert main(["export", "--checkpoint", str(checkpoint), "--format", "onnx", "--output", str(tmp_path / "g.onnx")]) == 0
    session = onnxruntime.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    for height, width in ((37, 91), (128, 96)):
        image = torch.rand(1, 3, height, width) * 2 - 1
        theirs = torch.from_numpy(session.run(None, {"image": image.numpy()})[0])
        assert (translator.translate(image) - theirs).abs().max().item() <= 1e-4


@pytest.fixture(scope="session")
def demo_root_64(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two photo crops and two stylised crops, 64x64: the smallest size every architecture takes."""
    return build_demo_dataset(tmp_path_factory.mktemp("demo64"), train_per_domain=2, side=64)


@pytest.fixture(scope="session")
def random_vgg16_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A randomly initialised VGG16 saved the way torchvision's ImageNet file is (features and classifier)."""
    path = tmp_path_factory.mktemp("vgg") / "vgg16-random.pth"
    torch.manual_seed(0)
    torch.save(torchvision.models.vgg16(weights=None).state_dict(), path)
    return str(path)
