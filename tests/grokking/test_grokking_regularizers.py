"""Regularizer axes of the grokking study: dropout, BatchNorm (PyTorch conventions), minibatches.

References are independent: torch.nn.BatchNorm1d for the BatchNorm forward and running statistics,
Monte-Carlo averages for the dropout inflation, explicit row bookkeeping for the epoch order.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rote.sims import engine
from rote.sims.errors import ConfigError
from rote.sims.params import replace
from rote.sims.studies.grokking import STUDY, gradient, model, scales
from rote.sims.studies.grokking import run as training
from rote.sims.studies.grokking.params import GrokkingParams

SMOKE = GrokkingParams(p=23, N=64, steps=100, log_every=20, alpha=0.6, xi=0.2, weight_decay=1.0, prune_curves=0)


@pytest.fixture(scope="module")
def runs():
    """Smoke-size runs shared by the tests below (one compile each): default, dropout 0 through the
    dropout path, BatchNorm at batch 32, minibatch 16 without BatchNorm."""
    configs = {
        "plain": SMOKE,
        "dropout0": replace(SMOKE, regularizer="dropout", dropout=0.0),
        "batchnorm": replace(SMOKE, regularizer="batchnorm", batch_size=32, lr=0.005, weight_decay=0.0),
        "minibatch": replace(SMOKE, batch_size=16),
    }
    return {name: engine.run_one(STUDY, cfg) for name, cfg in configs.items()}


def rows_of(cfg, key=jax.random.PRNGKey(0)):
    d = training.make_data(cfg, key)
    k = cfg.n_train
    return model.init_weights(cfg, key), d["m"][:k], d["n"][:k], d["noisy"][:k], d


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(regularizer="l2"), "regularizer"),
        (dict(dropout=0.3), "needs regularizer='dropout'"),
        (dict(regularizer="dropout", dropout=1.0), "dropout"),
        (dict(regularizer="dropout", dropout=-0.1), "dropout"),
        (dict(batch_size=-1), "batch_size"),
        (dict(batch_size=10_000), "batch_size"),
        (dict(regularizer="batchnorm", batch_size=1), "BatchNorm"),
        (dict(prune_curves="yes"), "prune_curves"),
        (dict(prune_curves=2), "prune_curves"),
    ],
)
def test_bad_regularizer_settings_raise_config_errors(kw, match):
    with pytest.raises(ConfigError, match=match):
        replace(SMOKE, **kw)


def test_regularizer_fields_static_or_traced():
    from rote.sims.params import static_fields, traced_fields

    assert {"regularizer", "batch_size", "prune_curves"} <= set(static_fields(GrokkingParams))
    assert "dropout" in traced_fields(GrokkingParams)  # a dropout axis is one compiled group


# --------------------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------------------


def test_dropout_zero_equals_no_dropout(runs):
    """Rate 0 through the dropout path (plain jax.grad) gives the curves of the default fast path."""
    plain, zero = runs["plain"], runs["dropout0"]
    for name in ("train_acc", "test_acc", "corrupt_acc", "clean_acc"):
        np.testing.assert_allclose(zero[name], plain[name], atol=1e-3, err_msg=name)
    np.testing.assert_allclose(zero["train_loss"], plain["train_loss"], rtol=1e-3, atol=1e-5)


def test_dropout_inflates_train_outputs_by_one_over_keep():
    """Inverted dropout before the square: E[(mask h / (1 - q))^2] = h^2 / (1 - q),
    measured on the model's own train-mode features over 64 keys; eval-mode features are h^2."""
    q = 0.6
    cfg = replace(SMOKE, regularizer="dropout", dropout=q)
    w, m, n, y, _ = rows_of(cfg)
    h2 = model.features(w, m, n)
    np.testing.assert_allclose(np.asarray(h2), np.asarray((w["Ut"][m] + w["Vt"][n]) ** 2), rtol=1e-6)
    train = jax.vmap(lambda k: model.train_features(w, m, n, cfg, k)[0])(jax.random.split(jax.random.PRNGKey(1), 64))
    assert float(jnp.mean(train)) == pytest.approx(float(jnp.mean(h2)) / (1 - q), rel=0.02)
    dropped = float(jnp.mean(train == 0))
    assert dropped == pytest.approx(q, abs=0.01)
    # the loss the optimiser sees is the train-mode one (inflated), not the eval loss
    loss_train, _ = model.regularized_loss(w, m, n, y, cfg, jax.random.PRNGKey(2))
    assert float(loss_train) != pytest.approx(float(model.mse(model.forward(w, m, n), y)), rel=1e-3)


def test_dropout_masks_differ_per_step_and_per_seed():
    cfg = replace(SMOKE, regularizer="dropout", dropout=0.5)
    w, m, n, y, _ = rows_of(cfg)
    g = jax.grad(lambda w, k: model.regularized_loss(w, m, n, y, cfg, k)[0])
    g1, g2 = g(w, jax.random.PRNGKey(1)), g(w, jax.random.PRNGKey(2))
    assert not np.allclose(g1["Ut"], g2["Ut"])
    np.testing.assert_array_equal(np.asarray(g(w, jax.random.PRNGKey(1))["Ut"]), np.asarray(g1["Ut"]))  # same key, same mask


@pytest.mark.slow
def test_dropout_rates_vmapped_equal_single_runs():
    base = replace(SMOKE, regularizer="dropout", steps=40)
    configs = [replace(base, dropout=q) for q in (0.0, 0.3, 0.6)]
    out = engine.run_chunk(STUDY, configs, 3)
    for i, cfg in enumerate(configs):
        alone = engine.run_one(STUDY, cfg)
        np.testing.assert_allclose(out["train_loss"][i], alone["train_loss"], rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(out["test_acc"][i], alone["test_acc"], atol=1e-3)
    assert not np.allclose(out["train_loss"][0], out["train_loss"][2])


# --------------------------------------------------------------------------------------------------
# BatchNorm: PyTorch conventions
# --------------------------------------------------------------------------------------------------


def test_batchnorm_matches_torch_batchnorm1d():
    """Training-mode forward (batch mean, biased variance), running statistics (momentum 0.1, unbiased
    variance) and eval-mode forward (running statistics) equal torch.nn.BatchNorm1d's."""
    torch = pytest.importorskip("torch")
    cfg = replace(SMOKE, regularizer="batchnorm", batch_size=16)
    w, m, n, y, _ = rows_of(cfg)
    m, n, y = m[:16], n[:16], y[:16]
    bn_params, stats = model.init_bn(cfg)
    rng = np.random.default_rng(0)
    bn_params = {"gamma": jnp.asarray(rng.uniform(0.5, 1.5, cfg.N), jnp.float32), "beta": jnp.asarray(rng.normal(0, 0.1, cfg.N), jnp.float32)}
    weights = {**w, **bn_params}
    loss, new_stats = model.regularized_loss(weights, m, n, y, cfg, jax.random.PRNGKey(0), stats)

    layer = torch.nn.BatchNorm1d(cfg.N)  # eps 1e-5, momentum 0.1
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(np.asarray(bn_params["gamma"])))
        layer.bias.copy_(torch.tensor(np.asarray(bn_params["beta"])))
    a = np.asarray((w["Ut"][m] + w["Vt"][n]) ** 2)
    layer.train()
    out = layer(torch.tensor(a)).detach().numpy()
    logits = out @ np.asarray(w["Wt"])
    ref_loss = np.mean((logits - np.eye(cfg.p)[np.asarray(y)]) ** 2)
    assert float(loss) == pytest.approx(float(ref_loss), rel=1e-5)
    np.testing.assert_allclose(new_stats["mean"], layer.running_mean.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(new_stats["var"], layer.running_var.numpy(), rtol=1e-5, atol=1e-7)

    layer.eval()
    checkpoint = model.checkpoint_of(weights, new_stats)
    feats = model.features(checkpoint, m, n)
    np.testing.assert_allclose(np.asarray(feats), layer(torch.tensor(a)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_batchnorm_run_outputs_gamma_and_trains(runs):
    out = runs["batchnorm"]
    assert out["bn_gamma"].shape == (SMOKE.N,) and np.isfinite(out["bn_gamma"]).all() and (out["bn_gamma"] >= 0).all()
    assert not np.allclose(out["bn_gamma"], 1.0)  # gamma was trained
    assert out["train_loss"][-1] < out["train_loss"][0]
    assert np.isnan(runs["plain"]["bn_gamma"]).all()  # no BatchNorm: not applicable


# --------------------------------------------------------------------------------------------------
# Minibatches
# --------------------------------------------------------------------------------------------------


def test_minibatches_cover_each_train_row_once_per_epoch():
    cfg = replace(SMOKE, batch_size=8)
    per_epoch = cfg.n_train // 8
    key = jax.random.PRNGKey(3)
    pos = np.stack([np.asarray(training.batch_positions(cfg, key, t)) for t in range(2 * per_epoch)])
    first, second = pos[:per_epoch].ravel(), pos[per_epoch:].ravel()
    for epoch in (first, second):
        assert len(np.unique(epoch)) == per_epoch * 8  # no row twice within an epoch
        assert epoch.min() >= 0 and epoch.max() < cfg.n_train
    assert cfg.n_train - per_epoch * 8 == cfg.n_train % 8  # the partial batch is dropped
    assert not np.array_equal(first, second)  # a fresh permutation per epoch
    assert training.batch_positions(replace(SMOKE, batch_size=0), key, 0) is None  # full batch


def test_epoch_orders_drawn_once_give_the_same_batches_as_per_step_draws():
    cfg = replace(SMOKE, batch_size=8, steps=3 * (SMOKE.n_train // 8) + 5, log_every=1)  # a partial last epoch
    key = jax.random.PRNGKey(5)
    orders = training.epoch_orders(cfg, key)
    assert orders.shape == (4, cfg.n_train)
    for t in (0, 1, cfg.n_train // 8 - 1, cfg.n_train // 8, cfg.steps - 1):
        np.testing.assert_array_equal(training.batch_positions(cfg, key, t, orders), training.batch_positions(cfg, key, t))
    assert training.epoch_orders(replace(cfg, batch_size=0), key) is None


def test_minibatch_base_follows_the_paper_scaling():
    base = scales.quick_scale().base
    for bs, steps, lr in ((256, 1000, 0.01), (64, 4000, 0.005), (8, 32000, 0.01 * math.sqrt(8 / 256))):
        cfg = scales.minibatch_base(base, bs, 1000)
        assert (cfg.batch_size, cfg.steps) == (bs, steps)
        assert cfg.lr == pytest.approx(lr)
        assert cfg.steps // cfg.log_every == 100  # logged at the same epochs at every batch size


def test_minibatch_run_uses_the_fast_step_and_learns(runs, monkeypatch):
    out = runs["minibatch"]
    assert out["train_acc"][-1] > 0.3 and out["train_loss"][-1] < out["train_loss"][0]
    assert not np.allclose(out["train_loss"], runs["plain"]["train_loss"])  # another trajectory
    # tracing a minibatch run goes through the hand-written gradient (loss_and_grad), on batch rows
    seen = []
    original = gradient.loss_and_grad

    def spy(weights, m, n, labels, n_blocks=1):
        seen.append(m.shape)
        return original(weights, m, n, labels, n_blocks)

    monkeypatch.setattr(gradient, "loss_and_grad", spy)
    jax.make_jaxpr(training.train)(replace(SMOKE, batch_size=16, steps=20), jax.random.PRNGKey(0))
    assert seen and all(shape[-1] == 16 for shape in seen)


def test_quick_scale_panels():
    scale = scales.quick_scale()
    sweeps = scale.sweeps()
    # the quick scale keeps the panels a claim reads (5-minute budget); the figure-only ones are the paper scale's
    assert {"wd", "seeds", "batchnorm", "width"} <= set(sweeps) and not {"dropout", "minibatch_8", "multiplication"} & set(sweeps)
    paper = scales.paper_scale().sweeps()
    assert {"dropout", "minibatch_8", "minibatch_256", "multiplication"} | {f"batchnorm_{bs}" for bs in (8, 32, 64, 256)} <= set(paper)
    for bs in (8, 32, 256):  # the paper's BN panels follow the minibatch rule (phase_diagrams_bn.py)
        bn = paper[f"batchnorm_{bs}"][0]
        assert (bn.regularizer, bn.batch_size, bn.steps * bs, bn.lr) == ("batchnorm", bs, 2000 * 256, pytest.approx(0.01 * (bs / 256) ** 0.5))
    assert sweeps["wd"] == (scale.base, scale.grid)
    assert paper["dropout"][0].regularizer == "dropout" and sweeps["batchnorm"][0].regularizer == "batchnorm"
    assert len(sweeps["seeds"][1]["seed"]) >= 5
    for name, (base, grid) in sweeps.items():  # every config of every panel is valid
        engine.Grid.build(base, grid)
