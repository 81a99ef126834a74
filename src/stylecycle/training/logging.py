"""What a user watches during training: log messages and sample grids."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn
from torchvision.utils import make_grid

log = logging.getLogger("stylecycle")


def log_to_file(run_dir: Path) -> logging.Handler:
    """Also write the package's log messages to ``RUN_DIR/train.log``; returns the handler to remove."""
    handler = logging.FileHandler(Path(run_dir) / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)  # the run's log file keeps progress messages even when the terminal does not
    log.addHandler(handler)
    return handler


@torch.no_grad()
def sample_grid(translators: Mapping[str, nn.Module], real_a: torch.Tensor, real_b: torch.Tensor) -> torch.Tensor:
    """One column per preview image; rows: A, G_ab(A), G_ba(G_ab(A)), B, G_ba(B), G_ab(G_ba(B));
    with one generator (CUT, a distilled student): its domain, its translation, the other domain
    and what the generator makes of it (CUT's should leave B as it is).

    The generators run as translation runs them, in evaluation mode: batch norm then uses its
    running statistics (no update, and no collective that only rank 0 would join), dropout is off.
    """
    modes = {name: g.training for name, g in translators.items()}
    for g in translators.values():
        g.eval()
    try:
        if len(translators) == 2:
            g_ab, g_ba = translators["G_ab"], translators["G_ba"]
            fake_b, fake_a = g_ab(real_a), g_ba(real_b)
            rows = [real_a, fake_b, g_ba(fake_b), real_b, fake_a, g_ab(fake_a)]
        else:
            ((name, g),) = translators.items()
            source, other = (real_a, real_b) if name == "G_ab" else (real_b, real_a)
            rows = [source, g(source), other, g(other)]
    finally:
        for name, g in translators.items():
            g.train(modes[name])
    return make_grid(torch.cat(rows).float().cpu(), nrow=real_a.shape[0], padding=2, pad_value=1.0)
