"""The lexical-overlap study at smoke scale: corpus layout, repetition weights, bad input (one line, exit 2),
claims and figures running on real smoke results."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rote.sims import cli, engine
from rote.sims.params import replace
from rote.sims.studies.lexical_overlap import STUDY, analysis
from rote.sims.studies.lexical_overlap.model import bigram_ids
from rote.sims.studies.lexical_overlap.params import corpus_spec
from rote.sims.studies.lexical_overlap.run import METRIC_DIMS, repetition_weights
from rote.sims.studies.lexical_overlap.scales import SCALES, smoke_scale
from rote.sims.study import Evidence
from rote.sims.summaries import ENTITY_TYPES, TYPES, make_corpus, max_similarities, zipf_copies

SMOKE = smoke_scale().base


@pytest.mark.parametrize("setting, field", [
    ("theta=1.5", "theta"),
    ("theta=-0.1", "theta"),
    ("k=0", "k"),
    ("beta=-1", "beta"),
    ("bins=1", "bins"),
])
def test_bad_input_is_one_line_and_exit_2(setting, field, capsys, tmp_path):
    code = cli.main(["sweep", "lexical-overlap", "--scale", "smoke", "--out", str(tmp_path / "r"), "--no-progress", "--set", setting])
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_BAD_INPUT
    assert len(err.splitlines()) == 1 and field in err, err


def test_every_scale_builds():
    for name, build in SCALES.items():
        scale = build()
        assert set(scale.sweeps()) == {"main", "calibration", "control"}, name
        control = scale.sweeps()["control"][0]
        assert control.storylines == 0 and control.artifact == 0
    paper = SCALES["paper"]().base
    assert (paper.storylines, paper.copies_min, paper.copies_max, paper.novel) == (30, 5, 200, 5000)


def test_corpus_layout():
    spec = corpus_spec(SMOKE)
    c = make_corpus(spec)
    copies = zipf_copies(spec)
    assert copies[0] == spec.copies_max and copies[-1] == spec.copies_min and np.all(np.diff(copies) <= 0)
    assert c.train_doc.shape[0] == copies.sum() + spec.novel
    assert np.bincount(c.test_subset, minlength=4).tolist() == [spec.test_repeat, spec.test_variant, spec.test_novel, spec.test_heldout]
    assert all(w.isalnum() and w.islower() or w.isdigit() for w in c.words[3:])
    ent = c.entity_mask
    assert ent.sum() == sum((c.token_type == TYPES.index(t)).sum() for t in ENTITY_TYPES)
    # the artifact: the reference names an organisation the document does not contain
    orgs = set(np.flatnonzero(c.token_type == TYPES.index("org")).tolist())
    for doc, summ, art in zip(c.train_doc, c.train_sum, c.train_artifact):
        ref_org = (set(summ.tolist()) & orgs).pop()
        assert (ref_org in doc.tolist()) == (not art)
    # variants keep the storyline's person and template but name a new organisation, correctly
    var = np.flatnonzero(c.test_subset == 1)
    assert all(c.test_usual_org[i] not in c.test_doc[i].tolist() and c.test_usual_org[i] not in c.test_sum[i].tolist() for i in var)
    sim, _ = max_similarities(c.test_sum, c.train_sum)
    assert sim[c.test_subset == 0].mean() > sim[c.test_subset == 2].mean() > sim[c.test_subset == 3].mean()


def test_repetition_weights_cap_and_random_subset():
    c = make_corpus(corpus_spec(SMOKE))
    refs = bigram_ids(jnp.asarray(c.train_sum), c.vocab)
    key = jax.random.PRNGKey(0)
    full = np.asarray(repetition_weights(replace(SMOKE, mode=0), refs, key))
    capped = np.asarray(repetition_weights(replace(SMOKE, mode=1, theta=0.6, k=1), refs, key))
    rand = np.asarray(repetition_weights(replace(SMOKE, mode=2, theta=0.6, k=1), refs, key))
    assert full.all() and capped.sum() == rand.sum() < full.sum()
    story = c.train_storyline >= 0
    assert capped[story].mean() < capped[~story].mean()  # capping removes the repeated storylines first
    kept = np.flatnonzero(capped)
    sims, _ = max_similarities(c.train_sum[kept], c.train_sum[kept], exclude_self=True)
    assert np.all(sims < 0.6 + 1e-6) or np.mean(sims >= 0.6) < 0.1  # k = 1: almost no kept pair has a close kept neighbour
    loose = np.asarray(repetition_weights(replace(SMOKE, mode=1, theta=0.6, k=1000), refs, key))
    assert loose.all()


def test_smoke_results(smoke_main):
    ds = smoke_main["main"]
    for var in METRIC_DIMS:
        assert var in ds and "units" in ds[var].attrs, var
    for var in ("r2", "er", "uer", "sim", "bin", "bin_edges", "rote_r2", "oracle_r2"):
        assert var in ds, var
    assert np.all((ds["r2"] >= 0) & (ds["r2"] <= 1))
    assert np.all(np.diff(ds["bin_edges"].values) >= 0)
    w = ds["weight"]
    assert float(w.sel(mode=0).min()) == 1
    assert np.array_equal(w.sel(mode=1).sum("pair").values, w.sel(mode=2).sum("pair").values)
    assert np.array_equal(ds["gen_cal"].values, ds["gen_mle"].values)  # no calibration in the main panel


def test_main_claims_and_figures_on_smoke_evidence(smoke_main, tmp_path):
    verdicts = [c(Evidence(smoke_main, ("calibration", "control"))) for c in STUDY.claims(smoke_scale())]
    measured = [v for v in verdicts if not v.not_measured]
    assert len(measured) == 6 and all("not measurable" not in v.measured for v in measured), [v.measured for v in measured]
    assert {v.claim[:2] for v in verdicts if v.not_measured} == {"L6", "NC"}
    paths = STUDY.make_figures(smoke_main, tmp_path)
    assert {p.name for p in paths} == {"bins.png", "uer.png", "mitigation.png"} and all(p.stat().st_size > 0 for p in paths)


@pytest.mark.slow
def test_every_panel_claims_and_figures(smoke, tmp_path):
    cal = smoke["calibration"]
    assert float(cal["cand_distinct"].min()) > 0 and np.isfinite(cal["score_spread_after"]).all()
    assert 0 <= float(cal["rank_agreement_after"].min()) <= 1
    verdicts = [c(Evidence(smoke)) for c in STUDY.claims(smoke_scale())]
    assert len(verdicts) == 8 and not any(v.not_measured for v in verdicts)
    assert all("not measurable" not in v.measured for v in verdicts), [v.measured for v in verdicts]
    missing = [c(Evidence({}, ("main", "calibration", "control"))) for c in STUDY.claims(smoke_scale())]
    assert all(v.not_measured for v in missing)
    paths = STUDY.make_figures(smoke, tmp_path)
    assert {p.name for p in paths} == {"bins.png", "uer.png", "mitigation.png", "calibration.png"}


def test_per_bin_tables(smoke_main):
    ds = analysis.test_examples(smoke_main["main"].sel(mode=0))
    b = analysis.per_bin(ds, "r2")
    ci = analysis.bootstrap_bins(ds, "r2", draws=50)
    assert b.shape == (SMOKE.bins,) and np.all(ci[:, 0] <= b + 1e-12) and np.all(b <= ci[:, 1] + 1e-12)


def test_config_alone_equals_config_in_a_grid(smoke_main):
    base, _ = smoke_scale().sweeps()["main"]
    alone = engine.sweep(STUDY, base, {"mode": (1,), "seed": (1,)}, None, progress=False, log=lambda m: None)
    for var in METRIC_DIMS:
        assert np.array_equal(alone[var].sel(mode=1, seed=1).values, smoke_main["main"][var].sel(mode=1, seed=1).values), var
