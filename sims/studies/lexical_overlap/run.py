"""Data, repetition limits, MLE training, calibration and decoding of the `lexical-overlap` study: the pure
``run(params, key) -> metrics``.

Choubey et al. (arXiv 2311.09458, Sec. 1): limit lexical repetition among training summaries during
fine-tuning and during likelihood calibration. The fine-tuning limit is per-example weights (greedy
capping or a same-size random subset, params.py), so mode, theta and k are traced. The calibration stage
follows BRIO (Liu et al., arXiv 2203.16804, Sec. 3.1, Eq. 5-7): m sampled candidates per training
document ranked by a quality q, the length-normalized score f(S) = sum_t log p(s_t | D, s_<t) / |S|^alpha,
L = L_MLE + gamma sum_{i<j} max(0, f(S_j) - f(S_i) + (j - i) lambda). The quality is
q_beta(c) = R2F(c, ref) - beta max_{t != ref} R2F(c, t) over the training references in use; beta > 0
is our operationalization of "limit repetitions during calibration". The candidate diversity and score
spread are returned (BRIO issue 9: collapsed candidates, flattened scores).

The corpus is built on the host (``rote.sims.summaries``) and enters the program as constants. The run
returns the greedy summaries of the test and drift documents after MLE and after calibration (the same
when ``calib_steps`` is 0); analysis.py scores them with rouge-score.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ... import decoding, lm
from ...summaries import EOS, make_corpus
from .model import bigram_f1, bigram_ids, build_model, clean, f1_against, param_count, rows
from .params import OverlapParams, context, corpus_spec

LOG_POINTS = 20
METRIC_DIMS = {
    "gen_mle": ("example", "position"),
    "gen_cal": ("example", "position"),
    "weight": ("pair",),
    "loss_curve": ("log_step",),
    "train_loss": (),
    "kept_fraction": (),
    "cand_distinct": (),
    "cand_diversity": (),
    "quality_spread": (),
    "score_spread_before": (),
    "score_spread_after": (),
    "rank_agreement_before": (),
    "rank_agreement_after": (),
    "ctr_loss": (),
}
DIVERGENCE_METRICS = ("train_loss",)


def repetition_weights(p: OverlapParams, ref_bigrams, key):
    """(N,) 0/1 training weights of mode 0 (all), 1 (greedy capping at theta, k) and 2 (random subset of
    the capped size). Capping visits the pairs in a random order and keeps pair i unless at least k
    already-kept references have ROUGE-2 F1 >= theta with ref_i."""
    N = ref_bigrams.shape[0]
    k_order, k_rand = jax.random.split(key)
    order = jax.random.permutation(k_order, N)

    def visit(kept, i):
        sims = f1_against(ref_bigrams[i], ref_bigrams)
        close = (sims >= p.theta) & kept & (jnp.arange(N) != i)
        return kept.at[i].set(close.sum() < p.k), None

    capped, _ = jax.lax.scan(visit, jnp.zeros(N, bool), order)
    n_kept = capped.sum()
    rank = jnp.argsort(jax.random.permutation(k_rand, N))
    random = rank < n_kept
    w = jnp.where(p.mode == 0, True, jnp.where(p.mode == 1, capped, random))
    return w.astype(jnp.float32)


def schedule(p: OverlapParams):
    """Linear warm-up to lr, then cosine decay to 0 at ``steps`` (traced lr)."""
    def lr_at(count):
        t = count.astype(jnp.float32)
        warm = jnp.minimum(1.0, (t + 1) / max(p.warmup, 1))
        return p.lr * warm * 0.5 * (1 + jnp.cos(jnp.pi * jnp.minimum(t / p.steps, 1.0)))
    return lr_at


def train_mle(p, model, w0, data, mask, weights, key):
    """AdamW (clip 1.0, weight decay 1e-4) with batches drawn with probability proportional to weights."""
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(schedule(p), weight_decay=1e-4))
    logw = jnp.log(jnp.maximum(weights, 1e-30)) + jnp.where(weights > 0, 0.0, -1e30)

    def step(carry, i):
        w, state = carry
        idx = jax.random.categorical(jax.random.fold_in(key, i), logw, shape=(p.batch_size,))
        loss, grad = jax.value_and_grad(lambda w: lm.mean_loss(model, w, data[idx], mask=mask[idx]))(w)
        updates, state = opt.update(grad, state, w)
        return (optax.apply_updates(w, updates), state), loss

    (w, _), losses = jax.lax.scan(step, (w0, opt.init(w0)), jnp.arange(p.steps))
    return w, losses


def candidate_mask(cands):
    """(..., S) cleaned candidates -> positions up to and including the first EOS (all if none)."""
    return jnp.cumsum(cands == EOS, axis=-1) - (cands == EOS) == 0


def candidate_scores(p, model, w, prompts, cands):
    """f(S) = sum log p(candidate tokens incl. EOS | doc) / |S|^alpha; prompts (C, P), cands (C, m, S) -> (C, m)."""
    C, m, S = cands.shape
    full = jnp.concatenate([jnp.repeat(prompts[:, None, :], m, axis=1), cands], axis=-1).reshape(C * m, -1)
    lp = lm.token_log_probs(model, w, full)[:, prompts.shape[1]:].reshape(C, m, S)
    cm = candidate_mask(cands)
    length = jnp.maximum(cm.sum(-1), 1).astype(jnp.float32)
    return (lp * cm).sum(-1) / length**p.alpha


def ranking_loss(p, f, q):
    """BRIO's contrastive loss for (C, m) scores f and qualities q: candidates sorted by q (best first)."""
    order = jnp.argsort(-q, axis=-1)
    fs = jnp.take_along_axis(f, order, axis=-1)
    m = f.shape[-1]
    i, j = jnp.triu_indices(m, 1)
    return jax.nn.relu(fs[:, j] - fs[:, i] + (j - i) * p.margin).sum(-1).mean()


def concordance(f, q):
    """Fraction of candidate pairs with distinct quality that f orders like q, mean over documents."""
    m = f.shape[-1]
    i, j = jnp.triu_indices(m, 1)
    dq, df = q[:, i] - q[:, j], f[:, i] - f[:, j]
    valid = dq != 0
    return jnp.where(valid, (dq * df > 0), False).sum() / jnp.maximum(valid.sum(), 1)


def calibrate(p, model, w, data, mask, weights, ref_bigrams, Ld, vocab, key):
    """Sample candidates, rank them by q_beta, train L_MLE + gamma L_ctr; (new params, statistics)."""
    k_docs, k_cand, k_steps = jax.random.split(key, 3)
    N = data.shape[0]
    C, m = min(p.calib_docs, N), p.candidates
    gumbel = jax.random.gumbel(k_docs, (N,))
    docs = jax.lax.top_k(jnp.where(weights > 0, gumbel, -jnp.inf), C)[1]
    prompts = data[docs, : Ld + 1]
    S = data.shape[1] - Ld - 1
    raw = decoding.sample(model, w, jnp.repeat(prompts, m, axis=0), S, k_cand, p.temperature)
    cands = clean(raw[:, Ld + 1:]).reshape(C, m, S)
    cb = bigram_ids(cands, vocab)  # (C, m, S - 1)

    def quality(c, d):
        sims = f1_against(c, ref_bigrams)
        other = jnp.where((jnp.arange(N) != d) & (weights > 0), sims, 0.0).max()
        return sims[d] - p.beta * other

    q = jax.vmap(lambda cs, d: jax.vmap(lambda c: quality(c, d))(cs))(cb, docs)  # (C, m)
    same = (cands[:, :, None, :] == cands[:, None, :, :]).all(-1)  # (C, m, m)
    first = ~jnp.any(jnp.tril(same, -1), axis=-1)
    ii, jj = jnp.triu_indices(m, 1)
    pair_f1 = jax.vmap(lambda c: jax.vmap(bigram_f1)(c[ii], c[jj]))(cb)
    f_before = candidate_scores(p, model, w, prompts, cands)
    opt = optax.adam(p.calib_lr)
    logw = jnp.log(jnp.maximum(weights, 1e-30)) + jnp.where(weights > 0, 0.0, -1e30)

    def step(carry, i):
        w, state = carry
        kb, kd = jax.random.split(jax.random.fold_in(k_steps, i))
        b = jax.random.randint(kd, (p.calib_batch,), 0, C)
        idx = jax.random.categorical(kb, logw, shape=(p.batch_size,))

        def loss_fn(w):
            ctr = ranking_loss(p, candidate_scores(p, model, w, prompts[b], cands[b]), q[b])
            return lm.mean_loss(model, w, data[idx], mask=mask[idx]) + p.gamma * ctr, ctr

        (_, ctr), grad = jax.value_and_grad(loss_fn, has_aux=True)(w)
        updates, state = opt.update(grad, state, w)
        return (optax.apply_updates(w, updates), state), ctr

    (w, _), ctr = jax.lax.scan(step, (w, opt.init(w)), jnp.arange(p.calib_steps))
    f_after = candidate_scores(p, model, w, prompts, cands)
    tail = max(1, p.calib_steps // 10)
    stats = {"cand_distinct": first.mean(), "cand_diversity": 1.0 - pair_f1.mean(), "quality_spread": q.std(-1).mean(),
             "score_spread_before": f_before.std(-1).mean(), "score_spread_after": f_after.std(-1).mean(),
             "rank_agreement_before": concordance(f_before, q), "rank_agreement_after": concordance(f_after, q),
             "ctr_loss": ctr[-tail:].mean()}
    return w, stats


def run(p: OverlapParams, key) -> dict[str, jax.Array]:
    """Weights, MLE, greedy summaries of test + drift documents, optional calibration (METRIC_DIMS)."""
    corpus = make_corpus(corpus_spec(p))
    V = corpus.vocab
    model = build_model(p, V)
    Ld = corpus.train_doc.shape[1]
    data, mask = rows(jnp.asarray(corpus.train_doc), jnp.asarray(corpus.train_sum))
    ref_bigrams = bigram_ids(jnp.asarray(corpus.train_sum), V)
    k_w, k_init, k_batch, k_cal = jax.random.split(jax.random.fold_in(key, 7), 4)
    weights = repetition_weights(p, ref_bigrams, k_w)
    w0 = lm.init_params(model, k_init)
    w, losses = train_mle(p, model, w0, data, mask, weights, k_batch)
    eval_docs = jnp.asarray(np.concatenate([corpus.test_doc, corpus.drift_doc]))
    prompts = rows(eval_docs, jnp.zeros((eval_docs.shape[0], 1), jnp.int32))[0][:, : Ld + 1]
    S = context(p) - Ld - 1
    gen_mle = clean(decoding.greedy(model, w, prompts, S)[:, Ld + 1:])
    zero = jnp.float32(0.0)
    stats = {name: zero for name in ("cand_distinct", "cand_diversity", "quality_spread", "score_spread_before", "score_spread_after",
                                     "rank_agreement_before", "rank_agreement_after", "ctr_loss")}
    gen_cal = gen_mle
    if p.calib_steps:
        w, stats = calibrate(p, model, w, data, mask, weights, ref_bigrams, Ld, V, k_cal)
        gen_cal = clean(decoding.greedy(model, w, prompts, S)[:, Ld + 1:])
    tail = max(1, p.steps // 10)
    every = max(1, p.steps // LOG_POINTS)
    curve = losses[: every * LOG_POINTS].reshape(-1, every).mean(-1) if p.steps >= LOG_POINTS else jnp.pad(losses, (0, LOG_POINTS - p.steps))
    return {"gen_mle": gen_mle, "gen_cal": gen_cal, "weight": weights, "loss_curve": curve, "train_loss": losses[-tail:].mean(),
            "kept_fraction": weights.mean(), **{k: jnp.asarray(v, jnp.float32) for k, v in stats.items()}}


def coords(p: OverlapParams) -> dict[str, np.ndarray]:
    c = make_corpus(corpus_spec(p))
    n_eval = c.test_doc.shape[0] + c.drift_doc.shape[0]
    return {"example": np.arange(n_eval), "position": np.arange(context(p) - c.train_doc.shape[1] - 1),
            "pair": np.arange(c.train_doc.shape[0]), "log_step": np.arange(LOG_POINTS)}


def bytes_per_config(p: OverlapParams) -> int:
    """Rough float32 bytes: parameters and Adam state, a training batch's activations, the decoding of the
    evaluation and candidate sets, the candidate quality matrix."""
    c = make_corpus(corpus_spec(p))
    P, T = param_count(p, c.vocab), context(p)
    n_eval = c.test_doc.shape[0] + c.drift_doc.shape[0]
    act = p.layers * T * p.width * (8 + 2 * p.mlp_ratio) + p.heads * p.layers * T * T + 4 * T * c.vocab
    rows_live = max(p.batch_size + p.calib_batch * p.candidates, n_eval, min(p.calib_docs, c.train_doc.shape[0]) * p.candidates)
    return int(4 * (5 * P + 3 * rows_live * act + c.train_doc.shape[0] * 16 * 16))


def flops_per_config(p: OverlapParams) -> float:
    c = make_corpus(corpus_spec(p))
    P, T = param_count(p, c.vocab), context(p)
    n_eval = c.test_doc.shape[0] + c.drift_doc.shape[0]
    S = T - c.train_doc.shape[1] - 1
    train = 6.0 * P * p.batch_size * T * p.steps
    decode = 2.0 * P * T * S * n_eval * (2 if p.calib_steps else 1)
    cal = (2.0 * P * T * S * min(p.calib_docs, c.train_doc.shape[0]) * p.candidates
           + 6.0 * P * T * (p.batch_size + p.calib_batch * p.candidates) * p.calib_steps) if p.calib_steps else 0.0
    return train + decode + cal
