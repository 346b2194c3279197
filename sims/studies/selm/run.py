"""Encryption of the `selm` study: the pure ``run(params, key) -> metrics`` (one config = one encryption).

SELM (Stevens and Su, arXiv 2305.10445, Sec. 3.2): minimise the causal-LM cross-entropy of prompt +
message + EOS over theta_d only (Adam from theta_d = 0), theta = theta_0 + P_k(theta_d). The loss may add
the target-L2 penalty lambda |norm(theta_d) - alpha| or the distribution penalty lambda * integral
|ecdf(theta_d) - Phi_sigma| (Sec. 5.3), both with a linear warm-up of lambda. Every ``check_every``
steps the teacher-forced argmax is compared with the message and EOS at every position (by induction the
same as greedy decoding reproducing it); the first check that matches stops the encryption (a
``lax.while_loop``; under ``vmap`` a finished lane is frozen). The result is confirmed by a real greedy
decode, and decoded under a wrong key (key sensitivity), beside the public model's own accuracy.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import model as M
from .params import SelmParams, param_count

METRIC_DIMS = {
    "theta": ("coordinate",),
    "tokens": ("position",),
    "target": ("position",),
    "decoded": ("position",),
    "wrong_decoded": ("position",),
    "steps": (),
    "converged": (),
    "exact": (),
    "wrong_exact": (),
    "accuracy": (),
    "wrong_accuracy": (),
    "base_accuracy": (),
    "loss": (),
    "norm": (),
}
DIVERGENCE_METRICS = ("loss", "norm")


def l2_norm(theta):
    """sqrt(sum theta^2 + 1e-12): differentiable at the start theta_d = 0 (the plain norm gives NaN)."""
    return jnp.sqrt(jnp.sum(theta**2) + 1e-12)


def distribution_penalty(theta, d, sigma):
    """Trapezoid integral of |ecdf - Phi_sigma| over the sorted first d entries of ``theta`` (d traced,
    theta (d_max,)): sum over i < d - 1 of (x_(i+1) - x_(i)) (|i+1/d... |) / 2, ecdf(x_(i)) = (i + 1) / d."""
    n = theta.shape[0]
    live = jnp.arange(n) < d
    xs = jnp.sort(jnp.where(live, theta, jnp.inf))
    xs_f = jnp.where(live, xs, 0.0)
    ecdf = (jnp.arange(n) + 1.0) / d
    gap = jnp.abs(ecdf - jax.scipy.stats.norm.cdf(xs_f / sigma))
    pair = jnp.arange(n - 1) < d - 1
    return jnp.sum(jnp.where(pair, (xs_f[1:] - xs_f[:-1]) * (gap[1:] + gap[:-1]) / 2.0, 0.0))


def token_accuracy(p: SelmParams, w, toks, target):
    """Teacher-forced per-token accuracy on the target positions, and whether every one is right."""
    model = M.build_model(p)
    logits = model.apply(w, toks[None])[0]
    pred = jnp.concatenate([toks[:1], jnp.argmax(logits[:-1], -1).astype(jnp.int32)])  # row t predicts token t
    right = (pred == toks) | ~target
    return jnp.sum((pred == toks) & target) / jnp.sum(target), jnp.all(right)


def run(p: SelmParams, key) -> dict[str, jax.Array]:
    pre, rand = M.public_weights(p)
    theta0 = jnp.where(p.pretrained == 1, jnp.asarray(pre), jnp.asarray(rand))
    message = M.message_tokens(p, p.kind, jnp.where(p.fresh_message == 1, p.seed, p.message_seed), p.length)
    toks, target = M.sequence(p, message, p.length)
    ff = M.projection_key(key, p)
    model = M.build_model(p)
    live = jnp.arange(p.d_max) < p.d

    def loss_fn(theta, step):
        w = M.weights(p, theta0, ff, theta, p.d)
        logits = model.apply(w, toks[None])[0][:-1]
        ce = -jnp.take_along_axis(jax.nn.log_softmax(logits), toks[1:, None], -1)[:, 0]
        ce = jnp.sum(ce * target[1:]) / jnp.sum(target)
        ramp = jnp.where(p.warmup > 0, jnp.minimum(1.0, (step + 1.0) / jnp.maximum(p.warmup, 1.0)), 1.0)
        pen = p.l2_weight * jnp.abs(l2_norm(theta) - p.l2_target) + p.dist_weight * distribution_penalty(theta, p.d, p.dist_sigma)
        return ce + ramp * pen, ce

    opt = optax.inject_hyperparams(optax.adam)(learning_rate=p.lr)

    def one_step(carry, _):
        theta, st, step = carry
        (_, ce), g = jax.value_and_grad(loss_fn, has_aux=True)(theta, step)
        u, st = opt.update(jnp.where(live, g, 0.0), st, theta)
        return (theta + u, st, step + 1), ce

    def matches(theta):
        return token_accuracy(p, M.weights(p, theta0, ff, theta, p.d), toks, target)[1]

    def cond(c):
        theta, st, step, done, ce = c
        return (~done) & (step < p.max_steps)

    def body(c):
        theta, st, step, done, ce = c
        (theta, st, step), ces = jax.lax.scan(one_step, (theta, st, step), None, length=p.check_every)
        return theta, st, step, matches(theta), ces[-1]

    theta_init = jnp.zeros(p.d_max, jnp.float32)
    init = (theta_init, opt.init(theta_init), jnp.int32(0), matches(theta_init), jnp.float32(0.0))
    theta, _, steps, done, ce = jax.lax.while_loop(cond, body, init)
    w = M.weights(p, theta0, ff, theta, p.d)
    w_wrong = M.weights(p, theta0, M.wrong_key(key, p), theta, p.d)
    stack = lambda *ws: jax.tree_util.tree_map(lambda *x: jnp.stack(x), *ws)  # noqa: E731
    decoded, wrong_decoded = jax.vmap(lambda w: M.greedy_decode(p, w))(stack(w, w_wrong))
    accs, _ = jax.vmap(lambda w: token_accuracy(p, w, toks, target))(stack(w, w_wrong, M.unravel_fn(p)(theta0)))
    acc, wrong_acc, base_acc = accs[0], accs[1], accs[2]
    upto = jnp.arange(p.context) <= p.prompt + p.length
    same = lambda dec: jnp.all((dec == toks) | ~upto)  # noqa: E731  prompt, message and EOS reproduced
    return {"theta": theta, "tokens": toks, "target": target.astype(jnp.int32), "decoded": decoded, "wrong_decoded": wrong_decoded,
            "steps": steps, "converged": done, "exact": same(decoded), "wrong_exact": same(wrong_decoded),
            "accuracy": acc, "wrong_accuracy": wrong_acc, "base_accuracy": base_acc, "loss": ce, "norm": l2_norm(theta)}


def coords(p: SelmParams) -> dict[str, np.ndarray]:
    return {"coordinate": np.arange(p.d_max), "position": np.arange(p.context)}


def bytes_per_config(p: SelmParams) -> int:
    """Parameters, the padded projection (several LL vectors), Adam state, activations (float32)."""
    from ...fastfood import padded_size

    LL = padded_size(param_count(p))
    return int(4 * (8 * LL + 6 * param_count(p) + 4 * p.d_max + 20 * p.context * p.width * p.layers * p.mlp_ratio))


def flops_per_config(p: SelmParams) -> float:
    """Per step: two Walsh-Hadamard transforms forward and back (4 x 2 LL log2 LL) and 6 D T of the LM;
    at an assumed half of the budget."""
    from ...fastfood import padded_size

    LL = padded_size(param_count(p))
    per = 8.0 * LL * np.log2(LL) + 6.0 * param_count(p) * p.context
    return per * float(p.max_steps) / 2
