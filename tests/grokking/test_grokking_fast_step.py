"""The grokking training step's hand-written gradient (gradient.train_loss, loss_and_grad).

It must equal ``jax.grad`` of the plain loss ``mse(forward(w, m, n), y)`` to float rounding on every
path: one block, several blocks with a padded last block, vmapped configs trained one after another
(several blocks each) or all at once (one block); and a whole training run must give the same curves
as one that differentiates the plain loss.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rote.sims import engine
from rote.sims.params import replace
from rote.sims.studies.grokking import STUDY, gradient, model
from rote.sims.studies.grokking import run as training
from rote.sims.studies.grokking.params import GrokkingParams


def plain_loss(w, m, n, y):
    return model.mse(model.forward(w, m, n), y)


def train_rows(cfg, seed=0):
    """Init weights and the train rows (m, n, noisy label) of a config."""
    key = jax.random.PRNGKey(seed)
    d = training.make_data(cfg, key)
    k = cfg.n_train
    return model.init_weights(cfg, key), d["m"][:k], d["n"][:k], d["noisy"][:k]


def perturbed(w, seed=1, scale=0.5):
    """Weights away from init (larger, less symmetric errors than at step 0)."""
    keys = jax.random.split(jax.random.PRNGKey(seed), len(w))
    return {k: v + scale * jnp.std(v) * jax.random.normal(kk, v.shape) for kk, (k, v) in zip(keys, sorted(w.items()))}


def assert_grads_close(new, ref, rtol=1e-5):
    """Each leaf within rtol of the reference, relative to the leaf's largest entry."""
    assert set(new) == set(ref)
    for k in ref:
        assert new[k].shape == ref[k].shape, k
        err = float(jnp.max(jnp.abs(new[k] - ref[k])))
        size = float(jnp.max(jnp.abs(ref[k])))
        assert size > 0, k
        assert err <= rtol * size, f"{k}: max abs error {err:.3g} vs max |grad| {size:.3g}"


CONFIGS = [
    GrokkingParams(p=23, N=64, alpha=0.5, xi=0.2, steps=1, log_every=1),  # smoke size: one block
    GrokkingParams(p=47, N=192, alpha=0.3, xi=0.35, steps=1, log_every=1),  # quick size: one block
    GrokkingParams(p=97, N=500, alpha=0.5, xi=0.35, steps=1, log_every=1),  # paper size: several blocks on CPU
    GrokkingParams(p=97, N=500, alpha=0.9, xi=0.0, operation="mul", steps=1, log_every=1),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"p{c.p}-N{c.N}-a{c.alpha}")
def test_gradient_equals_jax_grad_of_the_plain_loss(cfg):
    w, m, n, y = train_rows(cfg)
    for weights in (w, perturbed(w)):
        ref_loss, ref = jax.jit(jax.value_and_grad(plain_loss))(weights, m, n, y)
        loss, new = jax.jit(jax.value_and_grad(gradient.train_loss))(weights, m, n, y)
        assert float(loss) == pytest.approx(float(ref_loss), rel=1e-5)
        assert_grads_close(new, ref)


def test_paper_size_uses_several_blocks_on_cpu():
    """So the test above covers the blocked path at the size the paper scale runs."""
    cfg = GrokkingParams()
    n_blocks, rows = gradient.row_blocks(cfg.n_train, cfg.N)
    assert n_blocks > 1 and n_blocks * rows >= cfg.n_train


@pytest.mark.parametrize("n_blocks", [1, 2, 3, 4, 7, 264])
def test_gradient_is_independent_of_the_number_of_blocks(n_blocks):
    """One block, even blocks, a padded last block (264 rows in 7 blocks of 38), one row per block."""
    cfg = GrokkingParams(p=23, N=64, alpha=0.5, xi=0.2, steps=1, log_every=1)
    w, m, n, y = train_rows(cfg)
    w = perturbed(w)
    ref = jax.grad(plain_loss)(w, m, n, y)
    loss, new = jax.jit(gradient.loss_and_grad, static_argnums=4)(w, m, n, y, n_blocks)
    assert float(loss) == pytest.approx(float(plain_loss(w, m, n, y)), rel=1e-5)
    assert_grads_close(new, ref)


@pytest.mark.parametrize("n_rows, N", [(1, 8), (7, 8), (264, 64), (1104, 192), (4704, 500), (8468, 500), (9408, 1000)])
def test_row_blocks_cover_the_rows(n_rows, N):
    n_blocks, rows = gradient.row_blocks(n_rows, N)
    assert n_blocks >= 1 and rows >= 1
    assert n_blocks * rows >= n_rows > (n_blocks - 1) * rows  # padding is less than one block
    assert n_blocks == 1 or rows * N * 4 <= 1.5 * gradient.CPU_BLOCK_BYTES


@pytest.mark.parametrize("block_bytes", [None, 20_000], ids=["one-block-batched", "several-blocks-sequential"])
def test_vmapped_gradient_equals_per_config_gradient(monkeypatch, block_bytes):
    """The vmap rule: configs all at once (one block) or one after another (several blocks each);
    weights batched or shared, data batched."""
    if block_bytes is not None:
        monkeypatch.setattr(gradient, "CPU_BLOCK_BYTES", block_bytes)
    monkeypatch.setattr(gradient.jax, "local_device_count", lambda: 1)  # also under forced host devices
    base = GrokkingParams(p=23, N=64, alpha=0.5, steps=1, log_every=1)
    assert (gradient.row_blocks(base.n_train, base.N)[0] > 1) == (block_bytes is not None)
    configs = [replace(base, xi=xi, seed=seed) for xi, seed in ((0.0, 0), (0.3, 1), (0.5, 2))]
    rows = [train_rows(c, c.seed) for c in configs]
    stacked = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *rows)
    fn = jax.vmap(jax.value_and_grad(gradient.train_loss))
    scans = str(jax.make_jaxpr(fn)(*stacked)).count("scan[")
    assert scans == (2 if block_bytes is not None else 0)  # lax.map over configs around the block scan, or neither
    batched = jax.jit(fn)(*stacked)
    shared_w = jax.jit(jax.vmap(jax.grad(gradient.train_loss), in_axes=(None, 0, 0, 0)))(rows[0][0], *stacked[1:])
    for i, (w, m, n, y) in enumerate(rows):
        assert float(batched[0][i]) == pytest.approx(float(plain_loss(w, m, n, y)), rel=1e-5)
        assert_grads_close({k: v[i] for k, v in batched[1].items()}, jax.grad(plain_loss)(w, m, n, y))
        assert_grads_close({k: v[i] for k, v in shared_w.items()}, jax.grad(plain_loss)(rows[0][0], m, n, y))


def test_undifferentiated_value_is_the_plain_loss():
    """Without differentiation, train_loss is the plain loss (the custom VJP only changes the gradient)."""
    w, m, n, y = train_rows(CONFIGS[0])
    assert float(gradient.train_loss(w, m, n, y)) == pytest.approx(float(plain_loss(w, m, n, y)), rel=1e-6)


def run_with(loss, cfg, n_scans=None):
    """training.run's outputs with the given training loss (a fresh jit, nothing reused from a cache);
    checks the traced run has ``n_scans`` scans if given (2 for the steps, +1 for blocks of rows)."""

    def run(params, key):
        weights, curves = training.train(params, key, loss=loss)
        return {**curves, "ipr": model.neuron_ipr(weights)}

    key = engine.key_of(cfg.seed)
    if n_scans is not None:
        assert str(jax.make_jaxpr(run)(cfg, key)).count("scan[") == n_scans
    return jax.tree_util.tree_map(np.asarray, jax.jit(run)(cfg, key))


SMOKE_RUNS = [
    GrokkingParams(p=23, N=64, alpha=0.5, xi=0.2, weight_decay=5.0, steps=200, log_every=20),
    GrokkingParams(p=23, N=64, alpha=0.8, xi=0.0, weight_decay=0.0, steps=200, log_every=20, seed=3),
]


@pytest.mark.parametrize("cfg", SMOKE_RUNS, ids=["wd5-xi0.2", "wd0-xi0"])
@pytest.mark.parametrize("block_bytes", [None, 24_000], ids=["one-block", "several-blocks"])
def test_full_run_matches_the_plain_gradient(monkeypatch, cfg, block_bytes):
    """Smoke config, 200 steps: accuracy curves within 1e-3 (one pair of 529 is 1.9e-3, so no
    prediction may change), the mean IPR within 1e-3 relative, each neuron's IPR within 5e-3 and the
    losses within 1e-4 absolute (the loss starts at about 1/p = 0.04). Near zero loss without weight
    decay Adam divides tiny gradients by their own running RMS, so rounding-level differences of the
    gradient (another summation order over blocks) grow to the 1e-5 level of the loss and 1e-3 of a
    neuron's IPR by step 200; the accuracies do not move. With the default blocks (one at this size)
    and with several padded blocks."""
    if block_bytes is not None:
        monkeypatch.setattr(gradient, "CPU_BLOCK_BYTES", block_bytes)
        assert gradient.row_blocks(cfg.n_train, cfg.N)[0] > 1
    fast = run_with(gradient.train_loss, cfg, n_scans=2 if block_bytes is None else 3)
    plain = run_with(plain_loss, cfg, n_scans=2)
    for name in ("train_acc", "test_acc", "corrupt_acc", "corrupt_true_acc", "clean_acc"):
        np.testing.assert_allclose(fast[name], plain[name], rtol=0, atol=1e-3, equal_nan=True, err_msg=name)
    for name in ("train_loss", "test_loss"):
        np.testing.assert_allclose(fast[name], plain[name], rtol=1e-3, atol=1e-4, err_msg=name)
    np.testing.assert_allclose(fast["mean_ipr"], plain["mean_ipr"], rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(fast["ipr"], plain["ipr"], rtol=0, atol=5e-3)  # per neuron, in [0, 1]
    assert fast["train_acc"][-1] > 0.5  # it trained (not two identical failures)


def test_engine_chunk_matches_the_plain_gradient(monkeypatch):
    """The engine's path (jit(vmap(run)) over a chunk, several blocks per config so the configs run one
    after another): the same accuracy curves as the plain gradient, config by config."""
    monkeypatch.setattr(gradient, "CPU_BLOCK_BYTES", 24_000)
    base = replace(SMOKE_RUNS[0], steps=120)  # a static group no other test compiles (the engine caches per group)
    configs = [replace(base, xi=xi, weight_decay=wd) for xi, wd in ((0.0, 5.0), (0.2, 0.0), (0.2, 5.0))]
    out = engine.run_chunk(STUDY, configs, 4)  # padded to 4 configs
    for i, cfg in enumerate(configs):
        plain = run_with(plain_loss, cfg)
        for name in ("train_acc", "test_acc", "corrupt_acc", "clean_acc"):
            np.testing.assert_allclose(out[name][i], plain[name], rtol=0, atol=1e-3, equal_nan=True, err_msg=f"{i} {name}")


def test_other_backends_take_all_rows_and_configs_at_once(monkeypatch):
    """Off CPU (GPU) the gradient is loss_and_grad in one block, batched by plain vmap: no scans, and the
    same gradient (checked here on CPU by pretending the default backend is a GPU)."""
    cfg = GrokkingParams(p=97, N=500, alpha=0.5, xi=0.35, steps=1, log_every=1)  # several blocks on CPU
    rows = [train_rows(cfg, seed) for seed in (0, 1)]
    stacked = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *rows)
    monkeypatch.setattr(gradient.jax, "local_device_count", lambda: 1)
    cpu = jax.vmap(jax.grad(gradient.train_loss))
    assert str(jax.make_jaxpr(cpu)(*stacked)).count("scan[") == 2  # CPU: configs one after another, in blocks
    monkeypatch.setattr(gradient.jax, "default_backend", lambda: "gpu")
    gpu = jax.vmap(jax.grad(gradient.train_loss))  # a new function: traced afresh
    assert str(jax.make_jaxpr(gpu)(*stacked)).count("scan[") == 0
    batched = jax.jit(gpu)(*stacked)
    for i, args in enumerate(rows):
        assert_grads_close({k: v[i] for k, v in batched.items()}, jax.grad(plain_loss)(*args))


def test_several_devices_keep_configs_batched(monkeypatch):
    """With several local devices the chunk may be sharded over them: no loop over the config axis
    (it would gather the batch onto every device), the batch goes through the blocks together."""
    monkeypatch.setattr(gradient, "CPU_BLOCK_BYTES", 20_000)
    monkeypatch.setattr(gradient.jax, "local_device_count", lambda: 2)
    base = GrokkingParams(p=23, N=64, alpha=0.5, steps=1, log_every=1)
    rows = [train_rows(replace(base, xi=xi, seed=s), s) for xi, s in ((0.0, 0), (0.3, 1), (0.5, 2), (0.2, 3))]
    stacked = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *rows)
    fn = jax.vmap(jax.grad(gradient.train_loss))
    assert str(jax.make_jaxpr(fn)(*stacked)).count("scan[") == 1  # the blocks only
    batched = jax.jit(fn)(*stacked)
    for i, args in enumerate(rows):
        assert_grads_close({k: v[i] for k, v in batched.items()}, jax.grad(plain_loss)(*args))
