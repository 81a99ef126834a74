"""stylecycle: unpaired image-to-image style transfer with CycleGAN and InstanceNorm.

The public API is imported on first use (PEP 562), so that ``import stylecycle.cli`` (and so
``stylecycle --help``) does not pay for PyTorch's networks, image libraries or torchvision.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> the module that defines it
_PUBLIC = {
    "Config": "config",
    "DataConfig": "config",
    "LossConfig": "config",
    "ModelConfig": "config",
    "OptimConfig": "config",
    "TrainConfig": "config",
    "TranslateConfig": "config",
    "StylecycleError": "errors",
    "Translator": "inference",
    "CycleGAN": "model",
    "load_checkpoint": "training.checkpoint",
}
__all__ = list(_PUBLIC)
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'stylecycle' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
