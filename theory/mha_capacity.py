"""Closed-form predictions for the multi-head attention memorization study (no training).

Mahdavi, Liao, Thrampoulidis, "Memorization Capacity of Multi-Head Attention in Transformers" (ICLR
2024, arXiv 2306.02010); higher anchor Dana, Pydi, Chevaleyre (arXiv 2411.10115). Here: the bounds
(Theorem 1, the shared-context bound of Sec. 4, H d_h + d) and parameter counts in sympy with ``*_value``
forms at integers or integer arrays; the synthetic data of Sec. 5; the layer of Sec. 3; the constructive
proof of Theorem 1 (``construct``); the shared-context rank bound (``rank_bound_check``). The assumption
checks (Table 1, Fig. 1) are in ``mha_capacity_assumptions``.

Conventions: example t has query e(t) in R^d and context E(t) in R^{n x d}; queries (T, d), contexts
(T, n, d), head matrices Ws (H, d, d) with W_h = W_K^h (W_Q^h)^T, so head h's logits are E(t) W_h e(t)
(any temperature absorbed in W_h). Z (H d, T) stacks the head blocks E(t)^T a_h(t) in column t; with
d_v = 1 the output is v^T z(t), so rank(Z) = T means any labels are fit. Numerical rank: singular
values above ``rtol`` times the largest (default 1e-10).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

RANK_RTOL = 1e-10  # relative singular-value threshold of numerical_rank
SATURATION_GAP = 40.0  # top-two logit gap that construct() enforces on old examples (e^-40 ~ 4e-18)
CONTEXT_KINDS = ("fixed", "random", "perm")

# Closed forms (sympy) and their values ------------------------------------------------------------

H, n, d_h, d, d_v, d_out = sp.symbols("H n d_h d d_v d_out", positive=True, integer=True)
p, D, C = sp.symbols("p D C", positive=True, integer=True)


def check_positive(**values):
    """ValueError unless every value (a number or an array) holds positive integers."""
    for name, value in values.items():
        v = np.asarray(value)
        if v.dtype.kind not in "iuf" or np.any(v != np.floor(v)) or np.any(v < 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _scalar(value):
    """A Python int for a 0-d result, else the array."""
    return int(value) if np.ndim(value) == 0 else value


def capacity_bound() -> sp.Expr:
    """Theorem 1 (v3): T = H (min(n, d_h) - 1) + 1 examples memorized, in symbols H, n, d_h."""
    return H * (sp.Min(n, d_h) - 1) + 1


def capacity_bound_value(H, n, d_h):
    """``capacity_bound`` at positive integers or integer arrays (broadcast)."""
    check_positive(H=H, n=n, d_h=d_h)
    return _scalar(np.asarray(H) * (np.minimum(n, d_h) - 1) + 1)


def shared_rank_bound() -> sp.Expr:
    """Shared-context bound on rank(Z) for any weights (Sec. 4): H (n - 1) + 1."""
    return H * (n - 1) + 1


def shared_rank_bound_value(H, n):
    check_positive(H=H, n=n)
    return _scalar(np.asarray(H) * (np.asarray(n) - 1) + 1)


def dpc_bound() -> sp.Expr:
    """Dana, Pydi, Chevaleyre (arXiv 2411.10115): H d_h + d associations, any context length."""
    return H * d_h + d


def dpc_bound_value(H, d_h, d):
    check_positive(H=H, d_h=d_h, d=d)
    return _scalar(np.asarray(H) * np.asarray(d_h) + d)


def bare_layer_params() -> sp.Expr:
    """Parameters of the layer of Sec. 3: per head W_Q, W_K (d x d_h), W_V (d x d_v), W_O (d_v x d_out):
    H (2 d d_h + d d_v + d_v d_out). Theta(H d (d_h + d_v))."""
    return H * (2 * d * d_h + d * d_v + d_v * d_out)


def bare_layer_params_value(H: int, d: int, d_h: int, d_v: int = 1, d_out: int = 1) -> int:
    """``bare_layer_params`` at integers; d_v = d_out = 1 is the scalar-label construction."""
    check_positive(H=H, d=d, d_h=d_h, d_v=d_v, d_out=d_out)
    return H * (2 * d * d_h + d * d_v + d_v * d_out)


def official_params() -> sp.Expr:
    """Trainable parameters of the experimental model (Sec. 5) in symbols p, D, H, d_h, C: Linear(p -> D)
    with bias, per head Wq, Wk (D x d_h) and Wv (D x 1), Wo (H x D), decoder Linear(D -> C) with bias.
    The sinusoidal positional encoding is fixed (not counted)."""
    return (p * D + D) + H * (2 * D * d_h + D) + H * D + (D * C + C)


def official_params_value(H: int = 20, p: int = 64, D: int = 64, d_h: int = 64, C: int = 100) -> int:
    """``official_params`` at integers (defaults: the paper's experiment, 177,060)."""
    check_positive(H=H, p=p, D=D, d_h=d_h, C=C)
    return (p * D + D) + H * (2 * D * d_h + D) + H * D + (D * C + C)


# Synthetic data (Sec. 5) --------------------------------------------------------------------------


def sample_queries(T: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """Queries e(t) ~ U[0,1]^d. Returns (T, d)."""
    return rng.uniform(0.0, 1.0, (T, d))


def sample_contexts(T: int, n: int, d: int, rng: np.random.Generator, kind: str = "fixed", bag_size: int = 500) -> np.ndarray:
    """Contexts (T, n, d), entries U[0,1].

    'fixed': one E (n, d) shared by all T examples (shared context); 'random': independent E(t);
    'perm': a bag of ``bag_size`` vectors, each context n distinct bag vectors in random order.
    """
    if kind == "fixed":
        return np.repeat(rng.uniform(0.0, 1.0, (1, n, d)), T, axis=0)
    if kind == "random":
        return rng.uniform(0.0, 1.0, (T, n, d))
    if kind == "perm":
        if bag_size < n:
            raise ValueError(f"'perm' contexts need bag_size >= n, got bag_size={bag_size}, n={n}")
        bag = rng.uniform(0.0, 1.0, (bag_size, d))
        idx = np.stack([rng.choice(bag_size, n, replace=False) for _ in range(T)])
        return bag[idx]
    raise ValueError(f"unknown context kind {kind!r}: expected one of {', '.join(CONTEXT_KINDS)}")


def synthetic_data(T: int, n: int, d: int, rng: np.random.Generator, context: str = "fixed", bag_size: int = 500):
    """The synthetic data, drawn in the order of the paper's official code: contexts, queries, labels.

    Returns queries (T, d), contexts (T, n, d), labels (T,) ~ U[0,1] (regression labels).
    """
    contexts = sample_contexts(T, n, d, rng, context, bag_size)
    queries = sample_queries(T, d, rng)
    labels = rng.uniform(0.0, 1.0, T)
    return queries, contexts, labels


# The layer of Sec. 3 ------------------------------------------------------------------------------


def softmax(x, axis: int = -1) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    z = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return z / np.sum(z, axis=axis, keepdims=True)


def head_attention(E, e, W) -> np.ndarray:
    """a = softmax(E W e) for one head. E (..., n, d), e (..., d), W (d, d). Returns (..., n)."""
    E, e, W = (np.asarray(x, dtype=np.float64) for x in (E, e, W))
    logits = np.einsum("...ij,jk,...k->...i", E, W, e)
    return softmax(logits)


def attention_weights(queries, contexts, Ws) -> np.ndarray:
    """a_h(t) for all heads and examples. queries (T, d), contexts (T, n, d), Ws (H, d, d). Returns (H, T, n)."""
    queries, contexts, Ws = _layer_inputs(queries, contexts, Ws)
    We = np.einsum("hjk,tk->htj", Ws, queries)  # W_h e(t)
    return softmax(np.einsum("tij,htj->hti", contexts, We))


def z_matrix(queries, contexts, Ws) -> np.ndarray:
    """Z (H d, T): column t = [E(t)^T a_1(t); ...; E(t)^T a_H(t)].

    queries (T, d), contexts (T, n, d) (or one shared (n, d)), Ws (H, d, d).
    """
    queries, contexts, Ws = _layer_inputs(queries, contexts, Ws)
    a = attention_weights(queries, contexts, Ws)  # (H, T, n)
    blocks = np.einsum("hti,tij->hjt", a, contexts)  # (H, d, T)
    return blocks.reshape(-1, queries.shape[0])


def _queries_contexts(queries, contexts):
    """float64 queries (T, d) and contexts (T, n, d); a single shared (n, d) context is broadcast."""
    queries = np.asarray(queries, dtype=np.float64)
    contexts = np.asarray(contexts, dtype=np.float64)
    if queries.ndim != 2:
        raise ValueError(f"queries must be (T, d), got shape {queries.shape}")
    T, dim = queries.shape
    if contexts.ndim == 2:
        contexts = np.broadcast_to(contexts, (T, *contexts.shape))
    if contexts.ndim != 3 or contexts.shape[0] != T or contexts.shape[2] != dim:
        raise ValueError(f"contexts must be (T, n, d) = ({T}, n, {dim}), got shape {contexts.shape}")
    return queries, contexts


def _layer_inputs(queries, contexts, Ws):
    queries, contexts = _queries_contexts(queries, contexts)
    dim = queries.shape[1]
    Ws = np.asarray(Ws, dtype=np.float64)
    if Ws.ndim == 2:
        Ws = Ws[None]
    if Ws.ndim != 3 or Ws.shape[1:] != (dim, dim):
        raise ValueError(f"Ws must be (H, d, d) with d = {dim}, got shape {Ws.shape}")
    return queries, contexts, Ws


def context_ranks(contexts) -> np.ndarray:
    """Per-example rank of E(t). contexts (T, n, d) or one (n, d). Returns (T,) ints (Assumption 2: all n)."""
    contexts = np.asarray(contexts, dtype=np.float64)
    if contexts.ndim == 2:
        contexts = contexts[None]
    if contexts.ndim != 3:
        raise ValueError(f"contexts must be (T, n, d), got shape {contexts.shape}")
    return np.asarray(np.linalg.matrix_rank(contexts), dtype=int).reshape(-1)


# Constructive proof of Theorem 1 (Sec. 4) ---------------------------------------------------------


def construction_groups(T: int, H: int, r: int) -> list[np.ndarray]:
    """Example indices placed by each head: G_1 = the first r, then G_2..G_H of r - 1 each (clipped at T).

    Examples beyond H (r - 1) + 1 are placed by no head (they are in no group).
    """
    sizes = [r] + [r - 1] * (H - 1)
    bounds = np.minimum(np.cumsum([0] + sizes), T)
    return [np.arange(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]


def construction_saturation(H: int, n: int, d_h: int) -> np.ndarray:
    """(H + 1,) fraction of examples with k = 0..H saturated heads in the construction at T = capacity:
    the examples of head h's group (0-based) are saturated by every later head, H - 1 - h of them."""
    r = min(n, d_h)
    groups = construction_groups(capacity_bound_value(H, n, d_h), H, r)
    counts = np.zeros(H + 1)
    for h, group in enumerate(groups):
        counts[H - 1 - h] += len(group)
    return counts / counts.sum()


def construct(queries, contexts, labels, H: int, d_h: int, rng: np.random.Generator, *, logit_std: float = 1.0,
              gap: float = SATURATION_GAP, tries: int = 16, rtol: float = RANK_RTOL) -> dict:
    """Weights that make Z full column rank, then the value vector that interpolates the labels.

    queries (T, d), contexts (T, n, d), labels (T,). Needs n < d (Theorem 1) and Assumptions 1-2 on the
    placed examples (checked: a clear ValueError otherwise). With r = min(n, d_h):
      1. groups G_1 (first r examples), G_2..G_H (r - 1 each); Old_h = G_1 u .. u G_{h-1}.
      2. W*_h = sum_{s in G_h} w_s q_s^T with E(s) w_s = l_s (least norm, l_s ~ N(0, logit_std^2) in R^n)
         and q_s the dual vectors of the new queries (columns of pinv), so E(s) W*_h e(s) = l_s exactly.
      3. h >= 2: W+_h = u v^T, v a random unit vector orthogonal to the new queries, u a random unit
         vector; the best of ``tries`` draws (smallest c) is kept.
      4. W_h = W*_h + c_h W+_h with c_h = max_{t in Old_h} (gap + ptp(E(t) W*_h e(t))) / g_t, g_t the
         top-two gap of (v^T e(t)) E(t) u: every old example's logits then have top-two gap >= ``gap``
         with the same argmax as W+ alone (softmax saturation), so its head-h block is x_{k(t)}(t) to
         ~1e-17 whatever W*_h is. The factors are written down directly, no SVD: W_K = [w_s ...,
         sqrt(c) u, 0], W_Q = [q_s ..., sqrt(c) v, 0] in R^{d x d_h}, hence rank W_h <= |G_h| + 1 <= r.
      5. v = least-norm solution of Z^T v = y.
    For d_h < n the recipe works unchanged with r = d_h: each new example needs its own dual direction
    q_s (one rank per placed example), not n - 1 ranks; its logits l_s are still arbitrary in R^n.

    Any T is accepted: T < capacity leaves the last groups short; examples beyond capacity are placed by
    no head (``unplaced``), which is how the shared-context bound shows up as a nonzero residual.

    Returns a dict: Ws (H, d, d), W_Q and W_K (H, d, d_h), v (H d,), value_vectors (H, d), Z (H d, T),
    residual max|Z^T v - y|, rank (numerical rank of Z), capacity H(r - 1) + 1, rank_W (H,), c (H,),
    cond (sigma_1 / sigma_min(T, H d) of Z), min_saturation (smallest top attention weight of an old
    example over heads >= 2; 1.0 if none), groups, unplaced.
    """
    labels = np.asarray(labels, dtype=np.float64)
    check_positive(H=H, d_h=d_h)
    queries, contexts = _queries_contexts(queries, contexts)
    T, dim = queries.shape
    if labels.shape != (T,):
        raise ValueError(f"labels must be (T,) = ({T},), got shape {labels.shape}")
    ctx_len = contexts.shape[1]
    if ctx_len >= dim:
        raise ValueError(f"the construction needs n < d (Theorem 1; Assumption 2 needs rank E(t) = n), got n={ctx_len}, d={dim}")
    r = min(ctx_len, d_h)
    groups = construction_groups(T, H, r)
    placed = sum(len(g) for g in groups)

    W_K = np.zeros((H, dim, d_h))
    W_Q = np.zeros((H, dim, d_h))
    cs = np.zeros(H)
    for h, new in enumerate(groups):
        m = len(new)
        if m:
            bad = np.flatnonzero(context_ranks(contexts[new]) < ctx_len)
            if bad.size:
                raise ValueError(f"Assumption 2 fails: context of example {new[bad[0]]} has rank < n = {ctx_len}")
            Qn = queries[new]  # (m, d)
            if np.linalg.matrix_rank(Qn) < m:
                raise ValueError(f"Assumption 1 fails: the {m} queries placed by head {h + 1} are linearly dependent")
            dual = np.linalg.pinv(Qn)  # (d, m): Qn @ dual = I
            targets = rng.normal(0.0, logit_std, (m, ctx_len))
            w = np.stack([np.linalg.lstsq(contexts[s], l, rcond=None)[0] for s, l in zip(new, targets)], axis=1)
            W_K[h, :, :m], W_Q[h, :, :m] = w, dual
        old = np.concatenate(groups[:h]).astype(int) if h else np.zeros(0, int)
        if h == 0 or old.size == 0:
            continue
        W_star = W_K[h] @ W_Q[h].T
        spread = np.ptp(np.einsum("tij,jk,tk->ti", contexts[old], W_star, queries[old]), axis=1)
        best = None
        for _ in range(tries):
            g = rng.standard_normal(dim)
            if m:
                g -= dual @ (Qn @ g)  # project out span{e(s): s in G_h}
            v = g / np.linalg.norm(g)
            u = rng.standard_normal(dim)
            u /= np.linalg.norm(u)
            plus_gap = _top_two_gap((queries[old] @ v)[:, None] * (contexts[old] @ u))
            if plus_gap.min() <= 1e-12:
                continue  # an old query (almost) in the span of the new ones, or a tie in E(t) u
            c = float(np.max((gap + spread) / plus_gap))
            if best is None or c < best[0]:
                best = (c, u, v)
        if best is None:
            raise ValueError(f"Assumption 1 fails: head {h + 1} cannot saturate the old examples "
                             f"(an old query lies in the span of the {m} new ones)")
        cs[h], u, v = best
        W_K[h, :, m], W_Q[h, :, m] = np.sqrt(cs[h]) * u, np.sqrt(cs[h]) * v

    Ws = np.einsum("hik,hjk->hij", W_K, W_Q)
    Z = z_matrix(queries, contexts, Ws)
    v_flat = np.linalg.lstsq(Z.T, labels, rcond=None)[0]
    s = np.linalg.svd(Z, compute_uv=False)
    a = attention_weights(queries, contexts, Ws)
    old_top = [a[h, np.concatenate(groups[:h])].max(axis=-1) for h in range(1, H) if sum(len(g) for g in groups[:h])]
    return {
        "Ws": Ws,
        "W_Q": W_Q,
        "W_K": W_K,
        "v": v_flat,
        "value_vectors": v_flat.reshape(H, dim),
        "Z": Z,
        "residual": float(np.max(np.abs(Z.T @ v_flat - labels))),
        "rank": numerical_rank(Z, rtol),
        "capacity": capacity_bound_value(H, ctx_len, d_h),
        "rank_W": np.array([np.linalg.matrix_rank(W) for W in Ws]),
        "c": cs,
        "cond": float(s[0] / s[min(T, Z.shape[0]) - 1]),
        "min_saturation": float(min((x.min() for x in old_top), default=1.0)),
        "groups": groups,
        "unplaced": np.arange(placed, T),
    }


def _top_two_gap(L) -> np.ndarray:
    """Largest minus second largest entry along the last axis; (..., n) -> (...). n = 1: +inf."""
    if L.shape[-1] == 1:
        return np.full(L.shape[:-1], np.inf)
    top2 = np.sort(L, axis=-1)[..., -2:]
    return top2[..., 1] - top2[..., 0]


# Rank of Z: the shared-context bound (Sec. 4) -----------------------------------------------------


def numerical_rank(Z, rtol: float = RANK_RTOL) -> int:
    """Number of singular values of Z above rtol * sigma_1 (0 for an all-zero matrix)."""
    s = np.linalg.svd(np.asarray(Z, dtype=np.float64), compute_uv=False)
    if s.size == 0 or s[0] == 0:
        return 0
    return int(np.sum(s > rtol * s[0]))


def random_head_weights(H: int, d: int, d_h: int, rng: np.random.Generator, scale: float = 8.0) -> np.ndarray:
    """Random Ws (H, d, d) = scale W_K W_Q^T / sqrt(d_h), W_K, W_Q (d x d_h) with entries N(0, 1/d).

    The scale makes attention far from uniform but not saturated on U[0,1] inputs (NOTES.md).
    """
    W_K = rng.standard_normal((H, d, d_h)) / np.sqrt(d)
    W_Q = rng.standard_normal((H, d, d_h)) / np.sqrt(d)
    return scale * np.einsum("hik,hjk->hij", W_K, W_Q) / np.sqrt(d_h)


def linear_capacity_prediction(H: int, n: int, d: int, T: int, context: str = "fixed") -> int:
    """Predicted rank(Z) for generic weights (the number of examples a frozen-attention layer fits):
    'fixed' min(T, H(n-1)+1) (the bound, reached generically for every d_h >= 1); 'random'/'perm'
    min(T, H d) for n >= 2 and min(T, d) for n = 1. With d_h = 1 the bound is reached in exact arithmetic
    but can be lost numerically for n >= 8 (NOTES.md)."""
    check_positive(H=H, n=n, d=d, T=T)
    if context == "fixed":
        return min(T, shared_rank_bound_value(H, n))
    if context in ("random", "perm"):
        return min(T, H * d if n >= 2 else d)
    raise ValueError(f"unknown context kind {context!r}: expected one of {', '.join(CONTEXT_KINDS)}")


def rank_bound_check(H: int, n: int, d: int, d_h: int, T: int, rng: np.random.Generator, context: str = "fixed",
                     scale: float = 8.0, rtol: float = RANK_RTOL) -> dict:
    """rank(Z) for random weights and synthetic data, against the shared-context bound b = H(n-1)+1.

    Returns rank, predicted (``linear_capacity_prediction``), bound b, sigma_at_bound = sigma_b / sigma_1
    (tightness: well above rtol) and sigma_after_bound = sigma_{b+1} / sigma_1 (NaN if Z has <= b
    singular values; below rtol for shared contexts whatever the weights).
    """
    queries, contexts, _ = synthetic_data(T, n, d, rng, context)
    Ws = random_head_weights(H, d, d_h, rng, scale)
    s = np.linalg.svd(z_matrix(queries, contexts, Ws), compute_uv=False)
    b = shared_rank_bound_value(H, n)
    ratio = s / s[0]
    return {
        "rank": int(np.sum(ratio > rtol)),
        "predicted": linear_capacity_prediction(H, n, d, T, context),
        "bound": b,
        "sigma_at_bound": float(ratio[b - 1]) if b <= s.size else float("nan"),
        "sigma_after_bound": float(ratio[b]) if b < s.size else float("nan"),
    }
