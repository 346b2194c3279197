"""Shared fixtures of the mha-capacity tests: the smoke scale's heads panel swept in memory, and the
attention benchmark loaded as a module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from rote.sims import engine
from rote.sims.studies.mha_capacity import STUDY
from rote.sims.studies.mha_capacity.scales import smoke_scale

BENCH_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_mha.py"


@pytest.fixture(scope="session")
def smoke_heads():
    """The smoke scale's heads panel, summarized, in memory (out_dir None): H x seed = 6 capacity searches."""
    base, grid = smoke_scale().panels["heads"]
    return engine.sweep(STUDY, base, grid, None, scale="smoke", progress=False)


@pytest.fixture(scope="session")
def bench():
    """benchmarks/bench_mha.py as a module."""
    spec = importlib.util.spec_from_file_location("bench_mha", BENCH_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_mha", module)  # flax module dataclasses look their module up
    spec.loader.exec_module(module)
    return module
