"""The models the page offers: the runs and exported weight files under the checkpoints folder."""

from __future__ import annotations

import threading
from pathlib import Path

from ..config import Direction
from ..generator_files import translation_directions
from ..inference import Translator
from ..training.checkpoint import CHECKPOINT_DIR, list_checkpoints
from .safety import Refused, inside

WEIGHT_SUFFIXES = (".pt", ".pth", ".safetensors")


def find_models(root: Path) -> list[str]:
    """Run folders (those with checkpoints) and loose weight files under ``root``, as paths
    relative to it, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [p.parent for p in root.rglob(CHECKPOINT_DIR) if p.is_dir() and list_checkpoints(p.parent)]
    files = [p for p in root.rglob("*") if p.suffix in WEIGHT_SUFFIXES and p.is_file() and CHECKPOINT_DIR not in p.relative_to(root).parts]
    found = sorted(runs + files, key=lambda p: p.stat().st_mtime, reverse=True)
    return [p.relative_to(root).as_posix() for p in found]


def directions(root: Path, model: str) -> list[Direction]:
    """The directions model ``model`` (a name :func:`find_models` gave) translates; both for a name it did not give."""
    if model not in find_models(root):
        return ["a2b", "b2a"]
    return translation_directions(inside(root, model, "model"))


class ModelCache:
    """One translator kept loaded (the last one asked for), so translating a second batch with
    the same model does not load it again; reloaded when the run has a newer checkpoint."""

    def __init__(self, root: Path, device: str = "auto") -> None:
        self.root, self.device = Path(root), device
        self._key: tuple | None = None
        self._translator: Translator | None = None
        self._lock = threading.Lock()

    def get(self, model: str, direction: str) -> Translator:
        if direction not in ("a2b", "b2a"):
            raise Refused(f"unknown direction {direction!r}")
        if not model or model not in find_models(self.root):
            raise Refused(f"no model named {model!r} under the checkpoints folder; press refresh and pick one")
        path = inside(self.root, model, "model")
        newest = list_checkpoints(path)[-1] if path.is_dir() else path
        key = (newest, newest.stat().st_mtime, direction)
        with self._lock:
            if key != self._key:
                self._translator = Translator.from_checkpoint(newest, direction, self.device)  # type: ignore[arg-type]
                self._key = key
            return self._translator  # type: ignore[return-value]
