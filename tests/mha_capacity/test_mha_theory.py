"""theory/mha_capacity.py and mha_capacity_assumptions.py: bounds, the bare layer, the constructive proof,
the rank bound, assumptions."""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pytest
import sympy as sp

from rote.theory import mha_capacity as theory
from rote.theory import mha_capacity_assumptions as assumptions
from rote.theory import positions

D = 16  # input dimension of the reduced grid
GRID = list(itertools.product((1, 2, 4, 8), (2, 4, 8, 12), (2, 4, 8, 16)))  # (H, n, d_h)

# --------------------------------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------------------------------


def test_capacity_bound_expression_and_values():
    H, n, d_h = theory.H, theory.n, theory.d_h
    assert sp.simplify(theory.capacity_bound() - (H * (sp.Min(n, d_h) - 1) + 1)) == 0
    assert theory.capacity_bound_value(20, 32, 64) == 621  # paper defaults
    assert theory.capacity_bound_value(4, 8, 2) == 5  # d_h < n: r = d_h
    assert theory.capacity_bound_value(3, 1, 16) == 1  # n = 1: every head outputs x_1
    for Hv, nv, dv in GRID:
        assert int(theory.capacity_bound().subs({H: Hv, n: nv, d_h: dv})) == theory.capacity_bound_value(Hv, nv, dv)
    # plateau: no gain from d_h beyond n, where it equals the shared-context rank bound
    k = sp.Symbol("k", nonnegative=True, integer=True)
    assert sp.simplify(theory.capacity_bound().subs(d_h, n + k) - theory.shared_rank_bound()) == 0
    with pytest.raises(ValueError):
        theory.capacity_bound_value(0, 4, 4)


def test_other_bounds_and_parameter_counts():
    assert theory.shared_rank_bound_value(4, 8) == 29
    assert theory.dpc_bound_value(20, 10, 10) == 210
    assert sp.simplify(theory.dpc_bound() - (theory.H * theory.d_h + theory.d)) == 0
    # bare layer: H (2 d d_h + d d_v + d_v d_out); scalar construction d_v = d_out = 1
    assert theory.bare_layer_params_value(8, 16, 16) == 8 * (2 * 16 * 16 + 16 + 1)
    # official model at the paper's defaults: 64*64+64 + 20*(2*64*64+64) + 20*64 + 64*100+100
    assert theory.official_params_value() == 177060
    values = {theory.H: 4, theory.p: 16, theory.D: 16, theory.d_h: 8, theory.C: 10}
    assert int(theory.official_params().subs(values)) == theory.official_params_value(4, 16, 16, 8, 10)
    values = {theory.H: 3, theory.d: 12, theory.d_h: 5, theory.d_v: 2, theory.d_out: 7}
    assert int(theory.bare_layer_params().subs(values)) == theory.bare_layer_params_value(3, 12, 5, 2, 7)


def test_bound_values_broadcast_over_arrays():
    """The figures draw the bounds on dense grids: the ``*_value`` forms broadcast like numpy."""
    Hs, ns = np.array([1, 2, 4]), np.arange(1, 13)
    np.testing.assert_array_equal(theory.capacity_bound_value(Hs[:, None], ns, 8),
                                  [[theory.capacity_bound_value(int(h), int(k), 8) for k in ns] for h in Hs])
    np.testing.assert_array_equal(theory.shared_rank_bound_value(Hs, 8), [8, 15, 29])
    np.testing.assert_array_equal(theory.dpc_bound_value(Hs, 16.0, 16), [32, 48, 80])
    with pytest.raises(ValueError):
        theory.capacity_bound_value(np.array([1, 0]), 4, 4)
    with pytest.raises(ValueError):
        theory.dpc_bound_value(2, 1.5, 16)


def test_construction_saturation_counts_the_groups():
    """At T = capacity, head h's group (sizes r, r-1, ...) is saturated by the H - 1 - h later heads."""
    share = theory.construction_saturation(4, 8, 16)
    T = theory.capacity_bound_value(4, 8, 16)
    np.testing.assert_allclose(share, np.array([7, 7, 7, 8, 0]) / T)
    np.testing.assert_allclose(theory.construction_saturation(3, 8, 2), np.array([1, 1, 2, 0]) / 4)


# --------------------------------------------------------------------------------------------------
# Data and the bare layer
# --------------------------------------------------------------------------------------------------


def test_data_shapes_ranges_and_context_kinds():
    rng = np.random.default_rng(0)
    for kind in theory.CONTEXT_KINDS:
        q, c, y = theory.synthetic_data(30, 5, 8, rng, kind, bag_size=40)
        assert q.shape == (30, 8) and c.shape == (30, 5, 8) and y.shape == (30,)
        assert q.min() >= 0 and q.max() <= 1 and c.min() >= 0 and c.max() <= 1
    _, fixed, _ = theory.synthetic_data(10, 3, 4, rng, "fixed")
    assert (fixed == fixed[0]).all()
    _, perm, _ = theory.synthetic_data(50, 6, 4, rng, "perm", bag_size=20)
    rows = perm.reshape(-1, 4)
    assert len(np.unique(rows, axis=0)) <= 20  # drawn from the bag
    assert all(len(np.unique(ctx, axis=0)) == 6 for ctx in perm)  # distinct within a context
    with pytest.raises(ValueError, match="context kind"):
        theory.sample_contexts(3, 2, 4, rng, "shuffled")
    with pytest.raises(ValueError, match="bag_size"):
        theory.sample_contexts(3, 8, 4, rng, "perm", bag_size=5)


def test_z_matrix_stacks_head_blocks():
    rng = np.random.default_rng(1)
    q, c, _ = theory.synthetic_data(7, 3, 5, rng, "random")
    Ws = rng.standard_normal((2, 5, 5))
    Z = theory.z_matrix(q, c, Ws)
    assert Z.shape == (10, 7)
    for t in range(7):
        for h in range(2):
            a = theory.head_attention(c[t], q[t], Ws[h])
            assert a.sum() == pytest.approx(1.0)
            np.testing.assert_allclose(Z[5 * h : 5 * h + 5, t], c[t].T @ a, atol=1e-14)
    # a shared (n, d) context is broadcast
    np.testing.assert_allclose(theory.z_matrix(q, c[0], Ws), theory.z_matrix(q, np.repeat(c[:1], 7, 0), Ws))


# --------------------------------------------------------------------------------------------------
# Constructive proof of Theorem 1
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("context", ["fixed", "random"])
def test_construction_interpolates_exactly_over_the_grid(context):
    for H, n, d_h in GRID:
        rng = np.random.default_rng([H, n, d_h])
        T = theory.capacity_bound_value(H, n, d_h)
        q, c, y = theory.synthetic_data(T, n, D, rng, context)
        out = theory.construct(q, c, y, H, d_h, rng)
        where = f"{context} H={H} n={n} d_h={d_h}"
        assert out["rank"] == T == out["capacity"], where
        assert out["residual"] < 1e-9, where
        assert out["rank_W"].max() <= min(n, d_h), where
        assert out["W_Q"].shape == out["W_K"].shape == (H, D, d_h)
        assert out["min_saturation"] > 1 - 1e-12, where  # old examples are one-hot in later heads
        np.testing.assert_allclose(out["Z"].T @ out["v"], y, atol=1e-9)
        assert out["unplaced"].size == 0


def test_construction_with_one_example_too_many_fails_under_shared_context():
    """The deliberately wrong input: T = capacity + 1 with d_h >= n cannot be interpolated (rank bound)."""
    for H, n, d_h in [(1, 4, 8), (2, 4, 4), (3, 6, 8), (4, 8, 16)]:
        rng = np.random.default_rng([7, H, n, d_h])
        T = theory.capacity_bound_value(H, n, d_h) + 1
        q, c, y = theory.synthetic_data(T, n, D, rng, "fixed")
        out = theory.construct(q, c, y, H, d_h, rng)
        assert out["unplaced"].tolist() == [T - 1]
        assert out["rank"] == T - 1
        assert out["residual"] > 1e-6
        # random contexts are not capped by the bound: the same T is still interpolated
        q, c, y = theory.synthetic_data(T, n, D, rng, "random")
        assert theory.construct(q, c, y, H, d_h, rng)["residual"] < 1e-9


def test_construction_rejects_inputs_outside_its_assumptions():
    rng = np.random.default_rng(3)
    q, c, y = theory.synthetic_data(5, 4, 4, rng, "random")
    with pytest.raises(ValueError, match="n < d"):
        theory.construct(q, c, y, 2, 4, rng)
    q, c, y = theory.synthetic_data(7, 4, 8, rng, "random")
    bad = c.copy()
    bad[1, 3] = bad[1, 0]  # rank-deficient context of a placed example
    with pytest.raises(ValueError, match="Assumption 2"):
        theory.construct(q, bad, y, 2, 4, rng)
    bad = q.copy()
    bad[2] = bad[0]  # two identical queries placed by the same head
    with pytest.raises(ValueError, match="Assumption 1"):
        theory.construct(bad, c, y, 2, 4, rng)
    with pytest.raises(ValueError, match="labels"):
        theory.construct(q, c, y[:-1], 2, 4, rng)


# --------------------------------------------------------------------------------------------------
# Shared-context rank bound
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("H,n,d_h", [(2, 4, 16), (4, 4, 16), (3, 6, 1), (3, 6, 2), (8, 8, 16), (8, 12, 4), (2, 1, 4)])
def test_shared_context_rank_bound_holds_and_is_tight(H, n, d_h):
    out = theory.rank_bound_check(H, n, D, d_h, 200, np.random.default_rng([H, n, d_h]), "fixed")
    assert out["rank"] == out["bound"] == theory.shared_rank_bound_value(H, n) == out["predicted"]
    assert out["sigma_after_bound"] < 1e-10  # no weights can exceed H(n-1)+1
    assert out["sigma_at_bound"] > 1e-9  # reached generically (d_h = 1 is the worst conditioned)


@pytest.mark.parametrize("context", ["random", "perm"])
@pytest.mark.parametrize("H,n,d_h", [(2, 4, 16), (3, 6, 2), (8, 8, 16), (2, 1, 4)])
def test_random_contexts_exceed_the_shared_bound(context, H, n, d_h):
    out = theory.rank_bound_check(H, n, D, d_h, 200, np.random.default_rng([H, n, d_h]), context)
    assert out["rank"] == out["predicted"] == min(200, H * D if n > 1 else D)
    if n > 1:
        assert out["rank"] > out["bound"]


def test_numerical_rank():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((10, 3)) @ rng.standard_normal((3, 8))
    assert theory.numerical_rank(A) == 3
    assert theory.numerical_rank(np.zeros((4, 4))) == 0
    assert theory.numerical_rank(np.diag([1.0, 1e-8, 1e-12])) == 2
    assert theory.numerical_rank(np.diag([1.0, 1e-8, 1e-12]), rtol=1e-7) == 1


# --------------------------------------------------------------------------------------------------
# Assumptions 1-2 and General Position
# --------------------------------------------------------------------------------------------------


def test_kruskal_fraction():
    rng = np.random.default_rng(5)
    same = np.tile(rng.standard_normal(6), (40, 1))
    assert assumptions.kruskal_fraction(same, 2, 200, rng) == 0.0
    assert assumptions.kruskal_fraction(same, 1, 50, rng) == 1.0
    gauss = rng.standard_normal((60, 6))
    for k in range(1, 7):
        assert assumptions.kruskal_fraction(gauss, k, 300, rng) == 1.0
    assert assumptions.kruskal_fraction(gauss, 7, 10, rng) == 0.0  # k > d
    # half the rows duplicated: a 2-subset is dependent only if it hits the same row twice
    dup = np.concatenate([gauss[:30], gauss[:30]])
    assert 0.95 < assumptions.kruskal_fraction(dup, 2, 2000, rng) < 1.0
    np.testing.assert_array_equal(assumptions.kruskal_profile(gauss, [1, 6, 7], 50, rng), [1.0, 1.0, 0.0])
    with pytest.raises(ValueError):
        assumptions.kruskal_fraction(gauss, 61, 10, rng)


def test_context_ranks():
    rng = np.random.default_rng(6)
    c = rng.uniform(size=(5, 4, 8))
    c[2, 3] = c[2, 0] + c[2, 1]
    np.testing.assert_array_equal(theory.context_ranks(c), [4, 4, 3, 4, 4])
    np.testing.assert_array_equal(theory.context_ranks(c[0]), [4])
    assert theory.context_ranks(rng.uniform(size=(3, 9, 8))).max() == 8  # n > d: rank n impossible


def test_sinusoidal_positional_encoding():
    pe = positions.sinusoidal(5, 7)
    pos = np.arange(5)
    assert pe.shape == (5, 7)
    np.testing.assert_allclose(pe[:, 0], np.sin(pos))
    np.testing.assert_allclose(pe[:, 1], np.cos(pos))
    np.testing.assert_allclose(pe[:, 4], np.sin(pos / 10000 ** (4 / 7)))
    np.testing.assert_allclose(pe[:, 5], np.cos(pos / 10000 ** (4 / 7)))
    np.testing.assert_allclose(pe[0, 1::2], 1.0)


def test_synthetic_inputs_meet_every_assumption():
    rng = np.random.default_rng(7)
    q, c, _ = theory.synthetic_data(300, 8, 32, rng, "random")
    rep = assumptions.assumption_report(q, c, 300, rng)
    assert rep["assumption1"] and rep["assumption2"] and rep["general_position"]


def test_token_pe_setting_fails_general_position_but_meets_assumptions_1_2():
    rng = np.random.default_rng(8)
    q, c = assumptions.token_pe_setting(600, 8, 32, rng, vocab=16)
    rep = assumptions.assumption_report(q, c, 500, rng)
    assert rep["assumption1"] and rep["assumption2"] and not rep["general_position"]
    assert rep["kruskal_n"] == 1.0 and rep["kruskal_d"] == 0.0 and rep["query_rank"] < 32
    # raw embeddings (no mixing layer): only `vocab` distinct queries, Assumption 1 fails too
    q, c = assumptions.token_pe_setting(600, 8, 32, rng, vocab=16, mix=False)
    rep = assumptions.assumption_report(q, c, 500, rng)
    assert rep["assumption2"] and not rep["assumption1"] and not rep["general_position"]


@pytest.mark.skipif(not assumptions.sklearn_available(), reason="scikit-learn is not installed")
def test_digits_setting_fails_general_position_but_meets_assumptions_1_2():
    rng = np.random.default_rng(9)
    q, c = assumptions.digits_setting(rng, patch=2, d=64)
    assert q.shape == (1797, 64) and c.shape == (1797, 16, 64)
    rep = assumptions.assumption_report(q, c, 500, rng)
    assert rep["assumption1"] and rep["assumption2"] and not rep["general_position"]
    assert rep["kruskal_n"] == 1.0 and rep["kruskal_d"] == 0.0 and rep["query_rank"] < 64
    # embeddings only (Table 1 config (i)): all CLS rows identical
    q, c = assumptions.digits_setting(rng, patch=4, d=32, layer=False)
    rep = assumptions.assumption_report(q, c, 200, rng)
    assert rep["query_rank"] == 1 and not rep["assumption1"] and rep["assumption2"]


def test_digits_setting_without_sklearn_raises_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="scikit-learn"):
        assumptions.digits_setting(np.random.default_rng(0))
    with pytest.raises(ValueError, match="patch"):
        assumptions.digits_setting(np.random.default_rng(0), patch=3)
