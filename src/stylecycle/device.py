"""Choosing the device to compute on, and the memory layout to compute in."""

from __future__ import annotations

import torch

from .errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; anything else must exist here."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"--device {name!r} is not a device name (use auto, cpu, cuda, cuda:N or mps)") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: CUDA is not available on this machine (use --device cpu or auto)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"--device {name}: MPS is not available on this machine (use --device cpu or auto)")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"--device {name}: unsupported device type (use auto, cpu, cuda, cuda:N or mps)")
    return device


def memory_format(channels_last: bool | None, device: torch.device) -> torch.memory_format:
    """The layout of images and weights: ``None`` means channels-last on CPUs and contiguous
    (NCHW) elsewhere. On CPU, oneDNN's convolutions, and its transposed convolutions above all,
    run faster on channels-last tensors (benchmarks/speed.py and inference.py measure it);
    elsewhere that is not measured here, so the default stays PyTorch's."""
    if channels_last is None:
        channels_last = device.type == "cpu"
    return torch.channels_last if channels_last else torch.contiguous_format
