"""The tiny decoder-only LM: shapes, causal masking, scoring conventions, vmapped models, soft prompts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rote.sims import lm
from rote.sims.errors import ConfigError

MODEL = lm.TinyLM(vocab=16, context=12, width=32, layers=1, heads=2)


@pytest.fixture(scope="module")
def params():
    return lm.init_params(MODEL, jax.random.PRNGKey(0))


@pytest.fixture(scope="module")
def tokens():
    return jax.random.randint(jax.random.PRNGKey(1), (3, 10), 0, 16)


def test_shapes(params, tokens):
    """Output shapes, traced abstractly (``jax.eval_shape``: nothing is compiled)."""
    prefix = lm.init_prefix(jax.random.PRNGKey(2), 4, 32)
    shape = lambda f, *a: jax.eval_shape(f, *a).shape
    assert shape(MODEL.apply, params, tokens) == (3, 10, 16)
    assert shape(MODEL.apply, params, tokens, prefix) == (3, 14, 16)
    assert shape(lambda p, t, q: lm.next_token_log_probs(MODEL, p, t, q), params, tokens, prefix) == (3, 10, 16)
    assert shape(lambda p, t: lm.token_log_probs(MODEL, p, t), params, tokens) == (3, 10)
    assert shape(lambda p, t: lm.token_correct(MODEL, p, t), params, tokens) == (3, 10)
    assert shape(lambda p, t: lm.example_losses(MODEL, p, t), params, tokens) == (3,)
    assert shape(lambda p, t: lm.example_losses(MODEL, p, t), params, tokens[0]) == ()  # one example, no batch axis
    assert shape(lambda p, t: lm.mean_loss(MODEL, p, t), params, tokens) == ()


def test_toy_size_parameter_count():
    """2 layers x 64 x 4 heads, vocab 48, context 24: about 105k parameters (arXiv 2310.18362 toy design)."""
    model = lm.TinyLM(vocab=48, context=24, width=64, layers=2, heads=4)
    n = lm.param_count(jax.eval_shape(lambda: lm.init_params(model, jax.random.PRNGKey(0))))
    assert 100_000 <= n <= 115_000, n


def test_too_long_sequence_is_a_config_error(params):
    with pytest.raises(ConfigError, match="context 12"):
        MODEL.apply(params, jnp.zeros((1, 13), jnp.int32))
    with pytest.raises(ConfigError, match="multiple of heads 3"):
        jax.eval_shape(lambda: lm.init_params(lm.TinyLM(vocab=16, context=12, width=32, heads=3), jax.random.PRNGKey(0)))


def test_causal_mask(params, tokens):
    """Changing token j leaves every prediction of tokens <= j (rows 0..j) unchanged, and changes later ones."""
    j = 5
    changed = tokens.at[:, j].set((tokens[:, j] + 1) % 16)
    before = lm.next_token_log_probs(MODEL, params, tokens)
    after = lm.next_token_log_probs(MODEL, params, changed)
    np.testing.assert_array_equal(before[:, : j + 1], after[:, : j + 1])
    assert np.abs(before[:, j + 1 :] - after[:, j + 1 :]).max() > 1e-4


def test_scoring_conventions(params, tokens):
    """Token 0 has no context without a prefix (log-prob 0); log-probs are the gathered log-softmax."""
    lp = lm.token_log_probs(MODEL, params, tokens)
    full = lm.next_token_log_probs(MODEL, params, tokens)
    np.testing.assert_array_equal(lp[:, 0], 0.0)
    np.testing.assert_allclose(lp[:, 1:], np.take_along_axis(np.asarray(full), np.asarray(tokens)[..., None], -1)[:, 1:, 0], rtol=1e-6)
    logits = jax.jit(MODEL.apply)(params, tokens)
    np.testing.assert_allclose(full[:, 1:], jax.nn.log_softmax(logits[:, :-1]), rtol=1e-6, atol=1e-6)
    prefix = lm.init_prefix(jax.random.PRNGKey(3), 2, 32)
    assert np.all(np.asarray(lm.token_log_probs(MODEL, params, tokens, prefix))[:, 0] < 0)  # scored from the prefix


def test_masked_and_weighted_losses(params, tokens):
    per_token = -np.asarray(lm.token_log_probs(MODEL, params, tokens))
    mask = np.zeros((3, 10), bool)
    mask[:, 6:] = True
    np.testing.assert_allclose(lm.example_losses(MODEL, params, tokens, mask), per_token[:, 6:].mean(1), rtol=1e-6)
    np.testing.assert_allclose(lm.example_losses(MODEL, params, tokens), per_token[:, 1:].mean(1), rtol=1e-6)
    ex = np.asarray(lm.example_losses(MODEL, params, tokens))
    w = jnp.array([2.0, 0.0, 1.0])  # a duplicated row, a padding row
    np.testing.assert_allclose(lm.mean_loss(MODEL, params, tokens, weights=w), (2 * ex[0] + ex[2]) / 3, rtol=1e-6)


def test_vmap_over_stacked_models(tokens):
    """M models scored in one vmapped call equal M separate calls (the shadow-model pattern)."""
    models = [lm.init_params(MODEL, k) for k in jax.random.split(jax.random.PRNGKey(4), 3)]
    stacked = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *models)
    scores = jax.jit(jax.vmap(lambda p: lm.token_log_probs(MODEL, p, tokens)))(stacked)
    assert scores.shape == (3, 3, 10)
    for m, one in enumerate(models):
        np.testing.assert_allclose(scores[m], lm.token_log_probs(MODEL, one, tokens), rtol=1e-5, atol=1e-6)


def test_prefix_shifts_logits_and_trains_with_a_frozen_model(params, tokens):
    """A soft prompt changes the token logits, and training only the prompt (model frozen) makes the
    model emit a chosen first token: its loss falls below a quarter of the untrained prompt's and the
    model's argmax becomes that token."""
    prefix = lm.init_prefix(jax.random.PRNGKey(5), 4, 32, scale=1.0)
    apply = jax.jit(MODEL.apply)
    assert np.abs(apply(params, tokens, prefix)[:, 4:] - apply(params, tokens)).max() > 1e-3

    target = jnp.array([[7, 3]])
    mask = jnp.array([[True, False]])
    loss = lambda pre: lm.example_losses(MODEL, params, target, mask, prefix=pre).sum()
    opt = optax.adam(0.1)

    def step(carry, _):
        pre, state = carry
        g = jax.grad(loss)(pre)  # gradient w.r.t. the prefix only: the model's params are constants
        upd, state = opt.update(g, state)
        return (optax.apply_updates(pre, upd), state), None

    pre0 = lm.init_prefix(jax.random.PRNGKey(6), 4, 32)
    (trained, _), _ = jax.lax.scan(jax.jit(step), (pre0, opt.init(pre0)), None, length=100)
    assert loss(trained) < 0.25 * loss(pre0), (float(loss(pre0)), float(loss(trained)))
    assert int(jnp.argmax(apply(params, target, trained)[0, 3])) == 7
