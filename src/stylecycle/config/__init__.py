"""Configuration, and nothing but: what can be set, its defaults, and how it is read and stored.

- :mod:`.options`: how a field becomes a CLI flag, the option groups commands share, checks;
- :mod:`.tree`: the tree of dataclasses, one per section of a training run and one per command;
- :mod:`.recipes`: named sets of defaults (``--recipe``);
- :mod:`.files`: plain data for checkpoints, YAML files for ``--config``, with type coercion.

The whole training config is stored inside every checkpoint, so translating or resuming needs
nothing but the checkpoint.
"""

from .files import config_from_dict, config_to_dict, read_config_file, typed_sections, write_config_file
from .options import field_type, flag_name, optional_inner
from .recipes import RECIPES
from .tree import (
    DISTILLED,
    ONE_SIDED,
    SECTION_NAMES,
    UNCROPPED,
    Config,
    DataConfig,
    Direction,
    EvaluateConfig,
    LossConfig,
    Method,
    ModelConfig,
    Objective,
    OptimConfig,
    OutputFormat,
    Preprocess,
    Sampler,
    ServeConfig,
    TrainConfig,
    TranslateConfig,
    TuneConfig,
    smallest_training_side,
)

__all__ = [
    "DISTILLED",
    "ONE_SIDED",
    "RECIPES",
    "SECTION_NAMES",
    "UNCROPPED",
    "Config",
    "DataConfig",
    "Direction",
    "EvaluateConfig",
    "LossConfig",
    "Method",
    "ModelConfig",
    "Objective",
    "OptimConfig",
    "OutputFormat",
    "Preprocess",
    "Sampler",
    "ServeConfig",
    "TrainConfig",
    "TranslateConfig",
    "TuneConfig",
    "config_from_dict",
    "config_to_dict",
    "field_type",
    "flag_name",
    "optional_inner",
    "read_config_file",
    "smallest_training_side",
    "typed_sections",
    "write_config_file",
]
