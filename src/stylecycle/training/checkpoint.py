"""Checkpoints: one self-contained file per save, written atomically, loaded without unpickling.

A checkpoint is a plain dict of tensors and plain values (``torch.load(weights_only=True)``
can read it, so loading a file from elsewhere cannot run code). It holds the networks, the
optimisers, the schedule, the image pools, the RNG states, the step and epoch, and the whole
config, so translating needs nothing else and a run can be continued from it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_path
from ..errors import CheckpointError, first_line

FORMAT_VERSION = 2  # 2: image pools and epoch loss per distributed rank
CHECKPOINT_DIR = "checkpoints"
_NAME = re.compile(r"step_(\d+)\.pt$")
LATEST = "latest"  # a text file in the checkpoint folder naming the newest complete checkpoint


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"step_{step:08d}.pt"


def checkpoint_step(path: Path) -> int | None:
    """The training step in a checkpoint's file name (``step_00000200.pt`` → 200), if it has one."""
    match = _NAME.search(Path(path).name)
    return int(match.group(1)) if match else None


def run_folder(checkpoint: Path) -> Path:
    """The run folder a checkpoint file belongs to (the folder holding its checkpoints folder)."""
    checkpoint = Path(checkpoint)
    return checkpoint.parent.parent if checkpoint.parent.name == CHECKPOINT_DIR else checkpoint.parent


def list_checkpoints(run_dir: Path) -> list[Path]:
    """The run's checkpoints, oldest step first."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    found = [p for p in folder.glob("step_*.pt") if checkpoint_step(p) is not None] if folder.is_dir() else []
    return sorted(found, key=checkpoint_step)  # type: ignore[arg-type]


def resolve_checkpoint(path: Path) -> Path:
    """A checkpoint file as given, or the newest checkpoint of a run folder (given as the run
    folder, its checkpoints folder, or that folder's ``latest`` pointer)."""
    path = Path(path)
    if (path.name == LATEST and path.is_file()) or (path.name == CHECKPOINT_DIR and path.is_dir()):
        path = run_folder(path)
    pointer = path / CHECKPOINT_DIR / LATEST
    if pointer.is_file():
        latest = pointer.parent / pointer.read_text().strip()
        if latest.is_file():
            return latest
    if path.is_dir():
        found = list_checkpoints(path)
        if not found:
            raise CheckpointError(f"run folder {path} holds no checkpoints (looked in {path / CHECKPOINT_DIR})")
        return found[-1]
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    return path


def save_checkpoint(state: dict[str, Any], path: Path) -> Path:
    """Write ``state`` to ``path`` atomically: a crash or a full disk leaves the old file intact."""
    try:
        with atomic_path(path) as tmp:
            torch.save({"format_version": FORMAT_VERSION, **state}, tmp)
        with atomic_path(path.parent / LATEST) as tmp:  # only once the checkpoint is complete
            tmp.write_text(path.name + "\n")
    except OSError as exc:
        raise CheckpointError(f"cannot write checkpoint {path}: {exc.strerror or exc}; earlier checkpoints are intact") from exc
    return path


def prune_checkpoints(run_dir: Path, keep_last: int) -> None:
    """Delete all but the newest ``keep_last`` checkpoints of a run (0 keeps everything)."""
    if keep_last > 0:
        for old in list_checkpoints(run_dir)[:-keep_last]:
            old.unlink(missing_ok=True)


def read_weights_file(path: Path, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load`` without unpickling code, or a one-line error. Any exception: on bytes that
    are not a checkpoint, torch's unpickler raises whatever its parse trips over (IndexError on a
    line of text, for one), and none of it means more to a user than "not a checkpoint"."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {first_line(exc)} (is it a stylecycle checkpoint?)") from exc


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint (a file, or a run folder's newest) into a dict, or raise a one-line error."""
    path = resolve_checkpoint(path)
    return check_format(read_weights_file(path, map_location), path)


def check_format(state: Any, path: Path) -> dict[str, Any]:
    """``state`` if it is a stylecycle checkpoint this version can read."""
    if not isinstance(state, dict) or "format_version" not in state:
        raise CheckpointError(f"{path} is not a stylecycle checkpoint (no format version)")
    if state["format_version"] > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {state['format_version']}, newer than this stylecycle reads "
            f"({FORMAT_VERSION}); upgrade stylecycle"
        )
    return state
