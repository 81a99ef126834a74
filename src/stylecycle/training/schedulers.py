"""Learning-rate schedules."""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


class LinearDecay:
    """Factor 1 for the first ``constant_steps``, then linearly down to 0 at ``total_steps``.

    A class rather than a lambda so the schedule is explicit and testable; stepping it per
    optimisation step (not per epoch) makes it also fit runs limited by ``--max-steps``.
    """

    def __init__(self, constant_steps: int, total_steps: int) -> None:
        self.constant_steps, self.total_steps = constant_steps, total_steps

    def __call__(self, step: int) -> float:
        decay_steps = self.total_steps - self.constant_steps
        if step < self.constant_steps or decay_steps <= 0:
            return 1.0
        return max(0.0, 1.0 - (step - self.constant_steps) / decay_steps)


def linear_decay(optimizer: Optimizer, *, constant_steps: int, total_steps: int) -> LambdaLR:
    return LambdaLR(optimizer, LinearDecay(constant_steps, total_steps))
