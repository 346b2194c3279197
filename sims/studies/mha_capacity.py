"""Study `mha-capacity`: how many examples one multi-head attention layer memorizes.

Mahdavi, Liao, Thrampoulidis, "Memorization Capacity of Multi-Head Attention in Transformers"
(ICLR 2024, arXiv 2306.02010); fact sheet shared/papers/mha_capacity.md, sections 1, 4, 6.

Model (fact sheet 1.2, official code V2): input rows [query e; context x_1..x_n] in R^d, a linear
embedding R^d -> R^D with bias, fixed sinusoidal positions (the query gets PE(0)), H heads with
W_Q, W_K in R^{D x d_h} and a scalar value W_V in R^{D x 1}; scores Q K^T / sqrt(D) (model width, not
d_h); the query token is masked from every row; the H head outputs are concatenated through
W_O in R^{H x D} and decoded by Linear(D -> C). Only position 0 is used, so we compute the query row
alone (``official_logits``); ``official_full_logits`` is the full (n+1) x (n+1) masked computation,
kept for the equivalence test.

How heads, context length and head dimension are swept (a design decision the issue asks us to state):
  masking a maximal model, so that one compile serves a whole panel.
  * H is traced: the model is built with ``H_max`` heads and a head mask; a masked head's output is
    multiplied by 0, so it receives zero gradient and never moves, and W_O's Xavier bound uses the
    active H, so a masked model is the H-head model exactly (tested).
  * n is traced: contexts are drawn with ``n_max`` rows and the scores of rows >= n are -inf, so the
    softmax runs over the first n rows alone (positions 1..n get the same sinusoidal codes either way);
    equal to an n-row model (tested).
  * d_h is traced: W_Q, W_K have ``d_h_max`` columns multiplied by a 0/1 column mask (masked columns
    get zero gradient), and their Xavier bound sqrt(6 / (D + d_h)) uses the active d_h; equal to a
    d_h-column model with the same weights (tested).
  Why masking: on the 2-core CPU one compile of this training loop takes 5-10 s while a whole chunk of
  4 configs at T = 128 trains 2000 steps in about 1 s (measured), so at quick scale compiles, not
  FLOPs, set the wall time; the masked n and d_h cost little extra (the shared-context step is dominated
  by per-example query projections, H_max D d_h_max per example).
  * T (number of training examples) stays static: the engine compiles one function per value and
    vmaps seeds (and lr, H, n, d_h) inside it. A T mask would make every config pay for T_max rows; on
    a geometric T grid static T costs sum(T) instead of len(T) * T_max (2-4x less FLOPs), worth one
    compile per T value. Examples stay nested: the T examples are the first T of T_max drawn per seed.

With a context per example ('random', 'perm') the scores are computed as (q W_K^T) . x'_i, the same
product regrouped: H D d_h instead of H n D d_h multiply-adds per example for the keys (n = 8, d_h = 16:
2.6x fewer FLOPs for the whole forward); shared contexts keep their keys, computed once per step.

Training (fact sheet 1.3, 6.1): full-batch Adam (PyTorch defaults, no weight decay), the official
schedule (linear warm-up from 0.01 lr to lr over S/20 steps, then cosine to 0), cross-entropy for
classification (C >= 2) or MSE (C = 1, regression). Every ``log_every`` steps: training accuracy and
loss on the T active examples. Reported accuracy is that of the lowest-loss logged step (the official
"best checkpoint"). Regression counts an example memorized if |yhat - y| < REGRESSION_TOL.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..errors import ConfigError
from ..params import replace, static, study_params, traced
from ..study import Scale, Study, param_value

REGRESSION_TOL = 0.01  # |yhat - y| below this counts as memorized (fact sheet 6.2)
SATURATED = 0.99  # a head is saturated on an example if its largest attention weight exceeds this
CONTEXTS = ("fixed", "random", "perm")
PERM_BAG = 500  # 'perm' contexts draw n distinct vectors from a bag of this many (official code)


@study_params
class MHAParams:
    d: int = static(16, "input dimension p of query and context vectors")
    D: int = static(16, "model width d_model")
    n_max: int = static(8, "context rows in the compiled model; the first n are used")
    d_h_max: int = static(16, "query/key columns per head in the compiled model; the first d_h are used")
    H_max: int = static(8, "heads in the compiled model; H <= H_max are active")
    T_max: int = static(2048, "examples drawn per seed; the first T are trained on")
    C: int = static(2, "classes (C >= 2: classification, cross-entropy); C = 1: regression, MSE")
    context: str = static("fixed", "'fixed' (shared), 'random' or 'perm'")
    model: str = static("official", "'official' (fact sheet 1.2) or 'bare' (the layer of the theory)")
    steps: int = static(3000, "full-batch Adam steps")
    log_every: int = static(100, "log accuracy and loss every this many steps")
    H: int = traced(4, "active heads")
    n: int = traced(8, "context length (n <= n_max)")
    d_h: int = traced(16, "query/key dimension per head (d_h <= d_h_max)")
    T: int = static(256, "training examples (the first T of T_max drawn per seed)")
    lr: float = traced(1e-2, "peak learning rate")
    seed: int = traced(0, "data and init derive from this seed")

    def validate(self):
        for name in ("d", "D", "n_max", "d_h_max", "H_max", "T_max", "C", "steps", "log_every"):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and 1 <= value <= 1 << 20):
                raise ConfigError(f"{name} must be an integer in [1, 2^20], got {value}")
        if self.context not in CONTEXTS:
            raise ConfigError(f"context must be one of {', '.join(CONTEXTS)}, got {self.context!r}")
        if self.model not in ("official", "bare"):
            raise ConfigError(f"model must be 'official' or 'bare', got {self.model!r}")
        if self.context == "perm" and self.n_max > PERM_BAG:
            raise ConfigError(f"'perm' contexts need n_max <= {PERM_BAG}, got n_max {self.n_max}")
        for name, cap in (("H", "H_max"), ("n", "n_max"), ("d_h", "d_h_max")):
            value, limit = getattr(self, name), getattr(self, cap)
            if not (isinstance(value, (int, np.integer)) and 1 <= value <= limit):
                raise ConfigError(f"{name} must be an integer in [1, {cap}={limit}], got {value} (raise {cap})")
        if not (isinstance(self.T, (int, np.integer)) and 1 <= self.T <= self.T_max):
            raise ConfigError(f"T must be an integer in [1, T_max={self.T_max}], got {self.T}")
        if self.steps % self.log_every:
            raise ConfigError(f"log_every ({self.log_every}) must divide steps ({self.steps})")
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if not (isinstance(self.seed, (int, np.integer)) and 0 <= self.seed < 2**31):
            raise ConfigError(f"seed must be an integer in [0, 2^31), got {self.seed}")
        if self.model == "bare" and self.C != 1:
            raise ConfigError("the bare layer has one scalar output: use C = 1 (regression)")


# --------------------------------------------------------------------------------------------------
# Data (fact sheet 1.4): all entries U[0, 1], from explicit keys
# --------------------------------------------------------------------------------------------------


def make_data(params: MHAParams, key):
    """queries (T, d); contexts (1, n_max, d) if 'fixed' else (T, n_max, d); labels (T,) int classes
    (C >= 2) or floats in [0, 1] (C = 1). Drawn for T_max examples and cut to the first T, so training
    sets are nested in T for a seed, and contexts nested in n (the model reads the first n rows)."""
    kq, kc, ky, kp = jax.random.split(jax.random.fold_in(key, 0), 4)
    T, n, d = params.T_max, params.n_max, params.d
    queries = jax.random.uniform(kq, (T, d))
    if params.context == "fixed":
        contexts = jax.random.uniform(kc, (1, n, d))
    elif params.context == "random":
        contexts = jax.random.uniform(kc, (T, n, d))
    else:  # 'perm': n distinct vectors of a bag, in random order
        bag = jax.random.uniform(kc, (PERM_BAG, d))
        picks = jnp.argsort(jax.random.uniform(kp, (T, PERM_BAG)), axis=-1)[:, :n]
        contexts = bag[picks]
    labels = jax.random.uniform(ky, (T,)) if params.C == 1 else jax.random.randint(ky, (T,), 0, params.C)
    keep = params.T
    return queries[:keep], contexts if params.context == "fixed" else contexts[:keep], labels[:keep]


def sinusoidal_positions(length: int, width: int) -> jnp.ndarray:
    """(length, width) fixed encoding, base 10000, sin on even and cos on odd channels."""
    pos = np.arange(length)[:, None]
    rate = np.exp(-np.log(10000.0) * (np.arange(0, width, 2) / width))
    pe = np.zeros((length, width))
    pe[:, 0::2] = np.sin(pos * rate)
    pe[:, 1::2] = np.cos(pos * rate[: width // 2])
    return jnp.asarray(pe, jnp.float32)


# --------------------------------------------------------------------------------------------------
# Models (flax linen)
# --------------------------------------------------------------------------------------------------


def torch_linear_init(fan_in: int):
    """PyTorch nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias."""
    bound = 1.0 / math.sqrt(fan_in)
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound)


def xavier_uniform(fan_in, fan_out):
    """Xavier-uniform with a (possibly traced) fan: bound sqrt(6 / (fan_in + fan_out))."""
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -1.0, 1.0) * jnp.sqrt(6.0 / (fan_in + fan_out))


def _query_key_scores(q, keys):
    """q (B, H, k) against keys (1, H, n, k) shared or (B, H, n, k) per example -> (B, H, n)."""
    if keys.shape[0] == 1:
        return jnp.einsum("bhk,hnk->bhn", q, keys[0])
    return jnp.einsum("bhk,bhnk->bhn", q, keys)


def masked_softmax(scores, n_active):
    """Softmax over the first ``n_active`` (traced) of the last axis; later rows get weight exactly 0."""
    rows = jnp.arange(scores.shape[-1]) < n_active
    return jax.nn.softmax(jnp.where(rows, scores, -jnp.inf), axis=-1)


def column_mask(width: int, active):
    """(width,) 0/1 float mask of the first ``active`` (traced) columns."""
    return (jnp.arange(width) < active).astype(jnp.float32)


class OfficialAttention(nn.Module):
    """The official experiment's model (fact sheet 1.2), evaluated at the query position only.

    __call__(queries (B, d), contexts (B or 1, n_max, d), head_mask (H_max,), n_heads, n, d_h) -> (B, C)
    logits and the attention weights (B, H_max, n_max) (zero on rows >= n). ``n`` and ``d_h`` may be
    traced; they default to the compiled sizes.
    """

    D: int
    d_h_max: int
    H_max: int
    C: int

    @nn.compact
    def __call__(self, queries, contexts, head_mask, n_heads, n=None, d_h=None):
        d, n_max = queries.shape[-1], contexts.shape[-2]
        n = n_max if n is None else n
        d_h = self.d_h_max if d_h is None else d_h
        embed = nn.Dense(self.D, kernel_init=torch_linear_init(d), bias_init=torch_linear_init(d), name="embed")
        pe = sinusoidal_positions(n_max + 1, self.D)
        q_tok = embed(queries) + pe[0]  # (B, D)
        ctx = embed(contexts) + pe[1:]  # (B|1, n_max, D): computed once when the context is shared
        cols = column_mask(self.d_h_max, d_h)
        Wq = self.param("Wq", xavier_uniform(self.D, d_h), (self.H_max, self.D, self.d_h_max)) * cols
        Wk = self.param("Wk", xavier_uniform(self.D, d_h), (self.H_max, self.D, self.d_h_max)) * cols
        Wv = self.param("Wv", xavier_uniform(self.D, 1), (self.H_max, self.D))
        Wo = self.param("Wo", xavier_uniform(n_heads, self.D), (self.H_max, self.D))
        values = jnp.einsum("cnD,hD->chn", ctx, Wv)  # (B|1, H, n_max), broadcasts over B when shared
        q = jnp.einsum("bD,hDk->bhk", q_tok, Wq)  # (B, H, d_h_max)
        if ctx.shape[0] == 1:  # shared context: its keys once per step, (1, H, n_max, d_h_max)
            scores = _query_key_scores(q, jnp.einsum("cnD,hDk->chnk", ctx, Wk))
        else:  # own context per example: fold W_K into the query, q W_K^T (B, H, D), then against ctx
            scores = jnp.einsum("bhD,bnD->bhn", jnp.einsum("bhk,hDk->bhD", q, Wk), ctx)
        scores = scores / math.sqrt(self.D)
        attn = masked_softmax(scores, n)  # (B, H, n_max): the query token is never a key
        heads = jnp.sum(attn * values, axis=-1) * head_mask  # (B, H)
        out = heads @ Wo  # (B, D)
        logits = nn.Dense(self.C, kernel_init=torch_linear_init(self.D), bias_init=torch_linear_init(self.D), name="decoder")(out)
        return logits, attn


class BareAttention(nn.Module):
    """The layer of the theory (fact sheet 1.1): f(t) = sum_h v_h^T E(t)^T softmax(E(t) W_K^h W_Q^h^T e(t)).

    No embedding, no positions; value dimension 1 per head. Returns (B, 1) outputs and (B, H_max, n_max);
    ``n`` and ``d_h`` masked as in OfficialAttention.
    """

    d_h_max: int
    H_max: int

    @nn.compact
    def __call__(self, queries, contexts, head_mask, n_heads, n=None, d_h=None):
        d = queries.shape[-1]
        n = contexts.shape[-2] if n is None else n
        d_h = self.d_h_max if d_h is None else d_h
        cols = column_mask(self.d_h_max, d_h)
        Wq = self.param("Wq", xavier_uniform(d, d_h), (self.H_max, d, self.d_h_max)) * cols
        Wk = self.param("Wk", xavier_uniform(d, d_h), (self.H_max, d, self.d_h_max)) * cols
        v = self.param("v", xavier_uniform(d, 1), (self.H_max, d))
        keys = jnp.einsum("cnd,hdk->chnk", contexts, Wk)
        scores = _query_key_scores(jnp.einsum("bd,hdk->bhk", queries, Wq), keys)
        attn = masked_softmax(scores, n)
        shared = contexts.shape[0] == 1
        z = jnp.einsum("bhn,nd->bhd", attn, contexts[0]) if shared else jnp.einsum("bhn,bnd->bhd", attn, contexts)  # E^T a_h
        out = jnp.einsum("bhd,hd,h->b", z, v, head_mask)
        return out[:, None], attn


def build_model(params: MHAParams) -> nn.Module:
    if params.model == "bare":
        return BareAttention(d_h_max=params.d_h_max, H_max=params.H_max)
    return OfficialAttention(D=params.D, d_h_max=params.d_h_max, H_max=params.H_max, C=params.C)


def official_full_logits(variables, queries, contexts, n_heads, D: int):
    """The official computation over all n+1 positions with the -inf mask on key column 0, read at
    position 0 (for the equivalence test only). Shapes as OfficialAttention."""
    p = variables["params"]
    B, n = queries.shape[0], contexts.shape[-2]
    X = jnp.concatenate([queries[:, None, :], jnp.broadcast_to(contexts, (B, n, contexts.shape[-1]))], axis=1)
    x = X @ p["embed"]["kernel"] + p["embed"]["bias"] + sinusoidal_positions(n + 1, D)
    Q = jnp.einsum("btD,hDk->bhtk", x, p["Wq"])
    K = jnp.einsum("btD,hDk->bhtk", x, p["Wk"])
    V = jnp.einsum("btD,hD->bht", x, p["Wv"])
    scores = jnp.einsum("bhtk,bhsk->bhts", Q, K) / math.sqrt(D)
    scores = scores.at[..., 0].set(-jnp.inf)
    heads = jnp.einsum("bhts,bhs->bth", jax.nn.softmax(scores, -1), V)
    mask = (jnp.arange(p["Wq"].shape[0]) < n_heads).astype(x.dtype)
    out = (heads * mask) @ p["Wo"]
    return (out @ p["decoder"]["kernel"] + p["decoder"]["bias"])[:, 0]


# --------------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------------


def schedule_shape(params: MHAParams):
    """Official schedule divided by lr: linear warm-up from 0.01 to 1 over S/20 steps, then cosine to 0."""
    warmup = max(1, params.steps // 20)
    return optax.warmup_cosine_decay_schedule(0.01, 1.0, warmup, params.steps, 0.0)


def optimizer(params: MHAParams):
    """Adam (PyTorch defaults) with the official schedule scaled by the traced peak lr."""
    shape = schedule_shape(params)
    return optax.chain(optax.scale_by_adam(b1=0.9, b2=0.999, eps=1e-8), optax.scale_by_schedule(lambda count: -params.lr * shape(count)))


def per_example(params: MHAParams, outputs, labels):
    """(loss (B,), memorized (B,) bool): cross-entropy and argmax match, or squared error and |err| < tol."""
    if params.C == 1:
        err = outputs[:, 0] - labels
        return err**2, jnp.abs(err) < REGRESSION_TOL
    loss = optax.softmax_cross_entropy_with_integer_labels(outputs, labels)
    return loss, jnp.argmax(outputs, -1) == labels


def run(params: MHAParams, key) -> dict[str, jax.Array]:
    """Train on the first T of T_max examples. Returns train_acc, train_loss (step,) and the per-example,
    per-head largest attention weight after training and at init, max_attn(_init) (example, head)
    (NaN for inactive heads)."""
    queries, contexts, labels = make_data(params, key)
    head_mask = (jnp.arange(params.H_max) < params.H).astype(jnp.float32)
    model = build_model(params)
    sizes = (params.H, params.n, params.d_h)
    variables = model.init(jax.random.fold_in(key, 1), queries[:1], contexts[:1], head_mask, *sizes)
    opt = optimizer(params)

    def loss_fn(variables):
        outputs, _ = model.apply(variables, queries, contexts, head_mask, *sizes)
        loss, _ = per_example(params, outputs, labels)
        return jnp.mean(loss)

    def evaluate(variables):
        outputs, attn = model.apply(variables, queries, contexts, head_mask, *sizes)
        loss, hit = per_example(params, outputs, labels)
        return jnp.mean(loss), jnp.mean(hit), attn

    def step(carry, _):
        variables, state = carry
        grads = jax.grad(loss_fn)(variables)
        updates, state = opt.update(grads, state, variables)
        return (optax.apply_updates(variables, updates), state), None

    def block(carry, _):
        carry, _ = jax.lax.scan(step, carry, None, length=params.log_every)
        loss, acc, _ = evaluate(carry[0])
        return carry, (loss, acc)

    loss0, acc0, attn0 = evaluate(variables)
    (variables, _), (losses, accs) = jax.lax.scan(block, (variables, opt.init(variables)), None, length=params.steps // params.log_every)
    _, _, attn = evaluate(variables)
    active = jnp.broadcast_to(head_mask[None, :] > 0, (params.T, params.H_max))
    return {
        "train_loss": jnp.concatenate([loss0[None], losses]),
        "train_acc": jnp.concatenate([acc0[None], accs]),
        "max_attn": jnp.where(active, attn.max(-1), jnp.nan),
        "max_attn_init": jnp.where(active, attn0.max(-1), jnp.nan),
    }


# --------------------------------------------------------------------------------------------------
# Dataset side
# --------------------------------------------------------------------------------------------------


def coords(params: MHAParams) -> dict[str, np.ndarray]:
    return {"step": np.arange(0, params.steps + 1, params.log_every), "example": np.arange(params.T), "head": np.arange(params.H_max)}


def flops_per_example(params: MHAParams) -> float:
    """Forward FLOPs per example as computed (compiled sizes n_max, d_h_max, H_max), position-0 form
    (fact sheet 6.5); shared context counts keys once."""
    d, D, n, dh, H, C = params.d, params.D, params.n_max, params.d_h_max, params.H_max, params.C
    if params.context == "fixed":
        return 2.0 * (d * D + H * D * dh + H * n * dh + H * D + D * C + H * n)
    # own context: embed n+1 rows, q = W_Q^T x (H D d_h), q W_K^T (H D d_h), scores and values (2 H n D)
    return 2.0 * ((n + 1) * d * D + 2 * H * D * dh + 2 * H * n * D + H * n + H * D + D * C)


def bytes_per_config(params: MHAParams) -> int:
    """Memory estimate (bytes) of one config's training step: float32 activations as the model computes
    them, x6 for the backward pass and temporaries. Per example: q (H d_h), scores / softmax / weights
    (3 H n); a context per example adds q W_K^T (H D), its embedded rows (n D) and values (H n), a shared
    context only its keys and values once. At the official defaults (random contexts, T = 256) this gives
    55 MiB against 19 MB measured for the compiled program (benchmarks/bench_mha.py, XLA memory analysis);
    the old estimate, which still counted per-example keys, gave 288 MB."""
    T, H, n, dh, D = params.T, params.H_max, params.n_max, params.d_h_max, params.D
    if params.context == "fixed":
        acts = T * H * (3 * n + dh) + n * (D + H * (dh + 1))
    else:
        acts = T * H * (3 * n + dh + D) + T * n * (D + H + params.d)
    return int(4 * 6 * (acts + T * (params.d + params.C)))


def flops_per_config(params: MHAParams) -> float:
    return 3.0 * flops_per_example(params) * params.T * params.steps


# t quantiles t_{0.975, df} for df = 1..10 (two-sided 95 % intervals over a few seeds); normal beyond.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


def t975(df: int) -> float:
    return _T975[df - 1] if 1 <= df <= len(_T975) else 1.96


def capacity_from_curve(T_values: np.ndarray, acc: np.ndarray, threshold: float = 0.99) -> tuple[float, bool]:
    """Largest T with accuracy >= threshold, linearly interpolated to the crossing with the next T.

    T_values ascending (K,), acc (K,). Returns (capacity, censored): censored when even the largest T
    is memorized (capacity >= T_values[-1]); NaN when even the smallest T is not.
    """
    ok = np.nonzero(acc >= threshold)[0]
    if len(ok) == 0 or not np.all(np.isfinite(acc)):
        return np.nan, False
    i = ok[-1]
    if i == len(acc) - 1:
        return float(T_values[-1]), True
    t0, t1, a0, a1 = T_values[i], T_values[i + 1], acc[i], acc[i + 1]
    return float(t0 + (t1 - t0) * (a0 - threshold) / (a0 - a1)), False


def summarize(ds):
    """Add best-checkpoint accuracy, memorized counts and capacity with seed intervals.

    best_acc (..., T, seed, lr): accuracy at the lowest-loss logged step (official best checkpoint);
    acc (..., T, seed): max over lr (capacity is an existence notion; fact sheet 6.2);
    memorized (..., T, seed): chance-corrected count T (acc - 1/C) / (1 - 1/C), or T acc (regression);
    capacity (..., seed), capacity_censored; capacity_mean / _lo / _hi: mean and t-interval over seeds
    (95 %), capacity_min / _max; max_memorized (..., seed): max over T of memorized;
    saturated_fraction (..., T, seed, lr): fraction of (example, head) pairs with max weight > 0.99.
    """
    import xarray as xr

    best = ds["train_loss"].fillna(np.inf).argmin("step")
    ds["best_acc"] = ds["train_acc"].isel(step=best)
    acc = ds["best_acc"].max("lr") if "lr" in ds.dims else ds["best_acc"]
    C = int(param_value(ds, "C"))
    T = xr.DataArray(np.asarray(param_value(ds, "T"), float), dims=("T",) if "T" in ds.dims else ())
    ds["acc"] = acc
    ds["memorized"] = T * (acc - 1.0 / C) / (1.0 - 1.0 / C) if C > 1 else T * acc
    ds["max_memorized"] = ds["memorized"].max("T") if "T" in ds.dims else ds["memorized"]
    ds["saturated_fraction"] = (ds["max_attn"] > SATURATED).where(ds["max_attn"].notnull()).mean(("example", "head"))
    ds["saturated_fraction_init"] = (ds["max_attn_init"] > SATURATED).where(ds["max_attn_init"].notnull()).mean(("example", "head"))
    if "T" in ds.dims:
        cap, cens = xr.apply_ufunc(
            lambda a: capacity_from_curve(ds["T"].values.astype(float), a),
            acc,
            input_core_dims=[["T"]],
            output_core_dims=[[], []],
            vectorize=True,
        )
        ds["capacity"], ds["capacity_censored"] = cap, cens.astype(bool)
        if "seed" in ds.dims:
            k = ds.sizes["seed"]
            mean, sd = cap.mean("seed"), cap.std("seed", ddof=1) if k > 1 else xr.zeros_like(cap.mean("seed"))
            half = t975(k - 1) * sd / np.sqrt(k) if k > 1 else 0.0
            ds["capacity_mean"], ds["capacity_lo"], ds["capacity_hi"] = mean, mean - half, mean + half
            ds["capacity_min"], ds["capacity_max"] = cap.min("seed"), cap.max("seed")
    return ds


# --------------------------------------------------------------------------------------------------
# Scales: each panel is one grid (fact sheet 6.3); the d = 16 reduced design at quick scale
# --------------------------------------------------------------------------------------------------

QUICK_T = (128, 256, 512, 1024)


def quick_scale() -> Scale:
    """Minutes on 2 CPU cores: d = D = 16, C = 10, 1000 full-batch steps at lr 1e-2, T 128-1024.

    Panels (fact sheet 6.3 a-c) with shared contexts: (a) H in {1,2,3,4,6,8}, n = 8; (b) n in
    {1,2,4,8,12}, H = 8; (c) d_h in {1,2,4,8,16}, H = 8, n = 8 (4 seeds: the plateau test compares
    seed means); and the same trends with random contexts (beyond the paper; 2 seeds, fewer points,
    because each example then has its own keys). Decisions, from pilots on this machine:
      * C = 10, not 2: with two classes a model far past its capacity still scores 55-60 % on T = 2048,
        so the chance-corrected count max_T T (acc - 1/C)/(1 - 1/C) keeps growing with the T grid and
        came out sublinear in H (R^2 0.876 at 1000 steps); with C = 10 it is 69, 142, 190, 243, 346,
        396 for H = 1..8 at 1000 steps (R^2 0.982 over H >= 2).
      * 1000 steps: at 2000 steps losses are flat from about step 1500 at T = 1024 (3000 steps changed
        the d_h panel's means by under 10 %), and the full 2000-step sweep and the 1000-step sweep pass
        the same claims (H: R^2 0.986 vs 0.982; d_h rise 125 vs 2 SE 81, and 103 vs 35): half the time
        (5.3 min for all six panels while another job shared the machine). lr 1e-2 beat 3e-3 at every
        d_h (mean M 250 vs 186 at d_h = 8, 2000 steps).
      * H = 8 in the n and d_h panels (the paper uses H = 20 and 30 there): the per-seed spread of M
        relative to its mean was about half that at H = 4, where one head stuck in a poor basin
        costs a quarter of the model.
      * T grid 128-1024 (x2): the smallest T every model memorizes up to the largest where even H = 8
        is far past capacity (acc 0.48); static T means 4 compiles per panel.
    Add ``--set lr=0.003,0.01,0.03`` for the max over learning rates (acc is maxed over an lr axis).
    """
    base = MHAParams(d=16, D=16, n_max=8, n=8, d_h_max=16, d_h=16, H_max=8, H=8, T_max=1024, C=10, steps=1000, log_every=100, lr=1e-2)
    rand = replace(base, context="random")
    seeds, seeds4, seeds2 = {"seed": (0, 1, 2)}, {"seed": (0, 1, 2, 3)}, {"seed": (0, 1)}
    return Scale(
        "quick",
        base,
        {},
        "d = D = 16, C = 10, 1000 steps, T 128-1024; panels over H, n, d_h (shared and random contexts)",
        panels={
            "heads": (base, {"H": (1, 2, 3, 4, 6, 8), "T": QUICK_T, **seeds}),
            "context": (replace(base, n_max=12), {"n": (1, 2, 4, 8, 12), "T": QUICK_T, **seeds}),
            "head_dim": (base, {"d_h": (1, 2, 4, 8, 16), "T": QUICK_T, **seeds4}),
            "heads_random": (rand, {"H": (1, 2, 4, 8), "T": QUICK_T, **seeds2}),
            "context_random": (rand, {"n": (2, 4, 8), "T": QUICK_T, **seeds2}),
            "head_dim_random": (rand, {"d_h": (2, 8, 16), "T": QUICK_T, **seeds2}),
        },
    )


def smoke_scale() -> Scale:
    base = MHAParams(d=8, D=8, n_max=4, n=4, d_h_max=8, d_h=8, H_max=4, T_max=64, T=64, C=2, steps=100, log_every=50)
    common = {"T": (16, 64), "seed": (0, 1)}  # two T values: each is one compile, which dominates here
    return Scale("smoke", base, {}, "seconds: d = 8, 100 steps", panels={"heads": (base, {"H": (1, 2, 4), **common})})


def paper_scale() -> Scale:
    """The official classification grids with shared context (fact sheet 4.1), 6 seeds; GPU.

    Full batch replaces the official batch-256 minibatches (decision: one compiled full-batch step per
    config is what makes the grid vectorisable); steps S = 500 epochs' worth of batch-256 steps, capped.
    """
    base = MHAParams(d=64, D=64, n_max=32, n=32, d_h_max=64, d_h=64, H_max=60, T_max=40_000, C=100, steps=20_000, log_every=500)
    seeds = tuple(range(6))
    return Scale(
        "paper",
        base,
        {},
        "d = D = 64, n 32, C 100; heads / context / d_h panels of the official reproduce.sh, 6 seeds",
        panels={
            "heads": (base, {"H": (1, 5, 10, 20, 30, 40, 50, 60), "T": (10_000, 20_000, 30_000, 40_000), "seed": seeds}),
            "context": (replace(base, H_max=20, n_max=60, T_max=18_000), {"n": (1, 5, 10, 20, 30, 40, 50, 60), "H": (20,), "T": (6_000, 10_000, 14_000, 18_000), "seed": seeds}),
            "head_dim": (replace(base, H_max=30, T_max=20_000), {"d_h": (10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 64), "H": (30,), "T": (10_000, 15_000, 20_000), "seed": seeds}),
        },
    )


def _claims(scale: str):
    from . import mha_capacity_claims

    return mha_capacity_claims.claims(scale)


def _figures(evidence, out_dir):
    from ...figures import mha_capacity as figs

    return figs.make_all(evidence, out_dir)


STUDY = Study(
    name="mha-capacity",
    params_type=MHAParams,
    run=run,
    scales={"smoke": smoke_scale, "quick": quick_scale, "paper": paper_scale},
    metric_dims={"train_loss": ("step",), "train_acc": ("step",), "max_attn": ("example", "head"), "max_attn_init": ("example", "head")},
    coords=coords,
    divergence_metrics=("train_loss",),
    summarize=summarize,
    bytes_per_config=bytes_per_config,
    flops_per_config=flops_per_config,
    claims=_claims,
    make_figures=_figures,
)
