"""Each selm claim's check passes on the predicted pattern and fails on a wrong input and on the plausible
alternative (a flat trend, a leak that is not there, one winning cell too many)."""

from __future__ import annotations

import numpy as np

from rote.sims.studies.selm import claims as C


def test_exact_decryption():
    assert C.exact_verdict([1, 1, 0], [1, 1, 0])[1]
    assert not C.exact_verdict([1, 1, 0], [1, 0, 0])[1]  # one converged ciphertext decodes wrongly
    assert not C.exact_verdict([0, 0], [0, 0])[1]  # nothing converged: nothing shown


def test_convergence_and_determinism():
    assert C.convergence_verdict(0.96, 50)[1] and not C.convergence_verdict(0.94, 50)[1]
    assert C.determinism_verdict(6, 6)[1] and not C.determinism_verdict(5, 6)[1] and not C.determinism_verdict(0, 0)[1]


def test_wrong_key():
    assert C.wrong_key_verdict(0, 100, 0.22, 0.24)[1]
    assert not C.wrong_key_verdict(1, 100, 0.24, 0.24)[1]  # one exact decrypt under a wrong key
    assert not C.wrong_key_verdict(0, 100, 0.10, 0.24)[1]  # a wrong key that breaks the model
    assert not C.wrong_key_verdict(0, 100, 0.60, 0.24)[1]  # a wrong key that still carries the message


def test_monotone_trends():
    dec = {"Markov L 8": [130, 40, 10], "uniform L 8": [320, 60, 20]}
    assert C.monotone_verdict(dec, False, "d")[1]
    assert not C.monotone_verdict(dec, True, "d")[1]
    assert not C.monotone_verdict({"a": [40, 40, 40]}, False, "d")[1]  # flat: no trend
    assert not C.monotone_verdict({"a": [130, 40, 50]}, False, "d")[1]  # a rise at the end
    assert C.monotone_verdict({"a": [10, 40, 90]}, True, "L")[1]


def test_below():
    assert C.below_verdict({"x": 40, "y": 60}, {"x": 60, "y": 60}, "")[1]
    assert not C.below_verdict({"x": 40, "y": 60}, {"x": 40, "y": 60}, "")[1]  # equal everywhere
    assert not C.below_verdict({"x": 40, "y": 70}, {"x": 90, "y": 60}, "")[1]  # reversed in one cell


def test_game_claims():
    assert C.norm_leak_verdict(0.95, 1e-9)[1] and not C.norm_leak_verdict(0.6, 0.1)[1]
    assert C.l2_variant_verdict(0.55, 3)[1]
    assert not C.l2_variant_verdict(0.95, 3)[1]  # norms not equalised
    assert not C.l2_variant_verdict(0.55, 0)[1]  # nothing wins: the paper's point lost
    assert C.dist_verdict(1, 40, "", (100, 40))[1] and not C.dist_verdict(2, 40, "", (100, 40))[1]


def test_capacity():
    assert C.capacity_verdict({16: 4, 32: 8, 64: 16})[1]
    assert not C.capacity_verdict({16: 8, 32: 8, 64: 8})[1]  # a plateau
    assert not C.capacity_verdict({16: 8, 32: 16, 64: 4})[1]  # a drop


def test_holm_in_the_game_table_counts_cells():
    from rote.sims.studies.selm import game

    rng = np.random.default_rng(1)
    cts = {m: rng.normal(size=(40, 8)) for m in ("m1", "a", "b")}
    t = game.play(cts, {"p": ("m1", "a"), "q": ("m1", "b")}, attackers={"logreg": game.ATTACKERS["logreg"]}, test_fraction=0.5)
    assert t["reject"].shape == (2, 3) and int(t["reject"].sum()) <= int(t["reject_raw"].sum())
