"""Learning-rate schedules, stepped once per optimisation step (so they also fit runs limited by
``--max-steps``), and for the plateau policy once per epoch with the epoch's loss."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau

LrPolicy = Literal["linear", "step", "plateau", "cosine"]


@dataclass
class LrFactor:
    """The factor on the initial learning rate at each step, for the per-step policies.

    ``linear`` and ``cosine``: 1 for the first ``constant_steps``, then down to 0 at
    ``total_steps``; ``step``: times ``gamma`` every ``step_every`` steps. A dataclass rather
    than a lambda, so the scheduler's state dict carries it.
    """

    policy: LrPolicy
    constant_steps: int
    total_steps: int
    step_every: int = 1
    gamma: float = 0.1

    def __call__(self, step: int) -> float:
        if self.policy == "step":
            return self.gamma ** (step // self.step_every)
        decay_steps = self.total_steps - self.constant_steps
        if step < self.constant_steps or decay_steps <= 0:
            return 1.0
        progress = min(1.0, (step - self.constant_steps) / decay_steps)
        return 1.0 - progress if self.policy == "linear" else 0.5 * (1.0 + math.cos(math.pi * progress))


class LrSchedule:
    """One optimiser's schedule: :meth:`step` after every optimisation step, :meth:`epoch_end`
    after every epoch; each policy listens to the one it needs."""

    def __init__(self, optimizer: Optimizer, factor: LrFactor, *, patience: int = 5) -> None:
        self.optimizer = optimizer
        self.plateau = (
            ReduceLROnPlateau(optimizer, factor=factor.gamma, patience=patience, threshold=0.01) if factor.policy == "plateau" else None
        )
        self.per_step = None if self.plateau else LambdaLR(optimizer, factor)

    def step(self) -> None:
        if self.per_step is not None:
            self.per_step.step()

    def span(self, constant_steps: int, total_steps: int) -> None:
        """Stretch or shrink the per-step policies to a new length (a run with a time budget
        learns its length as it goes); the next :meth:`step` follows it."""
        if self.per_step is not None:
            for factor in self.per_step.lr_lambdas:
                assert isinstance(factor, LrFactor)
                factor.constant_steps, factor.total_steps = constant_steps, total_steps

    def epoch_end(self, loss: float) -> None:
        if self.plateau is not None:
            self.plateau.step(loss)

    def last_lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def state_dict(self) -> dict[str, Any]:
        return (self.plateau or self.per_step).state_dict()  # type: ignore[union-attr]

    def load_state_dict(self, state: dict[str, Any]) -> None:
        (self.plateau or self.per_step).load_state_dict(state)  # type: ignore[union-attr]
