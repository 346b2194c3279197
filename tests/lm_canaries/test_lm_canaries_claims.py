"""Every claim of lm-canaries passes on a plausible synthetic result and fails on a wrong input and on the
plausible alternative to its prediction (flat instead of rising, the wrong order, a broken mitigation)."""

from __future__ import annotations

import numpy as np
import pytest
from canary_fakes import default_extraction, exposure_curve, fake_dedup, fake_dp, fake_repetition, val_curve

from rote.sims.studies.lm_canaries import STUDY
from rote.sims.studies.lm_canaries import claims as cl
from rote.sims.studies.lm_canaries.analysis import val_plateau
from rote.sims.studies.lm_canaries.scales import quick_scale


@pytest.fixture(scope="module")
def rep():
    return fake_repetition()


def base(ds, width=32):
    return cl.at_width(ds, width)


def test_every_claim_passes_on_a_plausible_result(rep):
    ev = {"repetition": rep, "dedup": fake_dedup(), "dp": fake_dp()}
    verdicts = [c(ev) for c in STUDY.claims(quick_scale())]
    assert len(verdicts) == 15
    assert all(v.passed for v in verdicts), [(v.claim, v.measured) for v in verdicts if not v.passed]


def test_missing_panels_fail_as_not_measurable(rep):
    verdicts = [c({"repetition": rep}) for c in STUDY.claims(quick_scale())]
    dp = [v for v in verdicts if "DP" in v.claim or "epsilon" in v.claim]
    assert dp and all(not v.passed and "not measurable" in v.measured for v in dp)


def test_exposure_trend_fails_when_flat_or_decreasing(rep):
    assert cl.check_exposure_trend(base(rep))[1]
    flat = lambda r, **kw: exposure_curve(r, slope=0.0, **kw)  # noqa: E731 - repetition does nothing
    assert not cl.check_exposure_trend(base(fake_repetition(curve=flat)))[1]
    falling = lambda r, **kw: 12.0 - exposure_curve(r, **kw)  # noqa: E731
    assert not cl.check_exposure_trend(base(fake_repetition(curve=falling)))[1]


def test_exposure_gap_fails_below_three_bits(rep):
    assert cl.check_exposure_gap(base(rep))[1]
    weak = lambda r, **kw: exposure_curve(r, slope=0.2, **kw)  # noqa: E731 - a rise of about 2 bits
    text, ok = cl.check_exposure_gap(base(fake_repetition(curve=weak)))
    assert not ok, text


def test_null_fails_when_never_inserted_canaries_rise(rep):
    assert cl.check_null(base(rep))[1]
    leaked = lambda r, **kw: exposure_curve(r, **kw) + np.where(r == 0, 1.5, 0.0)  # noqa: E731 - r = 0 at about 2.9 bits
    assert not cl.check_null(base(fake_repetition(curve=leaked)))[1]
    low = lambda r, **kw: exposure_curve(r, null=0.2, **kw)  # noqa: E731 - below the null, e.g. ranks counted backwards
    assert not cl.check_null(base(fake_repetition(curve=low)))[1]


def test_extrapolation_fails_when_off_by_more_than_a_bit(rep):
    assert cl.check_extrapolation(base(rep))[1]
    off = rep.copy()
    off["exposure_extrapolated"] = off["exposure_isolated"] + 1.5
    assert not cl.check_extrapolation(base(off))[1]
    # the alternative reading: the exact exposure over all of R (other canaries ranked above) as the target
    crowded = rep.copy()
    crowded["exposure_isolated"] = crowded["exposure_final"]
    crowded["exposure_extrapolated"] = crowded["exposure_final"] + 2.0
    assert not cl.check_extrapolation(base(crowded))[1]


def test_width_fails_when_flat_decreasing_or_only_on_pilot_seeds(rep):
    assert cl.check_width(rep, 4, (0, 1))[1]
    flat = lambda r, **kw: exposure_curve(r, width_gain=0.0, **{k: v for k, v in kw.items() if k != "width"})  # noqa: E731
    assert not cl.check_width(fake_repetition(curve=flat), 4, (0, 1))[1]
    shrinking = lambda r, **kw: exposure_curve(r, width_gain=-1.0, **kw)  # noqa: E731
    assert not cl.check_width(fake_repetition(curve=shrinking), 4, (0, 1))[1]
    mixed = rep.copy()  # rises on the pilot seeds only
    e = mixed["exposure_r"].values.copy()
    e[:, 2:] = e[::-1, 2:]
    mixed["exposure_r"] = (mixed["exposure_r"].dims, e)
    text, ok = cl.check_width(mixed, 4, (0, 1))
    assert not ok and "other seeds" in text


def test_steps_fail_when_flat_in_training(rep):
    assert cl.check_steps(base(rep), 4)[1]
    instant = lambda r, step, **kw: exposure_curve(r, step=600, seed=kw["seed"] % 7, **{k: v for k, v in kw.items() if k != "seed"})  # noqa: E731
    assert not cl.check_steps(base(fake_repetition(curve=instant)), 4)[1]


def test_early_memorization_fails_if_it_comes_after_the_plateau(rep):
    text, ok = cl.check_early(base(rep), (0, 1))
    assert ok and "pilot seed 0: memorized 300, plateau 400" in text, text
    # the plausible alternative: canaries memorized only after validation loss has stopped improving
    slow = lambda r, **kw: exposure_curve(r, tau=400.0, **kw)  # noqa: E731 - 90 % of the maximum at step 500
    text, ok = cl.check_early(base(fake_repetition(curve=slow)), (0, 1))
    assert not ok and "after the plateau in seeds [0, 1, 2, 3]" in text and "memorized 500, plateau 400" in text, text
    # only the other seeds late: the pilot seeds alone do not carry the claim
    late = rep.copy()
    e = late["exposure_r"].values.copy()
    e[:, 2:, :10] = e[:, 2:, :1]  # seeds 2-3 sit at their step-0 exposure until step 450, then jump
    late["exposure_r"] = (late["exposure_r"].dims, e)
    text, ok = cl.check_early(base(late), (0, 1))
    assert not ok and "seeds [2, 3]" in text, text


def test_plateau_is_not_the_noisy_minimum(rep):
    """Validation loss flat from step 200 with noise (+-0.01 nats) and its lowest point late (step 550, within
    the noise): the plateau is at 200, so canaries memorized at 300 come after it, although before the
    minimum (the earlier reading, which this claim replaced)."""
    steps = rep["step"].values
    v = val_curve(tau=30.0, noise=0.0) + 0.01 * (-1.0) ** np.arange(steps.size)
    v[steps == 550] -= 0.015
    assert steps[np.argmin(v)] == 550
    plateau, tol = val_plateau(steps, v)
    assert plateau <= 250 and 0.03 < tol < 0.06, (plateau, tol)
    flat = rep.copy()
    flat["val_loss"] = (("width", "seed", "step"), np.broadcast_to(v, flat["val_loss"].shape).copy())
    assert not cl.check_early(base(flat), (0, 1))[1]
    # a curve that keeps improving by more than its noise to the end: the plateau is late and the claim holds
    v = 1.6 - 0.5 * steps / steps[-1] + 0.001 * (-1.0) ** np.arange(steps.size)
    assert val_plateau(steps, v)[0] >= 550
    slow = rep.copy()
    slow["val_loss"] = (("width", "seed", "step"), np.broadcast_to(v, slow["val_loss"].shape).copy())
    assert cl.check_early(base(slow), (0, 1))[1]


def test_extraction_in_r_fails_when_flat_or_falling(rep):
    assert cl.check_extraction(rep, "r")[1]
    flat = lambda r, k, w: np.full(np.broadcast_shapes(np.shape(r), np.shape(k)), 0.3)  # noqa: E731
    assert not cl.check_extraction(fake_repetition(extract=flat), "r")[1]
    falling = lambda r, k, w: default_extraction(16 - r, k, w)  # noqa: E731
    assert not cl.check_extraction(fake_repetition(extract=falling), "r")[1]


def test_extraction_in_k_fails_when_falling(rep):
    assert cl.check_extraction(rep, "prompt")[1]
    falling = lambda r, k, w: default_extraction(r, 10 - k, w)  # noqa: E731 - longer prompts extract less
    assert not cl.check_extraction(fake_repetition(extract=falling), "prompt")[1]


def test_extraction_width_fails_when_narrow_extracts_more(rep):
    assert cl.check_extraction_width(rep)[1]
    narrow = lambda r, k, w: default_extraction(r, k, 96 - w)  # noqa: E731
    assert not cl.check_extraction_width(fake_repetition(extract=narrow))[1]
    flat = lambda r, k, w: default_extraction(r, k, 32)  # noqa: E731 - width does nothing
    same = fake_repetition(extract=flat)
    same["canary_extracted"] = same["canary_extracted"].isel(width=0).expand_dims(width=same["width"].values).transpose(*same["canary_extracted"].dims)
    same["sequence_extracted"] = same["sequence_extracted"].isel(width=0).expand_dims(width=same["width"].values).transpose(*same["sequence_extracted"].dims)
    assert not cl.check_extraction_width(same)[1]  # exactly equal: not higher


def test_dedup_fails_when_repetition_still_counts(rep):
    assert cl.check_dedup(fake_dedup(), plain=base(rep))[1]
    useless = fake_dedup(exposure_by_level=(1.4, 3.0, 4.5, 6.0, 8.5, 10.9))  # deduplication that does nothing
    assert not cl.check_dedup(useless)[1]
    over = fake_dedup(exposure_by_level=(1.4, 3.0, 1.5, 1.5, 1.4, 1.5))  # wrong input: removes the canaries altogether
    assert not cl.check_dedup(over)[1]


def test_dp_trend_fails_when_noise_does_not_help():
    assert cl.check_dp_trend(fake_dp())[1]
    assert not cl.check_dp_trend(fake_dp(exposure_top=(10.0, 10.2, 9.9, 10.1)))[1]  # flat in sigma
    assert not cl.check_dp_trend(fake_dp(exposure_top=(2.0, 4.0, 7.0, 10.0)))[1]  # rising in sigma


def test_dp_threshold_is_checked_as_stated():
    assert cl.check_dp_threshold(fake_dp())[1]
    text, ok = cl.check_dp_threshold(fake_dp(exposure_top=(10.41, 3.66, 4.36, 3.99)))  # the quick measurement
    assert not ok and "{1: 4.36, 2: 3.99}" in text, text


def test_declared_gaps_are_reported_not_reproduced_and_still_checked(rep):
    """At quick scale the two declared gaps read NOT REPRODUCED when they fail (the same checks, the same
    tolerances) and PASS when they hold; the other claims are unaffected. The smoke and paper scales
    declare none."""
    from rote.sims.studies.lm_canaries.scales import paper_scale, smoke_scale

    slow = fake_repetition(curve=lambda r, **kw: exposure_curve(r, tau=400.0, **kw))  # memorized after the plateau
    ev = {"repetition": slow, "dedup": fake_dedup(), "dp": fake_dp(exposure_top=(10.41, 3.66, 4.36, 3.99))}
    verdicts = {v.claim: v for v in (c(ev) for c in STUDY.claims(quick_scale()))}
    gaps = {name for name, v in verdicts.items() if v.not_reproduced}
    assert gaps == {"memorized before val loss stops improving", "DP-SGD: exposure <= 3 bits at sigma >= 1"}
    assert all(not verdicts[n].passed and not verdicts[n].failed for n in gaps)
    assert "seeds [0, 1, 2, 3]" in verdicts["memorized before val loss stops improving"].measured
    assert sum(bool(c.not_reproduced) for c in STUDY.claims(quick_scale())) == 2
    ok = {v.claim: v for v in (c({"repetition": rep, "dedup": fake_dedup(), "dp": fake_dp()}) for c in STUDY.claims(quick_scale()))}
    assert all(ok[n].passed and not ok[n].not_reproduced for n in gaps)
    for other in (smoke_scale(), paper_scale()):
        assert not any(c.not_reproduced for c in STUDY.claims(other))


def test_audit_fails_when_it_exceeds_the_accountant():
    assert cl.check_audit(fake_dp())[1]
    assert not cl.check_audit(fake_dp(audit=(1.0, 0.2, 3.0, 0.0)))[1]  # a broken DP step: audit 3.0 > accountant 2.2


def test_dp_plain_fails_on_a_real_difference():
    assert cl.check_dp_plain(fake_dp())[1]
    assert not cl.check_dp_plain(fake_dp(gap=1e-3))[1]  # e.g. noise added at sigma 0, or the wrong denominator
    assert not cl.check_dp_plain(fake_dp(gap=np.nan))[1]
