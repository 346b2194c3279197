"""Registry of studies: name -> Study. Adding a paper = one module here plus one line below."""

from __future__ import annotations

import importlib

from ..errors import RoteError

_MODULES = {"grokking": "grokking", "mha-capacity": "mha_capacity"}

# Studies whose quick-scale claims are not yet all verified: usable one by one (`rote sweep/figures/
# verify STUDY`), but left out of `rote reproduce` unless named with --study.
IN_PROGRESS: set[str] = set()


def names(include_in_progress: bool = True) -> list[str]:
    return sorted(n for n in _MODULES if include_in_progress or n not in IN_PROGRESS)


def get(name: str):
    if name not in _MODULES:
        raise RoteError(f"unknown study {name!r}; choose from {', '.join(names())}")
    return importlib.import_module(f"{__name__}.{_MODULES[name]}").STUDY
