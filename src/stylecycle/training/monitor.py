"""What a run leaves to look at besides checkpoints: statistics, TensorBoard, a loss plot, a page.

- ``stats.jsonl``: one JSON object per logged step (losses, learning rate, images/s), easy to
  read back with any tool;
- ``tb/``: the same scalars and the sample grids, for TensorBoard;
- ``losses.png``: the loss curves, redrawn whenever a sample grid is written;
- ``index.html``: the sample grids over time beside the loss plot, a static page that any
  browser opens from disk.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import torch

from ..atomic import atomic_path
from ..plots import pyplot, save_figure

STATS_FILE = "stats.jsonl"


class RunMonitor:
    def __init__(self, run_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = Path(run_dir)
        self.writer = SummaryWriter(str(self.run_dir / "tb"))

    def scalars(self, step: int, values: dict[str, float]) -> None:
        with open(self.run_dir / STATS_FILE, "a", encoding="utf-8") as stats:
            stats.write(json.dumps({"step": step, **values}) + "\n")
        for name, value in values.items():
            self.writer.add_scalar(name, value, step)

    def sample_grid(self, step: int, grid: torch.Tensor) -> None:
        """Record a grid (float, [-1, 1]) and redraw the plot and the page."""
        self.writer.add_image("samples", grid.add(1).div(2).clamp(0, 1), step)
        self.writer.flush()
        write_loss_plot(self.run_dir)
        write_index(self.run_dir)

    def close(self) -> None:
        self.writer.close()


def read_stats(run_dir: Path) -> list[dict[str, float]]:
    path = Path(run_dir) / STATS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_loss_plot(run_dir: Path) -> Path | None:
    """``losses.png``: one curve per loss over the steps (nothing while no step is logged)."""
    stats = read_stats(run_dir)
    if not stats:
        return None
    steps = [row["step"] for row in stats]
    names = [key for key in stats[-1] if key.startswith("loss/")]
    figure, axis = pyplot().subplots(figsize=(8, 4.5), dpi=100)
    for name in names:
        axis.plot(steps, [row.get(name, float("nan")) for row in stats], label=name.removeprefix("loss/"), linewidth=1)
    axis.set_xlabel("step")
    axis.set_ylabel("loss")
    axis.set_yscale("log")
    axis.grid(alpha=0.3)
    axis.legend(ncol=4, fontsize="small")
    return save_figure(figure, Path(run_dir) / "losses.png")


def write_index(run_dir: Path) -> Path:
    """``index.html``: the newest sample grid first, every earlier one below, and the loss plot."""
    run_dir = Path(run_dir)
    grids = sorted((run_dir / "samples").glob("step_*.png"), reverse=True)
    items = "\n".join(
        f'<figure><img src="samples/{html.escape(p.name)}" alt="{html.escape(p.stem)}">'
        f"<figcaption>{html.escape(p.stem.replace('_', ' '))}</figcaption></figure>"
        for p in grids
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>stylecycle run {html.escape(run_dir.name)}</title>
<style>body{{font-family:sans-serif;margin:2em}} figure{{display:inline-block;margin:0 1em 1em 0;vertical-align:top}}
img{{max-width:100%}} figcaption{{color:#555}}</style></head>
<body><h1>stylecycle run {html.escape(run_dir.name)}</h1>
<p>Rows of each grid: A, G_ab(A), G_ba(G_ab(A)), B, G_ba(B), G_ab(G_ba(B)).</p>
<figure><img src="losses.png" alt="loss curves"><figcaption>losses</figcaption></figure>
<h2>Sample grids, newest first</h2>
{items}
</body></html>
"""
    path = run_dir / "index.html"
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
