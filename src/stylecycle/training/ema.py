"""An exponential moving average of the generators' weights (``--ema DECAY``).

GAN weights wander from step to step as the two players chase each other; their running
average is a steadier generator than the last step's, at no cost in training time (StyleGAN,
BigGAN and most modern GAN training translate with it). The average is what samples,
translation and export use; the trained generators go on as they are.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ..model import TranslationModel
from ..nn.generators import Generator


class GeneratorAverage:
    """The translating generators (``G_ab``, and ``G_ba`` where there is one) averaged with
    ``decay`` per generator update (PyTorch's ``AveragedModel``: the first update copies the
    weights, each later one moves the average a fraction 1 - decay of the way towards them).
    CUT's patch heads are not averaged: they only train."""

    def __init__(self, model: TranslationModel, decay: float) -> None:
        self.averaged = AveragedModel(nn.ModuleDict(model.translators()), multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
        self.averaged.requires_grad_(False)

    def translators(self) -> dict[str, Generator]:
        """The averaged copies, by network name."""
        return {name: cast(Generator, network) for name, network in cast(nn.ModuleDict, self.averaged.module).items()}

    @torch.no_grad()
    def update(self, model: TranslationModel) -> None:
        self.averaged.update_parameters(nn.ModuleDict(model.translators()))

    def networks(self) -> dict[str, dict[str, torch.Tensor]]:
        """Plain generator state dicts, stored beside the trained ones as ``G_ab_ema`` (and ``G_ba_ema``)."""
        return {f"{name}_ema": network.state_dict() for name, network in self.translators().items()}

    def state_dict(self) -> dict[str, Any]:
        return {**self.networks(), "updates": self.averaged.n_averaged.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, network in self.translators().items():
            network.load_state_dict(state[f"{name}_ema"])
        self.averaged.n_averaged.copy_(state["updates"])
