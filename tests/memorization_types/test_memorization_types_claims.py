"""Each claim of memorization-types passes on the predicted numbers and fails on the plausible
alternative (not only on nonsense): a flat trend, a rate at chance, a leak into the control, an
estimator that cannot see memorization, identical decoders."""

from __future__ import annotations

import numpy as np

from rote.sims.studies.memorization_types import claims as C


def test_verbatim_extraction():
    assert C.extraction_verdict(1.0, 0.0, 16)[1]
    assert not C.extraction_verdict(0.3, 0.0, 16)[1]  # exposure without extraction: not extracted
    assert not C.extraction_verdict(1.0, 0.2, 16)[1]  # never-inserted canaries "extracted": a leak


def test_facts_rise_with_repetitions():
    levels = [0, 1, 2, 4, 8, 16]
    assert C.facts_rise_verdict(levels, [0.12, 0.3, 0.5, 0.8, 0.95, 1.0])[1]
    assert not C.facts_rise_verdict(levels, [0.9, 0.95, 0.92, 0.96, 0.94, 0.95])[1]  # flat: stored at any r (e.g. leak)
    assert not C.facts_rise_verdict(levels, [0.12, 0.14, 0.13, 0.15, 0.12, 0.16])[1]  # flat at chance: nothing learned
    assert not C.facts_rise_verdict(levels, [0.12, 1.0, 0.6, 0.4, 0.3, 0.2])[1]  # peaks then falls


def test_never_trained_facts_at_chance():
    assert C.chance_verdict(8, 64, 0.125)[1]
    assert not C.chance_verdict(30, 64, 0.125)[1]  # above chance: the control learned something
    assert not C.chance_verdict(0, 64, 0.125)[1]  # systematically avoided: p = 2e-4


def test_ideas_generalization_and_reasoned_not_stored():
    assert C.generalization_verdict(0.97, 8.0**-4)[1]
    assert not C.generalization_verdict(0.4, 8.0**-4)[1]  # memorizes the training lists only
    assert C.reasoned_verdict(0.95, 0.01, 0.35)[1]
    assert not C.reasoned_verdict(0.1, 0.0, 0.3)[1]  # never-trained rule strings not extracted: no reasoning
    assert not C.reasoned_verdict(0.95, 0.3, 0.5)[1]  # the strings were stored (IN much better than OUT)
    assert not C.reasoned_verdict(0.95, 0.0, 0.05)[1]  # the estimator sees no memorization even of random strings


def test_style():
    assert C.style_verdict(0.97, 0.05)[1]
    assert not C.style_verdict(0.6, 0.05)[1]  # generations only weakly in the author's style
    assert not C.style_verdict(0.97, 0.8)[1]  # the never-trained author's style appears


def test_property_inference():
    good = {"accuracy": 0.9, "k": 22, "n": 24, "chance": 1 / 3, "p_value": 1e-8}
    chance = {"accuracy": 0.38, "k": 9, "n": 24, "chance": 1 / 3, "p_value": 0.4}
    assert C.meta_verdict(good, chance)[1]
    assert not C.meta_verdict(chance, chance)[1]  # p not recovered
    assert not C.meta_verdict(good, good)[1]  # the permuted control "recovered" too: the test is broken


def test_alignment_refusal_and_variants():
    assert C.refusal_verdict(1.0, 0.05, 0.0, 1)[1]
    assert not C.refusal_verdict(1.0, 0.9, 0.0, 1)[1]  # generalized, not memorized
    assert not C.refusal_verdict(1.0, 0.0, 0.3, 1)[1]  # refuses ordinary prompts too
    assert C.variants_verdict([1, 2, 4, 8], [0.0, 0.1, 0.2, 0.35])[1]
    assert C.variants_verdict([1, 2, 4, 8], [0.008, 0.102, 0.234, 0.211])[1]  # Spearman exactly 0.8 (one swap) passes
    assert not C.variants_verdict([1, 2, 4, 8], [0.3, 0.102, 0.234, 0.5])[1]  # Spearman 0.4: not a trend
    assert not C.variants_verdict([1, 2, 4, 8], [0.02, 0.01, 0.02, 0.03])[1]  # flat
    assert not C.variants_verdict([1, 2, 4, 8], [0.4, 0.3, 0.2, 0.1])[1]  # falls


def test_decoding_dependence():
    row = lambda g, s, k: {"greedy": g, "sample": s, "top_k": k, "greedy r=0": 0.0, "sample r=0": 0.0, "top_k r=0": 0.0}  # noqa: E731
    assert C.decoding_verdict({"verbatim": row(0.8, 0.6, 0.7), "facts": row(0.9, 0.7, 0.75)})[1]
    assert not C.decoding_verdict({"verbatim": row(0.8, 0.79, 0.8), "facts": row(0.9, 0.7, 0.75)})[1]  # same verdicts
    assert not C.decoding_verdict({"facts": row(0.9, 0.7, 0.75)})[1]  # one probe missing


def test_every_claim_states_its_tolerance():
    from rote.sims.studies.memorization_types.scales import smoke_scale

    cl = C.claims(smoke_scale())
    assert len(cl) == 10 and all(c.tolerance and c.prediction for c in cl)
    assert np.all([c.name for c in cl])
