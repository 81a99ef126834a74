"""Loss functions of CycleGAN training.

Discriminators return a list of score maps (one per scale); the adversarial losses average
over it, so single- and multi-scale discriminators are treated alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F

from .precision import at_least_fp32

Scores = list[torch.Tensor]
GanLoss = Literal["lsgan", "vanilla", "hinge", "wgangp"]
CycleLoss = Literal["l1", "mse"]


def _mean_over_scales(scores: Scores, loss: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    return torch.stack([loss(s).float() for s in scores]).mean()


def _towards(kind: GanLoss, scores: torch.Tensor, real: bool) -> torch.Tensor:
    """lsgan and vanilla: distance of the scores from the label 'real' (1) or 'fake' (0)."""
    target = torch.full_like(scores, 1.0 if real else 0.0)
    if kind == "lsgan":
        return F.mse_loss(scores, target)
    return F.binary_cross_entropy_with_logits(scores, target)


def generator_adversarial_loss(kind: GanLoss, fake_scores: Scores) -> torch.Tensor:
    """How badly the generator's fakes fail to pass as real.

    ``lsgan`` is the least-squares loss the CycleGAN paper uses (steadier gradients than
    cross-entropy); ``vanilla`` is the original GAN's cross-entropy on logits; ``hinge`` and
    ``wgangp`` both raise the critic's score of the fakes.
    """
    if kind in ("lsgan", "vanilla"):
        return _mean_over_scales(fake_scores, lambda s: _towards(kind, s, real=True))
    if kind in ("hinge", "wgangp"):
        return _mean_over_scales(fake_scores, lambda s: -s.mean())
    raise ValueError(f"unknown adversarial loss {kind!r}")


def discriminator_adversarial_loss(kind: GanLoss, real_scores: Scores, fake_scores: Scores) -> torch.Tensor:
    """Half the discriminator's loss on real images plus its loss on fakes (halved, as in the
    reference, so that the discriminators learn slower than the generators)."""
    if kind in ("lsgan", "vanilla"):
        real = _mean_over_scales(real_scores, lambda s: _towards(kind, s, real=True))
        fake = _mean_over_scales(fake_scores, lambda s: _towards(kind, s, real=False))
    elif kind == "hinge":
        real = _mean_over_scales(real_scores, lambda s: F.relu(1 - s).mean())
        fake = _mean_over_scales(fake_scores, lambda s: F.relu(1 + s).mean())
    elif kind == "wgangp":
        real = _mean_over_scales(real_scores, lambda s: -s.mean())
        fake = _mean_over_scales(fake_scores, lambda s: s.mean())
    else:
        raise ValueError(f"unknown adversarial loss {kind!r}")
    return 0.5 * (real + fake)


def gradient_penalty(discriminator: Callable[[torch.Tensor], Scores], real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al., 2017): the mean of (||grad D(x)|| - 1)^2 at random points x
    between real and fake images, which keeps the critic 1-Lipschitz where it matters."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    between = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = discriminator(between)
    (grad,) = torch.autograd.grad(torch.stack([s.float().sum() for s in scores]).sum(), between, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def reconstruction_loss(kind: CycleLoss, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Distance used for the cycle and identity terms: L1 (sharper, the default) or MSE."""
    if kind == "l1":
        return F.l1_loss(output, target)
    if kind == "mse":
        return F.mse_loss(output, target)
    raise ValueError(f"unknown reconstruction loss {kind!r}")


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Channel-by-channel correlations of a feature map, normalised by its size: what the
    texture is made of, with the layout of the picture averaged away (Gatys et al., 2016)."""
    n, c, h, w = features.shape
    flat = features.float().flatten(2)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def perceptual_loss(output: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean squared distance of two images' features, averaged over the layers."""
    return torch.stack([F.mse_loss(output[k].float(), target[k].float()) for k in output]).mean()


def style_loss(output: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean squared distance between the Gram matrices of each output image and the mean Gram
    matrix of the target images (a batch of the target domain), averaged over the layers."""
    return torch.stack(
        [
            F.mse_loss(gram_matrix(output[k]), gram_matrix(target[k]).mean(0, keepdim=True).expand(output[k].shape[0], -1, -1))
            for k in output
        ]
    ).mean()


def patch_nce_loss(query: torch.Tensor, key: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """PatchNCE (Park et al., "Contrastive Learning for Unpaired Image-to-Image Translation", 2020):
    each patch of the translation (``query``) must pick out the patch of its input at the same
    place (``key``) among all the input's other patches, so the translation keeps the content
    without a second generator and a cycle.

    ``query`` and ``key`` are B x P x C, L2-normalised features of the same P places of each image.
    For patch i, the logits are its similarities to the image's P keys over ``temperature``; the
    loss is their cross-entropy towards key i, averaged over each image's patches: one loss per
    image (B), so that a batch holding two kinds of images can weigh each kind. (The reference
    code lists the positive first and masks the diagonal among the negatives with -10 / T, whose
    exp(-143) changes nothing.) The keys are the target: no gradient flows into them.
    """
    logits = at_least_fp32(query) @ at_least_fp32(key.detach()).transpose(1, 2) / temperature  # B x P x P; the positives on the diagonal
    targets = torch.arange(query.shape[1], device=query.device).expand(query.shape[0], -1)
    return F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").mean(1)
