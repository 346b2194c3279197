"""The selm study at smoke scale: encryption round trips, keys, the cache, bad input (one line, exit 2),
saved ciphertexts re-played by a plugged-in attacker, claims and figures on real smoke results."""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from rote.sims import cli, lm, public_lm, text
from rote.sims.devices import run_chunk
from rote.sims.errors import ConfigError
from rote.sims.params import replace
from rote.sims.studies.selm import STUDY, analysis, game
from rote.sims.studies.selm import model as M
from rote.sims.studies.selm.params import param_count
from rote.sims.studies.selm.run import distribution_penalty, l2_norm
from rote.sims.studies.selm.scales import SCALES, smoke_scale
from rote.sims.study import Evidence

SMOKE = smoke_scale()


@pytest.mark.parametrize("setting, field", [
    (["message=3/7/99", "length=3"], "outside the vocabulary"),
    (["length=20"], "longer than the context"),
    (["message=" + "/".join(["1"] * 14), "length=14"], "longer than the context"),
    (["d_max=100000", "d=64"], "parameter count"),
    (["d=99999"], "parameter count"),
    (["seed=1.5"], "seed"),
    (["seed=abc"], "seed"),
])
def test_bad_input_is_one_line_and_exit_2(setting, field, capsys, tmp_path):
    args = ["sweep", "selm", "--scale", "smoke", "--out", str(tmp_path / "r"), "--no-progress", "--panel", "init"]
    for s in setting:
        args += ["--set", s]
    code = cli.main(args)
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_BAD_INPUT
    assert len(err.splitlines()) == 1 and field in err, err


def test_every_scale_builds_with_one_static_shape():
    for name, build in SCALES.items():
        scale = build()
        statics = {tuple(getattr(b, f) for f in ("context", "width", "layers", "d_max", "check_every")) for b, _ in scale.sweeps().values()}
        assert len(statics) == 1, name  # one compile per scale
        assert {"trends", "init", "capacity", "original_m1", "dist_uniform"} <= set(scale.sweeps())
    assert param_count(SCALES["paper"]().base) == 109_489  # the fact sheet's D


def test_param_count_matches_the_model():
    p = SMOKE.base
    w = lm.init_params(M.build_model(p), jax.random.PRNGKey(0))
    assert lm.param_count(w) == param_count(p)


@pytest.mark.slow
def test_public_model_cache_is_keyed_atomic_and_recovers(selm_cache):
    p = SMOKE.base
    model = M.build_model(p)
    chain = M.public_chain(p)
    args = (p.pretrain_steps, p.pretrain_batch, p.pretrain_lr, p.public_seed)  # the smoke model's (one compile)
    path = public_lm.cache_dir() / f"{public_lm.cache_key(model, chain, *args)}.npz"
    path.unlink(missing_ok=True)
    a = public_lm.pretrained(model, chain, *args)
    assert path.exists() and not [f for f in os.listdir(path.parent) if ".tmp-" in f]
    b = public_lm.pretrained(model, chain, *args)  # read back: the same bits
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(x, y)
    assert public_lm.cache_key(model, chain, 6, 4, 1e-3, 0) != public_lm.cache_key(model, chain, 5, 4, 1e-3, 0)
    other = text.markov_chain(jax.random.PRNGKey(9), p.vocab, p.successors)
    assert public_lm.cache_key(model, other, 5, 4, 1e-3, 0) != public_lm.cache_key(model, chain, 5, 4, 1e-3, 0)
    path.write_bytes(b"not an npz")  # a damaged file is retrained and replaced
    c = public_lm.pretrained(model, chain, *args)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(c)):
        np.testing.assert_array_equal(x, y)
    with np.load(path) as f:
        assert f["flat"].shape == (param_count(p),)


def test_penalties_are_finite_at_zero_and_match_numpy():
    g = jax.grad(l2_norm)(jnp.zeros(8))
    assert np.all(np.isfinite(np.asarray(g)))
    x = np.random.default_rng(0).normal(size=10).astype(np.float32) * 2
    padded = jnp.concatenate([jnp.asarray(x), jnp.asarray([5.0, -7.0], jnp.float32)])  # entries past d ignored
    xs = np.sort(x)
    gap = np.abs(np.arange(1, 11) / 10 - stats.norm.cdf(xs / 1.5))
    want = np.sum(np.diff(xs) * (gap[1:] + gap[:-1]) / 2)
    assert float(distribution_penalty(padded, 10, 1.5)) == pytest.approx(want, rel=1e-5)
    assert np.all(np.isfinite(np.asarray(jax.grad(distribution_penalty)(jnp.zeros(12), 10, 1.5))))


def test_messages_by_kind_and_sequence_layout():
    p = SMOKE.base
    msgs = [np.asarray(M.message_tokens(p, k, 0, p.length)) for k in range(4)]
    assert all(m.min() >= 0 and m.max() < p.vocab for m in msgs)
    assert len({m.tobytes() for m in msgs}) == 4
    toks, target = M.sequence(p, jnp.asarray(msgs[0]), p.length)
    toks, target = np.asarray(toks), np.asarray(target)
    assert toks[p.prompt + p.length] == M.eos(p) and target.sum() == p.length + 1
    explicit = replace(p, message="1/2/3/4")
    np.testing.assert_array_equal(np.asarray(M.message_tokens(explicit, 3, 5, 4))[:4], [1, 2, 3, 4])
    with pytest.raises(ConfigError, match="set length=3"):
        replace(p, message="1/2/3")


@pytest.mark.slow
def test_smoke_round_trip_keys_and_determinism(smoke):
    t = smoke["trends"]
    conv, exact = t["converged"].values > 0.5, t["exact"].values > 0.5
    assert conv.mean() > 0.5 and np.all(exact[conv]) and not t["wrong_exact"].values.any()
    ds = smoke["original_m1"]
    p = analysis.params_of(ds)
    pre, _ = M.public_weights(p)
    one = ds.isel(seed=0)
    out = np.asarray(M.decrypt(p, pre, np.asarray(one["theta"].values), p.d, jax.random.PRNGKey(int(one["seed"]))))
    np.testing.assert_array_equal(out, one["decoded"].values)
    assert M.cut_at_eos(p, out) == list(one["tokens"].values[p.prompt : p.prompt + p.length])
    wrong = np.asarray(M.decrypt(p, pre, np.asarray(one["theta"].values), p.d, jax.random.PRNGKey(int(one["seed"]) + 1)))
    assert M.cut_at_eos(p, wrong) != M.cut_at_eos(p, out)


@pytest.mark.slow
def test_config_is_bit_identical_alone_or_in_a_grid(smoke):
    base, grid = SMOKE.sweeps()["trends"]
    ds = smoke["trends"]
    d, L, kind, seed = grid["d"][1], grid["length"][0], 3, grid["seed"][0]
    alone = run_chunk(STUDY, [replace(base, d=d, length=L, kind=kind, seed=seed)], 2)
    cell = ds.sel(d=d, length=L, kind=kind, seed=seed)
    for var in ("theta", "steps", "decoded", "norm"):
        np.testing.assert_array_equal(alone[var][0], cell[var].values, err_msg=var)


@pytest.mark.slow
def test_saved_ciphertexts_replay_with_a_new_attacker(smoke, tmp_path):
    cells = SMOKE.cells
    path = analysis.export_ciphertexts(smoke, cells, tmp_path / "ciphertexts.npz")
    loaded = analysis.load_ciphertexts(path)
    orig = loaded["original"]
    assert set(orig) == set(cells.messages)
    np.testing.assert_array_equal(orig["m1"]["key"], smoke["original_m1"]["seed"].values)
    cts = {m: v["theta"][v["converged"] > 0.5] for m, v in orig.items()}

    class Majority:  # a plugged-in attacker: always the training majority
        def fit(self, X, y):
            self.c = int(np.mean(y) >= 0.5)
            return self

        def predict(self, X):
            return np.full(len(X), self.c)

    table = game.play(cts, cells.pairs, attackers={"majority": lambda n: Majority()}, test_fraction=0.5)
    assert set(table["cell"].values) == {"majority/features", "majority/raw", "l2_threshold/features"}
    assert float(table["accuracy"].sel(cell="majority/raw").max()) <= 0.75


def test_game_finds_a_planted_leak_and_not_a_null():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(60, 16)), rng.normal(size=(60, 16)) * 2.0  # norms differ
    c = rng.normal(size=(60, 16))
    t = game.play({"a": a, "b": b, "c": c}, {"leak": ("a", "b"), "null": ("a", "c")}, test_fraction=0.5,
                  attackers={k: game.ATTACKERS[k] for k in ("logreg", "lda")})
    assert float(t["accuracy"].sel(pair="leak", cell="l2_threshold/features")) >= 0.85
    assert bool(t["reject"].sel(pair="leak", cell="l2_threshold/features"))
    assert int(t["reject"].sel(pair="null").sum()) == 0


@pytest.mark.slow
def test_claims_run_on_smoke_evidence(smoke):
    verdicts = [c(Evidence(smoke)) for c in STUDY.claims(SMOKE)]
    assert len(verdicts) == 12 and not any(v.not_measured for v in verdicts)
    # at smoke a variant may have too few converged ciphertexts for its game (said in one line); nothing else
    bad = [v.measured for v in verdicts if "not measurable" in v.measured and "too few converged" not in v.measured]
    assert not bad, bad
    assert sum("not measurable" not in v.measured for v in verdicts) >= 9
    missing = [c(Evidence({}, tuple(SMOKE.sweeps()))) for c in STUDY.claims(SMOKE)]
    assert all(v.not_measured for v in missing)


@pytest.mark.slow
def test_figures_from_smoke_evidence(smoke, tmp_path):
    paths = STUDY.make_figures(smoke, tmp_path)
    assert [p.name for p in paths] == ["steps.png", "norms.png", "game.png", "capacity.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)
