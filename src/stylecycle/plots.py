"""Matplotlib for files only: every plot stylecycle writes (loss curves, metrics over training,
search history) goes through here, so none needs a display and none is left half-written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .atomic import atomic_path


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (files only: no display needed), imported late
    because matplotlib is slow to import and most commands draw nothing."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure: Any, path: Path, *, dpi: int = 100) -> Path:
    """Write ``figure`` as a PNG atomically and free it."""
    figure.tight_layout()
    with atomic_path(Path(path)) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi)
    pyplot().close(figure)
    return Path(path)
