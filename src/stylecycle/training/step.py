"""One update of each objective, read top to bottom: :func:`cyclegan_update` and :func:`cut_update`.

Every loss term and its weight is written out where it is summed; :class:`Update` holds what
is around the arithmetic (optimisers, image pools, precision, loss scaling, the ranks, and the
:class:`~stylecycle.training.halves.Halves` that runs the two halves of each update side by
side or in turn). :data:`UPDATES` says which function trains which ``--model``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ..config import LossConfig, ModelConfig, OptimConfig
from ..distillation import Distillation
from ..losses import (
    discriminator_adversarial_loss,
    generator_adversarial_loss,
    gradient_penalty,
    reconstruction_loss,
)
from ..model import ContrastiveTranslation, CycleGAN, Domain, Losses, TranslationModel, run_together
from ..precision import Precision, autocast
from .diffaugment import DiffAugment
from .distributed import Distributed
from .halves import Halves
from .pool import ImagePool


def side_by_side_blockers(model: ModelConfig, loss: LossConfig, optim: OptimConfig, precision: Precision) -> list[str]:
    """The options under which the two halves of an update may not run side by side.

    Side by side is the same arithmetic as in turn when three rules hold, and this check is
    where they are enforced:

    - the halves share no activations (the round trips from A and from B; D_a and D_b), so
      neither waits for the other;
    - each parameter receives exactly two gradient contributions, one from each half, and
      adding two numbers gives the same result in either order, so the sum of the gradients
      does not depend on which half finished first;
    - no network call changes state or draws random numbers, since both round trips call both
      generators and the result would then depend on thread timing: batch-norm statistics,
      dropout, the gradient penalty's random points and DiffAugment's draws break this, and so
      does the fp16 loss scaler, which both halves would share.
    """
    reasons = {
        f"--norm {model.norm}": model.norm in ("batch", "sync_batch"),
        "--dropout": model.dropout > 0,
        "--gan-loss wgangp": loss.gan_loss == "wgangp",
        "--diffaugment": bool(optim.diffaugment),
        "--precision fp16": precision == "fp16",
    }
    return [name for name, blocks in reasons.items() if blocks]


Shares = list[tuple[nn.Parameter, Tensor, float]]  # parameter, its adversarial gradient, its share of the rest


@dataclass
class Update:
    """The parts of a training step around its arithmetic; the update functions say what is computed."""

    model: TranslationModel
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    pools: dict[Domain, ImagePool]
    halves: Halves
    device: torch.device
    precision: Precision
    scaler: torch.amp.GradScaler
    dist: Distributed
    d_first: bool = False
    diffaugment: DiffAugment | None = None
    colour_content: float = 1.0

    def augment(self, images: Tensor) -> Tensor:
        """What a discriminator sees of ``images``: themselves, or their DiffAugment (``--diffaugment``)."""
        return images if self.diffaugment is None else self.diffaugment(images)

    def autocast(self) -> torch.autocast:
        return autocast(self.device, self.precision)

    def backward(self, losses: Losses) -> Losses:
        """Accumulate the gradients of the losses' sum (scaled, for fp16); returns the losses."""
        if losses:
            self.scaler.scale(torch.stack([loss.float() for loss in losses.values()]).sum()).backward()
        return losses

    def step(self, optimizer: torch.optim.Optimizer, networks: nn.Module, losses: Losses) -> bool:
        """Take the optimiser step unless a loss is NaN or infinite (which would poison the
        weights); every rank takes the mean step, and all reach the same verdict."""
        self.dist.average_gradients(networks)
        finite = self.dist.all_agree(all_finite(losses), self.device)
        if finite:
            self.scaler.step(optimizer)
        return finite

    def adversarial_shares(self, generator: nn.Module, adversarial: Tensor) -> Shares:
        """The gradient of the adversarial term ``adversarial`` alone for the parameters of
        ``generator``'s stages that do not learn from every term alike, each with the share of the
        other terms it keeps, for :meth:`weigh_content` to apply once the terms are summed.

        Why the abstraction stage learns from the discriminator alone (share 0): the content terms
        (cycle, identity, PatchNCE) ask to keep what its patches and lines remove, and they turn it
        off within a few hundred steps on every style (97% photo), while the discriminator alone
        turns it on for the painted and poster styles and, for the colour grade, to its bilateral
        smoothing alone (docs/benchmarks.md). The colour stage keeps ``colour_content`` of them
        (``--colour-content``; all by default): with none its colours collapse, with all the cycle
        keeps it from merging colours that a style prints alike. The network behind learns from all the terms."""
        shares: list[tuple[nn.Module, float]] = []
        if (abstraction := getattr(generator, "abstraction", None)) is not None:
            shares.append((abstraction, 0.0))
        if (colour := getattr(generator, "colour", None)) is not None and self.colour_content < 1.0:
            shares.append((colour, self.colour_content))
        parameters = [(parameter, share) for stage, share in shares for parameter in stage.parameters()]
        if not parameters:
            return []
        scaled = self.scaler.scale(adversarial.float())
        gradients = torch.autograd.grad(scaled, [p for p, _ in parameters], retain_graph=True, materialize_grads=True)
        return [(parameter, gradient, share) for (parameter, share), gradient in zip(parameters, gradients, strict=True)]

    @staticmethod
    def weigh_content(shares: Shares) -> None:
        """Each parameter's gradient becomes its adversarial part plus its share of the rest."""
        for parameter, adversarial, share in shares:
            if share > 0 and parameter.grad is not None:
                adversarial = adversarial + share * (parameter.grad - adversarial)
            parameter.grad = adversarial

    def translate(self, generator: nn.Module, real: Tensor) -> Tensor:
        """A translation for the discriminators to judge, without a graph."""
        with torch.no_grad(), self.autocast():
            return generator(real)


class Outcome(NamedTuple):
    """What an update computed, and which of its optimiser steps were taken (all losses finite)."""

    generator_losses: Losses
    discriminator_losses: Losses
    generators_stepped: bool
    discriminators_stepped: bool


Net = nn.Module


def all_finite(losses: Losses) -> bool:
    return bool(torch.isfinite(torch.stack([loss.detach().float() for loss in losses.values()])).all())


def cyclegan_update(u: Update, real_a: Tensor, real_b: Tensor) -> Outcome:
    """Both generators, then both discriminators (the other way round with ``d_first``)."""
    m, w = u.model, u.model.loss
    assert isinstance(m, CycleGAN)

    def round_trip(source: Domain, real: Tensor, there: Net, back: Net, judge: Net, other: Tensor) -> tuple[Shares, Losses, Tensor]:
        """A → B must fool D_b and come back through B → A; B images must pass A → B unchanged."""
        to = "b" if source == "a" else "a"
        with u.autocast():
            fake, *kept = run_together(there, real, *([other] if w.lambda_identity > 0 else []))
            losses = {
                f"G_{source}{to}": generator_adversarial_loss(w.gan_loss, judge(u.augment(fake))),
                f"cycle_{source}": w.cycle_weight(source) * reconstruction_loss(w.cycle_loss, back(fake), real),
            }
            if kept:
                losses[f"idt_{to}"] = w.cycle_weight(to) * w.lambda_identity * reconstruction_loss(w.cycle_loss, kept[0], other)
            if m.vgg is not None:
                seen = m.vgg(fake)
                if w.lambda_perceptual > 0:  # keep the input's content
                    losses[f"perceptual_{source}"] = w.lambda_perceptual * m.perceptual_loss(seen, real)
                if w.lambda_style > 0:  # take on the textures of the target domain's images
                    losses[f"style_{source}"] = w.lambda_style * m.style_loss(seen, other)
        return u.adversarial_shares(there, losses[f"G_{source}{to}"]), u.backward(losses), fake  # in this order: backward frees the graph

    def judge(domain: Domain, real: Tensor, fake: Tensor, discriminator: nn.Module) -> Losses:
        """Real images against fakes drawn partly from the pool of past ones."""
        real, fake = u.augment(real), u.augment(u.pools[domain].query(fake).detach())
        with u.autocast():
            scores_real, scores_fake = run_together(discriminator, real, fake)
            losses = {f"D_{domain}": discriminator_adversarial_loss(w.gan_loss, scores_real, scores_fake)}
            if w.gan_loss == "wgangp":
                losses[f"gp_{domain}"] = w.lambda_gp * gradient_penalty(discriminator, real, fake)
        return u.backward(losses)

    def generators_step() -> tuple[Losses, bool, Tensor, Tensor]:
        m.discriminators().requires_grad_(False)  # their gradients would be thrown away
        u.opt_g.zero_grad(set_to_none=True)
        (stage_ab, from_a, fake_b), (stage_ba, from_b, fake_a) = u.halves.run(
            lambda: round_trip("a", real_a, m.G_ab, m.G_ba, m.D_b, real_b),
            lambda: round_trip("b", real_b, m.G_ba, m.G_ab, m.D_a, real_a),
        )
        u.weigh_content(stage_ab + stage_ba)  # once both halves are done: each round trip reaches both stages
        m.discriminators().requires_grad_(True)
        losses = {**from_a, **from_b}
        return losses, u.step(u.opt_g, m.generators(), losses), fake_a, fake_b

    def discriminators_step(fake_a: Tensor, fake_b: Tensor) -> tuple[Losses, bool]:
        u.opt_d.zero_grad(set_to_none=True)
        of_a, of_b = u.halves.run(lambda: judge("a", real_a, fake_a, m.D_a), lambda: judge("b", real_b, fake_b, m.D_b))
        losses = {**of_a, **of_b}
        return losses, u.step(u.opt_d, m.discriminators(), losses)

    if u.d_first:  # the discriminators judge the current generators' translations first
        fake_a, fake_b = u.halves.run(lambda: u.translate(m.G_ba, real_b), lambda: u.translate(m.G_ab, real_a))
        d_losses, d_stepped = discriminators_step(fake_a, fake_b)
        g_losses, g_stepped, _, _ = generators_step()
    else:
        g_losses, g_stepped, fake_a, fake_b = generators_step()
        d_losses, d_stepped = discriminators_step(fake_a, fake_b)
    return Outcome(g_losses, d_losses, g_stepped, d_stepped)


def cut_update(u: Update, real_a: Tensor, real_b: Tensor) -> Outcome:
    """CUT and FastCUT, in the reference's order: one translation, then D_b judges it, then G_ab
    (with the patch heads) learns from D_b's new verdict and from PatchNCE. No pool, no cycle.

    With ``nce_idt`` (CUT) the B images are translated in the same batch, and PatchNCE also holds
    each to its translation: the two PatchNCE terms share the weight λ_NCE half and half. With
    ``flip_equivariance`` (FastCUT) half of the steps translate the images flipped left to right.
    While ``--colour-first`` keeps the network out, PatchNCE still holds the colour stage's output
    to its input, through the network's encoder: without it, the adversarial term alone drives the
    colour table anywhere (measured: -2.9 dB on the colour grade).
    """
    m, w = u.model, u.model.loss
    assert isinstance(m, ContrastiveTranslation)
    flipped = w.flip_equivariance and bool(torch.rand(()) < 0.5)
    sources = torch.cat([real_a, real_b]) if w.nce_idt else real_a
    with u.autocast():
        translated = m.G_ab(sources.flip(3) if flipped else sources)
    fake_b = translated[: len(real_a)]

    u.opt_d.zero_grad(set_to_none=True)
    real, fake = u.augment(real_b), u.augment(fake_b.detach())
    with u.autocast():
        scores_real, scores_fake = run_together(m.D_b, real, fake)
        d_losses = u.backward({"D_b": discriminator_adversarial_loss(w.gan_loss, scores_real, scores_fake)})
    d_stepped = u.step(u.opt_d, m.discriminators(), d_losses)

    m.D_b.requires_grad_(False)  # its gradients would be thrown away
    u.opt_g.zero_grad(set_to_none=True)
    with u.autocast():
        g_losses = {"G_ab": generator_adversarial_loss(w.gan_loss, m.D_b(u.augment(fake_b)))}
        if w.lambda_nce > 0:
            nce = m.patch_nce(sources, translated, groups=2 if w.nce_idt else 1, flipped=flipped)
            if w.nce_idt:  # the B images' term keeps G_ab from changing what is already B
                g_losses["NCE_a"] = 0.5 * w.lambda_nce * nce[: len(real_a)].mean()
                g_losses["NCE_b"] = 0.5 * w.lambda_nce * nce[len(real_a) :].mean()
            else:
                g_losses["NCE_a"] = w.lambda_nce * nce.mean()
    stage = u.adversarial_shares(m.G_ab, g_losses["G_ab"])
    u.backward(g_losses)
    u.weigh_content(stage)
    m.D_b.requires_grad_(True)
    return Outcome(g_losses, d_losses, u.step(u.opt_g, m.generators(), g_losses), d_stepped)


def distill_update(u: Update, real_a: Tensor, real_b: Tensor) -> Outcome:
    """Each student learns its frozen teacher's translation of the batch: the L1 distance to it,
    plus the distance of their VGG features with ``--lambda-perceptual``. No discriminator."""
    m, w = u.model, u.model.loss
    assert isinstance(m, Distillation)
    u.opt_g.zero_grad(set_to_none=True)
    losses: Losses = {}
    for name, student in m.translators().items():
        real = real_a if name == "G_ab" else real_b
        with torch.no_grad(), u.autocast():
            target = m.teachers[name](real)
        with u.autocast():
            translated = student(real)
            learned = {f"pixel_{name[2:]}": reconstruction_loss("l1", translated, target)}
            if m.vgg is not None:
                learned[f"perceptual_{name[2:]}"] = w.lambda_perceptual * m.perceptual_loss(m.vgg(translated), target)
        losses.update(u.backward(learned))
    return Outcome(losses, {}, u.step(u.opt_g, m.generators(), losses), True)


# The update of each --model.
UPDATES: dict[str, Callable[[Update, Tensor, Tensor], Outcome]] = {
    "cyclegan": cyclegan_update,
    "cut": cut_update,
    "fastcut": cut_update,
    "distill": distill_update,
}
