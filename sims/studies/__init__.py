"""Registry of studies: name -> Study.

Each study is the subpackage ``sims/studies/<module>/`` (module = name with '-' -> '_') whose
``__init__`` defines ``STUDY``. Adding a paper = that subpackage plus its name below.
"""

from __future__ import annotations

import importlib

from ..errors import RoteError

STUDIES = ("grokking", "mha-capacity", "lm-canaries", "lm-membership", "memorization-types", "entity-memorization", "selm", "lexical-overlap", "asr-canaries", "over-memorization", "t2i-duplication", "t2i-taxonomy")


def names() -> list[str]:
    return sorted(STUDIES)


def get(name: str):
    if name not in STUDIES:
        raise RoteError(f"unknown study {name!r}; choose from {', '.join(names())}")
    return importlib.import_module(f"{__name__}.{name.replace('-', '_')}").STUDY
