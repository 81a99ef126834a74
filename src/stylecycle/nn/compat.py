"""Generators trained by the original PyTorch CycleGAN code (``latest_net_G_A.pth`` files) and by
the CUT code (``latest_net_G.pth``, whose anti-aliased blur filters are stored as ``filt``).

Our ResNet and U-Net generators keep that code's module layout, so its state dicts map onto
ours by name. What differs, and is handled here and nowhere else:

- files saved by PyTorch before 0.4 carry ``running_mean`` / ``running_var`` (and
  ``num_batches_tracked``) for InstanceNorm layers, which track nothing: they are dropped;
- the architecture is not stored: the user names it (``--generator``), and the width, the norm
  (batch-normalised models have norm weights and no convolution biases) and the dropout of
  ResNet blocks (which shifts their second convolution's index) and CUT's anti-aliasing are read
  from the tensors.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from ..errors import CheckpointError

_RUNNING_STATS = ("running_mean", "running_var", "num_batches_tracked")


def is_reference_state_dict(state: Any) -> bool:
    """Whether ``state`` looks like a bare generator state dict of the original code."""
    return isinstance(state, dict) and bool(state) and all(isinstance(k, str) and k.startswith("model.") for k in state)


def reference_model_options(state: dict[str, torch.Tensor], generator: str) -> dict[str, Any]:
    """The options (``ModelConfig`` fields) of our generator that has the same architecture as ``state``."""
    first_conv = "model.1.weight" if generator.startswith("resnet") else "model.model.0.weight"
    if first_conv not in state:
        raise CheckpointError(f"the weights are not those of a {generator} generator of the original CycleGAN code (no {first_conv})")
    ngf = int(state[first_conv].shape[0])
    norm_weights = [k for k in state if k.endswith(".weight") and state[k].dim() == 1]
    options: dict[str, Any] = {"generator": generator, "ngf": ngf, "norm": "batch" if norm_weights else "instance"}
    if generator.startswith("resnet"):
        blocks = {int(m.group(1)) for k in state if (m := re.match(r"model\.(\d+)\.conv_block\.", k))}
        options["n_blocks"] = len(blocks)
        if any(".conv_block.6.weight" in k for k in state):
            options["dropout"] = 0.5
        if any(k.endswith(".filt") for k in state):  # CUT's anti-aliased layout
            options["antialias"] = True
    return options


def from_reference_state_dict(state: dict[str, torch.Tensor], norm: str) -> dict[str, torch.Tensor]:
    """Our state dict for the same weights: the InstanceNorm running statistics dropped."""
    if norm == "instance":
        return {k: v for k, v in state.items() if not k.endswith(_RUNNING_STATS)}
    return dict(state)
