"""Registry of studies: name -> Study. Adding a paper = one module here plus one line below."""

from __future__ import annotations

import importlib

from ..errors import RoteError

_MODULES = {"grokking": "grokking"}


def names() -> list[str]:
    return sorted(_MODULES)


def get(name: str):
    if name not in _MODULES:
        raise RoteError(f"unknown study {name!r}; choose from {', '.join(names())}")
    return importlib.import_module(f"{__name__}.{_MODULES[name]}").STUDY
