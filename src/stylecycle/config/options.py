"""How a config field becomes a CLI flag, the option groups several commands share, and the
checks every section's ``validate`` uses."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable
from dataclasses import field
from typing import Any

from ..errors import ConfigError


def option(default: Any, help: str, *, flag: str | None = None, choices: Callable[[], list[str]] | None = None) -> Any:
    """A dataclass field that is also a CLI option; ``flag`` overrides the derived name, and
    ``choices`` lists the values allowed where they are not a ``Literal`` (a registry's names)."""
    return field(default=default, metadata={"help": help, "flag": flag, "choices": choices})


def flag_name(f: dataclasses.Field) -> str:
    """The CLI flag of a config field: ``load_size`` → ``--load-size`` unless overridden."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


# Option groups that several commands share: one definition each, one help text.
def device_option() -> Any:
    return option("auto", "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")


def precision_option() -> Any:
    return option(
        "auto", "arithmetic: bf16 autocast where the hardware has bf16, else fp32 (auto); fp32; bf16; fp16 (loss-scaled in training)"
    )


def channels_last_option() -> Any:
    return option(None, "channels-last memory layout; default: on for CPUs (measured faster there, benchmarks/speed.py), off elsewhere")


def direction_option(when: str = "") -> Any:
    return option("a2b", f"{when}a2b translates domain A images into B; b2a the other way")


def inception_weights_option() -> Any:
    return option(
        None,
        "torch-fidelity's Inception weights file for FID and KID; default: its file in the torch hub cache, downloaded there if missing",
    )


DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def parse_duration(text: str, flag: str) -> float:
    """Seconds in ``90s``, ``20m``, ``1h30m``, ``1.5h`` or ``45`` (seconds); refused in one line otherwise."""
    match = DURATION.match(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise ConfigError(f"{flag} {text!r} is not a duration: write e.g. 90s, 20m, 1h30m")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise ConfigError(f"{flag} {text!r} must be longer than nothing")
    return total


def field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def optional_inner(tp: Any) -> tuple[Any, bool]:
    """``X | None`` → (X, True); anything else → (tp, False)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def allowed_values(section_cls: type, f: dataclasses.Field) -> tuple[Any, ...] | None:
    """The values a field may take, where it names them: a ``Literal``'s, or its ``choices``."""
    tp, _ = optional_inner(field_type(section_cls, f.name))
    if typing.get_origin(tp) is typing.Literal:
        return typing.get_args(tp)
    choices = f.metadata.get("choices")
    return tuple(choices()) if choices else None


def check_choices(section: Any) -> None:
    """Refuse a value outside a field's ``choices`` (``Literal`` values are checked when read)."""
    for f in dataclasses.fields(section):
        value, choices = getattr(section, f.name), f.metadata.get("choices")
        if choices and value is not None and value not in choices():
            raise ConfigError(f"unknown {flag_name(f)} {value!r}; known: {', '.join(choices())}")


def positive(section: Any, *names: str) -> None:
    for name in names:
        if getattr(section, name) <= 0:
            raise ConfigError(f"{flag_of(section, name)} must be positive, got {getattr(section, name)}")


def non_negative(section: Any, *names: str) -> None:
    for name in names:
        if getattr(section, name) < 0:
            raise ConfigError(f"{flag_of(section, name)} must not be negative, got {getattr(section, name)}")


def field_of(section: Any, name: str) -> dataclasses.Field:
    """The field ``name`` of a config section (class or instance)."""
    return next(f for f in dataclasses.fields(section) if f.name == name)


def flag_of(section: Any, name: str) -> str:
    return flag_name(field_of(section, name))
