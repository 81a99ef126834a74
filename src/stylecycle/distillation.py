"""Distillation: a small student generator trained to translate as a trained teacher does.

Translation is at the CPU's arithmetic ceiling, so a faster translation needs fewer operations:
a narrow or mobile (depthwise-separable) ResNet learns the teacher's mapping (GAN Compression,
Li et al. 2020, distils CycleGAN's 9-block generator 21x smaller without losing FID). The
student is an ordinary generator named as the teacher's is (``G_ab``, ``G_ba``), so its
checkpoints translate, tile, export and serve like any other; the teacher rides along frozen
and is read again from its checkpoint when a distillation resumes. The update that trains it is
:func:`stylecycle.training.step.distill_update`, run by the ordinary trainer.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .config import DISTILLED, LossConfig, ModelConfig
from .errors import ConfigError
from .generator_files import GENERATOR_OF, load_generator
from .model import TranslationModel, build_generator
from .nn.generators import Generator
from .training.checkpoint import load_checkpoint


def distillation_options(given: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The training options of ``stylecycle distill`` ({section: {field: value}}): ``given``, on
    the ``distill`` recipe unless another is named, with the student training on crops of the
    size the teacher trained on unless given."""
    teacher = given.get("model", {}).get("teacher")
    if teacher is None:
        raise ConfigError("--checkpoint is required: the teacher's checkpoint or run folder")
    trained = load_checkpoint(teacher)["config"]["data"]
    return {
        **given,
        "data": {"size": trained["size"], "load_size": trained["load_size"], **given.get("data", {})},
        "model": {**given["model"], "method": "distill"},
        "train": {"recipe": "distill", **given.get("train", {})},
    }


class Distillation(TranslationModel):
    """One student per distilled direction (``G_ab`` and/or ``G_ba``, the architecture of
    ``model``), each beside its frozen ``teachers`` counterpart; no discriminator."""

    def __init__(self, model: ModelConfig, loss: LossConfig | None = None) -> None:
        super().__init__()
        self.loss = loss or LossConfig()
        assert model.teacher is not None  # Config.validate refuses a distillation without one
        directions = DISTILLED[model.distill_direction]
        self.network_names = tuple(GENERATOR_OF[direction] for direction in directions)
        for name in self.network_names:
            self.add_module(name, build_generator(model))
        # Registered, so that moving the model to a device or memory layout moves them too; not
        # among network_names, so that no checkpoint stores them.
        self.teachers = nn.ModuleDict(
            {GENERATOR_OF[direction]: load_generator(model.teacher, direction)[0].eval().requires_grad_(False) for direction in directions}
        )
        self.build_vgg()

    def translators(self) -> dict[str, Generator]:
        return {name: getattr(self, name) for name in self.network_names}

    def generators(self) -> nn.ModuleList:
        return nn.ModuleList(self.translators().values())

    def discriminators(self) -> nn.ModuleList:
        return nn.ModuleList()
