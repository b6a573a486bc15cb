"""Field checks shared by the configs: unknown fields and ill-typed values get a message naming them."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from assay.errors import ConfigError

_SCALARS: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}


def init_fields(config: Any, kwargs: dict[str, Any]) -> None:
    """Set a dataclass's fields from ``kwargs`` (defaults for the rest); refuse unknown names."""
    fields = {f.name: f for f in dataclasses.fields(config)}
    for key in kwargs:
        if key not in fields:
            import difflib  # only for a mistyped key: not on start-up's path

            close = difflib.get_close_matches(key, fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{type(config).__name__}: unknown field {key!r}{hint}")
    for name, f in fields.items():
        if name in kwargs:
            value = kwargs[name]
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            value = f.default
        setattr(config, name, value)


def check_types(config: Any) -> None:
    """Check each field against its annotation (``int``, ``float | None``, ``list[int]``, ``dict[...]``)."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        annotation = str(f.type)
        options = [part.strip() for part in annotation.split("|")]
        if value is None:
            if "None" not in options:
                raise ConfigError(f"{f.name}: must not be None")
            continue
        ok = False
        for option in options:
            if option in _SCALARS:
                ok = isinstance(value, _SCALARS[option]) and not (option in ("int", "float") and isinstance(value, bool))
            elif option.startswith("list["):
                inner = _SCALARS.get(option[5:-1], (object,))
                ok = isinstance(value, (list, tuple)) and all(
                    isinstance(v, inner) and not isinstance(v, bool) for v in value
                )
                if ok:
                    setattr(config, f.name, list(value))
            elif option.startswith("dict["):
                ok = isinstance(value, dict)
            if ok:
                break
        if not ok:
            raise ConfigError(f"{f.name}: expected {annotation}, got {type(value).__name__} {value!r}")
        numbers = value if isinstance(value, list) else [value]
        if any(isinstance(v, float) and not math.isfinite(v) for v in numbers):
            raise ConfigError(f"{f.name}: must be a finite number, got {value!r}")
