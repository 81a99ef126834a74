"""stylecycle: unpaired image-to-image style transfer with CycleGAN and InstanceNorm."""

from .config import (
    Config,
    DataConfig,
    LossConfig,
    ModelConfig,
    OptimConfig,
    TrainConfig,
    TranslateConfig,
)
from .errors import StylecycleError
from .inference import Translator
from .model import CycleGAN
from .training.checkpoint import load_checkpoint

__all__ = [
    "Config",
    "CycleGAN",
    "DataConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "StylecycleError",
    "TrainConfig",
    "TranslateConfig",
    "Translator",
    "load_checkpoint",
]
__version__ = "0.1.0"
