"""Exporting one trained generator for use outside stylecycle, each format checked on the spot.

- ``onnx``: height and width are dynamic; checked against onnxruntime on random images of two
  sizes and on a real photograph (a max abs difference of 1e-4 at most);
- ``torchscript``: ``torch.jit.script``, so every image size works; checked the same way;
- ``safetensors``: the weights alone, with the model config and direction as metadata (the
  format models are shared in); stylecycle loads it as a checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from .atomic import atomic_path
from .config import Direction
from .errors import ConfigError, StylecycleError, first_line
from .generator_files import load_generator, save_safetensors
from .nn.generators import Generator

log = logging.getLogger("stylecycle")

ExportFormat = Literal["onnx", "torchscript", "safetensors"]
TOLERANCE = 1e-4


def check_images(min_side: int) -> list[torch.Tensor]:
    """Random images of two sizes (one not a multiple of anything) and a real photograph."""
    from skimage import data

    generator = torch.Generator().manual_seed(0)
    side = max(min_side, 64)
    photo = torch.from_numpy(np.ascontiguousarray(data.astronaut()[::2, ::2])).permute(2, 0, 1).float() / 127.5 - 1  # 256x256
    return [
        torch.rand(1, 3, side, side + 12, generator=generator) * 2 - 1,
        torch.rand(1, 3, side + 9, side + 3, generator=generator) * 2 - 1,
        photo[None],
    ]


def check_parity(name: str, reference: nn.Module, exported: Callable[[torch.Tensor], torch.Tensor], min_side: int) -> float:
    """The largest difference between ``exported`` and ``reference`` over :func:`check_images`."""
    worst = 0.0
    with torch.no_grad():
        for image in check_images(min_side):
            worst = max(worst, float((exported(image) - reference(image)).abs().max()))
    if worst > TOLERANCE:
        raise StylecycleError(f"the {name} export differs from PyTorch by {worst:.2e} (more than {TOLERANCE:g}); please report this")
    log.info("%s export matches PyTorch: max abs difference %.2e", name, worst)
    return worst


def export_onnx(network: Generator, path: Path) -> float:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ConfigError("ONNX export needs onnx, onnxscript and onnxruntime: pip install 'stylecycle[export]'") from exc
    min_side = network.min_side
    height, width = torch.export.Dim("height", min=min_side), torch.export.Dim("width", min=min_side)
    example = check_images(min_side)[0]
    try:
        program = torch.onnx.export(
            network, (example,), dynamo=True, dynamic_shapes=({2: height, 3: width},), input_names=["image"], output_names=["translated"]
        )
    except Exception as exc:  # noqa: BLE001 - the exporter's failures are many and deep
        raise StylecycleError(f"ONNX export failed: {first_line(exc)}") from exc
    if program is None:  # only the legacy exporter returns nothing
        raise StylecycleError("ONNX export produced no program; please report this")
    with atomic_path(path) as tmp:
        program.save(str(tmp))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return check_parity("ONNX", network, lambda x: torch.from_numpy(session.run(None, {"image": x.numpy()})[0]), min_side)


def export_torchscript(network: Generator, path: Path) -> float:
    try:
        scripted = torch.jit.script(network)
    except Exception as exc:  # noqa: BLE001
        raise StylecycleError(f"TorchScript export failed: {first_line(exc)}") from exc
    with atomic_path(path) as tmp:
        scripted.save(str(tmp))
    loaded = torch.jit.load(str(path))
    return check_parity("TorchScript", network, loaded, network.min_side)


def export_generator(checkpoint: Path, output: Path, fmt: ExportFormat, direction: Direction = "a2b", generator: str | None = None) -> Path:
    """Write the ``direction`` generator of ``checkpoint`` to ``output`` in format ``fmt``."""
    network, model = load_generator(checkpoint, direction, generator)
    network = network.eval().float()
    output = Path(output)
    if fmt == "safetensors":
        save_safetensors(network, model, direction, output)
    elif fmt == "onnx":
        export_onnx(network, output)
    elif fmt == "torchscript":
        export_torchscript(network, output)
    else:
        raise ConfigError(f"unknown export format {fmt!r}")
    return output
