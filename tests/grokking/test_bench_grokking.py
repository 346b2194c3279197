"""Smoke test of benchmarks/bench_grokking.py at a toy size (seconds): the torch reference loop computes
the study's loss on identical weights, its logging epoch returns finite metrics, the IPR helper and the
choice of the faster torch thread setting, and the torch rows run and feed the headline ratios."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_grokking.py"
_spec = importlib.util.spec_from_file_location("bench_grokking", _PATH)
bench = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("bench_grokking", bench)
_spec.loader.exec_module(bench)


def test_reference_ipr():
    assert bench.reference_ipr(np.array([0.0, 3.0, 0.0])) == pytest.approx(1.0)
    assert bench.reference_ipr(np.ones(4)) == pytest.approx(0.25)  # r = 2: 4 * (1/2)^4


def test_best_torch_picks_the_faster_thread_setting():
    rows = [{"method": "torch reference", "ms_per_config_step": 30.0}, {"method": "torch reference, 1 thread", "ms_per_config_step": 20.0},
            {"method": "torch one-hot", "ms_per_config_step": 10.0}]
    assert bench.best_torch(rows, "reference")["method"] == "torch reference, 1 thread"
    assert bench.best_torch(rows, "one-hot")["method"] == "torch one-hot"
    assert bench.best_torch(rows, "gather") is None


def test_torch_reference_loss_equals_study_loss_on_identical_weights():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    from rote.sims.studies.grokking import model as gk_model

    p, N, k = 7, 8, 20
    gen = torch.Generator().manual_seed(0)
    d = bench.torch_reference_data(p, k, xi=0.3, gen=gen)
    model = bench.torch_reference_model(p, N, gen)
    w1, w2 = model.fc1.weight.detach().numpy(), model.fc2.weight.detach().numpy()  # (N, 2p), (p, N)
    weights = {"Ut": jnp.asarray(w1[:, :p].T), "Vt": jnp.asarray(w1[:, p:].T), "Wt": jnp.asarray(w2.T)}
    X, Y = d["X_train"], d["Y_train"]
    assert X.shape == (k, 2, p) and X.dtype == torch.float32
    m, n = X[:, 0].argmax(1).numpy(), X[:, 1].argmax(1).numpy()
    want = float(gk_model.mse(gk_model.forward(weights, m, n), jnp.asarray(Y.numpy())))
    got = float(F.mse_loss(model(X).squeeze(), F.one_hot(Y, p).float()))
    assert got == pytest.approx(want, rel=1e-5)
    opt = torch.optim.AdamW(model.parameters(), lr=0.01, betas=(0.9, 0.98), eps=1e-8, weight_decay=5.0)
    assert bench.torch_reference_epoch(model, opt, d, if_data=False)["loss"] == []
    out = bench.torch_reference_epoch(model, opt, d, if_data=True)
    assert np.isfinite(out["val_loss"][0]) and 0 <= out["tr_acc"][0] <= 1 and 0 <= out["val_acc"][0] <= 1
    assert out["ipr"].shape == (N, 3) and np.all((out["ipr"] > 0) & (out["ipr"] <= 1 + 1e-6))


def test_torch_rows_run_and_feed_the_headline():
    pytest.importorskip("torch")
    from rote.sims.studies.grokking.params import GrokkingParams

    base = GrokkingParams(p=7, N=8, alpha=0.5, steps=2, log_every=2)
    methods = {"engine x2": bench.engine_method(base, 2, 2)}
    bench.torch_methods(base, 2, methods, variants=("reference", "one-hot"))
    assert "torch reference" in methods and "torch one-hot" in methods
    rows = [bench.summarize(name, work, [bench.timed(fn)], peak_gflops=100.0) for name, (fn, work) in methods.items()]
    for r in rows:
        if "logging_epoch" in methods[r["method"]][1]:
            r["logging_epoch_ms"] = 1e3 * bench.timed(methods[r["method"]][1]["logging_epoch"])["wall"]
    h = bench.headline({"rows": rows})
    assert h["engine"] == "engine x2" and h["engine_vs_torch_reference"] > 0 and h["engine_vs_torch_one_hot"] > 0
    assert np.isfinite(h["torch_reference_ms_incl_logging"]) and h["torch_reference_ms_incl_logging"] > 0
    jax.clear_caches()
