"""Normalisation layers, passed to the networks as a callable ``norm(num_channels)``.

InstanceNorm normalises each sample and channel by its own spatial mean and biased variance,
y = (x - mu) / sqrt(var + eps) * gamma + beta. It removes each image's own contrast, so the
style lives in the network's weights rather than in the statistics of the input. PyTorch's
``nn.InstanceNorm2d`` without running statistics is exactly that formula, so it is used as is.
"""

from __future__ import annotations

from functools import partial
from typing import Callable

from torch import nn

NormLayer = Callable[[int], nn.Module]


def instance_norm(affine: bool = False, eps: float = 1e-5) -> NormLayer:
    """InstanceNorm with optional learnable gamma and beta, never tracking running statistics
    (statistics are always those of the image at hand, in training and in inference alike)."""
    return partial(nn.InstanceNorm2d, affine=affine, eps=eps, track_running_stats=False)
