"""An exponential moving average of the generators' weights (``--ema DECAY``).

GAN weights wander from step to step as the two players chase each other; their running
average is a steadier generator than the last step's, at no cost in training time (StyleGAN,
BigGAN and most modern GAN training translate with it). The average is what samples,
translation and export use; the trained generators go on as they are.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ..model import CycleGAN


class GeneratorAverage:
    """``G_ab`` and ``G_ba`` averaged with ``decay`` per generator update (PyTorch's
    ``AveragedModel``: the first update copies the weights, each later one moves the average a
    fraction 1 - decay of the way towards them)."""

    def __init__(self, model: CycleGAN, decay: float) -> None:
        self.averaged = AveragedModel(model.generators(), multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
        self.averaged.requires_grad_(False)
        self.G_ab, self.G_ba = self.averaged.module.children()  # the averaged copies, in the order of model.generators()

    @torch.no_grad()
    def update(self, model: CycleGAN) -> None:
        self.averaged.update_parameters(model.generators())

    def networks(self) -> dict[str, dict[str, torch.Tensor]]:
        """Plain generator state dicts, stored beside the trained ones as ``G_ab_ema`` and ``G_ba_ema``."""
        return {"G_ab_ema": self.G_ab.state_dict(), "G_ba_ema": self.G_ba.state_dict()}

    def state_dict(self) -> dict[str, Any]:
        return {**self.networks(), "updates": self.averaged.n_averaged.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G_ab.load_state_dict(state["G_ab_ema"])
        self.G_ba.load_state_dict(state["G_ba_ema"])
        self.averaged.n_averaged.copy_(state["updates"])
