"""Discriminators that judge whether images belong to a domain.

Every discriminator returns a list of score maps (one per scale), so the losses treat the
single-scale and multi-scale kinds alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .norm import NormLayer, instance_norm

DiscriminatorKind = Literal["patch", "pixel", "multiscale"]


class PatchDiscriminator(nn.Module):
    """PatchGAN: a fully convolutional classifier whose every output scores one patch.

    With ``n_layers=3`` each output sees a 70x70 receptive field; judging texture patch by patch
    instead of the whole image needs fewer parameters and works at any image size.
    """

    def __init__(
        self, in_channels: int = 3, *, ndf: int = 64, n_layers: int = 3, norm: NormLayer | None = None, use_bias: bool = True
    ) -> None:
        super().__init__()
        norm = norm or instance_norm()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        channels = ndf
        for i in range(1, n_layers + 1):
            out = ndf * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(channels, out, 4, stride=stride, padding=1, bias=use_bias), norm(out), nn.LeakyReLU(0.2, True)]
            channels = out
        layers.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.model(x)]


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN: scores every pixel on its own, so it judges colour and not texture."""

    def __init__(self, in_channels: int = 3, *, ndf: int = 64, norm: NormLayer | None = None, use_bias: bool = True) -> None:
        super().__init__()
        norm = norm or instance_norm()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, ndf, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 1, bias=use_bias),
            norm(ndf * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 1, bias=use_bias),
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.net(x)]


class MultiScaleDiscriminator(nn.Module):
    """PatchGANs on the image at full, half, quarter … resolution (pix2pixHD): the coarse ones see
    the global layout, the fine ones the texture."""

    def __init__(self, in_channels: int = 3, *, scales: int = 2, **patch_options) -> None:
        super().__init__()
        self.scales = nn.ModuleList(PatchDiscriminator(in_channels, **patch_options) for _ in range(scales))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        scores = []
        for i, discriminator in enumerate(self.scales):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            scores += discriminator(x)
        return scores


def with_spectral_norm(module: nn.Module) -> nn.Module:
    """Constrain every convolution to Lipschitz constant 1 (Miyato et al., 2018), which keeps the
    discriminator from growing overconfident; applied after initialisation."""
    for m in list(module.modules()):
        if isinstance(m, nn.Conv2d):
            spectral_norm(m)
    return module


def smallest_input_side(kind: DiscriminatorKind, n_layers: int, scales: int = 1) -> int:
    """The smallest image side a discriminator can judge. Below it the last feature map is 1x1
    and InstanceNorm has nothing to normalise: each stride-2 layer halves the side, the stride-1
    layer takes 1, and each further scale of a multiscale discriminator halves the image first."""
    if kind == "pixel":
        return 2
    return 3 * 2**n_layers * 2 ** (scales - 1)


def create_discriminator(kind: DiscriminatorKind, *, n_layers: int, scales: int, **options) -> nn.Module:
    factories: dict[str, Callable[[], nn.Module]] = {
        "patch": lambda: PatchDiscriminator(n_layers=n_layers, **options),
        "pixel": lambda: PixelDiscriminator(**options),
        "multiscale": lambda: MultiScaleDiscriminator(scales=scales, n_layers=n_layers, **options),
    }
    if kind not in factories:
        raise ValueError(f"unknown discriminator {kind!r}; known: {', '.join(factories)}")
    return factories[kind]()
