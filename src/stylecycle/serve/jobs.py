"""The Train tab's work: one training run at a time, as a ``stylecycle train`` process in the
background, that the page can watch, stop (the run saves a checkpoint) and resume."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from ..training.checkpoint import checkpoint_step, list_checkpoints
from ..training.monitor import read_stats, write_loss_plot
from .safety import Refused

# Presets for people who do not want to know the flags: the recipes of the same names (the
# paper's for high quality: days on a CPU, hours on a GPU; the colour look-up table for a colour
# grade, which steps about 5x as fast), with sample grids and checkpoints often enough to watch.
PRESETS: dict[str, list[str]] = {
    "fast preview": ["--recipe", "fast", "--time-budget", "5m", "--sample-every", "100", "--save-every", "250"],
    "colour grade": ["--recipe", "preview", "--generator", "lut", "--time-budget", "5m", "--sample-every", "500", "--save-every", "2000"],
    "standard": ["--recipe", "standard", "--time-budget", "20m", "--sample-every", "250", "--save-every", "500"],
    "high quality": ["--recipe", "paper", "--size", "256", "--load-size", "286", "--sample-every", "1000", "--save-every", "5000"],
}
STOP_TIMEOUT_S = 120  # a step of the largest preset on a slow CPU, plus the checkpoint
LOG_NAME = "serve.log"
PLANNED = re.compile(r"training on .*: (\d+) steps \(")  # the trainer's first log line


@dataclass
class Status:
    text: str
    sample: Path | None = None
    losses: Path | None = None


class TrainingJobs:
    """Starts, watches and stops the one training process this server runs at a time."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.run_dir: Path | None = None
        self._lock, self._plot_lock = threading.Lock(), threading.Lock()
        self._plotted_rows = -1

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, run_dir: Path, arguments: list[str]) -> str:
        """Launch ``stylecycle train ARGUMENTS`` writing into ``run_dir`` (or refuse: one at a time)."""
        with self._lock:
            if self.running():
                raise Refused(f"a training run is already going ({self.run_dir.name}); stop it first")  # type: ignore[union-attr]
            run_dir.mkdir(parents=True, exist_ok=True)
            with open(run_dir / LOG_NAME, "ab") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "stylecycle.cli", "train", *arguments], stdout=log, stderr=subprocess.STDOUT
                )
            self.run_dir, self._plotted_rows = run_dir, -1
            return f"started {run_dir.name}"

    def train(self, run_dir: Path, folder_a: Path, folder_b: Path, preset: str) -> str:
        if preset not in PRESETS:
            raise Refused(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        if list_checkpoints(run_dir):
            raise Refused(f"{run_dir.name} already holds a run; resume it or choose another name")
        return self.start(run_dir, ["--data-a", str(folder_a), "--data-b", str(folder_b), "--run-dir", str(run_dir), *PRESETS[preset]])

    def resume(self, run_dir: Path) -> str:
        if not list_checkpoints(run_dir):
            raise Refused(f"{run_dir.name} has no checkpoint to resume from")
        return self.start(run_dir, ["--resume", str(run_dir)])

    def stop(self) -> str:
        """Ask the run to stop as Ctrl-C would: it finishes its step, saves a checkpoint, exits."""
        with self._lock:
            if not self.running():
                raise Refused("no training run is going")
            self.process.send_signal(signal.SIGINT)  # type: ignore[union-attr]
            try:
                self.process.wait(STOP_TIMEOUT_S)  # type: ignore[union-attr]
            except subprocess.TimeoutExpired as exc:
                raise Refused(f"the run did not stop within {STOP_TIMEOUT_S} s; it is still saving or stuck (see {LOG_NAME})") from exc
        return self.status().text

    def status(self) -> Status:
        """What the page shows: progress, the newest sample grid and the loss curves."""
        if self.run_dir is None:
            return Status("no training run started from this page yet")
        stats = read_stats(self.run_dir)
        step = int(stats[-1]["step"]) if stats else 0
        speed = float(stats[-1].get("images_per_s", 0.0)) if stats else 0.0
        samples = sorted((self.run_dir / "samples").glob("step_*.png"))
        with self._plot_lock:  # matplotlib is not thread-safe, and the page's requests run in threads
            if len(stats) != self._plotted_rows:  # draw the curves only when there is something new
                write_loss_plot(self.run_dir)
                self._plotted_rows = len(stats)
        losses = self.run_dir / "losses.png"
        return Status(self.describe(step, speed), samples[-1] if samples else None, losses if losses.exists() else None)

    def describe(self, step: int, speed: float = 0.0) -> str:
        name = self.run_dir.name  # type: ignore[union-attr]
        if self.running():
            if not step:
                return f"**{name}** is starting…"
            total = planned_steps(self.run_dir / "train.log")  # type: ignore[operator]
            of = f" of {total} ({step / total:.0%})" if total else ""
            return f"**{name}** is training: step {step}{of}, {speed:.2f} images/s"
        code = self.process.returncode if self.process is not None else None
        checkpoints = list_checkpoints(self.run_dir)  # type: ignore[arg-type]
        saved = f"; checkpoint {checkpoints[-1].name}" if checkpoints else ""
        step = (checkpoint_step(checkpoints[-1]) or step) if checkpoints else step  # exact; the statistics come every few steps
        if code == 0:
            return f"**{name}** finished at step {step}{saved}"
        if code in (130, -signal.SIGINT):  # -SIGINT: stopped before training had begun
            return (
                f"**{name}** stopped at step {step}{saved}; resume it to continue"
                if saved
                else f"**{name}** stopped before its first checkpoint"
            )
        return f"**{name}** failed: {last_line(self.run_dir / LOG_NAME)}"  # type: ignore[operator]


def planned_steps(log: Path) -> int | None:
    """The run's total steps, from the line the trainer logs as it starts (the latest start)."""
    found = PLANNED.findall(log.read_text(errors="replace")) if log.exists() else []
    return int(found[-1]) if found else None


def last_line(log: Path) -> str:
    """The last non-empty line of the run's output: a one-line error, as the CLI prints it."""
    lines = [line for line in log.read_text(errors="replace").replace("\r", "\n").splitlines() if line.strip()] if log.exists() else []
    return lines[-1] if lines else "no output"
