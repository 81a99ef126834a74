"""Self-attention for convolutional feature maps (SAGAN, Zhang et al. 2019)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    """x + gate * attention(x): every position can draw on every other, so a texture can stay
    consistent across the whole image, which a stack of 3x3 convolutions only sees locally.

    The gate is a learnable scalar that starts at zero, so a freshly built block is the identity
    and the network learns how much global context to mix in. Attention runs through
    ``scaled_dot_product_attention``, whose fused kernels never hold the (HW x HW) matrix, so it
    fits full-resolution translation too.
    """

    def __init__(self, channels: int, key_channels: int | None = None) -> None:
        super().__init__()
        key_channels = key_channels or max(1, channels // 8)
        self.query = nn.Conv2d(channels, key_channels, 1)
        self.key = nn.Conv2d(channels, key_channels, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gate = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        attended = F.scaled_dot_product_attention(positions(self.query(x)), positions(self.key(x)), positions(self.value(x)))
        return x + self.gate * attended.squeeze(1).transpose(1, 2).reshape(n, c, h, w)


def positions(features: torch.Tensor) -> torch.Tensor:
    """NxCxHxW → Nx1xHWxC: one attention head over the H*W positions."""
    return features.flatten(2).transpose(1, 2).unsqueeze(1)
