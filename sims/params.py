"""Study parameters as frozen dataclasses that are also JAX pytrees.

A field is either *static* (it fixes a shape or a loop length: p, N, steps; configs that differ in it
are compiled separately) or *traced* (a per-config array under ``vmap``: xi, weight decay, seed).
Any field may be a sweep axis. Declare fields with ``static(...)`` / ``traced(...)`` and decorate
the class with ``@study_params``; write the checks in a ``validate(self)`` method that raises
``ConfigError``. ``validate`` runs on construction whenever every field holds a concrete Python or
NumPy scalar, i.e. for each user-facing config, but not when the engine stacks a chunk into arrays.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import jax
import numpy as np

from .errors import ConfigError


def static(default: Any, doc: str = "") -> Any:
    """A shape-determining field: part of the compiled function's identity."""
    return dataclasses.field(default=default, metadata={"static": True, "doc": doc})


def traced(default: Any, doc: str = "") -> Any:
    """A per-config value: an array inside the vmapped run."""
    return dataclasses.field(default=default, metadata={"static": False, "doc": doc})


def static_fields(cls_or_obj) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls_or_obj) if f.metadata.get("static", False))


def traced_fields(cls_or_obj) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls_or_obj) if not f.metadata.get("static", False))


def _is_concrete(value) -> bool:
    return isinstance(value, (numbers.Number, str, bool, np.generic)) or value is None


def study_params(cls):
    """Make ``cls`` a frozen dataclass, validated on construction and registered as a pytree."""
    user_post_init = getattr(cls, "__post_init__", None)

    def __post_init__(self):
        if user_post_init is not None:
            user_post_init(self)
        if all(_is_concrete(getattr(self, f.name)) for f in dataclasses.fields(self)):
            for f in dataclasses.fields(self):
                value = getattr(self, f.name)
                if isinstance(value, (float, np.floating)) and not np.isfinite(value):
                    raise ConfigError(f"{f.name} must be finite, got {value}")
            if hasattr(self, "validate"):
                try:
                    self.validate()
                except (TypeError, OverflowError) as exc:  # e.g. a string where a number belongs
                    raise ConfigError(f"bad value for {type(self).__name__}: {exc}") from None

    cls.__post_init__ = __post_init__
    cls = dataclasses.dataclass(frozen=True)(cls)
    jax.tree_util.register_dataclass(cls, data_fields=list(traced_fields(cls)), meta_fields=list(static_fields(cls)))
    return cls


def replace(params, **changes):
    """``dataclasses.replace`` that turns a wrong field name into a one-line ConfigError."""
    names = {f.name for f in dataclasses.fields(params)}
    unknown = sorted(set(changes) - names)
    if unknown:
        raise ConfigError(f"unknown parameter(s) {', '.join(unknown)} for {type(params).__name__}; known: {', '.join(sorted(names))}")
    try:
        return dataclasses.replace(params, **changes)
    except TypeError as exc:  # e.g. a value of the wrong kind reaching a comparison in validate()
        raise ConfigError(f"bad value for {type(params).__name__}: {exc}") from None


def as_dict(params) -> dict[str, Any]:
    return {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
