"""The models: CycleGAN's four networks, CUT's three, and how they are built. No I/O, no
optimisers; the updates that train them are in :mod:`stylecycle.training.step`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import nn

from .config import ONE_SIDED, LossConfig, ModelConfig
from .errors import ConfigError
from .losses import patch_nce_loss, perceptual_loss, style_loss
from .nn import (
    create_discriminator,
    create_generator,
    init_weights,
    norm_has_shift,
    norm_layer,
    with_spectral_norm,
)
from .nn.abstraction import AbstractionStage
from .nn.colour import ColourTable
from .nn.generators import Generator, ResnetGenerator, is_resnet
from .nn.patch_heads import PatchHeads, sample_places

if TYPE_CHECKING:
    from .nn.vgg import VggFeatures

Losses = dict[str, torch.Tensor]
Domain = Literal["a", "b"]


def norm_options(model: ModelConfig) -> dict:
    """The norm layer of every network, and whether convolutions before it need a bias."""
    return {"norm": norm_layer(model.norm, model.norm_affine), "use_bias": not norm_has_shift(model.norm, model.norm_affine)}


def build_generator(model: ModelConfig) -> Generator:
    """A freshly initialised generator as ``model`` describes it (training and inference alike)."""
    options = dict(
        ngf=model.ngf,
        **norm_options(model),
        dropout=model.dropout,
        upsample=model.upsample,
        global_skip=model.global_skip,
        conv_padding=model.conv_padding,
    )
    if is_resnet(model.generator):
        options.update(n_blocks=model.n_blocks, attention=model.attention, antialias=model.antialias)
    generator = create_generator(model.generator, **options)
    if model.has_colour_stage():
        generator.colour = ColourTable(model.lut_size, norm=options["norm"])
    if model.abstraction:
        generator.abstraction = AbstractionStage()
        generator.pointwise = False  # the lut generator's table alone is; lines and patches see neighbours
    generator = init_weights(generator, model.init, model.init_gain)
    if model.global_skip and model.generator != "lut":
        # Zero the output layer so the skip path alone speaks at first: the generator starts as
        # the identity (up to the skip's clamp) instead of the identity plus random noise.
        head = [m for m in generator.model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]
        nn.init.zeros_(head.weight)
        if head.bias is not None:
            nn.init.zeros_(head.bias)
    return generator


def build_discriminator(model: ModelConfig) -> nn.Module:
    discriminator = create_discriminator(
        model.discriminator,
        n_layers=model.n_layers_d,
        scales=model.d_scales,
        ndf=model.ndf,
        **norm_options(model),
    )
    discriminator = init_weights(discriminator, model.init, model.init_gain)
    return with_spectral_norm(discriminator) if model.spectral_norm else discriminator


class TranslationModel(nn.Module):
    """What the trainer, the checkpoints and the sample grids need of every model."""

    network_names: tuple[str, ...]  # the networks a checkpoint stores, by attribute name
    loss: LossConfig

    def translators(self) -> dict[str, Generator]:
        """The generators that translate, by network name (``G_ab``, and ``G_ba`` where there is one)."""
        raise NotImplementedError

    def generators(self) -> nn.ModuleList:
        """Everything the generators' optimiser trains."""
        raise NotImplementedError

    def discriminators(self) -> nn.ModuleList:
        raise NotImplementedError

    def colour_stages(self) -> list[nn.Module]:
        """The generators' colour stages (``--colour-lut``, the ``lut`` generator), which ``--colour-lr`` trains at their own rate."""
        return [generator.colour for generator in self.translators().values() if generator.colour is not None]

    def keep_within_bounds(self) -> None:
        """Put the generators' bounded settings back within their bounds (the abstraction stage's
        line threshold on its floor); the trainer calls it after every generator step."""
        for generator in self.translators().values():
            if generator.abstraction is not None:
                generator.abstraction.keep_lines_above_floor()

    def enable_generator_networks(self, enabled: bool) -> None:
        """Off, the generators' colour stages translate alone (``--colour-first``)."""
        for generator in self.translators().values():
            generator.network_enabled = enabled

    def build_vgg(self) -> None:
        """``vgg``: frozen VGG features for the perceptual and style losses, where they are on
        (not one of the networks a checkpoint stores)."""
        self.vgg: VggFeatures | None = None
        if self.loss.uses_vgg():
            from .nn.vgg import (
                build_vgg_features,  # torchvision's models: imported only when used
            )

            self.perceptual_layers = _layers(self.loss.perceptual_layers) if self.loss.lambda_perceptual > 0 else []
            self.style_layers = _layers(self.loss.style_layers) if self.loss.lambda_style > 0 else []
            self.vgg = build_vgg_features(self.loss.vgg, sorted({*self.perceptual_layers, *self.style_layers}), self.loss.vgg_weights)

    def perceptual_loss(self, features_fake: dict[str, torch.Tensor], real: torch.Tensor) -> torch.Tensor:
        """How far a translation's VGG features (``features_fake``) are from those of ``real``: its
        input's (the content kept), or a distilled student's teacher's translation."""
        assert self.vgg is not None
        layers = self.perceptual_layers
        return perceptual_loss(_pick(features_fake, layers), _pick(self.vgg(real), layers))

    def style_loss(self, features_fake: dict[str, torch.Tensor], style_images: torch.Tensor) -> torch.Tensor:
        """How far a translation's textures (Gram matrices of ``features_fake``) are from those of
        a batch of the target domain's images."""
        assert self.vgg is not None
        with torch.no_grad():
            features_style = self.vgg(style_images)
        return style_loss(_pick(features_fake, self.style_layers), _pick(features_style, self.style_layers))


def build_model(model: ModelConfig | None = None, loss: LossConfig | None = None) -> TranslationModel:
    """The model of ``model.method``: CycleGAN, or CUT / FastCUT. (A distillation, which reads its
    teachers' files, is :class:`stylecycle.distillation.Distillation`, above this module.)"""
    model = model or ModelConfig()
    return ContrastiveTranslation(model, loss) if model.method in ONE_SIDED else CycleGAN(model, loss)


class CycleGAN(TranslationModel):
    """``G_ab`` maps domain A to B, ``G_ba`` maps B to A; ``D_a`` and ``D_b`` judge whether an
    image belongs to A or to B."""

    network_names = ("G_ab", "G_ba", "D_a", "D_b")

    def __init__(self, model: ModelConfig | None = None, loss: LossConfig | None = None) -> None:
        super().__init__()
        model, self.loss = model or ModelConfig(), loss or LossConfig()
        self.G_ab, self.G_ba = build_generator(model), build_generator(model)
        self.D_a, self.D_b = build_discriminator(model), build_discriminator(model)
        self.build_vgg()

    def translators(self) -> dict[str, Generator]:
        return {"G_ab": self.G_ab, "G_ba": self.G_ba}

    def generators(self) -> nn.ModuleList:
        return nn.ModuleList([self.G_ab, self.G_ba])

    def discriminators(self) -> nn.ModuleList:
        return nn.ModuleList([self.D_a, self.D_b])


class ContrastiveTranslation(TranslationModel):
    """CUT and FastCUT (Park et al., 2020): one generator ``G_ab``, one discriminator ``D_b``, and
    ``patch_heads``, the MLPs through which PatchNCE compares the generator's encoder features
    of a translation with those of its input. No second generator, no cycle."""

    network_names = ("G_ab", "D_b", "patch_heads")

    def __init__(self, model: ModelConfig, loss: LossConfig | None = None) -> None:
        super().__init__()
        self.loss = loss or LossConfig()
        generator = build_generator(model)
        assert isinstance(generator, ResnetGenerator)  # Config.validate refuses the others
        self.G_ab: ResnetGenerator = generator
        self.D_b = build_discriminator(model)
        self.nce_layers = self.loss.nce_layer_indices()
        if self.nce_layers[-1] >= len(self.G_ab.model):
            raise ConfigError(f"--nce-layers {self.loss.nce_layers}: the generator's network has layers 0 to {len(self.G_ab.model) - 1}")
        with torch.no_grad():  # the widths of the features the heads will see
            channels = [f.shape[1] for f in self.G_ab.encode(torch.zeros(1, 3, 32, 32), self.nce_layers)]
        self.patch_heads: PatchHeads = init_weights(PatchHeads(channels, self.loss.nce_width), model.init, model.init_gain)

    def translators(self) -> dict[str, Generator]:
        return {"G_ab": self.G_ab}

    def generators(self) -> nn.ModuleList:
        return nn.ModuleList([self.G_ab, self.patch_heads])

    def discriminators(self) -> nn.ModuleList:
        return nn.ModuleList([self.D_b])

    def patch_nce(self, sources: torch.Tensor, translations: torch.Tensor, groups: int, flipped: bool) -> torch.Tensor:
        """PatchNCE of each translation against its source, averaged over the layers: one loss
        per image. ``translations`` were made from the sources flipped left to right when
        ``flipped`` (FastCUT's flip-equivariance): their features are flipped back to compare.
        Places are drawn for each of ``groups`` equal slices of the batch (A images, B images).
        The sources' side is the target, computed without a graph (no gradient reaches it)."""
        with torch.no_grad():
            source_features = self.G_ab.encode(sources, self.nce_layers)
            places = sample_places(source_features, self.loss.nce_patches, groups)
            keys = self.patch_heads(source_features, places)
        translated_features = self.G_ab.encode(translations, self.nce_layers)
        if flipped:
            translated_features = [f.flip(3) for f in translated_features]
        queries = self.patch_heads(translated_features, places)
        return torch.stack([patch_nce_loss(q, k, self.loss.nce_temperature) for q, k in zip(queries, keys)]).mean(0)


def run_together(network: nn.Module, *inputs: torch.Tensor) -> list[Any]:
    """``[network(x) for x in inputs]``, computed as one batch where that gives the same result.

    One call on a batch of two is faster than two calls (fewer, larger matrix products), and it
    changes nothing where every normalisation is per sample, as InstanceNorm is. With batch
    statistics the inputs would see each other's, so they then go one by one. Works for
    generators (a tensor out) and discriminators (a list of score maps out).
    """
    if len(inputs) == 1 or any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in network.modules()):
        return [network(x) for x in inputs]
    sizes = [x.shape[0] for x in inputs]
    out = network(torch.cat(inputs))
    if isinstance(out, torch.Tensor):
        return list(out.split(sizes))
    return [list(scores) for scores in zip(*(s.split(sizes) for s in out))]


def _layers(names: str) -> list[str]:
    return [name.strip() for name in names.split(",") if name.strip()]


def _pick(features: dict[str, torch.Tensor], layers: list[str]) -> dict[str, torch.Tensor]:
    return {k: features[k] for k in layers}
