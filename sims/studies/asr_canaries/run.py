"""Data, optimiser and training of the `asr-canaries` study: the pure ``run(params, key) -> metrics``.

One training run per config (Wang, Thakkar, Mathews, arXiv 2310.11739, Sec. 2-4): a convolutional CTC
model (model.py) is trained with SGD + momentum on clean synthetic speech (``rote.sims.speech``) into
which canaries (random token strings, sped up) are inserted r times for every level r; the level-0
group K_0 is never trained on. The update of every method passes a batch global-norm clip (as in
ordinary ASR training); before it, the method forms the gradient:
  baseline  the mean gradient of the batch;
  pec       per-example clipping: the mean of g_i min(1, C / ||g_i||) (``privacy.per_example_grads``);
  pcc       per-core clipping: the batch split into ``cores`` contiguous microbatches, each microbatch's
            mean gradient clipped to C, then averaged (``privacy.per_microbatch_grads``; across real
            devices the same is ``privacy.sharded_per_core_grad``).
At the end: greedy CTC decoding and TER / exact match on the clean test set and on every canary, and
the per-example gradient norms of a clean calibration subset and of every canary (for choosing C).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from ... import privacy, speech
from .model import build_model, forward, init_params, param_count
from .params import AsrParams, canary_levels

METRIC_DIMS = {
    "train_loss": ("epoch",),
    "clean_ter": (),
    "clean_exact": (),
    "canary_ter": ("canary",),
    "canary_exact": ("canary",),
    "clean_grad_norm": ("calib",),
    "canary_grad_norm": ("canary",),
    "canary_feasible": ("canary",),
    "inf_gap": (),
}
DIVERGENCE_METRICS = ("train_loss", "clean_ter", "canary_ter")


def ctc_losses(logits, out_frames, labels, label_len):
    """Per-example CTC loss per label token: optax.ctc_loss (negative log-likelihood of the label
    string), clamped below at 0 (float32 can dip below it on confident alignments, optax #1771), divided
    by the label length. logits (n, T', V+1), out_frames (n,), labels (n, N), label_len (n,) -> (n,)."""
    T, N = logits.shape[1], labels.shape[1]
    logit_pad = (jnp.arange(T)[None, :] >= out_frames[:, None]).astype(jnp.float32)
    label_pad = (jnp.arange(N)[None, :] >= label_len[:, None]).astype(jnp.float32)
    nll = optax.ctc_loss(logits, logit_pad, labels, label_pad, blank_id=speech.BLANK)
    return jnp.maximum(nll, 0.0) / jnp.maximum(label_len, 1)


def _pad_frames(frames, T):
    return jnp.pad(frames, ((0, 0), (0, T - frames.shape[1]), (0, 0)))


def make_data(p: AsrParams, key) -> dict:
    """Every array of one run from the seed's key alone: clean train and test utterances at normal speed,
    the canaries sped up (all padded to ``p.frames`` input frames and ``p.label_len`` labels), and the
    training multiset as indices into the training examples (train_utterances + copies clean rows, then
    one row per canary): the first train_utterances clean rows plus r copies of each level-r canary, or
    (control, insert_canaries False) all clean rows, the same number of examples."""
    ks = jax.random.split(jax.random.fold_in(key, 0), 5)
    protos = speech.prototypes(ks[0], p.vocab, p.dim)
    chain = speech.bigram_chain(ks[1], p.vocab, p.concentration)
    T, L = p.frames, p.label_len
    N, Nt = p.train_utterances + p.copies, p.test_utterances  # the last p.copies clean ones serve the control
    tok, tok_len = speech.sample_utterances(ks[2], chain, N + Nt, p.min_len, p.max_len)
    tok = jnp.pad(tok, ((0, 0), (0, L - p.max_len)))
    levels = canary_levels(p)
    K = levels.size
    can = jnp.pad(speech.random_strings(ks[3], K, p.canary_length, p.vocab), ((0, 0), (0, L - p.canary_length)))
    can_len = jnp.full((K,), p.canary_length, jnp.int32)
    # one rendering call for clean utterances and canaries (each canary rendered once: its copies share the noise)
    frames, n_frames = speech.render(ks[4], jnp.concatenate([tok, can]), jnp.concatenate([tok_len, can_len]), protos, T,
                                     p.d_min, p.d_max, p.noise)
    fast, fast_n = speech.speed_up(frames[N + Nt :], n_frames[N + Nt :], p.speedup, p.formant_shift, p.formant_gain)
    fast = _pad_frames(fast, T)
    n0 = p.train_utterances
    with_canaries = np.concatenate([np.arange(n0), N + np.repeat(np.arange(K), levels)])
    trained = jnp.where(p.insert_canaries, with_canaries, np.arange(N))
    return dict(
        x=jnp.concatenate([frames[:N], fast]), n=jnp.concatenate([n_frames[:N], fast_n]),
        y=jnp.concatenate([tok[:N], can]), y_len=jnp.concatenate([tok_len[:N], can_len]),
        test_x=frames[N : N + Nt], test_n=n_frames[N : N + Nt], test_y=tok[N:], test_len=tok_len[N:],
        multiset=trained.astype(jnp.int32), canary_rows=N + jnp.arange(K),
    )


def learning_rate(p: AsrParams):
    """The SGD learning rate of the method: lr, times batch_clip / min(C, batch_clip) for PEC and PCC with
    ``match_step`` (a clipped mean has norm at most C, so the largest update is lr x batch_clip for every
    method and C, and C >= batch_clip, C = inf included, leaves lr unchanged)."""
    if p.method == "baseline":
        return p.lr
    return p.lr * jnp.where(p.match_step, p.batch_clip / jnp.minimum(p.clip, p.batch_clip), 1.0)


def optimizer(p: AsrParams):
    """Batch global-norm clip at ``batch_clip``, then SGD with momentum (traced lr and momentum)."""
    return optax.chain(optax.clip_by_global_norm(p.batch_clip), optax.trace(decay=p.momentum), optax.scale(-learning_rate(p)))


def method_gradient(p: AsrParams, loss_fn, w, batch, clip):
    """The gradient each method hands to the optimizer: mean (baseline), per-example clipped mean (pec)
    or per-core clipped mean (pcc) at clip norm ``clip``."""
    if p.method == "baseline":
        return jax.grad(lambda w: jnp.mean(jax.vmap(loss_fn, in_axes=(None, 0))(w, batch)))(w)
    if p.method == "pec":
        return privacy.per_example_clipped_grad(loss_fn, w, batch, clip)
    return privacy.per_core_clipped_grad(loss_fn, w, batch, clip, p.cores)


def run(p: AsrParams, key) -> dict[str, jax.Array]:
    """Train one model with its method and measure TER, exact match and gradient norms (METRIC_DIMS)."""
    model = build_model(p)
    data = make_data(p, key)
    k_init, k_order = jax.random.split(jax.random.fold_in(key, 1))
    w0 = init_params(model, p, k_init)
    opt = optimizer(p)
    M = int(data["multiset"].shape[0])
    steps = M // p.batch_size

    def loss_fn(w, ex):
        x, n, y, y_len = ex
        logits = model.apply({"params": w}, x, n)
        return ctc_losses(logits[None], (n * p.upsample)[None], y[None], y_len[None])[0]

    def examples(rows):
        return data["x"][rows], data["n"][rows], data["y"][rows], data["y_len"][rows]

    def step(carry, rows):
        w, state = carry
        batch = examples(rows)
        loss = jnp.mean(jax.vmap(loss_fn, in_axes=(None, 0))(w, batch))
        grad = method_gradient(p, loss_fn, w, batch, p.clip)
        updates, state = opt.update(grad, state, w)
        return (optax.apply_updates(w, updates), state), loss

    def epoch(carry, e):
        perm = jax.random.permutation(jax.random.fold_in(k_order, e), data["multiset"])
        carry, losses = jax.lax.scan(step, carry, perm[: steps * p.batch_size].reshape(steps, p.batch_size))
        return carry, losses.mean()

    gap = jnp.float32(jnp.nan)
    if p.method != "baseline":  # C = inf must give the baseline's gradient (to float rounding)
        first = examples(jax.random.permutation(jax.random.fold_in(k_order, 0), data["multiset"])[: p.batch_size])
        plain, _ = ravel_pytree(jax.grad(lambda w: jnp.mean(jax.vmap(loss_fn, in_axes=(None, 0))(w, first)))(w0))
        inf, _ = ravel_pytree(method_gradient(p, loss_fn, w0, first, jnp.inf))
        gap = jnp.max(jnp.abs(inf - plain)) / jnp.max(jnp.abs(plain))

    (w, _), train_loss = jax.lax.scan(epoch, (w0, opt.init(w0)), jnp.arange(p.epochs))

    def transcribe(x, n, y, y_len):
        logits = forward(model, w, x, n)
        hyp, hyp_len = speech.greedy_decode(logits, n * p.upsample)
        return speech.token_error_rate(hyp, hyp_len, y, y_len), speech.exact_match(hyp, hyp_len, y, y_len)

    clean_ter, clean_exact = transcribe(data["test_x"], data["test_n"], data["test_y"], data["test_len"])
    c = data["canary_rows"]
    canary_ter, canary_exact = transcribe(*examples(c))
    norms = privacy.global_norms(privacy.per_example_grads(loss_fn, w, examples(jnp.concatenate([jnp.arange(p.calib_utterances), c]))))
    calib, canary_norm = norms[: p.calib_utterances], norms[p.calib_utterances :]
    feasible = speech.ctc_feasible(data["n"][c] * p.upsample, data["y"][c], data["y_len"][c])
    return {
        "train_loss": train_loss,
        "clean_ter": clean_ter.mean(),
        "clean_exact": clean_exact.mean(),
        "canary_ter": canary_ter,
        "canary_exact": canary_exact,
        "clean_grad_norm": calib,
        "canary_grad_norm": canary_norm,
        "canary_feasible": feasible.astype(jnp.float32),
        "inf_gap": gap,
    }


def coords(p: AsrParams) -> dict[str, np.ndarray]:
    return {"epoch": np.arange(1, p.epochs + 1), "canary": np.arange(canary_levels(p).size), "calib": np.arange(p.calib_utterances)}


def flops_per_config(p: AsrParams) -> float:
    """6 P FLOPs per input frame trained (forward and backward; the per-frame cost of the convolutions
    and the output layer), x ``p.frames`` padded frames per example, over every step; per-example
    methods pay the same arithmetic (their cost is in memory traffic, see the benchmark)."""
    steps = p.epochs * (p.training_size // p.batch_size)
    return 6.0 * param_count(p) * p.frames * p.batch_size * steps


def bytes_per_config(p: AsrParams) -> int:
    """float32: the examples (training, test, canaries), activations of a batch (x 3 for the backward
    pass), and B per-example gradients under PEC (cores of them under PCC)."""
    P = param_count(p)
    K = canary_levels(p).size
    data = (p.train_utterances + p.test_utterances + K) * p.frames * p.dim
    act = 3 * p.batch_size * p.frames * (p.width * (p.blocks + 2) + p.upsample * (p.vocab + 1))
    rows = {"baseline": 1, "pec": p.batch_size, "pcc": p.cores}[p.method]
    return int(4 * (data + act + (rows + 4) * P + (K + p.calib_utterances) * P))
