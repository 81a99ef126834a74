"""Image-to-image generators: the ResNet and U-Net families, with a registry of named variants.

Both families keep the module layout of the original PyTorch CycleGAN code (one
``nn.Sequential`` called ``model``; residual blocks holding ``conv_block``; U-Net blocks nested
as ``model.model.1.model.3...``) so that its trained ``latest_net_G_A.pth`` files map onto ours
by name. Variants are registered by name, timm-style: ``create_generator("unet_256", ngf=64)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import torch
import torch.nn.functional as F
from torch import nn

from .abstraction import AbstractionStage
from .attention import SelfAttention
from .colour import ColourTable
from .norm import NormLayer, instance_norm

# The global skip adds atanh(x) before the final tanh; clamping keeps atanh finite at +-1.
SKIP_LIMIT = 0.99
Upsample = Literal["transpose", "resize-conv"]
ConvPadding = Literal["zeros", "reflect"]


def pad_to_multiple(x: torch.Tensor, multiple: int, min_side: int) -> torch.Tensor:
    """Pad bottom and right so both sides are multiples of ``multiple`` (by reflection) and at
    least ``min_side`` (tiny images first grow by replication, having too few pixels to reflect).

    Written without branches on sides of ``min_side`` or more, so that an exported network
    (ONNX, with symbolic height and width) keeps working at every such size.
    """
    h, w = x.shape[-2], x.shape[-1]
    if h < min_side or w < min_side:
        x = F.pad(x, [0, max(0, min_side - w), 0, max(0, min_side - h)], mode="replicate")
        h, w = x.shape[-2], x.shape[-1]
    return F.pad(x, [0, (-w) % multiple, 0, (-h) % multiple], mode="reflect")


class ReflectionPad2d(nn.ReflectionPad2d):
    """``nn.ReflectionPad2d`` that pads in its input's own precision.

    CPU autocast lists reflection padding among the ops it runs in fp32, so under bf16 every
    padded activation would be widened to fp32 and narrowed again by the convolution after it,
    twice the memory traffic for a copy that is exact in any precision.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_scripting():  # a scripted network is exported, and exports run without autocast
            return F.pad(x, self.padding, "reflect")
        return self._pad_in_own_precision(x)

    @torch.jit.unused
    def _pad_in_own_precision(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return F.pad(x, self.padding, "reflect")


class ReflectPaddedConv2d(nn.Conv2d):
    """A convolution that pads its input by reflection (:class:`ReflectionPad2d`, in the input's
    own precision) instead of with zeros, under the same weights and state-dict keys.

    Zero padding tells a network where the image ends: a ReLU map is dark beyond its border and
    nowhere else. Generators use that to paint bands and blobs along the border that no training
    image has there (pix2pixHD's generators relied on it so much that swapping the padding after
    training ruined them). Reflected borders look like the rest of the picture.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, bias=bias)
        self.pad = ReflectionPad2d(padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(self.pad(x), self.weight, self.bias)


def conv2d(in_channels: int, out_channels: int, kernel: int, *, stride: int = 1, padding: int, bias: bool, mode: ConvPadding) -> nn.Conv2d:
    """A convolution padded with zeros (the reference networks') or by reflection."""
    if mode == "reflect":
        return ReflectPaddedConv2d(in_channels, out_channels, kernel, stride=stride, padding=padding, bias=bias)
    return nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=padding, bias=bias)


def upsampling(upsample: Upsample, in_channels: int, out_channels: int, kernel: int, bias: bool) -> nn.Module:
    """Double the resolution. ``transpose`` is the reference's strided transposed convolution;
    its kernels overlap unevenly, which paints period-2 checkerboards (Odena et al., 2016).
    ``resize-conv`` upsamples by nearest neighbour and then convolves, which cannot."""
    if upsample == "transpose":
        padding, output_padding = (1, 1) if kernel == 3 else (1, 0)
        return nn.ConvTranspose2d(in_channels, out_channels, kernel, stride=2, padding=padding, output_padding=output_padding, bias=bias)
    if upsample == "resize-conv":
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"), ReflectionPad2d(1), nn.Conv2d(in_channels, out_channels, 3, bias=bias)
        )
    raise ValueError(f"unknown upsampling {upsample!r}")


def blur_filter(taps: list[float], channels: int, gain: float = 1.0) -> torch.Tensor:
    """The depthwise filter outer(taps, taps), normalised to sum ``gain``, once per channel
    (channels x 1 x k x k): CUT's ``get_filter``, stored in its files as ``filt``."""
    kernel = torch.outer(torch.tensor(taps), torch.tensor(taps))
    return (kernel / kernel.sum() * gain).expand(channels, 1, len(taps), len(taps)).clone()


class BlurDownsample(nn.Module):
    """Anti-aliased stride-2 downsampling (Zhang, "Making Convolutional Networks Shift-Invariant
    Again", 2019), as CUT's generator does it: reflection pad 1, then a depthwise stride-2 blur
    with the fixed filter outer([1,2,1], [1,2,1]) / 16, so no frequency above the new Nyquist
    limit folds back into the result as aliasing."""

    if TYPE_CHECKING:  # a buffer
        filt: torch.Tensor

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("filt", blur_filter([1.0, 2.0, 1.0], channels))
        self.pad = ReflectionPad2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(self.pad(x), self.filt.to(x.dtype), stride=2, groups=x.shape[1])


class BlurUpsample(nn.Module):
    """Anti-aliased 2x upsampling, as CUT's generator does it: replication pad 1, a depthwise
    stride-2 transposed convolution with outer([1,3,3,1], [1,3,3,1]) / 64 * 4 (bilinear-like
    interpolation, every output pixel receiving the same total weight: no checkerboard), and the
    padding's extra rows and columns cropped."""

    if TYPE_CHECKING:  # a buffer
        filt: torch.Tensor

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("filt", blur_filter([1.0, 3.0, 3.0, 1.0], channels, gain=4.0))  # x stride^2: each output keeps its level

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = F.pad(x, [1, 1, 1, 1], mode="replicate")
        return F.conv_transpose2d(padded, self.filt.to(x.dtype), stride=2, padding=2, groups=x.shape[1])[:, :, 1:-1, 1:-1]


class Generator(nn.Module):
    """What every generator does around its network ``model``: pad the input to the sides the
    network needs and crop the output back (a 301x517 image comes back 301x517), and the tanh.

    With ``global_skip`` the input is added to the output before the tanh, in tanh's own
    coordinates (``tanh(f(x) + atanh(x))``): a freshly initialised generator is then close to the
    identity and only has to learn the change of style, rather than first learning to redraw the
    picture through its downsampled bottleneck. It adds no weights, so the state dict keeps the
    reference layout.
    """

    if TYPE_CHECKING:  # set by each subclass; TorchScript reads class annotations, and takes none of nn.Module
        model: nn.Module

    def __init__(self, global_skip: bool, side_multiple: int, min_side: int) -> None:
        """Subclasses then set ``self.model``, the network proper; its input sides must be
        multiples of ``side_multiple`` and at least ``min_side``. ``colour``, when set, is a
        colour stage (:class:`ColourTable`) applied before the network; ``abstraction``, when set,
        an :class:`AbstractionStage` applied before that."""
        super().__init__()
        self.global_skip = global_skip
        self.side_multiple, self.min_side = side_multiple, min_side
        self.skip_limit = SKIP_LIMIT  # an attribute, not a global, so that TorchScript can see it
        self.colour: ColourTable | None = None
        self.abstraction: AbstractionStage | None = None
        self.network_enabled = True  # off: the colour stage alone translates (training's --colour-first)
        self.pointwise = False

    def stages(self, x: torch.Tensor) -> torch.Tensor:
        """The stages before the network: abstraction, then colour, where the generator has them."""
        if self.abstraction is not None:
            x = self.abstraction(x)
        if self.colour is not None:
            x = self.colour(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(x)
        if not self.network_enabled:
            return x
        h, w = x.shape[-2], x.shape[-1]
        x = pad_to_multiple(x, self.side_multiple, self.min_side)
        out = self.model(x)
        if self.global_skip:
            out = out + torch.atanh(x.clamp(-self.skip_limit, self.skip_limit))
        return torch.tanh(out)[..., :h, :w]


class SeparableConv2d(nn.Sequential):
    """A depthwise 3x3 convolution (one filter per channel), its norm, then a 1x1 convolution that
    mixes the channels (MobileNet's; the residual blocks of GAN Compression's students): about
    1/9 + 1/channels of a full 3x3 convolution's multiply-adds."""

    def __init__(self, channels: int, norm: NormLayer, use_bias: bool) -> None:
        super().__init__(
            nn.Conv2d(channels, channels, 3, groups=channels, bias=use_bias),
            norm(channels),
            nn.Conv2d(channels, channels, 1, bias=use_bias),
        )


class ResidualBlock(nn.Module):
    """x + conv(relu(norm(conv(x)))): the block keeps content and learns a residual change. With
    ``separable`` each 3x3 convolution is a :class:`SeparableConv2d` (the mobile ResNet)."""

    def __init__(self, channels: int, norm: NormLayer, use_bias: bool, dropout: float = 0.0, separable: bool = False) -> None:
        super().__init__()

        def conv() -> nn.Module:
            return SeparableConv2d(channels, norm, use_bias) if separable else nn.Conv2d(channels, channels, 3, bias=use_bias)

        layers: list[nn.Module] = [ReflectionPad2d(1), conv(), norm(channels), nn.ReLU(True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [ReflectionPad2d(1), conv(), norm(channels)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(Generator):
    """7x7 stem, two stride-2 downsamplings, ``n_blocks`` residual blocks (with one self-attention
    block in their middle if ``attention``; depthwise-separable if ``separable``, the mobile
    ResNet), two upsamplings, 7x7 head and tanh (Johnson et al., as used by CycleGAN).

    The stem, the head and the residual blocks pad by reflection, as the reference does; its
    down- and upsampling convolutions pad with zeros, or by reflection with ``conv_padding``."""

    if TYPE_CHECKING:
        model: nn.Sequential

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        *,
        ngf: int = 64,
        n_blocks: int = 9,
        norm: NormLayer | None = None,
        use_bias: bool = True,
        dropout: float = 0.0,
        attention: bool = False,
        upsample: Upsample = "transpose",
        antialias: bool = False,
        separable: bool = False,
        global_skip: bool = False,
        conv_padding: ConvPadding = "zeros",
    ) -> None:
        # Two stride-2 downsamplings: sides divisible by 4, and at least 8 pixels so that the 3x3
        # reflection pads of the bottleneck still have a neighbour to reflect.
        super().__init__(global_skip, side_multiple=4, min_side=8)
        norm = norm or instance_norm()
        layers: list[nn.Module] = [
            ReflectionPad2d(3),
            nn.Conv2d(in_channels, ngf, 7, bias=use_bias),
            norm(ngf),
            nn.ReLU(True),
        ]
        channels = ngf
        for _ in range(2):
            if antialias:  # CUT's layout: a stride-1 convolution, then the blurred stride
                layers += [
                    conv2d(channels, channels * 2, 3, padding=1, bias=use_bias, mode=conv_padding),
                    norm(channels * 2),
                    nn.ReLU(True),
                ]
                layers.append(BlurDownsample(channels * 2))
            else:
                down = conv2d(channels, channels * 2, 3, stride=2, padding=1, bias=use_bias, mode=conv_padding)
                layers += [down, norm(channels * 2), nn.ReLU(True)]
            channels *= 2
        blocks: list[nn.Module] = [ResidualBlock(channels, norm, use_bias, dropout, separable) for _ in range(n_blocks)]
        if attention:
            blocks.insert(n_blocks // 2, SelfAttention(channels))
        layers += blocks
        for _ in range(2):
            if antialias:
                layers += [BlurUpsample(channels), conv2d(channels, channels // 2, 3, padding=1, bias=use_bias, mode=conv_padding)]
            else:
                layers.append(upsampling(upsample, channels, channels // 2, 3, use_bias))
            layers += [norm(channels // 2), nn.ReLU(True)]
            channels //= 2
        layers += [ReflectionPad2d(3), nn.Conv2d(channels, out_channels, 7)]
        self.model = nn.Sequential(*layers)  # the tanh (index 24 in the reference) is applied in forward

    def encode(self, x: torch.Tensor, layers: list[int]) -> list[torch.Tensor]:
        """The activations after each of ``layers`` (indices into ``model``, sorted) on the way
        ``forward`` computes them: the features CUT's PatchNCE compares (its ``encode_only``).
        The network stops after the last of them."""
        x = self.stages(x)
        x = pad_to_multiple(x, self.side_multiple, self.min_side)
        features = []
        for index, layer in enumerate(self.model[: layers[-1] + 1]):
            x = layer(x)
            if index in layers:
                features.append(x)
        return features


class UnetSkipBlock(nn.Module):
    """One level of the U-Net: downsample, the deeper levels (``submodule``), upsample, and the
    skip connection that concatenates this level's input to its output (all but the outermost)."""

    def __init__(
        self,
        outer: int,
        inner: int,
        *,
        submodule: nn.Module | None = None,
        in_channels: int | None = None,
        outermost: bool = False,
        norm: NormLayer,
        use_bias: bool,
        dropout: float = 0.0,
        upsample: Upsample = "transpose",
        conv_padding: ConvPadding = "zeros",
    ) -> None:
        super().__init__()
        self.outermost = outermost
        down = conv2d(in_channels or outer, inner, 4, stride=2, padding=1, bias=use_bias, mode=conv_padding)
        if outermost:  # the tanh is applied by the generator, after the optional global skip
            layers = [down, submodule, nn.ReLU(True), upsampling(upsample, inner * 2, outer, 4, True)]
        elif submodule is None:  # innermost
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), upsampling(upsample, inner, outer, 4, use_bias), norm(outer)]
        else:
            layers = [
                nn.LeakyReLU(0.2, True),
                down,
                norm(inner),
                submodule,
                nn.ReLU(True),
                upsampling(upsample, inner * 2, outer, 4, use_bias),
                norm(outer),
            ]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*layers)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class UnetGenerator(Generator):
    """U-Net of ``num_downs`` stride-2 levels (pix2pix): skip connections carry full-resolution
    detail past the bottleneck. ``unet_256`` has 8 levels (a 256x256 input reaches 1x1)."""

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        *,
        num_downs: int = 8,
        ngf: int = 64,
        norm: NormLayer | None = None,
        use_bias: bool = True,
        dropout: float = 0.0,
        upsample: Upsample = "transpose",
        global_skip: bool = False,
        conv_padding: ConvPadding = "zeros",
    ) -> None:
        super().__init__(global_skip, side_multiple=2**num_downs, min_side=2**num_downs)
        common = dict(norm=norm or instance_norm(), use_bias=use_bias, upsample=upsample, conv_padding=conv_padding)
        block = UnetSkipBlock(ngf * 8, ngf * 8, **common)  # type: ignore[arg-type]
        for _ in range(num_downs - 5):  # the deepest levels stay at 8 * ngf channels
            block = UnetSkipBlock(ngf * 8, ngf * 8, submodule=block, dropout=dropout, **common)  # type: ignore[arg-type]
        for mult in (4, 2, 1):
            block = UnetSkipBlock(ngf * mult, ngf * mult * 2, submodule=block, **common)  # type: ignore[arg-type]
        self.model = UnetSkipBlock(out_channels, ngf, submodule=block, in_channels=in_channels, outermost=True, **common)  # type: ignore[arg-type]


class ColourOnlyGenerator(Generator):
    """No pixel network: the colour stage alone (the ``lut`` generator). It cannot change a
    single pixel's neighbourhood, so it can neither paint artefacts nor draw lines."""

    def __init__(self) -> None:
        super().__init__(global_skip=False, side_multiple=1, min_side=1)
        self.model = nn.Identity()
        self.pointwise = True  # each output pixel depends on its input pixel alone (and the table): no tiling needed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(x)


GENERATORS: dict[str, Callable[..., Generator]] = {}


def register_generator(factory: Callable[..., Generator]) -> Callable[..., Generator]:
    """Add a named variant; a second variant of the same name is a programming error."""
    if factory.__name__ in GENERATORS:
        raise ValueError(f"generator {factory.__name__!r} is registered twice")
    GENERATORS[factory.__name__] = factory
    return factory


@register_generator
def resnet_9blocks(*, n_blocks: int | None = None, **kwargs) -> Generator:
    return ResnetGenerator(n_blocks=9 if n_blocks is None else n_blocks, **kwargs)


@register_generator
def resnet_6blocks(*, n_blocks: int | None = None, **kwargs) -> Generator:
    return ResnetGenerator(n_blocks=6 if n_blocks is None else n_blocks, **kwargs)


@register_generator
def mobile_resnet_9blocks(*, n_blocks: int | None = None, **kwargs) -> Generator:
    return ResnetGenerator(n_blocks=9 if n_blocks is None else n_blocks, separable=True, **kwargs)


@register_generator
def mobile_resnet_6blocks(*, n_blocks: int | None = None, **kwargs) -> Generator:
    return ResnetGenerator(n_blocks=6 if n_blocks is None else n_blocks, separable=True, **kwargs)


@register_generator
def unet_128(**kwargs) -> Generator:
    return UnetGenerator(num_downs=7, **kwargs)


@register_generator
def unet_256(**kwargs) -> Generator:
    return UnetGenerator(num_downs=8, **kwargs)


@register_generator
def lut(**pixel_network_options) -> Generator:
    return ColourOnlyGenerator()


def is_resnet(name: str) -> bool:
    """Whether generator ``name`` is one of the ResNets (plain or mobile), which take a block
    count, attention, anti-aliasing, and whose encoder CUT reads."""
    return name.startswith(("resnet_", "mobile_resnet_"))


def list_generators() -> list[str]:
    return sorted(GENERATORS)


def create_generator(name: str, **kwargs) -> Generator:
    if name not in GENERATORS:
        raise ValueError(f"unknown generator {name!r}; known: {', '.join(list_generators())}")
    return GENERATORS[name](**kwargs)
