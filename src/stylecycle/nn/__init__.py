"""The networks: generators, discriminators, their normalisation and initialisation."""

from .discriminators import PatchDiscriminator
from .generators import ResnetGenerator
from .init import init_weights
from .norm import instance_norm

__all__ = ["PatchDiscriminator", "ResnetGenerator", "init_weights", "instance_norm"]
