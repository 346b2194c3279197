"""Data, optimiser and training of the `lm-canaries` study: the pure ``run(params, key) -> metrics``.

One training run per config (Carlini et al., "The Secret Sharer", arXiv 1802.08232, Sec. 4-6, and
Carlini et al., arXiv 2202.07646, Sec. 3): a tiny LM is trained with Adam on Markov text into which
canaries ('the random number is' + 4 random digits) are inserted r times for every level r, beside
tracked training rows duplicated r times; along training it logs the exact exposure of every canary
(one batched forward enumerates all 10^4 secrets, ``rote.sims.lm.secret_log_perplexities``), the
validation loss on held-out Markov text and the loss on training rows; at the end it decodes greedily
from k-token true prefixes (``rote.sims.decoding.greedy_forced``) and scores the one-run audit
canaries (Steinke, Nasr, Jagielski, arXiv 2305.08846, Sec. 3).

Training set: rows (tokens (R, T), counts (R,)) = N Markov rows (the first C are the tracked rows,
with counts r; r = 0 rows are held out), C canary rows (a canary followed by Markov text, counts r),
A audit rows (own prefix, counts 1 or 0 by a fair coin each). Deduplication caps every count at 1.
Batches are Poisson samples of the occurrences (each with probability q = batch_size / M, M the
design size of the training multiset, audit rows counted at their mean A / 2), in a fixed-shape
buffer (``rote.sims.privacy.poisson_sample``); the loss and DP-SGD's noisy sum are divided by the
expected batch size q M. With ``dp`` the step is DP-SGD (Abadi et al., arXiv 1607.00133, Algorithm 1):
per-example gradients clipped to C, summed, plus N(0, sigma^2 C^2 I).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from ... import decoding, lm, privacy, text
from .model import build_model, param_count
from .params import DIGITS, CanaryParams, canary_levels

METRIC_DIMS = {
    "train_loss": ("step",),
    "val_loss": ("step",),
    "exposure": ("step", "canary"),
    "canary_px": ("canary",),
    "reference_px": ("reference",),
    "canary_extracted": ("prompt", "canary"),
    "canary_match": ("prompt", "canary"),
    "sequence_extracted": ("prompt", "sequence"),
    "sequence_match": ("prompt", "sequence"),
    "exposure_isolated": ("canary",),
    "audit_px": ("audit",),
    "audit_in": ("audit",),
    "loss_floor": (),
    "sampling_rate": (),
    "batch_mean": (),
    "overflow_steps": (),
    "dp_grad_gap": (),
}
DIVERGENCE_METRICS = ("train_loss", "val_loss", "exposure")


def sizes(p: CanaryParams) -> dict[str, int]:
    """Static sizes: C canaries (= tracked rows), A audit canaries, R rows, M_max occurrences, the
    Poisson buffer's slots, the canary length and the decoding buffer's length."""
    levels = canary_levels(p)
    C, A, N = len(levels), p.audit_canaries, p.train_sequences
    canary = p.template_length + p.secret_digits
    return dict(C=C, A=A, R=N + C + A, M_max=int(N - C + 2 * levels.sum() + A), slots=privacy.poisson_capacity(p.batch_size),
                canary=canary, decode=max(canary, p.prompts[-1] + p.suffix_length), eval_train=min(p.val_sequences, N - C))


def make_data(p: CanaryParams, key) -> dict:
    """Every array of one run, from the seed's key alone (so widths, sigma, dedup share the data)."""
    s = sizes(p)
    C, A, N, T, n = s["C"], s["A"], p.train_sequences, p.context, p.secret_digits
    ks = dict(zip(("chain", "text", "secret", "template", "audit", "coin"), jax.random.split(jax.random.fold_in(key, 0), 6)))
    words = p.vocab - DIGITS
    chain = text.markov_chain(ks["chain"], words, p.successors, p.concentration)
    V = p.val_sequences
    drawn_rows = text.sample_sequences(ks["text"], chain, N + V + C + A, T, offset=DIGITS)  # one sampler: one compile
    rows, val, tails = drawn_rows[:N], drawn_rows[N : N + V], drawn_rows[N + V :]
    k_main, k_audit = jax.random.split(ks["template"])
    main = DIGITS + jax.random.randint(k_main, (p.template_length,), 0, words)
    audit_first = (main[0] - DIGITS + 1 + jax.random.randint(k_audit, (), 0, max(words - 1, 1))) % words  # differs from main's
    audit_tpl = DIGITS + jnp.concatenate([audit_first[None], jax.random.randint(jax.random.fold_in(k_audit, 1), (p.template_length - 1,), 0, words)])
    drawn = text.random_secrets(ks["secret"], C + p.references, n)
    secrets, references = drawn[:C], drawn[C:]
    audit_secrets = text.random_secrets(ks["audit"], A, p.audit_digits)
    audit_in = jax.random.bernoulli(ks["coin"], 0.5, (A,))
    canary_rows = text.overwrite_start(tails[:C], text.canaries(main, secrets, n))
    audit_rows = text.overwrite_start(tails[C:], text.canaries(audit_tpl, audit_secrets, p.audit_digits))
    levels = jnp.asarray(canary_levels(p))
    counts = text.repeat_rows(jnp.ones(N, jnp.int32), jnp.arange(C), levels)  # tracked rows: the first C
    tokens, counts = text.with_inserted(rows, counts, canary_rows, levels)
    tokens, counts = text.with_inserted(tokens, counts, audit_rows, audit_in.astype(jnp.int32))
    counts = jnp.where(p.dedup, text.deduplicate(tokens, counts), counts)
    design = counts[: N + C].sum() + A / 2  # audit rows at their mean: q does not depend on the coins
    return dict(chain=chain, tokens=tokens, counts=counts, val=val, train_eval=rows[C : C + s["eval_train"]],
                tracked=rows[:C], canary_rows=canary_rows, secrets=secrets, references=references, template=main,
                audit_rows=audit_rows, audit_in=audit_in, rate=p.batch_size / design)


def exposures(px, index, space: int):
    """Exact exposure log2 |R| - log2 rank of the secrets ``index`` among all |R| log-perplexities px."""
    rank = jnp.searchsorted(jnp.sort(px), px[index], side="right")
    return jnp.log2(float(space)) - jnp.log2(rank.astype(jnp.float32))


def isolated_exposures(px, index, inserted, space: int):
    """Exact exposure of each canary with the OTHER inserted canaries removed from R: its rank among
    the never-inserted secrets (what the skew-normal extrapolation estimates), and |R| reduced alike.
    px (|R|,), index (C,), inserted (C,) bool -> (C,) bits."""
    own = px[index]
    rank = jnp.searchsorted(jnp.sort(px), own, side="right")
    others = inserted[None, :] & (own[None, :] <= own[:, None]) & ~jnp.eye(own.shape[0], dtype=bool)
    size = space - (inserted.sum() - inserted)
    return jnp.log2(size.astype(jnp.float32)) - jnp.log2((rank - others.sum(1)).astype(jnp.float32))


def extraction(p: CanaryParams, model, params, data):
    """Greedy decoding from the true k-token prefix of every canary and tracked row, all k in one
    batch. Canaries: the rest of the canary through its last digit must be reproduced; tracked rows:
    the next ``suffix_length`` tokens. Returns (extracted, matched fraction) for canaries and rows,
    each (K, C)."""
    s = sizes(p)
    L, C = s["decode"], s["C"]
    ks = jnp.asarray(p.prompts)
    targets = jnp.concatenate([data["canary_rows"][:, :L], data["tracked"][:, :L]])  # (2C, L)
    batch = jnp.broadcast_to(targets, (len(p.prompts), 2 * C, L))
    k = jnp.broadcast_to(ks[:, None], batch.shape[:2])
    out = decoding.greedy_forced(model, params, batch.reshape(-1, L), k.reshape(-1)).reshape(batch.shape)
    pos = jnp.arange(L)
    end = jnp.where(jnp.arange(2 * C)[None, :] < C, s["canary"], ks[:, None] + p.suffix_length)  # (K, 2C)
    scored = (pos >= k[..., None]) & (pos < end[..., None])
    same = (out == batch) | ~scored
    extracted = same.all(-1).astype(jnp.float32)
    match = ((out == batch) & scored).sum(-1) / scored.sum(-1)
    return extracted[:, :C], match[:, :C], extracted[:, C:], match[:, C:]


def optimizer(p: CanaryParams):
    """Adam (b1 0.9, b2 0.999, eps 1e-8) at the traced learning rate."""
    return optax.chain(optax.scale_by_adam(), optax.scale(-p.lr))


def training(p: CanaryParams, model, data, key):
    """The training of one config as pure functions: ``init(weights) -> carry``, ``step(carry, _) ->
    (carry, None)`` (one Poisson batch, the plain or the DP-SGD gradient, one Adam update; carry =
    (weights, optimizer state, step, occurrences drawn, overflowing steps)), and ``dp_gap(weights)``:
    max |g_DP - g_plain| / max |g_plain| on the first batch with sigma 0 and C = inf."""
    s = sizes(p)
    occ, occ_valid = text.occurrences(data["counts"], s["M_max"])
    opt = optimizer(p)

    def example_loss(w, example):
        rows, weight = example
        return weight * lm.example_losses(model, w, rows)

    def sample(k):
        pos, mask, overflow = privacy.poisson_sample(k, occ_valid, data["rate"], s["slots"])
        return data["tokens"][occ[pos]], mask.astype(jnp.float32), mask.sum(), overflow

    def plain_grad(w, rows, mask):
        return jax.grad(lambda w: jnp.sum(mask * lm.example_losses(model, w, rows)) / p.batch_size)(w)

    def dp_grad(w, rows, mask, k_noise, clip, sigma):
        grads = privacy.per_example_grads(example_loss, w, (rows, mask))
        return privacy.dp_aggregate(grads, clip, sigma, k_noise, denominator=p.batch_size)

    def step(carry, _):
        w, state, i, n_sum, n_over = carry
        k_sample, k_noise = jax.random.split(jax.random.fold_in(key, i))
        rows, mask, n_in, overflow = sample(k_sample)
        grad = dp_grad(w, rows, mask, k_noise, p.clip, p.sigma) if p.dp else plain_grad(w, rows, mask)
        updates, state = opt.update(grad, state, w)
        return (optax.apply_updates(w, updates), state, i + 1, n_sum + n_in, n_over + overflow), None

    def dp_gap(w):
        rows, mask, _, _ = sample(jax.random.split(jax.random.fold_in(key, 0))[0])
        plain, _ = ravel_pytree(plain_grad(w, rows, mask))
        dp0, _ = ravel_pytree(dp_grad(w, rows, mask, key, jnp.inf, 0.0))
        return jnp.max(jnp.abs(dp0 - plain)) / jnp.max(jnp.abs(plain))

    def init(w):
        return (w, opt.init(w), jnp.int32(0), jnp.int32(0), jnp.int32(0))

    return init, step, dp_gap


def run(p: CanaryParams, key) -> dict[str, jax.Array]:
    """Train one model and log exposure, losses, extraction and audit scores (see METRIC_DIMS)."""
    s = sizes(p)
    model = build_model(p)
    data = make_data(p, key)
    space = 10**p.secret_digits
    k_init, k_train = jax.random.split(jax.random.fold_in(key, 1))
    params = lm.init_params(model, k_init)
    init, step, dp_gap = training(p, model, data, k_train)

    def evaluate(w):
        losses = lm.example_losses(model, w, jnp.concatenate([data["train_eval"], data["val"]]))
        px = lm.secret_log_perplexities(model, w, data["template"], p.secret_digits)
        return losses[: s["eval_train"]].mean(), losses[s["eval_train"] :].mean(), exposures(px, data["secrets"], space), px

    def block(carry, _):
        train_loss, val_loss, exposure, _ = evaluate(carry[0])
        carry, _ = jax.lax.scan(step, carry, None, length=p.log_every)
        return carry, (train_loss, val_loss, exposure)

    gap = dp_gap(params) if p.dp else jnp.float32(jnp.nan)  # DP runs compile per-example gradients anyway
    carry, (train_loss, val_loss, exposure) = jax.lax.scan(block, init(params), None, length=p.steps // p.log_every)
    w, _, _, n_sum, n_over = carry
    train_last, val_last, exposure_last, px = evaluate(w)
    audit = data["audit_rows"][:, : p.template_length + p.audit_digits]
    audit_px = -lm.token_log_probs(model, w, audit)[:, p.template_length :].sum(-1) / jnp.log(2.0)
    c_ext, c_match, s_ext, s_match = extraction(p, model, w, data)
    return {
        "train_loss": jnp.concatenate([train_loss, train_last[None]]),
        "val_loss": jnp.concatenate([val_loss, val_last[None]]),
        "exposure": jnp.concatenate([exposure, exposure_last[None]]),
        "canary_px": px[data["secrets"]],
        "reference_px": px[data["references"]],
        "canary_extracted": c_ext,
        "canary_match": c_match,
        "sequence_extracted": s_ext,
        "sequence_match": s_match,
        "exposure_isolated": isolated_exposures(px, data["secrets"], jnp.asarray(canary_levels(p)) > 0, space),
        "audit_px": audit_px,
        "audit_in": data["audit_in"].astype(jnp.float32),
        "loss_floor": text.chain_loss_floor(data["chain"], p.context),
        "sampling_rate": jnp.float32(data["rate"]),
        "batch_mean": n_sum / p.steps,
        "overflow_steps": n_over,
        "dp_grad_gap": gap,
    }


def coords(p: CanaryParams) -> dict[str, np.ndarray]:
    C = len(canary_levels(p))
    return {"step": np.arange(0, p.steps + 1, p.log_every), "canary": np.arange(C), "reference": np.arange(p.references),
            "prompt": np.asarray(p.prompts), "sequence": np.arange(C), "audit": np.arange(p.audit_canaries)}


def _activations(rows: int, length: int, p: CanaryParams) -> float:
    """Floats a forward pass keeps per layer stack: residual, q k v, attention output, MLP hidden, two
    LayerNorms per block, and the H T x T attention weights; plus the logits."""
    per_block = rows * length * p.width * (8 + 2 * p.mlp_ratio) + rows * p.heads * length * length * 2
    return p.layers * per_block + rows * length * p.vocab * 2


def bytes_per_config(p: CanaryParams) -> int:
    """Memory estimate (bytes, float32) of one config: parameters, Adam moments and gradients (4 P),
    per-example gradients with their clipped copy under DP (2 slots P), and the largest of the training
    step (activations x 3 for the backward pass), the secret enumeration (10^(n-1) rows) and the
    extraction loop (K x 2C rows)."""
    s = sizes(p)
    P = param_count(p)
    train = 3 * _activations(s["slots"], p.context, p)
    enum = _activations(10 ** (p.secret_digits - 1), s["canary"], p)
    decode = _activations(len(p.prompts) * 2 * s["C"], s["decode"], p)
    grads = 2 * s["slots"] * P if p.dp else 0
    return int(4 * (4 * P + grads + max(train, enum, decode) + s["R"] * p.context))


def flops_per_config(p: CanaryParams) -> float:
    """2 P FLOPs per token forward, 6 P forward and backward: training on the Poisson buffer every step,
    and at each log point the secret enumeration and the loss rows; the extraction loop and the audit
    rows at the end."""
    s = sizes(p)
    P = param_count(p)
    train = 6.0 * P * s["slots"] * p.context * p.steps
    evals = (p.steps // p.log_every + 1) * 2.0 * P * (10 ** (p.secret_digits - 1) * s["canary"] + (s["eval_train"] + p.val_sequences) * p.context)
    decode = 2.0 * P * len(p.prompts) * 2 * s["C"] * s["decode"] * (s["decode"] - 1) + 2.0 * P * s["A"] * (p.template_length + p.audit_digits)
    return train + evals + decode
