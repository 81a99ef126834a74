"""Image-to-image generators.

The ResNet generator keeps the module layout of the original PyTorch CycleGAN code (one
``nn.Sequential`` called ``model``, residual blocks holding ``conv_block``) so that the state
dicts of its trained ``latest_net_G_A.pth`` files map onto ours by name.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .norm import NormLayer, instance_norm

# Two stride-2 downsamplings: the network needs sides divisible by 4, and at least 8 pixels so
# that the 3x3 reflection pads of the bottleneck still have a neighbour to reflect.
SIDE_MULTIPLE = 4
MIN_SIDE = 8
# The global skip adds atanh(x) before the final tanh; clamping keeps atanh finite at +-1.
SKIP_LIMIT = 0.99


def pad_to_multiple(x: torch.Tensor) -> torch.Tensor:
    """Pad bottom and right so both sides are multiples of 4 (reflecting where possible)."""
    h, w = x.shape[-2:]
    target_h = max(MIN_SIDE, -(-h // SIDE_MULTIPLE) * SIDE_MULTIPLE)
    target_w = max(MIN_SIDE, -(-w // SIDE_MULTIPLE) * SIDE_MULTIPLE)
    pad_h, pad_w = target_h - h, target_w - w
    if pad_h == 0 and pad_w == 0:
        return x
    mode = "reflect" if pad_h < h and pad_w < w else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


class ResidualBlock(nn.Module):
    """x + conv(relu(norm(conv(x)))): the block keeps content and learns a residual change."""

    def __init__(self, channels: int, norm: NormLayer, use_bias: bool, dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=use_bias),
            norm(channels),
            nn.ReLU(True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=use_bias), norm(channels)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """7x7 stem, two stride-2 downsamplings, ``n_blocks`` residual blocks, two transposed
    convolutions back up, 7x7 head and tanh (Johnson et al., as used by CycleGAN).

    Accepts any height and width: the input is padded to a multiple of 4 and the output cropped
    back, so a 301x517 image comes back 301x517.

    With ``global_skip`` the input is added to the output before the tanh, in tanh's own
    coordinates (``tanh(f(x) + atanh(x))``): a freshly initialised generator is then close to the
    identity and only has to learn the change of style, rather than first learning to redraw the
    picture through its 4x-downsampled bottleneck. It adds no weights, so the state dict keeps the
    reference layout.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        *,
        ngf: int = 64,
        n_blocks: int = 9,
        norm: NormLayer | None = None,
        dropout: float = 0.0,
        global_skip: bool = False,
    ) -> None:
        super().__init__()
        norm = norm or instance_norm()
        self.global_skip = global_skip
        # A bias before a norm without learnable shift is the only shift the layer has; the
        # reference keeps it for InstanceNorm, and its checkpoints carry it.
        use_bias = True
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, ngf, 7, bias=use_bias),
            norm(ngf),
            nn.ReLU(True),
        ]
        channels = ngf
        for _ in range(2):
            layers += [
                nn.Conv2d(channels, channels * 2, 3, stride=2, padding=1, bias=use_bias),
                norm(channels * 2),
                nn.ReLU(True),
            ]
            channels *= 2
        layers += [ResidualBlock(channels, norm, use_bias, dropout) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [
                nn.ConvTranspose2d(channels, channels // 2, 3, stride=2, padding=1, output_padding=1, bias=use_bias),
                norm(channels // 2),
                nn.ReLU(True),
            ]
            channels //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(channels, out_channels, 7)]
        self.model = nn.Sequential(*layers)  # the tanh (index 24 in the reference) is applied in forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = pad_to_multiple(x)
        out = self.model(x)
        if self.global_skip:
            out = out + torch.atanh(x.clamp(-SKIP_LIMIT, SKIP_LIMIT))
        return torch.tanh(out)[..., :h, :w]
