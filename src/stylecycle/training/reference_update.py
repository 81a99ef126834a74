"""The CycleGAN and CUT updates as the reference implementations write them: plain, slow, obviously right.

Every network is called on its own, the generators' whole loss is one graph, and each
discriminator judges real and fake images in separate calls, exactly as ``optimize_parameters``
of the original code does. They are the oracles the tests hold the updates of
:mod:`~stylecycle.training.step` to (same losses, same gradients, for every option), and the
baselines ``benchmarks/speed.py`` measures the production updates against.
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
from ..model import ContrastiveTranslation, CycleGAN, Domain, Losses
from .pool import ImagePool


def stage_gradients(adversarial: dict[nn.Module, Tensor], content: Tensor, colour_content: float) -> list[tuple[nn.Parameter, Tensor]]:
    """The gradients of the generators' stages: each abstraction stage's from its adversarial loss
    alone; each colour stage's (when ``colour_content`` < 1) from its adversarial loss plus
    ``colour_content`` times the gradient of the ``content`` terms (all the others)."""
    pairs: list[tuple[nn.Parameter, Tensor]] = []
    for generator, loss in adversarial.items():
        if isinstance(stage := generator.abstraction, nn.Module):
            parameters = list(stage.parameters())
            pairs += zip(parameters, torch.autograd.grad(loss, parameters, retain_graph=True))
        if isinstance(colour := generator.colour, nn.Module) and colour_content < 1.0:
            parameters = list(colour.parameters())
            from_content = torch.autograd.grad(content, parameters, retain_graph=True, allow_unused=True)
            from_adversarial = torch.autograd.grad(loss, parameters, retain_graph=True)
            pairs += [
                (p, a if c is None else a + colour_content * c) for p, a, c in zip(parameters, from_adversarial, from_content, strict=True)
            ]
    return pairs


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
    colour_content: float = 1.0,
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
        kept = torch.stack([losses[k] for k in losses if not k.startswith(("D_", "gp_", "G_"))]).sum()  # the content terms
        stages = stage_gradients({m.G_ab: losses["G_ab"], m.G_ba: losses["G_ba"]}, kept, colour_content)
        (losses["G_ab"] + losses["G_ba"] + kept).backward()
        for parameter, gradient in stages:
            parameter.grad = gradient
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


def reference_cut_update(
    model: ContrastiveTranslation,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real_a: Tensor,
    real_b: Tensor,
    *,
    augment: Callable[[Tensor], Tensor] = lambda images: images,
    colour_content: float = 1.0,
) -> Losses:
    """One update of CUT or FastCUT as ``CUTModel.optimize_parameters`` computes it: the encoder
    features of source and translation each from their own pass (the keys with a graph, as
    there), places drawn per call and shared by the batch, PatchNCE written as positives beside
    the masked negatives, the L2 normalisation by hand."""
    m, w = model, model.loss
    losses: Losses = {}
    flipped = w.flip_equivariance and bool(torch.rand(()) < 0.5)
    real = torch.cat([real_a, real_b]) if w.nce_idt else real_a
    fake = m.G_ab(torch.flip(real, [3]) if flipped else real)
    fake_b, idt_b = fake[: real_a.size(0)], fake[real_a.size(0) :]

    def encode(x: Tensor) -> list[Tensor]:  # netG(x, nce_layers, encode_only=True)
        g = m.G_ab
        feat = g.abstraction(x) if g.abstraction is not None else x
        feat = g.colour(feat) if g.colour is not None else feat
        feats = []
        for layer_id, layer in enumerate(g.model):
            feat = layer(feat)
            if layer_id in m.nce_layers:
                feats.append(feat)
            if layer_id == m.nce_layers[-1]:
                break
        return feats

    def sample(feats: list[Tensor], patch_ids: list[Tensor] | None) -> tuple[list[Tensor], list[Tensor]]:  # PatchSampleF
        return_ids, return_feats = [], []
        for feat_id, feat in enumerate(feats):
            feat_reshape = feat.permute(0, 2, 3, 1).flatten(1, 2)
            patch_id = patch_ids[feat_id] if patch_ids is not None else torch.randperm(feat_reshape.shape[1])[: w.nce_patches]
            x_sample = feat_reshape[:, patch_id, :].flatten(0, 1)
            x_sample = m.patch_heads.mlps[feat_id](x_sample)
            norm = x_sample.norm(dim=1, keepdim=True)  # the reference's pow(2).sum().pow(0.5), whose gradient at 0 is NaN
            return_ids.append(patch_id)
            return_feats.append(x_sample.div(norm + 1e-7))
        return return_feats, return_ids

    def nce_criterion(feat_q: Tensor, feat_k: Tensor) -> Tensor:  # PatchNCELoss, negatives from the same image
        num_patches, dim = feat_q.shape
        feat_k = feat_k.detach()
        l_pos = torch.bmm(feat_q.view(num_patches, 1, -1), feat_k.view(num_patches, -1, 1)).view(num_patches, 1)
        feat_q, feat_k = feat_q.view(real_a.size(0), -1, dim), feat_k.view(real_a.size(0), -1, dim)
        npatches = feat_q.size(1)
        l_neg = torch.bmm(feat_q, feat_k.transpose(2, 1))
        l_neg = l_neg.masked_fill(torch.eye(npatches, dtype=torch.bool)[None], -10.0).view(-1, npatches)
        out = torch.cat((l_pos, l_neg), dim=1) / w.nce_temperature
        return nn.functional.cross_entropy(out, torch.zeros(out.size(0), dtype=torch.long), reduction="none")

    def calculate_nce_loss(src: Tensor, tgt: Tensor) -> Tensor:
        feat_q = encode(tgt)
        if flipped:
            feat_q = [torch.flip(fq, [3]) for fq in feat_q]
        feat_k_pool, sample_ids = sample(encode(src), None)
        feat_q_pool, _ = sample(feat_q, sample_ids)
        total = torch.stack([nce_criterion(f_q, f_k).mean() * w.lambda_nce for f_q, f_k in zip(feat_q_pool, feat_k_pool)]).sum()
        return total / len(m.nce_layers)

    # update D
    m.D_b.requires_grad_(True)
    opt_d.zero_grad()
    losses["D_b"] = discriminator_adversarial_loss(w.gan_loss, m.D_b(augment(real_b)), m.D_b(augment(fake_b.detach())))
    losses["D_b"].backward()
    opt_d.step()
    # update G
    m.D_b.requires_grad_(False)
    opt_g.zero_grad()
    loss_g = generator_adversarial_loss(w.gan_loss, m.D_b(augment(fake_b)))
    losses["G_ab"] = loss_g
    if w.lambda_nce > 0:
        loss_nce = calculate_nce_loss(real_a, fake_b)
        if w.nce_idt:
            loss_nce_y = calculate_nce_loss(real_b, idt_b)
            losses["NCE_a"], losses["NCE_b"] = 0.5 * loss_nce, 0.5 * loss_nce_y
            loss_g = loss_g + (loss_nce + loss_nce_y) * 0.5
        else:
            losses["NCE_a"] = loss_nce
            loss_g = loss_g + loss_nce
    stages = stage_gradients({m.G_ab: losses["G_ab"]}, loss_g - losses["G_ab"], colour_content)
    loss_g.backward()
    for parameter, gradient in stages:
        parameter.grad = gradient
    opt_g.step()
    m.D_b.requires_grad_(True)
    return {name: loss.detach() for name, loss in losses.items()}
