"""The networks: generators, discriminators, their normalisation and initialisation."""

from .discriminators import PatchDiscriminator, create_discriminator, with_spectral_norm
from .generators import (
    ResnetGenerator,
    UnetGenerator,
    create_generator,
    list_generators,
)
from .init import init_weights
from .norm import instance_norm, norm_has_shift, norm_layer

__all__ = [
    "PatchDiscriminator",
    "ResnetGenerator",
    "UnetGenerator",
    "create_discriminator",
    "create_generator",
    "init_weights",
    "instance_norm",
    "list_generators",
    "norm_has_shift",
    "norm_layer",
    "with_spectral_norm",
]
