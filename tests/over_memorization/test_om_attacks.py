"""Attacks and DOM's step: the closed-form worst case of a linear model, projections, and the DOM masks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rote.sims import adversarial
from rote.sims.params import replace
from rote.sims.studies.over_memorization.dom import augment, dom_inputs
from rote.sims.studies.over_memorization.params import AUGMENT_ALL, BASELINE, DOM_DA, DOM_RE, OverMemParams
from rote.theory import over_memorization as closed


def linear_problem(d=16, b=12, seed=0):
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(seed), 3)
    w = jax.random.normal(k1, (d,))
    x = jax.random.uniform(k2, (b, d), minval=0.3, maxval=0.7)  # x +- epsilon stays inside [0, 1]
    y = jnp.where(jax.random.bernoulli(k3, 0.5, (b,)), 1.0, -1.0)
    bias = 0.1
    loss = lambda z: jax.nn.softplus(-y * (z @ w + bias))  # logistic loss, decreasing in the margin
    return w, x, y, bias, loss


def test_fgsm_and_pgd_find_the_closed_form_worst_case_of_a_linear_model():
    w, x, y, bias, loss = linear_problem()
    eps = 0.1
    best = closed.linear_worst_case(w, x, y, eps)
    expected = closed.logistic_worst_loss(w, x, y, bias, eps)  # the margin falls by eps ||w||_1
    fg = adversarial.fgsm(loss, x, jax.random.PRNGKey(1), eps, step_ratio=1.0, random_start=False)
    np.testing.assert_allclose(np.asarray(fg), best, atol=1e-6)
    np.testing.assert_allclose(np.asarray(loss(fg)), expected, rtol=1e-5)
    pg = adversarial.pgd(loss, x, jax.random.PRNGKey(2), eps, steps=10, step_ratio=0.25)  # from a random start
    np.testing.assert_allclose(np.asarray(pg), best, atol=1e-6)
    far = adversarial.fgsm(loss, x, jax.random.PRNGKey(3), eps, step_ratio=2.0, random_start=True)  # 2 eps from any start: the corner
    np.testing.assert_allclose(np.asarray(far), best, atol=1e-6)
    rs = adversarial.fgsm(loss, x, jax.random.PRNGKey(3), eps, step_ratio=1.25, random_start=True)  # RS-FGSM: at most the worst case
    assert np.all(np.asarray(loss(rs)) <= expected * (1 + 1e-5)) and np.any(np.asarray(loss(rs)) < expected * (1 - 1e-3))
    small = adversarial.fgsm(loss, x, jax.random.PRNGKey(1), eps, step_ratio=0.5, random_start=False)
    assert np.all(np.asarray(loss(small)) < expected)  # half a step is not the worst case


def test_perturbations_stay_in_the_ball_and_the_box():
    x = jax.random.uniform(jax.random.PRNGKey(0), (32, 64))
    loss = lambda z: jnp.sum(jnp.sin(7 * z), -1)
    for adv in (adversarial.pgd(loss, x, jax.random.PRNGKey(1), 0.2, 5, 0.5), adversarial.fgsm(loss, x, jax.random.PRNGKey(2), 0.2, 2.0, True)):
        a = np.asarray(adv)
        assert np.all(np.abs(a - np.asarray(x)) <= 0.2 + 1e-6) and a.min() >= 0 and a.max() <= 1
    start = np.asarray(adversarial.uniform_start(jax.random.PRNGKey(3), x, 0.1, True))
    assert 0 < np.abs(start - np.asarray(x)).max() <= 0.1 + 1e-6
    np.testing.assert_array_equal(np.asarray(adversarial.uniform_start(jax.random.PRNGKey(3), x, 0.1, False)), np.asarray(x))


def _dom(variant, active=True, threshold=0.5, **kw):
    p = replace(OverMemParams(), variant=variant, threshold=threshold, **kw)
    x = jax.random.uniform(jax.random.PRNGKey(0), (8, 64))
    nat = jnp.array([0.1, 0.2, 0.3, 0.9, 1.0, 2.0, 0.05, 0.7])
    loss_fn = lambda z: nat + 10.0 * jnp.mean((z - x) ** 2, -1)  # augmented inputs lose confidence
    return x, nat, dom_inputs(loss_fn, x, jax.random.PRNGKey(1), jnp.asarray(active), p)


def test_dom_re_masks_low_loss_samples_and_da_augments_only_them():
    x, nat, (x_in, weight, _) = _dom(DOM_RE)
    np.testing.assert_array_equal(np.asarray(weight), np.asarray(nat >= 0.5).astype(np.float32))
    np.testing.assert_array_equal(np.asarray(x_in), np.asarray(x))
    x, nat, (x_in, weight, _) = _dom(DOM_DA)
    changed = np.any(np.asarray(x_in) != np.asarray(x), -1)
    np.testing.assert_array_equal(changed, np.asarray(nat < 0.5))
    assert np.all(np.asarray(weight) == 1)
    x, nat, (x_in, _, _) = _dom(AUGMENT_ALL)
    assert np.all(np.any(np.asarray(x_in) != np.asarray(x), -1))
    for variant in (BASELINE, DOM_RE, DOM_DA, AUGMENT_ALL):  # before the warm-up epoch nothing changes
        x, _, (x_in, weight, _) = _dom(variant, active=False)
        np.testing.assert_array_equal(np.asarray(x_in), np.asarray(x))
        assert np.all(np.asarray(weight) == 1)


def test_dom_da_takes_the_last_round_when_no_augmentation_is_hard_enough():
    """With a threshold no augmented loss reaches, every low-loss sample takes the gamma-th draw on the
    mixed input (the released code's last round); with beta 0 the mixing keeps x, so that draw is DA(x)."""
    x, nat, (x_in, _, _) = _dom(DOM_DA, threshold=50.0, beta=0.0, gamma=2)
    p = replace(OverMemParams(), beta=0.0, gamma=2)
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    np.testing.assert_allclose(np.asarray(x_in), np.asarray(augment(keys[1], x, p)), atol=1e-7)


def test_augmentation_stays_in_the_pixel_range():
    p = OverMemParams()
    x = jax.random.uniform(jax.random.PRNGKey(0), (64, 64))
    a = np.asarray(augment(jax.random.PRNGKey(1), x, p))
    assert a.shape == (64, 64) and a.min() >= 0 and a.max() <= 1
    assert 0.1 < np.mean(a == 0) < 0.3  # about 15 % dropout (plus clipping at 0)
    none = replace(p, aug_noise=0.0, dropout=0.0, shift=0)
    np.testing.assert_allclose(np.asarray(augment(jax.random.PRNGKey(1), x, none)), np.asarray(x))
