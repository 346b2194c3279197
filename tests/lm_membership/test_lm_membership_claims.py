"""Each claim of lm-membership passes on the predicted outcome and fails on its plausible alternative
(one failing-input test per claim)."""

from __future__ import annotations

from rote.sims.studies.lm_membership import claims as C


def test_rare_vs_common_gap():
    assert C.rare_common_verdict({"rare": 0.7, "common": 0.05})[1]
    # alternative: memorization that does not tell rare from common text (both memorized alike)
    assert not C.rare_common_verdict({"rare": 0.6, "common": 0.5})[1]
    assert not C.rare_common_verdict({"rare": 0.24, "common": 0.05})[1]  # just under the 0.2 margin


def test_common_text_not_memorized():
    assert C.common_low_verdict({"common": 0.05}, 0.95)[1]
    # alternative: the templated text memorized like any other (IN - OUT gap above 0.1)
    assert not C.common_low_verdict({"common": 0.15}, 0.95)[1]
    # alternative: low mem only because the model never learned the family (training accuracy low)
    assert not C.common_low_verdict({"common": 0.02}, 0.5)[1]


def test_lira_beats_loss():
    assert C.lira_loss_verdict(0.30, 0.10)[1]
    # alternative: per-example calibration buys nothing at low FPR (same TPR as the global threshold)
    assert not C.lira_loss_verdict(0.12, 0.10)[1]
    assert not C.lira_loss_verdict(0.0, 0.0)[1]


def test_fixed_variance():
    assert C.fixed_variance_verdict({"online": 0.9, "offline": 0.8}, {"online": 0.88, "offline": 0.79}, 16)[1]
    # alternative: per-example variances already well estimated (better than the global one)
    assert not C.fixed_variance_verdict({"online": 0.86, "offline": 0.8}, {"online": 0.88, "offline": 0.79}, 16)[1]


def test_negative_control():
    assert C.negative_verdict({"loss": 0.51, "lira_online": 0.53})[1]
    # alternative: the one-epoch model still leaks membership to one attack
    assert not C.negative_verdict({"loss": 0.51, "lira_online": 0.60})[1]


def test_dedup_lowers_auc_on_duplicates():
    assert C.dedup_verdict({"loss": 0.9, "rmia": 0.95}, {"loss": 0.7, "rmia": 0.8})[1]
    # alternative: deduplication does not matter to some attack
    assert not C.dedup_verdict({"loss": 0.9, "rmia": 0.95}, {"loss": 0.7, "rmia": 0.95})[1]
