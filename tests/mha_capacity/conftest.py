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
    """The smoke scale's heads panel, summarized, in memory (out_dir None), with its two T values:
    T is static, so each value is one compile (10-20 s on a busy 2-core machine); H x T x seed = 12 configs."""
    base, grid = smoke_scale().panels["heads"]
    return engine.sweep(STUDY, base, {**grid, "T": (16, 64)}, None, scale="smoke", progress=False)


@pytest.fixture(scope="session")
def bench():
    """benchmarks/bench_mha.py as a module."""
    spec = importlib.util.spec_from_file_location("bench_mha", BENCH_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_mha", module)  # flax module dataclasses look their module up
    spec.loader.exec_module(module)
    return module
