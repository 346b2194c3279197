"""The analytic anchors (rote.theory.t2i_taxonomy) and the ideal memorizer through the package's sampler and detectors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rote.sims import diffusion as dm
from rote.sims import elements as el
from rote.sims import images as im
from rote.theory import diffusion as td
from rote.theory import t2i_taxonomy as tt


def test_anchor_rates():
    g = tt.glyph([1, 16], [16, 1])
    np.testing.assert_array_equal(g["memorizer"]["MU"], [1, 1])
    np.testing.assert_array_equal(g["generalizer"]["MU"], [0, 0])
    np.testing.assert_array_equal(g["generalizer"]["ME"], [1, 1])
    np.testing.assert_allclose(g["member"], [1, 1 / 16])
    s = tt.scene([0.5, 0.9, 1.0], [0, 1, 8], n=24)
    np.testing.assert_allclose(s["generalizer"]["MI"], [0, 0.9, 1.0])  # q >= rho is implicit
    np.testing.assert_allclose(s["generalizer"]["MA"], [0.5, 0, 0])  # q < rho: over-association, tracked apart
    np.testing.assert_allclose(s["memorizer"]["MI"], [0, 22 / 24, 1.0])  # the training fraction round(q n) / n
    np.testing.assert_allclose(s["stamp_memorizer"], [0, 1 / 24, 8 / 24])
    np.testing.assert_allclose(s["memorizer"]["MU"], [1, 1 + 1 / 24, 1 + 8 / 24])
    assert float(tt.duplicate(16)["memorizer"]["MU"]) == 1 and float(tt.control()["generalizer"]["MU"]) == 0
    np.testing.assert_allclose(tt.position([0.5, 0.2], [1.0, 1.0], [0.0, 0.0]), [0.5, 0.2])
    assert np.isnan(tt.position(1.0, 1.0, 1.0))  # ME: both anchors at 1, the axis does not separate them


def test_ideal_memorizer_draws_training_glyph_images_at_its_law():
    """T7 in miniature: 4 glyph images with weights 1, 1, 1, 3 -> every sample is one of them, carries the glyph, and
    the frequencies follow m_i / sum m within the binomial tolerance."""
    abar = dm.cosine_schedule(100)
    glyph = el.glyph_patterns(jax.random.PRNGKey(0), 1, 4)[0]
    bg = im.render_generic(jax.random.PRNGKey(1), im.random_attributes(jax.random.PRNGKey(2), 4), 8)
    imgs = el.paste(bg, glyph, jnp.array([0, 2, 4, 1]), jnp.array([4, 0, 2, 1])).reshape(4, -1)
    m = np.array([1.0, 1.0, 1.0, 3.0])
    fn = lambda x, t: (td.ideal_eps(x, abar[t], imgs, jnp.log(jnp.asarray(m))), jnp.zeros(x.shape[:-1]))  # noqa: E731
    x, _ = jax.jit(lambda k: dm.ddim_sample(fn, jax.random.normal(k, (600, 192)), abar, 20))(jax.random.PRNGKey(3))
    idx, cos, _ = im.nearest(x, imgs)
    assert float(cos.min()) > 0.99
    assert float(jnp.mean(el.ncc_scores(x.reshape(-1, 8, 8, 3), [glyph])[:, 0] >= 0.8)) >= 0.98
    freq = np.bincount(np.asarray(idx), minlength=4) / 600
    assert np.all(np.abs(freq - td.sampling_law(m)) <= td.frequency_tolerance(td.sampling_law(m), 600))
