"""Loss functions of CycleGAN training."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .config import CycleLoss, GanLoss


def adversarial_loss(kind: GanLoss, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """How far the discriminator's patch scores are from 'real' (1) or 'fake' (0).

    ``lsgan`` is the least-squares loss the CycleGAN paper uses (steadier gradients than
    cross-entropy); ``vanilla`` is the original GAN's cross-entropy on logits.
    """
    target = torch.full_like(prediction, 1.0 if target_is_real else 0.0)
    if kind == "lsgan":
        return F.mse_loss(prediction, target)
    if kind == "vanilla":
        return F.binary_cross_entropy_with_logits(prediction, target)
    raise ValueError(f"unknown adversarial loss {kind!r}")


def reconstruction_loss(kind: CycleLoss, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Distance used for the cycle and identity terms: L1 (sharper, the default) or MSE."""
    if kind == "l1":
        return F.l1_loss(output, target)
    if kind == "mse":
        return F.mse_loss(output, target)
    raise ValueError(f"unknown reconstruction loss {kind!r}")
