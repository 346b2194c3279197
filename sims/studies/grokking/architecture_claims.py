"""Claims 10-13 of the `grokking` study: other losses, activations and architectures (arXiv 2310.13061,
App. M cross-entropy, App. N ReLU, Fig. 7a transformer, Fig. 7b 3-layer ReLU MLP).

The quick scale's cells and weight decays for these came from pilots on seeds 0-2 (NOTES.md); each claim
reads its panel (the pilot seed 0) and the panel ``<name>_oos`` (the claimed cells at seeds the pilots did
not use), reports both, and passes only if it holds out of sample too (``analysis.pilot_verdict``). The
checks work on any subset of cells, so the out-of-sample panels hold only the cells a claim names.
"""

from __future__ import annotations

import xarray as xr

from ....theory import grokking as theory
from ...study import Claim, Scale
from .analysis import phases_by_cell, pilot_verdict, runs_by_seed

Phase = theory.Phase
GENERALIZING = {Phase.COEXISTENCE, Phase.PARTIAL_INVERSION, Phase.FULL_INVERSION}
INVERTED = {Phase.PARTIAL_INVERSION, Phase.FULL_INVERSION}
QUADRATIC = ("wd", "wd_oos")  # the quadratic MSE net the cross-entropy and ReLU claims compare with


def _count(phases: dict, wanted) -> str:
    return f"{sum(ph in wanted for ph in phases.values())}/{len(phases)}"


def _pct(x) -> str:
    return f"{100 * float(x):.1f}%"


def _phase_at(ds: xr.Dataset, alpha: float, xi: float, wd: float) -> Phase:
    return Phase(int(ds["phase"].sel(alpha=alpha, xi=xi, weight_decay=wd, method="nearest", tolerance=1e-6)))


def _per_seed(evidence, name: str, pilots, one, compare: bool = False) -> tuple[str, bool]:
    """``one(panel at a seed[, quadratic panel at that seed]) -> (text, ok)`` on every seed of the panels
    ``name`` and ``name``_oos, split by ``pilots``."""
    runs = runs_by_seed(evidence, (name, f"{name}_oos"))
    if not runs:
        raise KeyError(f"no {name} panel in the evidence")
    quad = runs_by_seed(evidence, QUADRATIC) if compare else {}

    def group(seeds):
        results = []
        for s in seeds:
            if compare and s not in quad:
                results.append((s, f"no quadratic (wd panel) run at seed {s}", False))
                continue
            results.append((s, *(one(runs[s], quad[s]) if compare else one(runs[s]))))
        return "; ".join(f"seed {s}: {t}" for s, t, _ in results), all(ok for *_, ok in results)

    return pilot_verdict(runs, pilots, group)


def ce_band_one(ce: xr.Dataset, mse: xr.Dataset, low: float = 0.0, band: float = 5.0, high: float = 10.0) -> tuple[str, bool]:
    """One seed of claim 10: every CE cell Memorization at wd ``low``, inverted at ``band``, not generalizing
    at ``high``, where the MSE net (same cells, same seed) still inverts."""
    at_low, at_band, at_high = (phases_by_cell(ce, w) for w in (low, band, high))
    mse_high = {k: _phase_at(mse, *k, high) for k in at_high}
    ok = (
        all(ph == Phase.MEMORIZATION for ph in at_low.values())
        and all(ph in INVERTED for ph in at_band.values())
        and not any(ph in GENERALIZING for ph in at_high.values())
        and all(ph in INVERTED for ph in mse_high.values())
    )
    return (
        f"CE wd {low:g}: Memorization {_count(at_low, {Phase.MEMORIZATION})}; wd {band:g}: inverted {_count(at_band, INVERTED)}; "
        f"wd {high:g}: generalizing {_count(at_high, GENERALIZING)} (MSE at wd {high:g}: inverted {_count(mse_high, INVERTED)})"
    ), ok


def check_ce_band(evidence, pilots=None, **kw):
    """App. M: with cross-entropy, inversion needs weight decay and happens only in a narrow band: every
    cell of the ``cross_entropy`` panels is Memorization at wd 0, Partial or Full Inversion at wd 5, and
    generalizes nowhere at wd 10 (final test < 90 %), where the MSE net (``wd`` panels, same cells and
    seed) still inverts in every cell."""
    return _per_seed(evidence, "cross_entropy", pilots, lambda ce, mse: ce_band_one(ce, mse, **kw), compare=True)


def relu_one(relu: xr.Dataset, quad: xr.Dataset, low: float = 0.0, high: float = 10.0, margin: int = 2) -> tuple[str, bool]:
    """One seed of claim 11: at wd ``low`` the ReLU net generalizes in at least ``margin`` fewer cells than the
    quadratic net (same cells, same seed); at wd ``high`` it is Partial or Full Inversion in every cell."""
    r_low, r_high = phases_by_cell(relu, low), phases_by_cell(relu, high)
    q_low = {k: _phase_at(quad, *k, low) for k in r_low}
    n_relu, n_quad = (sum(ph in GENERALIZING for ph in d.values()) for d in (r_low, q_low))
    ok = n_relu <= n_quad - margin and all(ph in INVERTED for ph in r_high.values())
    return f"wd {low:g}: generalizing ReLU {n_relu}/{len(r_low)} vs quadratic {n_quad}/{len(q_low)}; ReLU wd {high:g}: inverted {_count(r_high, INVERTED)}", ok


def check_relu_needs_wd(evidence, pilots=None, **kw):
    """App. N: the ReLU net needs more regularization than the quadratic one: at wd 0 it generalizes
    (Coexistence or inversion) in at least 2 fewer cells of the ``relu`` panels than the quadratic net
    (``wd`` panels, same cells and seed), and at wd 10 it is Partial or Full Inversion in every cell."""
    return _per_seed(evidence, "relu", pilots, lambda relu, quad: relu_one(relu, quad, **kw), compare=True)


def transformer_one(ds: xr.Dataset, cell_=(0.9, 0.15), wd: float = 3.0, max_corrupt: float = 0.2) -> tuple[str, bool]:
    """One seed of claim 12: Memorization in every cell at wd 0; at wd ``wd`` in ``cell_`` test >= 90 % and
    corrupted-subset accuracy (vs the noisy labels) below ``max_corrupt``."""
    at_zero = phases_by_cell(ds, 0.0)
    c = ds.sel(alpha=cell_[0], xi=cell_[1], weight_decay=wd, method="nearest", tolerance=1e-6)
    test, corrupt = float(c["final_test_acc"]), float(c["final_corrupt_acc"])
    ok = all(ph == Phase.MEMORIZATION for ph in at_zero.values()) and test >= 0.9 and corrupt < max_corrupt
    return f"wd 0: Memorization {_count(at_zero, {Phase.MEMORIZATION})}; wd {wd:g} at {tuple(cell_)}: test {_pct(test)}, corrupted {_pct(corrupt)}", ok


def check_transformer(evidence, pilots=None, **kw):
    """Fig. 7a: the one-layer transformer memorizes the corrupted labels in every cell of the
    ``transformer`` panels at wd 0 (train >= 90 %, test < 90 %), and at wd 3 stops memorizing them in cell
    (alpha 0.9, xi 0.15): test >= 90 % and corrupted-subset accuracy below 20 %."""
    return _per_seed(evidence, "transformer", pilots, lambda ds: transformer_one(ds, **kw))


def mlp3_one(ds: xr.Dataset, xi: float = 0.2, low: float = 0.0, mid: float = 5.0, high: float = 20.0) -> tuple[str, bool]:
    """One seed of claim 13: no cell generalizes at wd ``low``; every cell with corruption ``xi`` is Full
    Inversion at wd ``mid``; every cell Confusion or Forgetting at wd ``high``."""
    at_low, at_mid, at_high = (phases_by_cell(ds, w) for w in (low, mid, high))
    at_xi = {k: ph for k, ph in at_mid.items() if abs(k[1] - xi) < 1e-6}
    if not at_xi:
        raise KeyError(f"no xi {xi} cell in the mlp3 panel")
    lost = {Phase.CONFUSION, Phase.FORGETTING}
    ok = not any(ph in GENERALIZING for ph in at_low.values()) and all(ph == Phase.FULL_INVERSION for ph in at_xi.values()) and all(ph in lost for ph in at_high.values())
    return f"wd {low:g}: generalizing {_count(at_low, GENERALIZING)}; wd {mid:g}, xi {xi:g}: Full Inversion {_count(at_xi, {Phase.FULL_INVERSION})}; wd {high:g}: Confusion/Forgetting {_count(at_high, lost)}", ok


def check_mlp3(evidence, pilots=None, **kw):
    """Fig. 7b: the 3-layer ReLU MLP generalizes in no cell of the ``mlp3`` panels at wd 0 (test < 90 %), is
    Full Inversion in every cell with corruption 0.2 at wd 5, and fits nothing at wd 20 (Confusion or
    Forgetting everywhere)."""
    return _per_seed(evidence, "mlp3", pilots, lambda ds: mlp3_one(ds, **kw))


def architecture_claims(scale: Scale) -> list[Claim]:
    """Claims 10-13, for a scale whose cells have ``architectures`` (the quick panels' settings)."""
    cells = scale.cells
    if cells is None or not cells.architectures:
        return []
    oos = "; pilot seeds and the others apart, both must hold"
    return [
        Claim(
            "10 App. M: cross-entropy inverts only in a narrow wd band",
            "CE, every cell of its panels (quick: alpha 0.9 x xi 0.2/0.35): all Memorization at wd 0, all inverted at wd 5, none generalizes at wd 10 where MSE still inverts",
            "every cell of each seed, App. C phase thresholds (test/train 90%)" + oos,
            lambda ev: check_ce_band(ev, cells.pilots("cross_entropy")),
        ),
        Claim(
            "11 App. N: ReLU needs more regularization",
            "ReLU at wd 0 generalizes in fewer cells than the quadratic net; at wd 10 it inverts everywhere",
            "per seed: at least 2 cells fewer of 4 at wd 0; every cell Partial/Full Inversion at wd 10" + oos,
            lambda ev: check_relu_needs_wd(ev, cells.pilots("relu")),
        ),
        Claim(
            "12 Fig. 7a: the transformer memorizes at wd 0, stops memorizing corrupted labels at wd 3",
            "every cell Memorization at wd 0; at wd 3, cell (alpha 0.9, xi 0.15) generalizes and drops the corrupted labels",
            "per seed: test >= 90%, corrupted-subset accuracy < 20%" + oos,
            lambda ev: check_transformer(ev, cells.pilots("transformer")),
        ),
        Claim(
            "13 Fig. 7b: 3-layer ReLU MLP: no generalization at wd 0, inversion at wd 5, nothing fits at wd 20",
            "wd 0: no cell generalizes; wd 5: Full Inversion in every cell at xi 0.2; wd 20: Confusion/Forgetting everywhere",
            "every cell of each seed, App. C phase thresholds" + oos,
            lambda ev: check_mlp3(ev, cells.pilots("mlp3")),
        ),
    ]
