"""Study parameters as frozen dataclasses that are also JAX pytrees.

A field is either *static* (it fixes a shape or a loop length: p, N, steps; configs that differ in it
are compiled separately) or *traced* (a per-config array under ``vmap``: xi, weight decay, seed).
Any field may be a sweep axis. Declare fields with ``static(...)`` / ``traced(...)`` (or ``seed()``),
with their bounds beside them (``ge``, ``gt``, ``le``, ``lt``, ``choices``, ``integer``), and decorate
the class with ``@study_params``. Bounds are checked once for every study on construction; a
``validate(self)`` method holds only the rules that span several fields. Checks run whenever every
field holds a concrete Python or NumPy scalar, i.e. for each user-facing config, but not when the
engine stacks a chunk into arrays.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any, Sequence

import jax
import numpy as np

from .errors import ConfigError

SEED_BOUND = 2**31  # seeds become int32 inside the vmapped run


def _field(default, doc, static, ge, gt, le, lt, choices, integer):
    bounds = {"ge": ge, "gt": gt, "le": le, "lt": lt, "choices": tuple(choices) if choices is not None else None,
              "integer": integer}
    return dataclasses.field(default=default, metadata={"static": static, "doc": doc, **bounds})


def static(default: Any, doc: str = "", *, ge=None, gt=None, le=None, lt=None, choices: Sequence | None = None,
           integer: bool = False) -> Any:
    """A shape-determining field: part of the compiled function's identity."""
    return _field(default, doc, True, ge, gt, le, lt, choices, integer)


SIZE_BOUND = 1 << 16  # the default upper bound of a size field


def size(default: int, doc: str = "", *, lo: int = 1, hi: int = SIZE_BOUND) -> Any:
    """A static integer field in [lo, hi]: a shape, a count, a number of steps."""
    return static(default, doc, ge=lo, le=hi, integer=True)


def traced(default: Any, doc: str = "", *, ge=None, gt=None, le=None, lt=None, choices: Sequence | None = None,
           integer: bool = False) -> Any:
    """A per-config value: an array inside the vmapped run."""
    return _field(default, doc, False, ge, gt, le, lt, choices, integer)


def seed(default: int = 0, doc: str = "every random draw of the run derives from this seed") -> Any:
    """The traced seed field, an integer in [0, 2^31)."""
    return traced(default, doc, ge=0, lt=SEED_BOUND, integer=True)


def static_fields(cls_or_obj) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls_or_obj) if f.metadata.get("static", False))


def traced_fields(cls_or_obj) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls_or_obj) if not f.metadata.get("static", False))


def _is_concrete(value) -> bool:
    return isinstance(value, (numbers.Number, str, bool, np.generic)) or value is None


def _interval(meta) -> str:
    lo = f"[{meta['ge']}" if meta["ge"] is not None else (f"({meta['gt']}" if meta["gt"] is not None else "(-inf")
    hi = f"{meta['le']}]" if meta["le"] is not None else (f"{meta['lt']})" if meta["lt"] is not None else "inf)")
    return f"{lo}, {hi}"


def check_bounds(params) -> None:
    """Raise ConfigError for the first field outside its declared bounds (or non-finite)."""
    for f in dataclasses.fields(params):
        value, meta = getattr(params, f.name), f.metadata
        if isinstance(value, (float, np.floating)) and not np.isfinite(value):
            raise ConfigError(f"{f.name} must be finite, got {value}")
        if meta.get("choices") is not None:
            if value not in meta["choices"]:
                raise ConfigError(f"{f.name} must be one of {', '.join(map(repr, meta['choices']))}, got {value!r}")
            continue
        numeric = any(meta.get(k) is not None for k in ("ge", "gt", "le", "lt"))
        if meta.get("integer") and not (isinstance(value, (int, np.integer)) and not isinstance(value, bool)):
            raise ConfigError(f"{f.name} must be an integer in {_interval(meta)}, got {value!r}")
        if not numeric:
            continue
        if not isinstance(value, (numbers.Real, np.generic)) or isinstance(value, bool):
            raise ConfigError(f"{f.name} must be a number in {_interval(meta)}, got {value!r}")
        if ((meta["ge"] is not None and not value >= meta["ge"]) or (meta["gt"] is not None and not value > meta["gt"])
                or (meta["le"] is not None and not value <= meta["le"]) or (meta["lt"] is not None and not value < meta["lt"])):
            kind = "an integer" if meta.get("integer") else "a number"
            raise ConfigError(f"{f.name} must be {kind} in {_interval(meta)}, got {value!r}")


def study_params(cls):
    """Make ``cls`` a frozen dataclass, checked on construction (field bounds, then ``validate``) and
    registered as a pytree."""
    user_post_init = getattr(cls, "__post_init__", None)

    def __post_init__(self):
        if user_post_init is not None:
            user_post_init(self)
        if all(_is_concrete(getattr(self, f.name)) for f in dataclasses.fields(self)):
            try:
                check_bounds(self)
                if hasattr(self, "validate"):
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


# --------------------------------------------------------------------------------------------------
# '/'-separated lists in a static string field ('0/1/2/4'): levels, guidance scales, probabilities
# --------------------------------------------------------------------------------------------------


def parse_levels(text: str, name: str, lo: int, hi: int, what: str = "integers") -> tuple[int, ...]:
    """'0/1/2/4' -> (0, 1, 2, 4): distinct integers in [lo, hi], ascending; a one-line ConfigError
    naming ``name`` (and ``what`` the values are) otherwise."""
    try:
        values = tuple(int(v) for v in str(text).split("/"))
    except ValueError:
        raise ConfigError(f"{name} must be '/'-separated integers, e.g. '1/2/4', got {text!r}") from None
    bad = [v for v in values if not lo <= v <= hi]
    if bad:
        raise ConfigError(f"{name} must be {what} in [{lo}, {hi}], got {bad[0]} in {text!r}")
    if list(values) != sorted(set(values)):
        raise ConfigError(f"{name} must be distinct and ascending, got {text!r}")
    return values


def parse_numbers(text: str, name: str, lo: float | None = None, hi: float | None = None, field: str | None = None) -> tuple[float, ...]:
    """'1/3/7' -> (1.0, 3.0, 7.0): distinct numbers in [lo, hi] (a bound None is open), ascending; a
    one-line ConfigError naming the value ``name`` and the ``field`` it was read from otherwise."""
    field = field or name
    try:
        values = tuple(float(v) for v in str(text).split("/"))
    except ValueError:
        raise ConfigError(f"{field} must be '/'-separated numbers, e.g. '1/3/7', got {text!r}") from None
    bad = [v for v in values if not ((lo is None or v >= lo) and (hi is None or v <= hi))]  # NaN is bad too
    if bad:
        where = f">= {lo:g}" if hi is None else f"<= {hi:g}" if lo is None else f"in [{lo:g}, {hi:g}]"
        raise ConfigError(f"{name} must be {where}, got {bad[0]} in {field} {text!r}")
    if list(values) != sorted(set(values)):
        raise ConfigError(f"{field} must be distinct and ascending, got {text!r}")
    return values
