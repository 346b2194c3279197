"""Side-by-side speed of the attention model (mha-capacity study) at the official defaults, in one run.

Official defaults (the paper's official code, arXiv 2306.02010 Sec. 5): d = D = 64, n = 32, H = 20, d_h = 64, C = 100, 'random' contexts,
batch 256, Adam lr 1e-3. Methods, measured in the same process, interleaved round by round (so a
disturbance by another process hits every method alike):
  peak              the machine's fp32 matmul rate: jit'd ``jnp.matmul`` on square matrices;
  engine xC         the vectorised engine: C configs through ``engine.run_chunk`` in chunks of
                    ``engine.choose_chunk_size`` (``jit(vmap(run))`` of the study's ``run``: full batch of
                    T examples per config, ``lax.scan`` over steps, Adam, the official schedule);
  engine (proposed) xC  the same engine and the same ``run`` with the model swapped for
                    ``ProposedAttention`` (defined below; the study's parameters, same numbers to float
                    rounding): W_Q W_K^T precomputed once per step (H D^2 per example instead of the
                    study's 2 H D d_h);
  engine (keys form) x1  the same with per-example keys K = X' W_K (the study's model before commit
                    6c1844e), to measure what folding W_K into the query gained;
  loop (full)       a straightforward per-configuration JAX loop, as the reference code does: one model,
                    a jit'd step over a batch of 256 (``jax.grad`` + ``optax.adam``, buffers donated), a
                    Python loop over steps, the official full (n+1) x (n+1) masked attention
                    (``official_full_logits``); ``loop (position-0)`` and ``loop (proposed)``: the same loop
                    with the study's query-row model and with the proposed model;
  torch (official)  the official math in PyTorch on the CPU, if torch is installed (optional; never
                    imported by the package): Linear(p -> D) + sinusoidal PE on all n+1 rows, per-head
                    Wq/Wk (D x d_h) and Wv (D x 1) as broadcast matmuls, -inf on key column 0, scores /
                    sqrt(D), heads concatenated through Wo (H x D), decoder Linear(D -> C) on every row,
                    cross-entropy at row 0, Adam lr 1e-3 with the official warm-up + cosine schedule, a
                    shuffled batch of 256 gathered each step; ``torch (position-0)``: the query row only.
                    Torch runs with its default threads (one per core) and with one thread: on this shared
                    2-core machine two OpenMP threads degrade badly when another process takes a core, so
                    the ratios use the faster of the two;
  scan (...)        (sizes section, T rows) the full-batch step in a jit'd ``lax.scan`` as it is, and with the
                    gradient accumulated over example blocks of --block rows (same gradient to rounding).

Throughput is per example: every method processes examples (engine: configs x T x steps per call, a
full batch of T per config-step; loops: 256 x steps), so the engine's full-batch steps and the
minibatch loops compare as examples per second, and as ms per 256 examples.

FLOPs: every method is credited the same training FLOPs per example, 3 F with F the position-0 forward
with per-example keys (``forward_flops``; 5.86 MFLOP at the defaults): GFLOP/s = examples x 3 F / wall, its
fraction of the peak measured in the same run. The FLOPs each form executes differ (full form 2.5x
more; the study's folded form and the proposed form 7.5x and 9x fewer at the defaults); ``exec GFLOP/s``
credits each method the FLOPs of its own form (``forward_flops``), so a folded form's credited rate can
exceed the peak while its executed rate cannot. The engine's evaluations (a forward over the T examples at
step 0 and at every log; 3 per call here) are not credited: they are overhead.

Peak memory (``rss``: peak resident-set rise, a lower bound after a warm-up call, torch measured on
its first call; ``xla``: the compiled program's buffers), timing (best quiet sample, medians and every
sample in the JSON) and the JSON report: benchmarks/harness.py. Before each sample the benchmark waits
up to --wait-quiet seconds (5) for a quiet half second, at most --wait-budget seconds (30) over the
whole run.

    python benchmarks/bench_mha.py                 # everything (about 8 min on 2 cores)
    python benchmarks/bench_mha.py --quick         # methods and grid only, fewer rows and rounds (about 2 min)
    python benchmarks/bench_mha.py --sections methods breakdown --rounds 5
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import sys
import time
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the harness beside this file
import harness  # noqa: E402
from harness import best, log, xla_bytes  # noqa: E402

from rote.sims.nn import attend, masked_softmax, sinusoidal_positions, torch_linear_init, xavier_uniform  # noqa: E402
from rote.sims.params import replace  # noqa: E402
from rote.sims.studies.mha_capacity import STUDY  # noqa: E402
from rote.sims.studies.mha_capacity import run as study_run  # noqa: E402
from rote.sims.studies.mha_capacity.model import build_model as study_model  # noqa: E402
from rote.sims.studies.mha_capacity.model import column_mask, official_full_logits  # noqa: E402
from rote.sims.studies.mha_capacity.params import MHAParams  # noqa: E402

BATCH = 256  # the official minibatch


# --------------------------------------------------------------------------------------------------
# Models: the prototype of a faster OfficialAttention, and FLOP counts per form
# --------------------------------------------------------------------------------------------------


def _size(params, name: str) -> int:
    """The compiled size of ``n`` or ``d_h``: ``n_max`` / ``d_h_max`` where the study masks them (traced n,
    d_h), else the static field itself. The benchmark keeps every row and column active (n = n_max)."""
    return getattr(params, name + "_max", getattr(params, name))


class ProposedAttention(nn.Module):
    """The study's OfficialAttention with W_Q W_K^T precomputed once per step (prototype; same parameters,
    same outputs to float rounding), or, with ``variant='keys'``, the form with per-example keys.

    The score of context row i is q Wq_h Wk_h^T x'_i^T / sqrt(D) (q, x' embedded rows).
      'keys' (the study before commit 6c1844e): keys K_h = X' Wk_h per example, (B, H, n, d_h):
          H n D d_h multiply-adds per example, 89 % of the forward at the defaults;
      the study since 6c1844e: (q Wq_h) Wk_h^T per example, 2 H D d_h, then . x'_i (H n D);
      'fold' (proposed): M_h = Wq_h Wk_h^T / sqrt(D) (H x D x D) once per step, shared by the batch, then
          r_h = q M_h, one (B, D) x (D, H D) matmul (H D D per example), then . x'_i (H n D).
    Values as in the study (a (B n, D) x (D, H) matmul). Same flax parameters, call signature,
    initialisation and masks (heads; context rows n and head columns d_h, traced, when given) as the
    study's OfficialAttention, so the study's weights apply unchanged.
    __call__(queries (B, d), contexts (B or 1, n_max, d), head_mask (H_max,), n_heads, n=None, d_h=None)
    -> (B, C) logits, (B, H_max, n_max) attention.
    """

    D: int
    d_h_max: int
    H_max: int
    C: int
    variant: str = "fold"

    @nn.compact
    def __call__(self, queries, contexts, head_mask, n_heads, n=None, d_h=None):
        d, n_max = queries.shape[-1], contexts.shape[-2]
        n = n_max if n is None else n
        d_h = self.d_h_max if d_h is None else d_h
        cols = column_mask(self.d_h_max, d_h)
        embed = nn.Dense(self.D, kernel_init=torch_linear_init(d), bias_init=torch_linear_init(d), name="embed")
        pe = sinusoidal_positions(n_max + 1, self.D)
        Wq = self.param("Wq", xavier_uniform(self.D, d_h), (self.H_max, self.D, self.d_h_max)) * cols
        Wk = self.param("Wk", xavier_uniform(self.D, d_h), (self.H_max, self.D, self.d_h_max)) * cols
        Wv = self.param("Wv", xavier_uniform(self.D, 1), (self.H_max, self.D))
        Wo = self.param("Wo", xavier_uniform(n_heads, self.D), (self.H_max, self.D))
        q_tok = embed(queries) + pe[0]  # (B, D)
        ctx = embed(contexts) + pe[1:]  # (B|1, n_max, D)
        values = jnp.einsum("cnD,hD->chn", ctx, Wv)  # (B|1, H, n_max)
        if self.variant == "keys":  # per-example keys (B|1, H, n_max, d_h_max), plain scaled dot-product attention
            keys = jnp.einsum("cnD,hDk->chnk", ctx, Wk)
            q = jnp.einsum("bD,hDk->bhk", q_tok, Wq)
            out, attn = attend(q[:, :, None], keys, values[..., None], 1.0 / math.sqrt(self.D), n_active=n)
            heads, attn = out[:, :, 0, 0], attn[:, :, 0]  # (B, H), (B, H, n_max)
        else:
            M = jnp.einsum("hDk,hEk->DhE", Wq, Wk) / math.sqrt(self.D)  # (D, H, D): once per step
            r = (q_tok @ M.reshape(self.D, -1)).reshape(q_tok.shape[0], self.H_max, self.D)  # (B, H, D)
            scores = jnp.einsum("bhE,nE->bhn", r, ctx[0]) if contexts.shape[0] == 1 else jnp.einsum("bhE,bnE->bhn", r, ctx)
            attn = masked_softmax(scores, n)
            heads = jnp.sum(attn * values, axis=-1)
        logits = nn.Dense(self.C, kernel_init=torch_linear_init(self.D), bias_init=torch_linear_init(self.D), name="decoder")((heads * head_mask) @ Wo)
        return logits, attn


def build_model(params, form: str):
    """form 'position-0' (the study's OfficialAttention as it is), 'proposed' (ProposedAttention) or 'keys'
    (ProposedAttention's per-example-keys variant: the study's form before commit 6c1844e)."""
    if form in ("proposed", "keys"):
        return ProposedAttention(D=params.D, d_h_max=_size(params, "d_h"), H_max=params.H_max, C=params.C, variant="fold" if form == "proposed" else "keys")
    return study_model(params)


@contextlib.contextmanager
def _study_model(form: str):
    """Within the block, the study's ``run`` builds the given model form (used only while tracing)."""
    original = study_run.build_model
    study_run.build_model = lambda params: build_model(params, form) if params.model == "official" else original(params)
    try:
        yield
    finally:
        study_run.build_model = original


def proposed_run(params, key):
    """The study's ``run`` (data, init, Adam, schedule, logging: unchanged) with ProposedAttention."""
    with _study_model("proposed"):
        return study_run.run(params, key)


def keys_run(params, key):
    """The study's ``run`` with the per-example-keys form (the study's model before commit 6c1844e)."""
    with _study_model("keys"):
        return study_run.run(params, key)


def proposed_study(form: str = "proposed"):
    """The study with its model swapped for ProposedAttention ('proposed') or its keys variant ('keys')."""
    return dataclasses.replace(STUDY, run=proposed_run if form == "proposed" else keys_run)


def forward_flops(params, form: str, batch: int = BATCH) -> float:
    """Forward FLOPs per example of a form ('random' contexts; multiply-add = 2).

    'position-0': the query-row form with per-example keys, 2[(n+1)pD + H D d_h (n+1) +
    H n d_h + H n D + H n + H D + D C] (5.86 MFLOP at the defaults): the FLOPs every method is credited;
    'full': the official (n+1)^2 form; 'study': what the study's model computes, by its own
    count (``mha_capacity.run.flops_per_example``); 'proposed': ProposedAttention, with the per-step
    H D D d_h of M shared by ``batch`` examples.
    """
    p, D, n, dh, H, C = params.d, params.D, _size(params, "n"), _size(params, "d_h"), params.H_max, params.C
    if form in ("position-0", "keys"):
        return 2.0 * ((n + 1) * p * D + H * D * dh * (n + 1) + H * n * dh + H * n * D + H * n + H * D + D * C)
    if form == "study":
        return study_run.flops_per_example(params)
    if form == "full":
        return 2.0 * ((n + 1) * p * D + 2 * H * (n + 1) * D * dh + H * (n + 1) ** 2 * dh + 2 * H * (n + 1) * D + H * (n + 1) ** 2 + (n + 1) * D * C)
    if form == "proposed":
        return 2.0 * ((n + 1) * p * D + H * D * D + 2 * H * n * D + H * n + H * D + D * C + H * D * D * dh / batch)
    raise ValueError(form)


def official_params(**changes):
    """MHAParams at the official defaults (the paper's official code), all H heads active, log at the end only;
    search 'fixed': one training run at the static T, all steps (no capacity search, no early stop)."""
    base = dict(d=64, D=64, n=32, d_h=64, H_max=20, H=20, T_max=BATCH, T=BATCH, C=100, context="random", steps=20, log_every=20, lr=1e-3,
                search="fixed")
    base.update(changes)
    if "H_max" in changes and "H" not in changes:
        base["H"] = base["H_max"]
    fields = {f.name for f in dataclasses.fields(MHAParams)}
    for name in ("n", "d_h"):  # a study that masks n and d_h compiles n_max / d_h_max, all active here
        if name + "_max" in fields:
            base[name + "_max"] = base[name]
    if "T" in changes and "T_max" not in changes:
        base["T_max"] = base["T"]
    if "steps" in changes and "log_every" not in changes:
        base["log_every"] = base["steps"]
    return replace(MHAParams(), **base)


def model_and_weights(params, key=1):
    """The study's model and its initial variables for params (weights every form shares)."""
    q, c, _ = study_run.make_data(params, jax.random.PRNGKey(0))
    mask = (jnp.arange(params.H_max) < params.H).astype(jnp.float32)
    model = study_model(params)
    return model, model.init(jax.random.PRNGKey(key), q[:1], c[:1], mask, params.H)


def jax_logits(params, variables, form: str, queries, contexts):
    """(B, C) logits of a form: 'position-0' (study), 'proposed' or 'full' (official_full_logits)."""
    if form == "full":
        return official_full_logits(variables, queries, contexts, params.H, params.D)
    mask = (jnp.arange(params.H_max) < params.H).astype(jnp.float32)
    return build_model(params, form).apply(variables, queries, contexts, mask, params.H)[0]


# --------------------------------------------------------------------------------------------------
# PyTorch: the official math (optional)
# --------------------------------------------------------------------------------------------------


def torch_model(params, variables=None, form: str = "official"):
    """The official model in PyTorch (the paper's official code), weights copied from the study's ``variables``
    when given (else the official init). form 'official' (all n+1 rows, -inf on key column 0, decoder on
    every row) or 'position-0' (the query row only). None without torch."""
    try:
        import torch
    except ImportError:
        return None

    p, D, n, dh, H, C = params.d, params.D, _size(params, "n"), _size(params, "d_h"), params.H_max, params.C

    class Attention(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Linear(p, D)
            self.Wq = torch.nn.Parameter(torch.empty(H, D, dh))
            self.Wk = torch.nn.Parameter(torch.empty(H, D, dh))
            self.Wv = torch.nn.Parameter(torch.empty(H, D, 1))
            self.Wo = torch.nn.Parameter(torch.empty(H, D))
            with torch.no_grad():
                for h in range(H):
                    for w in (self.Wq, self.Wk, self.Wv):
                        torch.nn.init.xavier_uniform_(w[h])
                torch.nn.init.xavier_uniform_(self.Wo)
            self.decoder = torch.nn.Linear(D, C)
            pos = torch.arange(n + 1)[:, None]
            rate = torch.exp(torch.arange(0, D, 2) * (-math.log(10000.0) / D))
            pe = torch.zeros(n + 1, D)
            pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * rate), torch.cos(pos * rate)
            self.register_buffer("pe", pe)
            mask = torch.zeros(n + 1, n + 1)
            mask[:, 0] = float("-inf")  # nobody attends to the query token
            self.register_buffer("mask", mask)

        def forward(self, X):
            """X (B, n+1, p) -> (B, C) logits at position 0."""
            x = self.embedding(X) + self.pe
            if form == "official":
                Q, K, V = (x[:, None] @ W[None] for W in (self.Wq, self.Wk, self.Wv))  # (B, H, n+1, .)
                attn = torch.softmax(Q @ K.transpose(2, 3) / math.sqrt(D) + self.mask, dim=-1)
                out = (attn @ V).transpose(1, 2).reshape(X.shape[0], n + 1, H) @ self.Wo
                return self.decoder(out)[:, 0]
            q, ctx = x[:, 0], x[:, 1:]
            Q = torch.einsum("bD,hDk->bhk", q, self.Wq)
            K = torch.einsum("bnD,hDk->bhnk", ctx, self.Wk)
            V = torch.einsum("bnD,hD->bhn", ctx, self.Wv[..., 0])
            attn = torch.softmax(torch.einsum("bhk,bhnk->bhn", Q, K) / math.sqrt(D), dim=-1)
            return self.decoder((attn * V).sum(-1) @ self.Wo)

    model = Attention()
    if variables is not None:
        v = jax.tree_util.tree_map(lambda a: torch.from_numpy(np.array(a, np.float32)), variables["params"])
        mask = (np.arange(H) < params.H).astype(np.float32)[:, None]
        with torch.no_grad():
            model.embedding.weight.copy_(v["embed"]["kernel"].T)
            model.embedding.bias.copy_(v["embed"]["bias"])
            model.Wq.copy_(v["Wq"])
            model.Wk.copy_(v["Wk"])
            model.Wv.copy_(v["Wv"][..., None])
            model.Wo.copy_(v["Wo"] * torch.from_numpy(mask))  # inactive heads contribute nothing
            model.decoder.weight.copy_(v["decoder"]["kernel"].T)
            model.decoder.bias.copy_(v["decoder"]["bias"])
    return model


def torch_inputs(queries, contexts):
    """(B, n+1, p) float tensor [query; context] from JAX/numpy arrays."""
    import torch

    q, c = np.asarray(queries, np.float32), np.asarray(contexts, np.float32)
    c = np.broadcast_to(c, (q.shape[0], *c.shape[1:]))
    return torch.from_numpy(np.concatenate([q[:, None], c], axis=1))


# --------------------------------------------------------------------------------------------------
# Methods: each returns (fn running the measured work, dict describing the work)
# --------------------------------------------------------------------------------------------------


def _work(params, examples: int, form: str, batch: int, **extra) -> dict:
    """The work of one call: examples processed, credited FLOPs (3 F position-0, ``forward_flops``) and the
    FLOPs the form executes ('position-0' in JAX is the study's model: its own count)."""
    exec_form = "study" if form == "position-0" and not extra.pop("torch", False) else form
    return {"examples": examples, "form": exec_form, "flops": examples * 3.0 * forward_flops(params, "position-0"),
            "exec_flops": examples * 3.0 * forward_flops(params, exec_form, batch), **extra}


def sweep_configs(base, n_configs: int):
    """n_configs configs of one static group, varying the traced fields (lr, seed) as a sweep does."""
    lrs = (1e-3, 3e-3)
    return [replace(base, lr=lrs[i % 2], seed=i) for i in range(n_configs)]


def engine_method(base, n_configs: int, form: str = "position-0", compile_now: bool = True):
    """All n_configs through the engine as a sweep runs them (``harness.engine_call``). form 'position-0':
    the study's run as it is; 'proposed' / 'keys': the same run with ProposedAttention / its keys variant."""
    study = STUDY if form == "position-0" else proposed_study(form)
    go, work = harness.engine_call(study, sweep_configs(base, n_configs), compile_now)
    evals = 1 + base.steps // base.log_every + 1  # forward passes over T per config and call
    return go, _work(base, n_configs * base.T * base.steps, form, base.T, steps=base.steps, T=base.T, eval_examples=n_configs * base.T * evals, **work)



def scan_step_method(base, steps: int, form: str = "proposed", block: int | None = None):
    """``steps`` full-batch Adam steps over T examples in one jit'd ``lax.scan`` (the engine's inner loop,
    without its data generation and evaluations), optionally accumulating the gradient over example
    blocks of ``block`` rows (a ``lax.scan`` over blocks, summed): the same gradient to float rounding
    with a cache-sized working set. A prototype for large T."""
    T = base.T
    queries, contexts, labels = study_run.make_data(base, jax.random.PRNGKey(0))
    _, variables = model_and_weights(base)
    opt = study_run.optimizer(base)

    def loss(v, q, c, y):  # the sum over the rows given, divided by T: blocks add up to the full-batch mean
        return optax.softmax_cross_entropy_with_integer_labels(jax_logits(base, v, form, q, c), y).sum() / T

    def grads(v, q, c, y):
        if not block or block >= T:
            return jax.grad(loss)(v, q, c, y)
        nb = T // block  # T a multiple of block here
        split = lambda x: x.reshape(nb, block, *x.shape[1:])  # noqa: E731

        def body(acc, xs):
            return jax.tree_util.tree_map(jnp.add, acc, jax.grad(loss)(v, *xs)), None

        return jax.lax.scan(body, jax.tree_util.tree_map(jnp.zeros_like, v), (split(q), split(c), split(y)))[0]

    @jax.jit
    def train(v, q, c, y):
        def step(carry, _):
            v, state = carry
            updates, state = opt.update(grads(v, q, c, y), state, v)
            return (optax.apply_updates(v, updates), state), None

        return jax.lax.scan(step, (v, opt.init(v)), None, length=steps)[0][0]

    if block and T % block:
        raise ValueError(f"T {T} is not a multiple of block {block}")
    jax.block_until_ready(train(variables, queries, contexts, labels))  # compile

    def go():
        jax.block_until_ready(train(variables, queries, contexts, labels))

    return go, _work(base, steps * T, form, T, configs=1, steps=steps, T=T, block=block,
                     program_bytes=lambda: xla_bytes(train, variables, queries, contexts, labels))


def _batches(T: int, steps: int, seed: int = 0) -> np.ndarray:
    """(steps, 256) example indices: a fresh permutation each epoch, as a shuffling DataLoader."""
    rng = np.random.default_rng(seed)
    per_epoch = T // BATCH
    perms = [rng.permutation(T)[: per_epoch * BATCH].reshape(per_epoch, BATCH) for _ in range(-(-steps // per_epoch))]
    return np.concatenate(perms)[:steps]


def loop_method(base, steps: int, form: str = "full", T: int = 1024):
    """One config, a jit'd step over a batch of 256 (jax.grad + optax.adam with the official schedule,
    buffers donated), a Python loop over steps (``harness.python_loop``). form: 'full'
    (official_full_logits), 'position-0' (the study's model) or 'proposed'."""
    params = dataclasses.replace(base, T=T, T_max=T)
    queries, contexts, labels = study_run.make_data(params, jax.random.PRNGKey(0))
    _, variables = model_and_weights(params)
    schedule = lambda count: params.lr * study_run.schedule_shape(dataclasses.replace(params, steps=50_000, log_every=50_000))(count)  # noqa: E731
    opt = optax.adam(schedule, b1=0.9, b2=0.999, eps=1e-8)

    def loss(v, q, c, y):
        logits = jax_logits(params, v, form, q, c)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def step(v, state, data, idx):
        q, c, y = (x[idx] for x in data)  # the batch, gathered on the device
        grads = jax.grad(loss)(v, q, c, y)
        updates, state = opt.update(grads, state, v)
        return optax.apply_updates(v, updates), state

    data = (queries, contexts, labels)
    go, work = harness.python_loop(step, variables, opt, [(data, jnp.asarray(b)) for b in _batches(T, steps)])
    return go, _work(params, steps * BATCH, form, BATCH, T=T, **work)


def torch_method(base, steps: int, form: str = "official", T: int = 1024, threads: int | None = None):
    """The official math in PyTorch (CPU) on shuffled batches of 256; None without torch. ``threads``:
    torch's intra-op threads during the call (None: torch's default, one per core). On this shared
    2-core machine one thread is often faster: two OpenMP threads degrade badly when another process
    takes a core (measured up to 2x at the defaults, 10x at the small model), so the tables show both
    and the ratios use the faster."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    params = dataclasses.replace(base, T=T, T_max=T)
    queries, contexts, labels = study_run.make_data(params, jax.random.PRNGKey(0))
    X, y = torch_inputs(queries, contexts), torch.from_numpy(np.asarray(labels, np.int64))
    _, variables = model_and_weights(params)
    model = torch_model(params, variables, form)
    opt = torch.optim.Adam(model.parameters(), lr=params.lr)
    total = 50_000
    warm = total // 20
    sched = torch.optim.lr_scheduler.SequentialLR(
        opt, [torch.optim.lr_scheduler.LinearLR(opt, 0.01, 1.0, total_iters=warm), torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - warm)], milestones=[warm]
    )
    batches = [torch.from_numpy(b) for b in _batches(T, steps)]
    n_threads = threads or torch.get_num_threads()

    def train():
        for idx in batches:
            loss = F.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
            opt.zero_grad()
            sched.step()

    exec_form = "full" if form == "official" else "position-0"
    return harness.with_threads(train, n_threads), _work(params, steps * BATCH, exec_form, BATCH, configs=1, steps=steps, T=T, threads=n_threads, torch=True)


def torch_methods(base, steps: int, methods: dict, form: str = "official") -> None:
    """Add the torch rows of a form to ``methods``: torch's default threads, and 1 thread if that differs
    (``harness.torch_thread_counts``)."""
    counts = harness.torch_thread_counts()
    for threads in counts:
        name = f"torch ({form})" if threads == counts[0] else f"torch ({form}, {threads} thread{'s' if threads > 1 else ''})"
        methods[name] = torch_method(base, steps, form, threads=threads)  # not called before the rounds: its first sample is its first call


# --------------------------------------------------------------------------------------------------
# Checks: the forms agree on identical weights
# --------------------------------------------------------------------------------------------------


def loss_checks(params, batch: int = 64) -> dict:
    """Cross-entropy of every form on the same weights and the same ``batch`` examples, and the largest
    gradient difference of the proposed form (relative to each leaf's largest entry) from the study's."""
    p = dataclasses.replace(params, T=batch, T_max=batch)
    q, c, y = study_run.make_data(p, jax.random.PRNGKey(0))
    _, variables = model_and_weights(p)

    def loss(form):
        return lambda v: optax.softmax_cross_entropy_with_integer_labels(jax_logits(p, v, form, q, c), y).mean()

    out = {f"jax {form}": float(jax.jit(loss(form))(variables)) for form in ("position-0", "full", "proposed", "keys")}
    g0, g1 = jax.jit(jax.grad(loss("position-0")))(variables), jax.jit(jax.grad(loss("proposed")))(variables)
    out["proposed_grad_rel_diff"] = max(float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(a))) for a, b in zip(jax.tree_util.tree_leaves(g0), jax.tree_util.tree_leaves(g1)))
    try:
        import torch
        import torch.nn.functional as F

        X, yt = torch_inputs(q, c), torch.from_numpy(np.asarray(y, np.int64))
        for form in ("official", "position-0"):
            with torch.no_grad():
                out[f"torch {form}"] = float(F.cross_entropy(torch_model(p, variables, form)(X), yt))
    except ImportError:
        pass
    losses = [v for k, v in out.items() if k != "proposed_grad_rel_diff"]
    out["max_abs_loss_diff"] = max(losses) - min(losses)
    return out




# --------------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------------


def summarize(name: str, work: dict, samples: list[dict], peak_gflops: float) -> dict:
    """``harness.row`` per example: ms per 256 examples (best and median), us per example, examples/s, and
    the rate in the FLOPs the method's form executes; per config-step for the engine."""
    r = harness.row(name, work, samples, peak_gflops)
    ex, wall = work["examples"], r["wall_s"]
    r.update({"form": work["form"], "T": work.get("T"), "examples_per_call": ex, "ms_per_256_examples": 1e3 * wall * BATCH / ex,
              "ms_per_256_examples_median": 1e3 * r["wall_s_median"] * BATCH / ex, "us_per_example": 1e6 * wall / ex, "examples_per_s": ex / wall,
              "exec_gflops": work["exec_flops"] / wall / 1e9, "exec_fraction_of_peak": work["exec_flops"] / wall / 1e9 / peak_gflops})
    if work.get("chunk"):
        r.update({"ms_per_config_step": 1e3 * wall / (work["configs"] * work["steps"]), "configs_per_s_at_call_steps": work["configs"] / wall,
                  "eval_examples_per_call": work.get("eval_examples")})
    return r


def section_methods(args, result) -> dict:
    """Every method at the official defaults, side by side, and the headline ratios."""
    base = official_params(T=args.T, steps=args.steps)
    log(f"methods at the official defaults (T {base.T} per engine config, {base.steps} steps per call): checks, building, compiling")
    checks = loss_checks(base)
    log(f"  losses on identical weights: {checks}")
    methods = {f"engine x{c}": engine_method(base, c) for c in args.engine_configs}
    for c in args.engine_configs:
        methods[f"engine (proposed) x{c}"] = engine_method(base, c, "proposed")
    if not args.quick:
        methods["engine (keys form) x1"] = engine_method(base, 1, "keys")
    methods["loop (full)"] = loop_method(base, args.loop_steps, "full")
    if not args.quick:
        methods["loop (position-0)"] = loop_method(base, args.loop_steps, "position-0")
    methods["loop (proposed)"] = loop_method(base, args.loop_steps * 4, "proposed")
    torch_methods(base, args.torch_steps, methods)
    if not args.quick:
        mt = torch_method(base, 2 * args.torch_steps, "position-0")
        if mt is not None:
            methods["torch (position-0)"] = mt
    sec = {"params": _describe(base), "checks": checks, **harness.measure(methods, args, summarize)}
    sec["headline"] = headline(sec)
    return sec


def section_breakdown(args, result) -> dict:
    """Where one training step of 256 examples goes (official defaults, one config, jit'd pieces)."""
    base = official_params(T=args.T, steps=args.steps)
    log("breakdown: compiling the pieces of one step")
    q, c, y = study_run.make_data(base, jax.random.PRNGKey(0))
    _, v = model_and_weights(base)
    p = v["params"]
    opt = study_run.optimizer(base)
    state = opt.init(v)

    def loss(form):
        return lambda v: optax.softmax_cross_entropy_with_integer_labels(jax_logits(base, v, form, q, c), y).mean()

    def train_step(form):
        def step(v, state):
            grads = jax.grad(loss(form))(v)
            updates, state = opt.update(grads, state, v)
            return optax.apply_updates(v, updates), state

        return step

    def scanned(form, k=10):  # k steps in one lax.scan, as the engine runs them (buffers reused across steps)
        def run(v, state):
            (v, state), _ = jax.lax.scan(lambda carry, _: (train_step(form)(*carry), None), (v, state), None, length=k)
            return v

        return run

    grads = jax.grad(loss("position-0"))(v)
    embed = lambda x: x @ p["embed"]["kernel"] + p["embed"]["bias"]  # noqa: E731
    ctx = embed(c) + sinusoidal_positions(_size(base, "n") + 1, base.D)[1:]
    keys = jnp.einsum("cnD,hDk->chnk", ctx, p["Wk"])
    qh = jnp.einsum("bD,hDk->bhk", embed(q), p["Wq"])
    B, n, D, dh, H = base.T, _size(base, "n"), base.D, _size(base, "d_h"), base.H_max
    # (name, function, args, FLOPs it executes[, steps per call]); each is one jit'd call, so it also pays for
    # allocating (and first touching) its temporaries, which the engine's lax.scan allocates once
    pieces = [
        ("study step (grad + Adam)", train_step("position-0"), (v, state), 3 * B * forward_flops(base, "study")),
        ("study step, in a 10-step scan", scanned("position-0"), (v, state), 10 * 3 * B * forward_flops(base, "study"), 10),
        ("study forward", lambda v: jax_logits(base, v, "position-0", q, c), (v,), B * forward_flops(base, "study")),
        ("study loss + grad", jax.grad(loss("position-0")), (v,), 3 * B * forward_flops(base, "study")),
        ("Adam update + apply", lambda g, s, v: optax.apply_updates(v, opt.update(g, s, v)[0]), (grads, state, v), 0.0),
        ("keys form: X'Wk per example (fwd)", lambda x, w: jnp.einsum("cnD,hDk->chnk", x, w), (ctx, p["Wk"]), 2.0 * B * n * D * dh * H),
        ("keys form: scores q.K (fwd)", lambda a, k: jnp.einsum("bhk,bhnk->bhn", a, k), (qh, keys), 2.0 * B * H * n * dh),
        ("proposed step (grad + Adam)", train_step("proposed"), (v, state), 3 * B * forward_flops(base, "proposed", B)),
        ("proposed step, in a 10-step scan", scanned("proposed"), (v, state), 10 * 3 * B * forward_flops(base, "proposed", B), 10),
        ("proposed forward", lambda v: jax_logits(base, v, "proposed", q, c), (v,), B * forward_flops(base, "proposed", B)),
        ("full-form loss + grad", jax.grad(loss("full")), (v,), 3 * B * forward_flops(base, "full")),
    ]
    methods = {}
    for name, f, a, flops, *per in pieces:
        jf = jax.jit(f)
        jax.block_until_ready(jf(*a))
        t0 = time.perf_counter()
        jax.block_until_ready(jf(*a))
        reps = max(1, int(0.3 / max(1e-4, time.perf_counter() - t0)))

        def go(jf=jf, a=a, reps=reps):
            for _ in range(reps):
                out = jf(*a)
            jax.block_until_ready(out)

        methods[name] = (go, {"reps": reps * (per[0] if per else 1), "flops": flops * reps})

    def piece(name, work, samples, peak_gflops):
        b = best(samples)
        return {"piece": name, "ms": 1e3 * b["wall"] / work["reps"], "exec_gflops": work["flops"] / b["wall"] / 1e9,
                "exec_fraction_of_peak": work["flops"] / b["wall"] / 1e9 / peak_gflops, "quiet_samples": b["quiet"], "samples": samples}

    sec = harness.measure(methods, args, piece)
    for r in sec["rows"]:
        r["share_of_study_step"] = r["ms"] / sec["rows"][0]["ms"]
    return {"params": _describe(base), "peak_gflops": sec["peak"]["gflops"], "rows": sec["rows"]}


def section_grid(args, result) -> dict:
    """Cost against the number of configs (engine, study and proposed model) at a smaller model; grids of 64
    configs and more are sampled once."""
    small = official_params(d=args.grid_d, D=args.grid_d, n=args.grid_n, d_h=args.grid_d, H_max=args.grid_H, C=args.grid_C, T=args.grid_T, steps=args.grid_steps)
    methods = {}
    for form in ("position-0", "proposed"):
        for c in args.grid:  # one compile per chunk size (1, then 4 for every larger grid)
            log(f"grid ({_describe(small)}): {form}, {c} configs x {small.steps} steps")
            methods[f"{form} x{c}"] = engine_method(small, c, form)
    methods["loop (full)"] = loop_method(small, args.loop_steps * 4, "full")
    torch_methods(small, args.torch_steps * 4, methods)
    sec = harness.measure(methods, args, summarize, once=lambda work: work["configs"] >= 64)
    return {"params": _describe(small), "peak_gflops": sec["peak"]["gflops"], "rows": sec["rows"]}


def section_sizes(args, result) -> dict:
    """Cost against the problem size (H, n, T) around the official defaults: engine (study and proposed)
    and torch (official); T only changes the engine (torch draws batches of 256 whatever T)."""
    out = []
    for spec in args.sizes:
        name, value = spec.split("=")
        value = int(value)
        change = {"H": {"H_max": value}, "n": {"n": value}, "T": {"T": value}}[name]
        base = official_params(steps=args.size_steps, **change)
        log(f"size {name} = {value} ({_describe(base)}): compiling")
        methods = {
            "engine": engine_method(base, args.size_configs),
            "engine (proposed)": engine_method(base, args.size_configs, "proposed"),
        }
        if name != "T":
            scale = forward_flops(base, "full") / forward_flops(official_params(), "full")
            torch_methods(base, max(1, round(args.torch_steps / scale)), methods)
        else:  # large T: the full-batch step as it is vs accumulated over cache-sized example blocks
            for form in ("position-0", "proposed"):
                label = "study" if form == "position-0" else "proposed"
                methods[f"scan ({label})"] = scan_step_method(base, args.scan_steps, form)
                methods[f"scan ({label}, blocks of {args.block})"] = scan_step_method(base, args.scan_steps, form, args.block)
        sec = harness.measure(methods, args, summarize, rounds=args.size_rounds)
        out.append({"axis": name, "value": value, "params": _describe(base), "credited_flops_per_example": 3 * forward_flops(base, "position-0"),
                    "peak_gflops": sec["peak"]["gflops"], "rows": sec["rows"]})
    return {"sizes": out}


def _describe(p) -> str:
    return f"d {p.d}, D {p.D}, n {_size(p, 'n')}, H {p.H_max}, d_h {_size(p, 'd_h')}, C {p.C}, {p.context} contexts, T {p.T}"


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def best_torch(rows) -> dict | None:
    """The fastest torch row of the official math (over its thread settings): the reference of the ratios."""
    return harness.fastest(rows, lambda m: m.startswith("torch (official"), "us_per_example")


def headline(sec: dict) -> dict:
    """The headline ratios at the official defaults: the engine (the study as it is, the row with the most
    configs, i.e. chunks as a sweep cuts them) vs torch (its fastest thread setting) and vs the JAX loops;
    the proposed engine likewise; fractions of peak. Target: engine >= 50x torch per example."""
    rows = {r["method"]: r for r in sec["rows"]}
    eng = max((r for k, r in rows.items() if k.startswith("engine x")), key=lambda r: r["configs"])
    prop = max((r for k, r in rows.items() if k.startswith("engine (proposed)")), key=lambda r: r["configs"], default=None)
    out = {"engine": eng["method"], "engine_examples_per_s": eng["examples_per_s"], "engine_fraction_of_peak": eng["fraction_of_peak"],
           "engine_exec_fraction_of_peak": eng["exec_fraction_of_peak"]}
    bt = best_torch(sec["rows"])
    if bt:
        rows["torch (official)"] = bt
        out["torch_reference"] = bt["method"]
    for ref in ("torch (official)", "loop (full)", "loop (position-0)"):
        if ref in rows:
            out[f"engine_vs_{ref}"] = eng["examples_per_s"] / rows[ref]["examples_per_s"]
            if prop:
                out[f"proposed_vs_{ref}"] = prop["examples_per_s"] / rows[ref]["examples_per_s"]
    if prop:
        out.update({"proposed": prop["method"], "proposed_examples_per_s": prop["examples_per_s"], "proposed_vs_engine": prop["examples_per_s"] / eng["examples_per_s"],
                    "proposed_fraction_of_peak_credited": prop["fraction_of_peak"], "proposed_exec_fraction_of_peak": prop["exec_fraction_of_peak"]})
    if "torch (official)" in rows:
        out["target_50x_met_by_engine"] = out["engine_vs_torch (official)"] >= 50
        if prop:
            out["target_50x_met_by_proposed"] = out["proposed_vs_torch (official)"] >= 50
    return out


def print_methods(sec: dict, result=None) -> None:
    c = sec["checks"]
    print(f"\n== methods side by side at the official defaults ({sec['params']}; loops and torch: batches of 256 of T = 1024); "
          f"fp32 matmul peak {sec['peak']['gflops']:.0f} GFLOP/s (n={sec['peak']['size']}, quiet samples {sec['peak']['quiet_samples']})")
    print("   losses on identical weights: " + ", ".join(f"{k} {v:.7f}" for k, v in c.items() if k not in ("max_abs_loss_diff", "proposed_grad_rel_diff"))
          + f"; spread {c['max_abs_loss_diff']:.1e}; proposed vs study gradient, max rel diff {c['proposed_grad_rel_diff']:.1e}")
    rows = sec["rows"]
    loop, bt = next((r for r in rows if r["method"] == "loop (full)"), None), best_torch(rows)
    col, ratio = harness.col, harness.ratio_col
    harness.table(rows, [col("method", 24, "{method}", "<"), col("chunk", 5, lambda r: str(r["chunk"] or "")), col("ms/256 ex", 9, "{ms_per_256_examples:.2f}"),
                         col("(median)", 9, "{ms_per_256_examples_median:.2f}"), col("us/ex", 7, "{us_per_example:.1f}"),
                         col("examples/s", 10, "{examples_per_s:.0f}"), col("GFLOP/s", 8, "{gflops:.1f}"), harness.OF_PEAK,
                         col("exec GF/s", 9, "{exec_gflops:.1f}"), col("exec %", 6, lambda r: f"{100 * r['exec_fraction_of_peak']:5.1f}%"),
                         ratio("vs loop", 8, "examples_per_s", loop and loop["examples_per_s"], "{:.2f}x", faster="higher"),
                         ratio("vs torch", 8, "examples_per_s", bt and bt["examples_per_s"], faster="higher"), *harness.memory_columns()])
    h = sec["headline"]
    print("\n   ratios (examples/s): " + ", ".join(f"{k.replace('_vs_', ' vs ')} {v:.1f}x" for k, v in h.items() if "_vs_" in k))
    print(f"   engine ({h['engine']}) at {100 * h['engine_fraction_of_peak']:.1f}% of peak credited "
          f"({100 * h['engine_exec_fraction_of_peak']:.1f}% in FLOPs it executes)"
          + (f"; proposed ({h['proposed']}) at {100 * h['proposed_exec_fraction_of_peak']:.1f}% of peak in FLOPs it executes" if "proposed" in h else ""))
    if "target_50x_met_by_engine" in h:
        print(f"   target (engine >= 50x torch per example): study's model {'MET' if h['target_50x_met_by_engine'] else 'MISSED'} "
              f"({h['engine_vs_torch (official)']:.1f}x)" + (f"; proposed model {'MET' if h['target_50x_met_by_proposed'] else 'MISSED'} "
                                                           f"({h['proposed_vs_torch (official)']:.1f}x)" if "proposed" in h else ""))


def print_breakdown(sec: dict, result=None) -> None:
    print(f"\n== where a training step of 256 examples goes ({sec['params']}; one config, jit'd pieces, peak {sec['peak_gflops']:.0f} GFLOP/s)")
    col = harness.col
    harness.table(sec["rows"], [col("piece", 32, "{piece}", "<"), col("ms", 8, "{ms:.2f}"), col("vs study step", 13, lambda r: f"{100 * r['share_of_study_step']:12.1f}%"),
                                col("exec GFLOP/s", 12, "{exec_gflops:.1f}"), col("of peak", 7, lambda r: f"{100 * r['exec_fraction_of_peak']:6.1f}%"),
                                col("quiet", 6, "{quiet_samples}")])


def print_grid(sec: dict, result=None) -> None:
    print(f"\n== cost against grid size (engine; chunks by choose_chunk_size) at a smaller model: {sec['params']}; "
          f"peak {sec['peak_gflops']:.0f} GFLOP/s; each call also evaluates 3 times (step 0, last log, final)")
    col = harness.col
    harness.table(sec["rows"], [col("method", 24, "{method}", "<"), col("configs", 7, "{configs:d}"), col("steps", 5, "{steps:d}"),
                                col("chunk", 5, lambda r: str(r["chunk"] or "")), col("wall s", 7, "{wall_s:.2f}"),
                                col("ms/cfg-step", 11, lambda r: f"{r.get('ms_per_config_step', 1e3 * r['wall_s'] / r['steps']):.2f}"),
                                col("examples/s", 10, "{examples_per_s:.0f}"), col("GFLOP/s", 8, "{gflops:.1f}"), harness.OF_PEAK,
                                *harness.memory_columns("xla MB/chunk")])


def print_sizes(sec: dict, result: dict) -> None:
    """The methods section's torch rows serve the T rows, whose torch loop does not change."""
    print("\n== cost against problem size around the official defaults: examples/s, credited fraction of peak, "
          "and the engine's speed-up over torch (its faster thread setting; T rows: torch of the methods section, which draws batches of 256 whatever T)")
    ref = best_torch(result["methods"]["rows"]) if "methods" in result else None
    for s in sec["sizes"]:
        rows = {r["method"]: r for r in s["rows"] if not r["method"].startswith("torch")}
        bt = best_torch(s["rows"]) or (ref if s["axis"] == "T" else None)
        if bt:
            rows["torch (official)"] = bt
        parts = []
        for k, r in rows.items():
            extra = ""
            if k.startswith("engine") and "torch (official)" in rows:
                extra = f", {r['examples_per_s'] / rows['torch (official)']['examples_per_s']:.0f}x torch"
            if k.startswith("scan (") and "blocks" in k and k.split(",")[0] + ")" in rows:
                extra = f", {r['examples_per_s'] / rows[k.split(',')[0] + ')']['examples_per_s']:.2f}x unblocked"
            parts.append(f"{k} {r['examples_per_s']:.0f}/s ({100 * r['fraction_of_peak']:.0f}%{extra})")
        print(f"{s['axis']} = {s['value']:5d} ({s['params']}; {s['credited_flops_per_example'] / 1e6:.1f} MFLOP/ex): " + "; ".join(parts))


SECTIONS = {"methods": (section_methods, print_methods), "breakdown": (section_breakdown, print_breakdown), "grid": (section_grid, print_grid),
            "sizes": (section_sizes, print_sizes)}
LEGEND = ("ms/256 ex = wall x 256 / examples processed (engine: configs x T x steps), best quiet sample (median beside it); "
          "GFLOP/s credits every method 3 F per example, F the position-0 forward (forward_flops); exec = the FLOPs of the method's own form")


def main(argv=None) -> dict:
    ap = harness.parser(__doc__, sections=SECTIONS, json_path="bench_out/mha.json", wait_quiet=5.0, wait_budget=30.0,
                        quick="methods (engine x4 only, fewer loops) and grid 1 8 64, two rounds (about 2 minutes)")
    ap.add_argument("--T", type=int, default=BATCH, help="examples per engine config (methods and breakdown sections)")
    ap.add_argument("--steps", type=int, default=20, help="engine steps per measured call (methods; grid sizes <= 8)")
    ap.add_argument("--loop-steps", type=int, default=8, help="steps per call of the full-form JAX loop (x4 for the proposed loop)")
    ap.add_argument("--torch-steps", type=int, default=2, help="torch steps per call at the defaults (scaled down for bigger sizes, x4 at the grid's model)")
    ap.add_argument("--engine-configs", type=int, nargs="+", default=[1, 4], help="engine rows in the methods section")
    ap.add_argument("--grid", type=int, nargs="+", default=[1, 8, 64, 512])
    ap.add_argument("--grid-steps", type=int, default=20, help="steps per call in the grid section")
    ap.add_argument("--grid-d", type=int, default=16, help="d = D = d_h of the grid section's model")
    ap.add_argument("--grid-n", type=int, default=8)
    ap.add_argument("--grid-H", type=int, default=8)
    ap.add_argument("--grid-C", type=int, default=10)
    ap.add_argument("--grid-T", type=int, default=256)
    ap.add_argument("--sizes", nargs="+", default=["H=5", "H=60", "n=64", "T=2048"], help="AXIS=VALUE changes of one default")
    ap.add_argument("--size-steps", type=int, default=10, help="engine steps per call in the sizes section")
    ap.add_argument("--scan-steps", type=int, default=5, help="steps per call of the scan-step rows (T sizes)")
    ap.add_argument("--block", type=int, default=512, help="example block of the blocked-gradient rows (T sizes)")
    ap.add_argument("--size-configs", type=int, default=1, help="engine configs per size row")
    ap.add_argument("--size-rounds", type=int, default=2)
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.engine_configs, args.grid, args.wait_budget = 2, [4], [1, 8, 64], min(args.wait_budget, 10.0)
        args.sections = [s for s in args.sections if s in ("methods", "grid")]
    return harness.run(args, SECTIONS, LEGEND)


if __name__ == "__main__":
    main()
