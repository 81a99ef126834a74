"""Generator weights in every kind of file stylecycle reads and writes: its own checkpoints,
its safetensors exports, and the generator files of the original CycleGAN code."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .atomic import atomic_path
from .config import DISTILLED, ONE_SIDED, Direction, Method, ModelConfig, config_from_dict
from .errors import CheckpointError, ConfigError, StylecycleError, first_line
from .model import build_generator
from .nn import list_generators
from .nn.compat import (
    from_reference_state_dict,
    is_reference_state_dict,
    reference_model_options,
)
from .nn.generators import Generator
from .training.checkpoint import check_format, read_weights_file, resolve_checkpoint

GENERATOR_OF = {"a2b": "G_ab", "b2a": "G_ba"}
SAFETENSORS_KIND = "stylecycle-generator"


def load_generator(
    path: Path, direction: Direction = "a2b", generator: str | None = None, method: Method | None = None
) -> tuple[Generator, ModelConfig]:
    """The generator of ``direction`` in a stylecycle checkpoint (file or run folder), an exported
    ``.safetensors`` file, or a bare generator file of the original CycleGAN code (whose
    architecture ``generator`` names; its direction is whichever it was trained for) or of the
    CUT code (``method`` cut or fastcut: CUT's 9-block ResNet unless ``generator`` says otherwise).
    A one-sided model (CUT, FastCUT) has no generator for ``b2a``: asking for it is refused."""
    if direction not in GENERATOR_OF:
        raise ConfigError(f"--direction {direction!r} is not one of {', '.join(GENERATOR_OF)}")
    path = resolve_checkpoint(path)
    if path.suffix == ".safetensors":
        return load_safetensors(path)
    state = read_weights_file(path)
    reference = is_reference_state_dict(state)
    if reference and method in ONE_SIDED:
        generator = generator or "resnet_9blocks"
    kind, directions = _what_translates({"method": method or "cyclegan"} if reference else _model_section(state))
    if direction not in directions:
        only = " and ".join(f"--direction {d}" for d in directions)
        raise ConfigError(f"{path} is {kind}: it translates {' and '.join(WAYS[d] for d in directions)} only ({only})")
    if reference and generator is None:
        raise ConfigError(
            f"{path} is a generator of the original CycleGAN code; name its architecture with --generator ({', '.join(list_generators())})"
        )
    try:
        if reference:
            model = ModelConfig(**reference_model_options(state, generator), method=method or "cyclegan")  # type: ignore[arg-type]
            weights = from_reference_state_dict(state, model.norm)
        else:
            state = check_format(state, path)
            model = config_from_dict(state["config"]).model
            name = GENERATOR_OF[direction]
            # A run trained with --ema translates with the average, as its samples showed it.
            weights = state["ema"][f"{name}_ema"] if "ema" in state else state["networks"][name]
        network = build_generator(model)
        network.load_state_dict(weights)
    except (KeyError, RuntimeError, ConfigError) as exc:
        raise CheckpointError(f"checkpoint {path} does not hold a usable generator: {first_line(exc)}") from exc
    return network, model


def translation_directions(path: Path) -> list[Direction]:
    """The directions a model translates, for the web page to offer: a2b alone for a one-sided
    (CUT, FastCUT) checkpoint, the ones it learnt for a distilled student; both for the rest (a
    file holding one generator translates the way it was trained, whichever is asked). The file
    is mapped, not read: only its config is looked at. Unreadable files offer both; translating
    them reports why."""
    try:
        path = resolve_checkpoint(path)
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True) if path.suffix != ".safetensors" else None
    except (StylecycleError, OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile):
        state = None
    return list(_what_translates(_model_section(state))[1])


WAYS = {"a2b": "A to B", "b2a": "B to A"}


def _model_section(checkpoint: Any) -> dict[str, Any]:
    """The stored model options of a stylecycle checkpoint; none for anything else."""
    config = checkpoint.get("config") if isinstance(checkpoint, dict) else None
    return config.get("model", {}) if isinstance(config, dict) else {}


def _what_translates(model: dict[str, Any]) -> tuple[str, tuple[Direction, ...]]:
    """What made a model (its stored model options) and the directions it translates; a file of
    no known kind is let through both ways, to fail later with its own reason."""
    method = model.get("method", "cyclegan")  # checkpoints from before there was a choice are CycleGAN's
    if method in ONE_SIDED:
        return f"a one-sided {method} model", ("a2b",)
    if method == "distill":
        which = model.get("distill_direction", "a2b")
        return f"a student distilled for {which}", DISTILLED[which]
    return "a CycleGAN", ("a2b", "b2a")


def save_safetensors(network: nn.Module, model: ModelConfig, direction: Direction, path: Path) -> None:
    from safetensors.torch import save_file

    metadata = {"kind": SAFETENSORS_KIND, "direction": direction, "model_config": json.dumps(vars(model))}
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in network.state_dict().items()}, str(tmp), metadata=metadata)


def load_safetensors(path: Path) -> tuple[Generator, ModelConfig]:
    """The generator of a ``.safetensors`` file written by :func:`save_safetensors`."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            weights = {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, OSError) as exc:
        raise ConfigError(f"cannot read {path}: {first_line(exc)}") from exc
    if metadata.get("kind") != SAFETENSORS_KIND:
        raise ConfigError(f"{path} is a safetensors file, but not a stylecycle generator export (no model config in it)")
    model = ModelConfig(**json.loads(metadata["model_config"]))
    network = build_generator(model)
    network.load_state_dict(weights)
    return network, model
