"""The closed-form ideal memorizer (rote.theory.diffusion) run through the package's DDIM sampler: it returns
training images with frequencies m_i / sum m (validates the schedule, the sampler and the nearest-image metric)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rote.sims import diffusion as dm
from rote.sims import images as im
from rote.sims.errors import ConfigError
from rote.theory import diffusion as td

N_SAMPLES = 2000


def memorizer_frequencies(m, steps=50, T=200, seed=0, image=8):
    """Sample the ideal memorizer over low-pass images with multiplicities m; the nearest-image frequencies and
    the largest distance of a sample to its nearest training image."""
    abar = dm.cosine_schedule(T)
    imgs = im.low_pass(jax.random.PRNGKey(seed), len(m), image).reshape(len(m), -1)
    log_m = im.log_multiplicities(jnp.asarray(m, jnp.float32))

    def eps_fn(x, t):
        return td.ideal_eps(x, abar[t], imgs, log_m), jnp.zeros(x.shape[:-1])

    x, _ = jax.jit(lambda k: dm.ddim_sample(eps_fn, jax.random.normal(k, (N_SAMPLES, imgs.shape[1])), abar, steps))(jax.random.PRNGKey(seed + 1))
    idx, cos, _ = im.nearest(x, imgs)
    return np.bincount(np.asarray(idx), minlength=len(m)) / N_SAMPLES, float(np.asarray(cos).min())


@pytest.mark.parametrize("m", [(1, 2, 5), (1, 0, 3)])
def test_ideal_memorizer_samples_training_images_with_law_m_over_sum_m(m):
    freq, worst = memorizer_frequencies(m)
    law = td.sampling_law(m)
    tol = td.frequency_tolerance(law, N_SAMPLES)
    assert worst > 0.999, worst  # every sample is a training image (cosine 1 up to float error)
    assert np.all(np.abs(freq - law) <= tol), (freq, law, tol)
    assert freq[np.asarray(m) == 0].sum() == 0  # an absent pair (m = 0) is never produced


def test_the_frequency_check_fails_on_a_wrong_law():
    """The plausible alternative (uniform over the images, ignoring multiplicities) is rejected."""
    m = (1, 2, 5)
    freq, _ = memorizer_frequencies(m)
    uniform = np.full(3, 1 / 3)
    assert not np.all(np.abs(freq - uniform) <= td.frequency_tolerance(uniform, N_SAMPLES))


def test_posterior_weights_and_anchor_rates():
    x = jax.random.normal(jax.random.PRNGKey(0), (5, 12))
    imgs = jax.random.normal(jax.random.PRNGKey(1), (3, 12))
    w = td.posterior_weights(x, 0.5, imgs, jnp.log(jnp.array([1.0, 2.0, 3.0])))
    np.testing.assert_allclose(np.asarray(w.sum(-1)), 1.0, rtol=1e-6)
    # at abar -> 1 the posterior concentrates on the exact image
    w1 = td.posterior_weights(imgs[1], 1 - 1e-6, imgs, jnp.zeros(3))
    assert float(w1[1]) > 0.999
    r = td.memorizer_rates([1, 4, 16])
    np.testing.assert_allclose(r["memorizer_member"], [1, 0.25, 1 / 16])
    assert np.all(r["memorizer_rr"] == 1) and np.all(r["generalizer_rr"] == 0)


def test_schedule_and_ddim_bounds():
    abar = np.asarray(dm.cosine_schedule(200))
    assert abar.shape == (200,) and np.all(np.diff(abar) < 0) and 0.999 < abar[0] < 1 and abar[-1] < 1e-4
    ts = dm.ddim_timesteps(200, 20)
    assert ts[0] == 199 and ts[-1] == 0 and len(ts) == 20
    with pytest.raises(ConfigError, match="DDIM steps"):
        dm.ddim_timesteps(20, 50)


def test_v_prediction_converts_to_eps_and_keeps_the_eps_default():
    """prediction='v': eps = sqrt(1 - abar) x_t + sqrt(abar) v, so DDIM's x0 estimate is sqrt(abar) x_t - sqrt(1 - abar) v
    (no 1 / sqrt(abar) amplification); the loss then regresses v. The default 'eps' returns the network output as is."""
    T, D = 20, 12
    abar = dm.cosine_schedule(T)
    x, c = jax.random.normal(jax.random.PRNGKey(0), (4, D)), jax.random.normal(jax.random.PRNGKey(1), (4, 8))
    t = jnp.array([0, 5, 12, 19])
    v_model = dm.T2IDenoiser(image_dim=D, vocab=5, embed=4, text=8, width=8, hidden=8, blocks=1, time=8, prediction="v", diffusion_steps=T)
    e_model = dm.T2IDenoiser(image_dim=D, vocab=5, embed=4, text=8, width=8, hidden=8, blocks=1, time=8)
    variables = jax.jit(lambda k: dm.init_params(e_model, k, 3))(jax.random.PRNGKey(2))  # the same parameters serve both

    @jax.jit
    def outputs(variables):
        return tuple(m.apply(variables, x, t, c, method=f) for m, f in
                     ((e_model, dm.T2IDenoiser.raw), (e_model, dm.T2IDenoiser.eps), (v_model, dm.T2IDenoiser.eps)))

    raw, eps_default, eps = outputs(variables)
    np.testing.assert_array_equal(np.asarray(eps_default), np.asarray(raw))
    a = abar[t][:, None]
    np.testing.assert_allclose(np.asarray((x - jnp.sqrt(1 - a) * eps) / jnp.sqrt(a)), np.asarray(jnp.sqrt(a) * x - jnp.sqrt(1 - a) * raw),
                               rtol=1e-4, atol=1e-4)
    with pytest.raises(ConfigError, match="prediction"):
        dm.init_params(dm.T2IDenoiser(image_dim=D, vocab=5, prediction="v"), jax.random.PRNGKey(0), 3)  # v without the schedule
