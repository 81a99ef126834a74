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


def cut_reference_forward(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The CUT code's ResnetGenerator (anti-aliasing on, InstanceNorm), written out call by call
    from its models/networks.py, with nothing of ours: the oracle for loading its files."""
    import torch.nn.functional as F

    def conv(h: torch.Tensor, i: int, padding: int = 0) -> torch.Tensor:
        return F.conv2d(h, state[f"model.{i}.weight"], state[f"model.{i}.bias"], padding=padding)

    def norm_relu(h: torch.Tensor) -> torch.Tensor:
        return F.relu(F.instance_norm(h, eps=1e-5))

    def down(h: torch.Tensor, i: int) -> torch.Tensor:  # Downsample: reflect pad 1, blur, stride 2
        return F.conv2d(F.pad(h, [1, 1, 1, 1], mode="reflect"), state[f"model.{i}.filt"], stride=2, groups=h.shape[1])

    def up(h: torch.Tensor, i: int) -> torch.Tensor:  # Upsample: replicate pad 1, transposed blur, crop
        out = F.conv_transpose2d(F.pad(h, [1, 1, 1, 1], mode="replicate"), state[f"model.{i}.filt"], stride=2, padding=2, groups=h.shape[1])
        return out[:, :, 1:, 1:][:, :, :-1, :-1]

    h = norm_relu(conv(F.pad(x, [3, 3, 3, 3], mode="reflect"), 1))
    h = down(norm_relu(conv(h, 4, padding=1)), 7)
    h = down(norm_relu(conv(h, 8, padding=1)), 11)
    for block in range(12, 21):
        r = F.relu(
            F.instance_norm(
                F.conv2d(
                    F.pad(h, [1] * 4, mode="reflect"),
                    state[f"model.{block}.conv_block.1.weight"],
                    state[f"model.{block}.conv_block.1.bias"],
                )
            )
        )
        r = F.instance_norm(
            F.conv2d(
                F.pad(r, [1] * 4, mode="reflect"), state[f"model.{block}.conv_block.5.weight"], state[f"model.{block}.conv_block.5.bias"]
            )
        )
        h = h + r
    h = norm_relu(conv(up(h, 21), 22, padding=1))
    h = norm_relu(conv(up(h, 25), 26, padding=1))
    return torch.tanh(conv(F.pad(h, [3, 3, 3, 3], mode="reflect"), 30))


def cut_state_dict() -> dict[str, torch.Tensor]:
    """Random weights in the CUT layout, with CUT's fixed blur filters."""
    torch.manual_seed(0)
    state = {key: torch.randn(shape) * 0.05 for key, shape in reference_layout("cut_resnet_9blocks").items()}
    down_taps, up_taps = torch.tensor([1.0, 2.0, 1.0]), torch.tensor([1.0, 3.0, 3.0, 1.0])
    for key, shape in reference_layout("cut_resnet_9blocks").items():
        if key.endswith(".filt"):
            taps = down_taps if shape[-1] == 3 else up_taps
            filt = torch.outer(taps, taps) / torch.outer(taps, taps).sum() * (1 if shape[-1] == 3 else 4)
            state[key] = filt.expand(shape).clone()
    return state


def test_a_generator_saved_by_the_cut_code_translates_exactly_as_that_code_does(tmp_path):
    state = cut_state_dict()
    torch.save(state, tmp_path / "latest_net_G.pth")
    assert reference_model_options(state, "resnet_9blocks")["antialias"]
    photo = (np.random.default_rng(0).random((60, 84, 3)) * 255).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    image = torch.from_numpy(photo).permute(2, 0, 1).float()[None] / 127.5 - 1
    with torch.no_grad():
        expected = cut_reference_forward(state, image)[0]

    translator = Translator.from_checkpoint(tmp_path / "latest_net_G.pth", generator="resnet_9blocks", device="cpu", precision="fp32")
    assert (translator.translate(image[0]) - expected).abs().max().item() <= 1e-4  # fp32 rounding of other kernels
    flags = ["--model", "cut", "--device", "cpu", "--precision", "fp32"]  # the CUT code's file: its generator is known
    code = main(
        [
            "translate",
            "--checkpoint",
            str(tmp_path / "latest_net_G.pth"),
            "--input",
            str(tmp_path / "photo.png"),
            "--output",
            str(tmp_path / "out"),
            *flags,
        ]
    )
    assert code == 0
    written = torch.from_numpy(np.array(Image.open(tmp_path / "out" / "photo.png"))).permute(2, 0, 1).float() / 127.5 - 1
    assert (written - expected).abs().max().item() <= 1.5 / 127.5  # the same image, up to 8-bit rounding
