"""CycleGAN: the four networks and the losses they are trained with. No I/O, no optimisers."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from .config import CycleLoss, GanLoss, LossConfig, ModelConfig
from .losses import adversarial_loss, reconstruction_loss
from .nn import PatchDiscriminator, ResnetGenerator, init_weights

Losses = dict[str, torch.Tensor]
Domain = Literal["a", "b"]


def build_generator(model: ModelConfig) -> ResnetGenerator:
    """A freshly initialised generator as ``model`` describes it (training and inference alike)."""
    generator = init_weights(ResnetGenerator(ngf=model.ngf, n_blocks=model.n_blocks, global_skip=model.global_skip))
    if model.global_skip:
        # Zero the output layer so the skip path alone speaks at first: the generator starts as
        # the identity (up to the skip's clamp) instead of the identity plus random noise.
        head = generator.model[-1]
        nn.init.zeros_(head.weight)
        nn.init.zeros_(head.bias)
    return generator


def build_discriminator(model: ModelConfig) -> PatchDiscriminator:
    return init_weights(PatchDiscriminator(ndf=model.ndf, n_layers=model.n_layers_d))


class CycleGAN(nn.Module):
    """``G_ab`` maps domain A to B, ``G_ba`` maps B to A; ``D_a`` and ``D_b`` judge whether an
    image belongs to A or to B."""

    def __init__(self, model: ModelConfig | None = None, loss: LossConfig | None = None) -> None:
        super().__init__()
        model, loss = model or ModelConfig(), loss or LossConfig()
        self.G_ab, self.G_ba = build_generator(model), build_generator(model)
        self.D_a, self.D_b = build_discriminator(model), build_discriminator(model)
        self.gan_loss: GanLoss = loss.gan_loss
        self.cycle_loss: CycleLoss = loss.cycle_loss
        self.lambda_cycle, self.lambda_identity = loss.lambda_cycle, loss.lambda_identity

    def generators(self) -> nn.ModuleList:
        return nn.ModuleList([self.G_ab, self.G_ba])

    def discriminators(self) -> nn.ModuleList:
        return nn.ModuleList([self.D_a, self.D_b])

    def identity_losses(self, real_a: torch.Tensor, real_b: torch.Tensor) -> Losses:
        """Leave images that already belong to the target domain alone (empty when weighted 0)."""
        if self.lambda_identity <= 0:
            return {}
        weight = self.lambda_cycle * self.lambda_identity
        return {
            "idt_a": weight * reconstruction_loss(self.cycle_loss, self.G_ba(real_a), real_a),
            "idt_b": weight * reconstruction_loss(self.cycle_loss, self.G_ab(real_b), real_b),
        }

    def round_trip_losses(self, real: torch.Tensor, source: Domain) -> tuple[Losses, torch.Tensor]:
        """Translate ``real`` (of domain ``source``) into the other domain, where it must fool that
        domain's discriminator, and back again, where it must match itself (cycle consistency).

        The round trips from A and from B share no activations, so the trainer can
        back-propagate each on its own. Returns the losses and the fake, for the discriminators.
        """
        if source == "a":
            there, back, judge, name = self.G_ab, self.G_ba, self.D_b, "G_ab"
        else:
            there, back, judge, name = self.G_ba, self.G_ab, self.D_a, "G_ba"
        fake = there(real)
        losses = {
            name: adversarial_loss(self.gan_loss, judge(fake), True),
            f"cycle_{source}": self.lambda_cycle * reconstruction_loss(self.cycle_loss, back(fake), real),
        }
        return losses, fake

    def discriminator_losses(
        self, real_a: torch.Tensor, real_b: torch.Tensor, fake_a: torch.Tensor, fake_b: torch.Tensor
    ) -> Losses:
        """Each discriminator's loss on real images versus (pooled, detached) fakes."""
        return {"D_a": self._judge(self.D_a, real_a, fake_a), "D_b": self._judge(self.D_b, real_b, fake_b)}

    def _judge(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Half the sum of the real and fake losses, halved so D learns slower than G.

        Real and fake go through in one batch: the discriminator's InstanceNorm is per sample.
        """
        scores_real, scores_fake = discriminator(torch.cat([real, fake.detach()])).split([real.shape[0], fake.shape[0]])
        return 0.5 * (
            adversarial_loss(self.gan_loss, scores_real, True) + adversarial_loss(self.gan_loss, scores_fake, False)
        )
