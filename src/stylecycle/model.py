"""CycleGAN: the four networks and the losses they are trained with. No I/O, no optimisers."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from .config import LossConfig, ModelConfig
from .losses import (
    discriminator_adversarial_loss,
    generator_adversarial_loss,
    gradient_penalty,
    perceptual_loss,
    reconstruction_loss,
    style_loss,
)
from .nn import create_discriminator, create_generator, init_weights, norm_has_shift, norm_layer, with_spectral_norm
from .nn.generators import Generator
from .nn.vgg import VggFeatures, build_vgg_features

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
    )
    if model.generator.startswith("resnet"):
        options.update(n_blocks=model.n_blocks, attention=model.attention)
    generator = init_weights(create_generator(model.generator, **options), model.init, model.init_gain)
    if model.global_skip:
        # Zero the output layer so the skip path alone speaks at first: the generator starts as
        # the identity (up to the skip's clamp) instead of the identity plus random noise.
        head = [m for m in generator.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]
        nn.init.zeros_(head.weight)
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


class CycleGAN(nn.Module):
    """``G_ab`` maps domain A to B, ``G_ba`` maps B to A; ``D_a`` and ``D_b`` judge whether an
    image belongs to A or to B. ``vgg`` (frozen; only with perceptual or style losses) is not
    one of the networks a checkpoint stores."""

    def __init__(self, model: ModelConfig | None = None, loss: LossConfig | None = None) -> None:
        super().__init__()
        model, self.loss = model or ModelConfig(), loss or LossConfig()
        self.G_ab, self.G_ba = build_generator(model), build_generator(model)
        self.D_a, self.D_b = build_discriminator(model), build_discriminator(model)
        self.vgg: VggFeatures | None = None
        if self.loss.uses_vgg():
            self.perceptual_layers = _layers(self.loss.perceptual_layers) if self.loss.lambda_perceptual > 0 else []
            self.style_layers = _layers(self.loss.style_layers) if self.loss.lambda_style > 0 else []
            self.vgg = build_vgg_features(self.loss.vgg, sorted({*self.perceptual_layers, *self.style_layers}), self.loss.vgg_weights)

    def generators(self) -> nn.ModuleList:
        return nn.ModuleList([self.G_ab, self.G_ba])

    def discriminators(self) -> nn.ModuleList:
        return nn.ModuleList([self.D_a, self.D_b])

    def round_trip_losses(self, real: torch.Tensor, source: Domain, target_domain_images: torch.Tensor) -> tuple[Losses, torch.Tensor]:
        """Translate ``real`` (of domain ``source``) into the other domain, where it must fool that
        domain's discriminator (and, with the VGG losses, keep its content and take on the style of
        ``target_domain_images``), and back again, where it must match itself (cycle consistency).

        With the identity loss on, the generator going there must also leave
        ``target_domain_images`` alone (they already belong where it translates to); it takes them
        in the same batch as ``real``. So the round trips from A and from B carry one identity
        term each, and hold equal work: three generator passes in two calls.

        The round trips from A and from B share no activations, so the trainer can
        back-propagate each on its own, or run them side by side. Returns the losses and the fake,
        for the discriminators.
        """
        other: Domain = "b" if source == "a" else "a"
        if source == "a":
            there, back, judge, name = self.G_ab, self.G_ba, self.D_b, "G_ab"
        else:
            there, back, judge, name = self.G_ba, self.G_ab, self.D_a, "G_ba"
        loss = self.loss
        identity = loss.lambda_identity > 0
        fake, *kept = run_together(there, real, *([target_domain_images] if identity else []))
        losses = {
            name: generator_adversarial_loss(loss.gan_loss, judge(fake)),
            f"cycle_{source}": loss.cycle_weight(source) * reconstruction_loss(loss.cycle_loss, back(fake), real),
        }
        if identity:
            weight = loss.cycle_weight(other) * loss.lambda_identity
            losses[f"idt_{other}"] = weight * reconstruction_loss(loss.cycle_loss, kept[0], target_domain_images)
        if self.vgg is not None:
            features_fake, features_real = self.vgg(fake), self.vgg(real)
            if self.perceptual_layers:
                pick = lambda features: {k: features[k] for k in self.perceptual_layers}  # noqa: E731
                losses[f"perceptual_{source}"] = loss.lambda_perceptual * perceptual_loss(pick(features_fake), pick(features_real))
            if self.style_layers:
                with torch.no_grad():
                    features_style = self.vgg(target_domain_images)
                pick = lambda features: {k: features[k] for k in self.style_layers}  # noqa: E731
                losses[f"style_{source}"] = loss.lambda_style * style_loss(pick(features_fake), pick(features_style))
        return losses, fake

    def discriminator_losses(self, domain: Domain, real: torch.Tensor, fake: torch.Tensor) -> Losses:
        """The loss of ``domain``'s discriminator on its real images versus (pooled, detached)
        fakes, and its gradient penalty for wgangp. The two discriminators share nothing, so the
        trainer can update them side by side."""
        discriminator = self.D_a if domain == "a" else self.D_b
        losses = {f"D_{domain}": self._judge(discriminator, real, fake)}
        if self.loss.gan_loss == "wgangp":
            losses[f"gp_{domain}"] = self.loss.lambda_gp * gradient_penalty(discriminator, real, fake)
        return losses

    def _judge(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        scores_real, scores_fake = run_together(discriminator, real, fake.detach())
        return discriminator_adversarial_loss(self.loss.gan_loss, scores_real, scores_fake)


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
