"""The grid of a sweep: named axes around base parameters, flattened in C order and checked value by value.

A grid's fingerprint (study, parameter type, every base field, the axes, a non-default matmul precision)
is its identity on disk: a results directory holds exactly one fingerprint, and saved results record it.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import numbers
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import jax
import numpy as np

from . import params as P
from .errors import ConfigError, RoteError

# jax_default_matmul_precision values: 'float32' (full fp32), 'tensorfloat32' (TF32 tensor cores on
# NVIDIA Ampere and later), 'bfloat16' (one bf16 pass). XLA on CPU computes fp32 whatever is asked
# (measured here: identical products), so the choice matters on GPUs and TPUs.
MATMUL_PRECISIONS = ("float32", "tensorfloat32", "bfloat16")


@dataclass(frozen=True)
class Grid:
    """A validated product of named axes around base parameters.

    configs[i] is the params of flat index i (C order over ``axes``: the first axis slowest).
    """

    base: Any
    axes: Mapping[str, tuple]
    configs: tuple
    matmul_precision: str | None = None  # None: JAX's default; else part of the sweep's identity on disk

    @classmethod
    def build(cls, base, axes: Mapping[str, Sequence], matmul_precision: str | None = None) -> "Grid":
        if matmul_precision is not None and matmul_precision not in MATMUL_PRECISIONS:
            raise RoteError(f"matmul precision must be one of {', '.join(MATMUL_PRECISIONS)}, got {matmul_precision!r}")
        names = {f.name for f in dataclasses.fields(base)}
        unknown = [a for a in axes if a not in names]
        if unknown:
            raise RoteError(f"unknown grid axis {unknown[0]!r} for {type(base).__name__}; known: {', '.join(sorted(names))}")
        norm = {}
        for name, values in axes.items():
            values = tuple(v.item() if isinstance(v, np.generic) else v for v in values)
            if not values:
                raise RoteError(f"grid axis {name!r} has no values")
            if len(set(values)) != len(values):
                raise RoteError(f"grid axis {name!r} repeats a value: {values}")
            norm[name] = values
        configs = tuple(P.replace(base, **dict(zip(norm, combo))) for combo in itertools.product(*norm.values()))
        for name in P.traced_fields(base):
            for value in {getattr(base, name)} | set(norm.get(name, ())):
                check_representable(name, value)
        return cls(base, norm, configs, matmul_precision)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.axes.values())

    def __len__(self) -> int:
        return len(self.configs)

    def fingerprint(self, study: str) -> dict:
        """What identifies this sweep on disk: the study, every base parameter and the axes."""
        fp = {"study": study, "params_type": type(self.base).__name__, "base": jsonable(P.as_dict(self.base)), "axes": jsonable(dict(self.axes))}
        if self.matmul_precision is not None:
            fp["matmul_precision"] = self.matmul_precision
        return fp

    def groups(self) -> dict[tuple, list[int]]:
        """Flat indices grouped by the values of the static fields (one compiled function each)."""
        out: dict[tuple, list[int]] = {}
        statics = P.static_fields(self.base)
        for i, cfg in enumerate(self.configs):
            out.setdefault(tuple(getattr(cfg, s) for s in statics), []).append(i)
        return out


def check_representable(name: str, value) -> None:
    """A traced value is cast to JAX's working dtype (float32 / int32 unless x64 is enabled); refuse a value
    the cast would silently turn into inf, 0, a subnormal or a wrapped integer (never clamp silently)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return
    if isinstance(value, numbers.Integral):
        target = jax.dtypes.canonicalize_dtype(np.int64)
        info = np.iinfo(target)
        if not info.min <= int(value) <= info.max:
            raise ConfigError(f"{name} {value} does not fit {target.name}, the integer type JAX computes in here (range {info.min}..{info.max})")
        return
    target = jax.dtypes.canonicalize_dtype(np.float64)
    x = float(value)
    with np.errstate(over="ignore", under="ignore"):
        cast = np.asarray(x).astype(target)
    info = np.finfo(target)
    if np.isfinite(x) and (not np.isfinite(cast) or (x != 0 and abs(cast) < info.tiny)):
        raise ConfigError(
            f"{name} {value!r} is outside the range of {target.name}, the precision JAX computes in here "
            f"(|value| in [{info.tiny:.3g}, {info.max:.3g}] or 0); it would silently become {float(cast)!r}"
        )


def jsonable(obj):
    """``obj`` as JSON would read it back (tuples become lists, NumPy scalars Python numbers)."""
    return json.loads(json.dumps(obj, default=lambda o: o.item() if isinstance(o, np.generic) else str(o)))


def with_new_fields(saved, params_type) -> dict:
    """A saved grid fingerprint read with today's parameter type: base fields the type gained since the
    results were written take their defaults (the value the old code had built in), so a study that
    grows a new option does not orphan finished results. Anything else is returned unchanged; a
    field that was removed or renamed, or an axis, still makes the sweeps differ."""
    if not (isinstance(saved, dict) and isinstance(saved.get("base"), dict) and dataclasses.is_dataclass(params_type)):
        return saved
    if saved.get("params_type") != params_type.__name__:
        return saved
    added = {f.name: f.default for f in dataclasses.fields(params_type) if f.name not in saved["base"] and f.name not in saved.get("axes", {})}
    if not added or any(v is dataclasses.MISSING for v in added.values()):
        return saved
    return {**saved, "base": {**saved["base"], **jsonable(added)}}


def describe(fingerprint) -> str:
    """A fingerprint in a few words, for error messages: 'study grokking, axes alpha[3], xi[2]'."""
    if not isinstance(fingerprint, dict):
        return "unreadable grid"
    axes = fingerprint.get("axes", {})
    return f"study {fingerprint.get('study')}, axes " + ", ".join(f"{k}[{len(v)}]" for k, v in axes.items())
