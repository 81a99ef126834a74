"""Configs as plain data and YAML files: what checkpoints store and ``--config`` reads, with each
value converted back to its field's type (and refused, naming its source, where it cannot be)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ..atomic import atomic_path
from ..errors import ConfigError, first_line
from .options import allowed_values, field_of, field_type, optional_inner
from .tree import SECTION_CLASSES, SECTION_NAMES, Config, sections


def config_to_dict(config: Config) -> dict[str, dict[str, Any]]:
    """Plain data (str, int, float, bool, None) that ``torch.load(weights_only=True)`` accepts."""
    return {
        f.name: {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(section).items()}
        for f, section in zip(dataclasses.fields(config), sections(config))
    }


def config_from_dict(raw: dict[str, dict[str, Any]]) -> Config:
    """Rebuild a config, refusing keys this version does not know (a newer checkpoint)."""
    return Config().updated(typed_sections(raw, "the stored config"))


def write_config_file(config: Config, path: Path, *, header: str = "") -> Path:
    """Write the config as a YAML file that ``stylecycle train --config`` reads back."""
    import yaml

    comment = "".join(f"# {line}\n" for line in header.splitlines())
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(comment + yaml.safe_dump(config_to_dict(config), sort_keys=False))
    return Path(path)


def read_config_file(path: Path) -> dict[str, dict[str, Any]]:
    """The options a YAML config file sets, as ``{section: {field: value}}`` with typed values.

    A file may set any subset of the fields (``stylecycle tune`` writes all of them); the flags
    typed on the command line override it."""
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {first_line(exc)}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise ConfigError(f"config file {path} must map sections ({', '.join(SECTION_NAMES)}) to options")
    return typed_sections(raw, f"config file {path}")


def typed_sections(raw: dict[str, dict[str, Any]], source: str) -> dict[str, dict[str, Any]]:
    """``raw`` ({section: {field: plain value}}) with each value converted to its field's type;
    unknown sections, unknown fields and values of the wrong kind are refused, naming ``source``."""
    unknown_sections = set(raw) - set(SECTION_NAMES)
    if unknown_sections:
        raise ConfigError(f"unknown sections in {source}: {', '.join(sorted(unknown_sections))} (known: {', '.join(SECTION_NAMES)})")
    typed: dict[str, dict[str, Any]] = {}
    for name, section_cls in SECTION_CLASSES.items():
        values = dict(raw.get(name) or {})
        unknown = set(values) - {sf.name for sf in dataclasses.fields(section_cls)}
        if unknown:
            raise ConfigError(f"unknown config keys in section '{name}' of {source}: {', '.join(sorted(unknown))}")
        try:
            typed[name] = {k: coerce_field(section_cls, k, v) for k, v in values.items()}
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}, section '{name}': {first_line(exc)}") from exc
    return typed


def coerce_field(section_cls: type, name: str, value: Any) -> Any:
    """A plain value converted to the type of field ``name`` of ``section_cls`` (see :func:`coerce`)."""
    return coerce(field_type(section_cls, name), value, allowed_values(section_cls, field_of(section_cls, name)))


def coerce(tp: Any, value: Any, allowed: tuple[Any, ...] | None = None) -> Any:
    """Convert a plain value (stored, or read from YAML) into the field's declared type, one of
    the ``allowed`` values where a field names them (:func:`~.options.allowed_values`)."""
    inner, nullable = optional_inner(tp)
    if value is None:
        if nullable:
            return None
        raise ValueError(f"a value is required, got null (expected {getattr(inner, '__name__', inner)})")
    if inner is Path:
        return Path(value)
    if allowed is not None:
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(map(str, allowed))}")
        return value
    if inner is bool:
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not true or false")
        return value
    if inner is int and isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{value!r} is not a whole number")
    return inner(value)
