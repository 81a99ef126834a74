"""Discriminators that judge whether images belong to a domain."""

from __future__ import annotations

import torch
from torch import nn

from .norm import NormLayer, instance_norm


class PatchDiscriminator(nn.Module):
    """PatchGAN: a fully convolutional classifier whose every output scores one patch.

    With ``n_layers=3`` each output sees a 70x70 receptive field; judging texture patch by patch
    instead of the whole image needs fewer parameters and works at any image size.
    """

    def __init__(self, in_channels: int = 3, *, ndf: int = 64, n_layers: int = 3, norm: NormLayer | None = None) -> None:
        super().__init__()
        norm = norm or instance_norm()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        channels = ndf
        for i in range(1, n_layers + 1):
            out = ndf * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(channels, out, 4, stride=stride, padding=1), norm(out), nn.LeakyReLU(0.2, True)]
            channels = out
        layers.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
