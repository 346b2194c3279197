"""Data, optimiser and training of the `lm-membership` study: the pure ``run(params, key) -> metrics``.

One shadow model per config (Carlini et al., arXiv 2112.03570, Sec. IV.C; Zhang et al., arXiv
2112.12938, Sec. 3): the pool of N sequences comes from ``data_seed`` alone (so every model of a sweep
sees the same pool), the model's own ``seed`` draws its keep mask (each sequence kept with probability
``keep``), its initialization and its batches. Training runs epochs over the kept multiset (a kept
duplicated sequence occurs ``copies`` times, once with ``dedup``), each epoch a fresh random order, with
Adam. At the end the model scores every sequence of the pool, token by token: the log-probability of
the true token, the log of the probability of all other tokens (so the logit-scaled confidence
log p - log(1 - p) is exact, as in LiRA's reference code), whether the teacher-forced argmax is right,
and the mean and standard deviation of log p(z) over the model's next-token distribution (Min-K%++,
Zhang et al., arXiv 2404.02936, Eq. 2). These M x N x T arrays are the score matrix every attack of
``rote.sims.membership`` re-reads: no model is trained twice.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ... import lm, text
from .model import build_model, param_count
from .params import MembershipParams

TOKEN_METRICS = ("token_logprob", "token_log_rest", "token_correct", "token_mu", "token_sigma")
METRIC_DIMS = {
    **{name: ("sequence", "position") for name in TOKEN_METRICS},
    "tokens": ("sequence", "position"),
    "keep": ("sequence",),
    "multiplicity": ("sequence",),
    "train_loss": (),
    "kept_fraction": (),
}
DIVERGENCE_METRICS = ("train_loss",)


def occurrence_capacity(p: MembershipParams) -> int:
    """Static size of the training multiset's occurrence list: every sequence once, duplicates copies times."""
    return p.pool + p.duplicated * (p.copies - 1)


def make_pool(p: MembershipParams, key):
    """(N, T) int32 tokens of the pool from the data key: rare rows, common rows (Markov head + the
    family's shared body), Markov rows; and the chain."""
    k_chain, k_rare, k_body, k_head, k_markov = jax.random.split(key, 5)
    chain = text.markov_chain(k_chain, p.vocab, p.successors, p.concentration)
    T, n_common = p.context, p.families * p.per_family
    parts = [jax.random.randint(k_rare, (p.rare, T), 0, p.vocab, jnp.int32)]
    if n_common:
        bodies = jax.random.randint(k_body, (p.families, p.body), 0, p.vocab, jnp.int32)
        heads = text.sample_sequences(k_head, chain, n_common, T - p.body)
        parts.append(jnp.concatenate([heads, jnp.repeat(bodies, p.per_family, axis=0)], axis=1))
    if p.markov:
        parts.append(text.sample_sequences(k_markov, chain, p.markov, T))
    return jnp.concatenate(parts).astype(jnp.int32), chain


def training_counts(p: MembershipParams, tokens, keep):
    """(N,) multiplicity of each sequence in this model's training set: keep x copies, deduplicated with ``dedup``."""
    n_common = p.families * p.per_family
    copies = jnp.ones(p.pool, jnp.int32).at[p.rare + n_common : p.rare + n_common + p.duplicated].set(p.copies)
    counts = keep.astype(jnp.int32) * copies
    return jnp.where(p.dedup, text.deduplicate(tokens, counts), counts)


def epoch_order(key, valid):
    """A random order of the occurrence slots with the valid ones first: (size,) slot indices."""
    u = jax.random.uniform(key, valid.shape) + 2.0 * (~valid)
    return jnp.argsort(u)


def batch_slots(key, valid, n_valid, step, batch_size: int):
    """The occurrence slots of one step: positions step*B .. step*B+B-1 of the stream of epochs, each
    epoch a fresh order (from ``fold_in(key, epoch)``) of the n_valid valid slots. (B,) int."""
    pos = step * batch_size + jnp.arange(batch_size)
    epoch, offset = pos // n_valid, pos % n_valid
    first = epoch[0]
    o0 = epoch_order(jax.random.fold_in(key, first), valid)
    o1 = epoch_order(jax.random.fold_in(key, first + 1), valid)  # a batch spans at most two epochs while B <= n_valid
    return jnp.where(epoch == first, o0[offset], o1[offset])


def token_statistics(model, w, tokens):
    """Per-token scores of one model on (N, T) tokens: log p(true), log(1 - p(true)) (log-sum-exp of the
    other tokens), teacher-forced correctness, and the mean and SD of log p(z) under p (all (N, T); token 0
    is not scored and holds 0)."""
    logp = lm.next_token_log_probs(model, w, tokens)  # (N, T, V)
    scored = lm.scored_mask(tokens.shape[-1])
    lp = lm.target_log_probs(logp, tokens)
    is_true = jax.nn.one_hot(tokens, logp.shape[-1], dtype=bool)
    rest = jax.nn.logsumexp(jnp.where(is_true, -jnp.inf, logp), axis=-1)
    prob = jnp.exp(logp)
    mu = (prob * logp).sum(-1)
    sigma = jnp.sqrt(jnp.maximum((prob * logp**2).sum(-1) - mu**2, 0.0))
    correct = (jnp.argmax(logp, -1) == tokens).astype(jnp.float32)
    zero = lambda x: jnp.where(scored, x, 0.0)  # noqa: E731
    return {"token_logprob": zero(lp), "token_log_rest": zero(rest), "token_correct": zero(correct),
            "token_mu": zero(mu), "token_sigma": zero(sigma)}


def run(p: MembershipParams, key) -> dict[str, jax.Array]:
    """Train one shadow model on its random subset of the pool and score the whole pool (METRIC_DIMS)."""
    model = build_model(p)
    tokens, _ = make_pool(p, jax.random.fold_in(jax.random.PRNGKey(p.data_seed), 0))
    k_keep, k_init, k_order = jax.random.split(jax.random.fold_in(key, 1), 3)
    keep = jax.random.bernoulli(k_keep, p.keep, (p.pool,))
    counts = training_counts(p, tokens, keep)
    occ, valid = text.occurrences(counts, occurrence_capacity(p))
    n_valid = jnp.maximum(valid.sum(), 1)
    w0 = lm.init_params(model, k_init)
    opt = optax.chain(optax.scale_by_adam(), optax.scale(-p.lr))

    def step(carry, i):
        w, state = carry
        slots = batch_slots(k_order, valid, n_valid, i, p.batch_size)
        rows, live = tokens[occ[slots]], valid[slots].astype(jnp.float32)
        loss, grad = jax.value_and_grad(lambda w: lm.mean_loss(model, w, rows, weights=live))(w)
        updates, state = opt.update(grad, state, w)
        return (optax.apply_updates(w, updates), state), loss

    (w, _), losses = jax.lax.scan(step, (w0, opt.init(w0)), jnp.arange(p.steps))
    stats = token_statistics(model, w, tokens)
    tail = max(1, p.steps // 10)
    return {**stats, "tokens": tokens, "keep": keep.astype(jnp.float32), "multiplicity": counts.astype(jnp.float32),
            "train_loss": losses[-tail:].mean(), "kept_fraction": keep.mean()}


def coords(p: MembershipParams) -> dict[str, np.ndarray]:
    return {"sequence": np.arange(p.pool), "position": np.arange(p.context)}


def bytes_per_config(p: MembershipParams) -> int:
    """Memory estimate (bytes, float32): parameters, Adam moments and gradients (4 P), the training step's
    activations x 3, and the scoring pass (N x T x V log-probs, several copies)."""
    P = param_count(p)
    act = p.layers * p.batch_size * p.context * p.width * (8 + 2 * p.mlp_ratio) + p.layers * p.batch_size * p.heads * p.context**2 * 2
    score = p.layers * p.pool * p.context * p.width * (8 + 2 * p.mlp_ratio) + 6 * p.pool * p.context * p.vocab
    return int(4 * (4 * P + max(3 * act, score) + 8 * p.pool * p.context))


def flops_per_config(p: MembershipParams) -> float:
    """6 P per trained token, 2 P per scored token."""
    P = param_count(p)
    return 6.0 * P * p.batch_size * p.context * p.steps + 2.0 * P * p.pool * p.context
