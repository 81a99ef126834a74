"""Generators trained by the original PyTorch CycleGAN code load and translate unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from reference import reference_layout
from stylecycle.cli import main
from stylecycle.config import ModelConfig
from stylecycle.inference import Translator
from stylecycle.model import build_generator
from stylecycle.nn.compat import reference_model_options


def reference_state_dict(name: str, with_running_stats: bool) -> dict[str, torch.Tensor]:
    """Random weights in the original code's layout, built from the shared listing alone; the
    InstanceNorm layers carry running statistics, as files saved before PyTorch 0.4 do."""
    torch.manual_seed(0)
    state = {key: torch.randn(shape) * 0.05 for key, shape in reference_layout(name).items()}
    if with_running_stats:
        ours = build_generator(ModelConfig(**reference_model_options(state, name)))
        for module_name, module in ours.named_modules():
            if isinstance(module, torch.nn.InstanceNorm2d):
                channels = module.num_features
                state |= {
                    f"{module_name}.running_mean": torch.randn(channels),
                    f"{module_name}.running_var": torch.rand(channels),
                    f"{module_name}.num_batches_tracked": torch.tensor(7),
                }
    return state


@pytest.mark.parametrize("name,side", [("resnet_9blocks", 60), ("resnet_6blocks", 60), ("unet_128", 128), ("unet_256", 256)])
def test_a_generator_saved_by_the_original_code_translates_like_ours_with_the_same_weights(tmp_path, name, side):
    state = reference_state_dict(name, with_running_stats=True)
    path = tmp_path / "latest_net_G_A.pth"
    torch.save(state, path)
    photo = (np.random.default_rng(0).random((side, side + 4, 3)) * 255).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")

    code = main(
        [
            "translate",
            "--checkpoint",
            str(path),
            "--generator",
            name,
            "--input",
            str(tmp_path / "photo.png"),
            "--output",
            str(tmp_path / "out"),
            "--device",
            "cpu",
            "--precision",
            "fp32",
        ]
    )
    assert code == 0

    ours = build_generator(ModelConfig(**reference_model_options(state, name)))
    ours.load_state_dict({k: v for k, v in state.items() if "running" not in k and "num_batches" not in k})
    expected = Translator(ours, "cpu", "fp32").translate(torch.from_numpy(photo).permute(2, 0, 1).float() / 127.5 - 1)
    written = torch.from_numpy(np.array(Image.open(tmp_path / "out" / "photo.png"))).permute(2, 0, 1).float() / 127.5 - 1
    assert written.shape == expected.shape
    assert (written - expected).abs().max().item() <= 1.5 / 127.5  # the same image, up to 8-bit rounding


def test_a_bare_generator_file_without_its_architecture_gets_a_clear_error(tmp_path, capsys):
    path = tmp_path / "latest_net_G_A.pth"
    torch.save(reference_state_dict("resnet_9blocks", with_running_stats=False), path)
    (tmp_path / "in").mkdir()
    code = main(["translate", "--checkpoint", str(path), "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")])
    assert code == 2
    assert "name its architecture with --generator" in capsys.readouterr().err


def test_the_wrong_architecture_name_is_reported_not_a_size_mismatch_traceback(tmp_path, capsys):
    path = tmp_path / "latest_net_G_A.pth"
    torch.save(reference_state_dict("resnet_9blocks", with_running_stats=False), path)
    (tmp_path / "in").mkdir()
    code = main(
        [
            "translate",
            "--checkpoint",
            str(path),
            "--generator",
            "unet_256",
            "--input",
            str(tmp_path / "in"),
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "not those of a unet_256 generator" in err and "Traceback" not in err
