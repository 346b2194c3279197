"""Smoke test of benchmarks/bench_lm.py at a toy size: JAX and torch agree on identical weights (when torch
is installed), and the loop and torch methods run, plain and DP-SGD. The engine rows reuse the study's
``run.training`` step, which the study tests cover."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from rote.sims.params import replace

BENCH_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_lm.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_lm", BENCH_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_lm", module)
    spec.loader.exec_module(module)
    return module


def toy(bench, dp: bool):
    return replace(bench.base_params(2, dp), width=16, layers=1, heads=2)


def test_loss_check_and_methods_run(bench):
    check = bench.loss_check(toy(bench, False))
    assert np.isfinite(check["jax"])
    if isinstance(check["torch"], str):
        assert check["torch"] == "not installed"
    else:
        assert abs(check["torch"] - check["jax"]) < 1e-5
    for dp in (False, True):
        go, work = bench.loop_method(toy(bench, dp), 2)
        go()
        assert work["tokens"] == 2 * 32 * 24
        torch_method = bench.torch_method(toy(bench, dp), 2, 1)
        if torch_method is not None:
            torch_method[0]()


def test_ratios_name_every_family(bench):
    rows = {name: {"ms_per_step": ms, "tokens_per_s": 1000.0 / ms} for name, ms in
            (("engine x4 plain", 1.0), ("engine x4 dp", 3.0), ("loop plain", 2.0), ("loop dp", 5.0))}
    out = bench.ratios(rows, 4)
    assert out["engine: dp / plain step"] == pytest.approx(3.0) and out["loop: dp / plain step"] == pytest.approx(2.5)
    assert out["engine: tokens/s vs loop (plain)"] == pytest.approx(2.0)
    assert not any(k.startswith("torch") for k in out)
