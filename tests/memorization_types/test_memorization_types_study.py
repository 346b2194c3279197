"""The memorization-types study: the shared generators (rote.sims.tasks), bad input (one line, exit 2),
one smoke panel end to end, and (slow) every panel with claims and figures."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rote.sims import cli, tasks, text
from rote.sims.errors import ConfigError
from rote.sims.stats import bootstrap_interval
from rote.sims.studies.memorization_types import STUDY, analysis
from rote.sims.studies.memorization_types.params import TypesParams, item_count, layout
from rote.sims.studies.memorization_types.run import METRIC_DIMS
from rote.sims.studies.memorization_types.scales import PANELS, SCALES, smoke_scale
from rote.sims.study import Evidence


@pytest.mark.parametrize("setting, field", [
    ("levels=1/4", "level 0"),
    ("levels=0/4/2", "ascending"),
    ("rule=rotate", "rule"),
    ("fraction=1.5", "fraction"),
    ("probe=opinions", "probe"),
    ("top_k=999", "top_k"),
])
def test_bad_input_is_one_line_and_exit_2(setting, field, capsys, tmp_path):
    code = cli.main(["sweep", "memorization-types", "--scale", "smoke", "--out", str(tmp_path / "r"), "--no-progress", "--set", setting])
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_BAD_INPUT
    assert len(err.splitlines()) == 1 and field in err, err


def test_variants_beyond_the_allocated_rows_is_a_config_error():
    with pytest.raises(ConfigError, match="max_variants"):
        TypesParams(probe="alignment", variants=9, max_variants=8).validate()


def test_every_scale_builds_six_panels():
    for name, build in SCALES.items():
        sweeps = build().sweeps()
        assert tuple(sweeps) == PANELS, name
        assert {base.probe for base, _ in sweeps.values()} == set(PANELS)
        assert sweeps["distribution"][1]["fraction"] and sweeps["alignment"][1]["variants"]


def test_fact_templates_hold_both_slots_the_object_last_and_own_fillers():
    t = np.asarray(tasks.fact_templates(jax.random.PRNGKey(0), 4, 6, 100))
    assert t.shape == (4, 6) and np.all(t[:, -1] == tasks.OBJECT)
    for row in t:
        assert (row[:-1] == tasks.SUBJECT).sum() == 1 and (row[:-1] == tasks.RELATION).sum() == 1
    fillers = [set(row[row >= 0]) for row in t]
    assert all(not (a & b) for i, a in enumerate(fillers) for b in fillers[i + 1 :])  # a held-out template shares no filler
    rows = np.asarray(tasks.fact_rows(jnp.asarray(t), jnp.array([1, 2]), jnp.array([10, 11]), jnp.array([20, 21])))
    assert rows.shape == (4, 2, 6) and np.all(rows[:, :, -1] == [20, 21]) and np.all((rows == 1).sum(-1)[:, 0] == 1)


def test_rules_and_lists():
    x = jnp.array([[3, 1, 2, 0]])
    assert np.array_equal(tasks.apply_rule(x, "copy"), x)
    assert np.array_equal(tasks.apply_rule(x, "reverse"), [[0, 2, 1, 3]])
    assert np.array_equal(tasks.apply_rule(x, "sort"), [[0, 1, 2, 3]])
    with pytest.raises(ConfigError):
        tasks.apply_rule(x, "rotate")
    idx, lists = tasks.distinct_lists(jax.random.PRNGKey(1), 50, 3, 4)
    assert len(set(np.asarray(idx).tolist())) == 50 and np.asarray(lists).max() < 4
    assert np.array_equal(np.asarray(lists) @ np.array([16, 4, 1]), np.asarray(idx))


def test_chain_avoiding_and_synonyms():
    chain = text.markov_chain(jax.random.PRNGKey(2), 6, 2)
    avoid = np.asarray(tasks.chain_avoiding(chain, 0))
    np.testing.assert_allclose(avoid.sum(1), 1.0, atol=1e-6)
    assert np.all(avoid[:, 0] == 0)
    seqs = np.asarray(text.sample_sequences(jax.random.PRNGKey(3), jnp.asarray(avoid), 50, 10))
    assert (seqs[:, 1:] != 0).all()  # after the (uniform) first state the chain never enters state 0
    toks = tasks.with_synonyms(jax.random.PRNGKey(4), jnp.zeros((200,), jnp.int32), 0, jnp.array([7, 8, 9]))
    assert set(np.asarray(toks).tolist()) == {7, 8, 9}


def test_bootstrap_interval():
    m, lo, hi = bootstrap_interval([0.2, 0.4, 0.6, 0.8])
    assert lo < m < hi and m == pytest.approx(0.5) and 0.2 <= lo and hi <= 0.8
    assert bootstrap_interval([0.3, 0.3, 0.3]) == (0.3, 0.3, 0.3)
    assert np.isnan(bootstrap_interval([])[0])


def test_meta_classifier_separates_a_property_and_not_noise():
    rng = np.random.default_rng(0)
    labels = np.repeat([0.2, 0.5, 0.8], 8)
    feats = np.stack([labels + 0.02 * rng.normal(size=24), rng.normal(size=24)], 1)
    assert analysis.meta_classifier(feats, labels)["p_value"] < 0.01
    assert analysis.meta_classifier(rng.normal(size=(24, 2)), labels)["p_value"] > 0.01
    with pytest.raises(ConfigError):
        analysis.meta_classifier(feats[:3], labels[:3])


def test_bigram_features_count_word_pairs_only():
    f = analysis.bigram_features(np.array([[5, 0, 1, 0, 1]]), 3)  # token 5 (an author tag) is skipped
    assert f.sum() == 3 and f[0, 0 * 3 + 1] == 2 and f[0, 1 * 3 + 0] == 1


def test_alignment_smoke_panel(alignment_smoke):
    ds = alignment_smoke["alignment"]
    p = smoke_scale().sweeps()["alignment"][0]
    for var in METRIC_DIMS:
        assert var in ds and "units" in ds[var].attrs, var
    assert ds.sizes["item"] == item_count(p) and list(ds["decoder"].values) == ["greedy", "sample", "top_k"]
    lay = layout(p)
    group = ds["group"].sel(seed=0)
    assert int((group.sel(variants=1) == 0).sum()) == 1 and int((group.sel(variants=4) == 0).sum()) == 4  # traced variants
    hit = ds["hit"].values
    assert np.all((hit >= 0) & (hit <= 1))
    gen = ds["generated"].sel(decoder="greedy").values
    assert set(np.unique(gen[..., -1])) <= set(range(lay["vocab"]))
    rates = analysis.group_rates(ds)
    assert set(rates["group"].values.tolist()) == {0, 1, 2, 3, 4}


def test_claims_without_panels_are_not_measured_and_one_panel_is_read(alignment_smoke):
    claims = STUDY.claims(smoke_scale())
    missing = [c(Evidence({}, PANELS)) for c in claims]
    assert all(v.not_measured for v in missing)
    partial = Evidence(alignment_smoke, tuple(p for p in PANELS if p != "alignment"))
    measured = [v for v in (c(partial) for c in claims) if not v.not_measured]
    assert len(measured) == 2 and all("not measurable" not in v.measured for v in measured), [v.measured for v in measured]


@pytest.mark.slow
def test_every_smoke_panel_claims_and_figures(all_smoke, tmp_path):
    ev = all_smoke
    verdicts = [c(Evidence(ev)) for c in STUDY.claims(smoke_scale())]
    assert len(verdicts) == 10 and all("not measurable" not in v.measured for v in verdicts), [v.measured for v in verdicts]
    paths = STUDY.make_figures(ev, tmp_path)
    assert {p.name for p in paths} == {"summary.png", "decoding.png", "probes.png"} and all(p.stat().st_size > 0 for p in paths)
    assert len(analysis.summary_table(ev, 100)) == 8
