"""The CycleGAN update as the reference implementation writes it: plain, slow, obviously right.

Every network is called on its own, the generators' whole loss is one graph, and each
discriminator judges real and fake images in separate calls, exactly as ``optimize_parameters``
of the original code does. It is the oracle the tests hold :func:`~stylecycle.training.step.cyclegan_update`
to (same losses, same gradients, for every option), and the baseline ``benchmarks/speed.py``
measures the production update against.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..losses import (
    discriminator_adversarial_loss,
    generator_adversarial_loss,
    gradient_penalty,
    perceptual_loss,
    reconstruction_loss,
    style_loss,
)
from ..model import CycleGAN, Domain, Losses
from .pool import ImagePool


def reference_cyclegan_update(
    model: CycleGAN,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    pools: dict[Domain, ImagePool],
    real_a: Tensor,
    real_b: Tensor,
    *,
    d_first: bool = False,
    augment: Callable[[Tensor], Tensor] = lambda images: images,
) -> Losses:
    """One update of both generators and both discriminators, in the recipe's order; returns every loss."""
    m, w = model, model.loss
    lambda_a, lambda_b = w.cycle_weight("a"), w.cycle_weight("b")
    losses: Losses = {}

    def generators() -> tuple[Tensor, Tensor]:
        m.discriminators().requires_grad_(False)
        fake_b, fake_a = m.G_ab(real_a), m.G_ba(real_b)
        losses["G_ab"] = generator_adversarial_loss(w.gan_loss, m.D_b(augment(fake_b)))
        losses["G_ba"] = generator_adversarial_loss(w.gan_loss, m.D_a(augment(fake_a)))
        losses["cycle_a"] = lambda_a * reconstruction_loss(w.cycle_loss, m.G_ba(fake_b), real_a)
        losses["cycle_b"] = lambda_b * reconstruction_loss(w.cycle_loss, m.G_ab(fake_a), real_b)
        if w.lambda_identity > 0:  # G_ab leaves B images alone, G_ba A images
            losses["idt_b"] = lambda_b * w.lambda_identity * reconstruction_loss(w.cycle_loss, m.G_ab(real_b), real_b)
            losses["idt_a"] = lambda_a * w.lambda_identity * reconstruction_loss(w.cycle_loss, m.G_ba(real_a), real_a)
        if (vgg := m.vgg) is not None:
            for source, real, fake, style in (("a", real_a, fake_b, real_b), ("b", real_b, fake_a, real_a)):
                if w.lambda_perceptual > 0:
                    content = {k: v for k, v in vgg(real).items() if k in m.perceptual_layers}
                    seen = {k: v for k, v in vgg(fake).items() if k in m.perceptual_layers}
                    losses[f"perceptual_{source}"] = w.lambda_perceptual * perceptual_loss(seen, content)
                if w.lambda_style > 0:
                    textures = {k: v.detach() for k, v in vgg(style).items() if k in m.style_layers}
                    seen = {k: v for k, v in vgg(fake).items() if k in m.style_layers}
                    losses[f"style_{source}"] = w.lambda_style * style_loss(seen, textures)
        opt_g.zero_grad()
        torch.stack([losses[k] for k in losses if not k.startswith(("D_", "gp_"))]).sum().backward()
        opt_g.step()
        m.discriminators().requires_grad_(True)
        return fake_a, fake_b

    def discriminators(fake_a: Tensor, fake_b: Tensor) -> None:
        judged: tuple[tuple[Domain, nn.Module, Tensor, Tensor], ...] = (("a", m.D_a, real_a, fake_a), ("b", m.D_b, real_b, fake_b))
        for domain, discriminator, real, fake in judged:
            real, fake = augment(real), augment(pools[domain].query(fake).detach())  # what DiffAugment lets it see
            losses[f"D_{domain}"] = discriminator_adversarial_loss(w.gan_loss, discriminator(real), discriminator(fake))
            if w.gan_loss == "wgangp":
                losses[f"gp_{domain}"] = w.lambda_gp * gradient_penalty(discriminator, real, fake)
        opt_d.zero_grad()
        torch.stack([losses[k] for k in losses if k.startswith(("D_", "gp_"))]).sum().backward()
        opt_d.step()

    if d_first:
        with torch.no_grad():
            fake_a, fake_b = m.G_ba(real_b), m.G_ab(real_a)
        discriminators(fake_a, fake_b)
        generators()
    else:
        discriminators(*generators())
    return {name: loss.detach() for name, loss in losses.items()}
