"""Smoke test of benchmarks/bench_mha.py at a toy size (seconds): the forms of the attention model agree
on identical weights (study position-0, official full, the proposed prototype, and torch when installed),
and every measured method runs."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def toy(bench):
    return bench.official_params(d=8, D=8, n=4, d_h=6, H_max=3, C=5, T=32, steps=2)


@pytest.fixture(scope="module")
def checks(bench, toy):
    return bench.loss_checks(toy, batch=16)


def test_forms_agree_on_identical_weights(checks):
    for form in ("jax position-0", "jax full", "jax proposed"):
        assert np.isfinite(checks[form])
    assert checks["max_abs_loss_diff"] < 1e-5, checks
    assert checks["proposed_grad_rel_diff"] < 1e-4, checks


def test_torch_official_loss_equals_jax_on_identical_weights(checks):
    pytest.importorskip("torch")
    assert abs(checks["torch official"] - checks["jax full"]) < 1e-5
    assert abs(checks["torch position-0"] - checks["jax position-0"]) < 1e-5


def test_methods_run_at_toy_size(bench, toy):
    methods = {  # the study's own engine run is tested in test_mha_study; here the proposed model inside it
        "proposed": bench.engine_method(toy, 2, "proposed"),
        "loop": bench.loop_method(toy, 2, "full", T=512),
        "scan blocked": bench.scan_step_method(toy, 2, "proposed", block=8),
    }
    tm = bench.torch_method(toy, 2, "official", T=512)
    if tm is not None:
        methods["torch"] = tm
    for name, (go, work) in methods.items():
        row = bench.summarize(name, work, [bench.harness.timed(go)], peak_gflops=100.0)
        assert row["examples_per_s"] > 0 and row["gflops"] > 0, name
    assert methods["proposed"][1]["examples"] == 2 * toy.T * toy.steps
    # credited FLOPs are the same per example for every form; executed FLOPs order full > position-0 > proposed (d_h > 3 here)
    f = {form: bench.forward_flops(toy, form) for form in ("full", "position-0", "proposed")}
    assert f["full"] > f["position-0"] > f["proposed"]
    # the query-row forward at the paper's defaults: 2[(n+1)pD + H D d_h (n+1) + H n d_h + H n D + H n + H D + D C]
    assert bench.forward_flops(bench.official_params(), "position-0") == pytest.approx(5.86e6, rel=0.01)
