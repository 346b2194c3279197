"""Every claim of entity-memorization passes on a plausible input and fails on its plausible alternative."""

from __future__ import annotations

import numpy as np
from entity_fakes import curve, fake_main, fake_mitigated

from rote.sims.studies.entity_memorization import claims as C
from rote.sims.studies.entity_memorization.scales import SCALES


def test_leak_order_fails_when_partial_leak_suffices_better():
    assert C.check_leak_order(fake_main())[1]
    # alternative: the model keys on the name alone (l1 high, full leak lower)
    alt = lambda r, lk, k, t="training": curve(r, 3, "unique", t) * (1.0 if lk < 3 else 0.5)  # noqa: E731
    assert not C.check_leak_order(fake_main(rate=alt))[1]


def test_full_leak_needs_both_seed_sets():
    assert C.check_full_leak(fake_main(), pilot_seeds=(0,))[1]
    weak = lambda r, lk, k, t="training": 0.6 * curve(r, lk, k, t)  # noqa: E731
    measured, ok = C.check_full_leak(fake_main(rate=weak), pilot_seeds=(0,))
    assert not ok and "pilot seeds [0]" in measured and "other seeds [1]" in measured


def test_exposure_order():
    assert C.check_exposure_leak(fake_main())[1]
    assert not C.check_exposure_leak(fake_main(exposure=(5.0, 3.0, 2.0)))[1]


def test_r_trend_fails_when_repetition_hurts():
    assert C.check_r_trend(fake_main())[1]
    down = lambda r, lk, k, t="training": curve(r, lk, k, t) * np.where(r >= 8, 0.5, 1.0)  # noqa: E731
    assert not C.check_r_trend(fake_main(rate=down))[1]


def test_never_trained_null():
    assert C.check_never_trained(fake_main())[1]
    leak = lambda r, lk, k, t="training": np.where(r == 0, 0.2, curve(r, lk, k, t))  # noqa: E731  (test-set contamination)
    assert not C.check_never_trained(fake_main(rate=leak))[1]


def test_inference_control_fails_when_email_is_memorized_like_the_phone():
    assert C.check_inference(fake_main())[1]
    memorized = fake_main()
    memorized["email_em_r"] = memorized["em_r"]
    assert not C.check_inference(memorized)[1]
    assert not C.check_inference(fake_main(email=0.0))[1]  # no e-mail emitted at all: a vacuous control


def test_ambiguity_fails_when_ambiguous_queries_extract():
    assert C.check_ambiguity(fake_main())[1]
    assert not C.check_ambiguity(fake_main(amb=(0.6, 0.6, 0.9)))[1]


def test_soft_prompt():
    assert C.check_soft(fake_main(soft=0.3, hard=0.1))[1]
    assert not C.check_soft(fake_main(soft=0.05, hard=0.1))[1]
    assert not C.check_soft(fake_main())[1]  # 0 vs 0 is no extraction
    assert not C.check_soft(fake_main(soft=0.1, hard=0.1, soft_step=0))[1]  # the kept prompt is the hand-written start


def test_per_seed_subsets_need_every_subset():
    good = fake_main()
    bad = fake_main(rate=lambda r, lk, k, t="training": curve(r, lk, k, t) * np.where(r >= 8, 0.5, 1.0))  # noqa: E731
    mixed = good.copy(deep=True)
    mixed["em_r"].loc[dict(seed=1)] = bad["em_r"].sel(seed=1)
    measured, ok = C.per_seeds(C.check_r_trend, mixed, (0,))
    assert not ok and "pilot seeds [0]" in measured and "other seeds [1]" in measured
    assert C.per_seeds(C.check_r_trend, good, (0,))[1]


def test_scale_needs_the_wider_model_to_associate_more():
    wide = fake_main(rate=lambda r, lk, k, t="training": curve(r, 3, "unique", t) * (0.6 if lk < 3 else 1.0) + (t == "held-out") * 0.1 * (r > 0))
    narrow = fake_main(seeds=(0,))
    assert C.check_scale(wide, narrow)[1]
    assert not C.check_scale(narrow, wide.sel(seed=[0]))[1]


def test_tokens_fail_when_verbatim_is_cheaper():
    assert C.check_tokens(fake_main())[1]
    assert not C.check_tokens(fake_main(verbatim=(0.95, 0.95, 0.95, 0.95)))[1]


def test_mitigation_cut():
    assert C.check_mitigation(fake_main(), fake_mitigated(0.2), "dedup")[1]
    assert not C.check_mitigation(fake_main(), fake_mitigated(0.7), "dedup")[1]
    dp = fake_mitigated(0.2, sigmas=(0.5, 1.0))
    assert C.check_mitigation(fake_main(), dp, "DP-SGD")[1]
    dp["em_r"].loc[dict(sigma=0.5)] = dp["em_r"].sel(sigma=0.5) * 3.5  # weak noise keeps the phone
    assert not C.check_mitigation(fake_main(), dp, "DP-SGD")[1]


def test_claims_cover_every_check_and_declare_gaps():
    for name, build in SCALES.items():
        scale = build()
        cl = C.claims(scale)
        assert len(cl) == 12, name
        assert set(scale.sweeps()) == {"main", "dedup", "dp", "scale"}
    quick = {c.name: c for c in C.claims(SCALES["quick"]())}
    assert quick["EN5 soft prompt beats hand-written (held out)"].not_reproduced
    assert not quick["EN2 never-trained persons at the null"].not_reproduced
