"""Closed-form predictions for the multi-head attention memorization study (no training).

Paper: Mahdavi, Liao, Thrampoulidis, "Memorization Capacity of Multi-Head Attention in Transformers"
(ICLR 2024, arXiv 2306.02010). Higher anchor: Dana, Pydi, Chevaleyre (arXiv 2411.10115).
Fact sheet: shared/papers/mha_capacity.md, sections 1.1, 2, 3, 5, 6.3-6.4.

Contents
  * ``capacity_bound`` (Theorem 1: H(min(n, d_h) - 1) + 1), ``shared_rank_bound`` (H(n-1)+1),
    ``dpc_bound`` (H d_h + d), parameter counts of the bare layer and of the official model (sympy)
  * ``synthetic_data`` and ``sample_contexts``: the official data (fact sheet 1.4), all entries U[0,1]
  * the bare layer (fact sheet 1.1): ``head_attention``, ``attention_weights``, ``z_matrix``
  * ``construct``: the constructive proof of fact sheet 3.2 (rank(Z) = T, exact interpolation)
  * ``numerical_rank``, ``linear_capacity`` and ``rank_bound_check``: the shared-context rank bound (3.3)
  * ``kruskal_fraction``, ``context_ranks``, ``assumption_report``: Assumptions 1-2 vs General Position
    (section 2) on three input settings: ``synthetic_data``, ``token_pe_setting``, ``digits_setting``

Conventions
  * Example t: query e(t) in R^d, context E(t) in R^{n x d}. Arrays: queries (T, d), contexts (T, n, d),
    head matrices Ws (H, d, d) with W_h = W_K^h (W_Q^h)^T, so head h's logits are E(t) W_h e(t)
    (key-side factor first); any temperature is absorbed in W_h.
  * Z (H d, T): column t stacks the head blocks E(t)^T a_h(t). With d_v = 1 the layer's output is
    v^T z(t), v = [v_1; ..; v_H] (v_h = W_V^h W_O^h), so rank(Z) = T means any labels are fit.
  * Numerical rank: singular values above ``rtol`` times the largest (default 1e-10). Bound-exceeding
    singular values are about 1e-16 of the largest; the smallest genuine ones 1e-6 to 1e-2 for d_h >= 2,
    but down to 1e-9 and below for d_h = 1, where float64 loses rank for n >= 8 (see
    ``linear_capacity_prediction``).
  * Kruskal fractions use numpy's default matrix_rank tolerance (as the official notebooks' rank calls do)
    unless ``rtol`` is given; an assumption counts as met at >= ``ASSUMPTION_THRESHOLD`` (0.99, the
    review summary's reading, UNVERIFIED in the paper).
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

RANK_RTOL = 1e-10  # relative singular-value threshold of numerical_rank
SATURATION_GAP = 40.0  # top-two logit gap that construct() enforces on old examples (e^-40 ~ 4e-18)
ASSUMPTION_THRESHOLD = 0.99  # Kruskal pass fraction at which an assumption counts as met
CONTEXT_KINDS = ("fixed", "random", "perm")

# --------------------------------------------------------------------------------------------------
# Closed forms (sympy)
# --------------------------------------------------------------------------------------------------

H, n, d_h, d, d_v, d_out = sp.symbols("H n d_h d d_v d_out", positive=True, integer=True)
p, D, C = sp.symbols("p D C", positive=True, integer=True)


def capacity_bound() -> sp.Expr:
    """Theorem 1 (v3): T = H (min(n, d_h) - 1) + 1 examples memorized, in symbols H, n, d_h."""
    return H * (sp.Min(n, d_h) - 1) + 1


def capacity_bound_value(H: int, n: int, d_h: int) -> int:
    """``capacity_bound`` at integers (H, n, d_h >= 1)."""
    _check_positive(H=H, n=n, d_h=d_h)
    return H * (min(n, d_h) - 1) + 1


def shared_rank_bound() -> sp.Expr:
    """Shared-context bound on rank(Z) for any weights (fact sheet 3.3): H (n - 1) + 1."""
    return H * (n - 1) + 1


def shared_rank_bound_value(H: int, n: int) -> int:
    _check_positive(H=H, n=n)
    return H * (n - 1) + 1


def dpc_bound() -> sp.Expr:
    """Dana, Pydi, Chevaleyre (arXiv 2411.10115): H d_h + d associations, any context length."""
    return H * d_h + d


def dpc_bound_value(H: int, d_h: int, d: int) -> int:
    _check_positive(H=H, d_h=d_h, d=d)
    return H * d_h + d


def bare_layer_params() -> sp.Expr:
    """Parameters of the layer of the theory (fact sheet 1.1): per head W_Q, W_K (d x d_h),
    W_V (d x d_v), W_O (d_v x d_out): H (2 d d_h + d d_v + d_v d_out). Theta(H d (d_h + d_v))."""
    return H * (2 * d * d_h + d * d_v + d_v * d_out)


def bare_layer_params_value(H: int, d: int, d_h: int, d_v: int = 1, d_out: int = 1) -> int:
    """``bare_layer_params`` at integers; d_v = d_out = 1 is the scalar-label construction."""
    _check_positive(H=H, d=d, d_h=d_h, d_v=d_v, d_out=d_out)
    return H * (2 * d * d_h + d * d_v + d_v * d_out)


def official_params() -> sp.Expr:
    """Trainable parameters of the official model (fact sheet 1.2) in symbols p, D, H, d_h, C:
    Linear(p -> D) with bias, per head Wq, Wk (D x d_h) and Wv (D x 1), Wo (H x D), decoder Linear(D -> C)
    with bias. The sinusoidal positional encoding is fixed (not counted)."""
    return (p * D + D) + H * (2 * D * d_h + D) + H * D + (D * C + C)


def official_params_value(H: int = 20, p: int = 64, D: int = 64, d_h: int = 64, C: int = 100) -> int:
    """``official_params`` at integers (defaults: the paper's, fact sheet 1.3: 177,060)."""
    _check_positive(H=H, p=p, D=D, d_h=d_h, C=C)
    return (p * D + D) + H * (2 * D * d_h + D) + H * D + (D * C + C)


def _check_positive(**values):
    for name, value in values.items():
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


# --------------------------------------------------------------------------------------------------
# Data (fact sheet 1.4)
# --------------------------------------------------------------------------------------------------


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
    """Setting (i): the official synthetic data, drawn in the official order contexts, queries, labels.

    Returns queries (T, d), contexts (T, n, d), labels (T,) ~ U[0,1] (regression labels).
    """
    contexts = sample_contexts(T, n, d, rng, context, bag_size)
    queries = sample_queries(T, d, rng)
    labels = rng.uniform(0.0, 1.0, T)
    return queries, contexts, labels


# --------------------------------------------------------------------------------------------------
# The bare layer (fact sheet 1.1)
# --------------------------------------------------------------------------------------------------


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
    """Z (H d, T): column t = [E(t)^T a_1(t); ...; E(t)^T a_H(t)] (fact sheet 1.1).

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


# --------------------------------------------------------------------------------------------------
# Constructive proof (fact sheet 3.2)
# --------------------------------------------------------------------------------------------------


def construction_groups(T: int, H: int, r: int) -> list[np.ndarray]:
    """Example indices placed by each head: G_1 = the first r, then G_2..G_H of r - 1 each (clipped at T).

    Examples beyond H (r - 1) + 1 are placed by no head (they are in no group).
    """
    sizes = [r] + [r - 1] * (H - 1)
    bounds = np.minimum(np.cumsum([0] + sizes), T)
    return [np.arange(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]


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
         with the same argmax as W+ alone, so its head-h block is x_{k(t)}(t) to ~1e-17 whatever W*_h is.
         The factors are written down directly, no SVD: W_K = [w_s ..., sqrt(c) u, 0], W_Q = [q_s ...,
         sqrt(c) v, 0] in R^{d x d_h}, hence rank W_h <= |G_h| + 1 <= r <= d_h (head 1: |G_1| = r).
      5. v = least-norm solution of Z^T v = y.
    For d_h < n the recipe works unchanged with r = d_h: a head places r - 1 examples with a rank
    r - 1 matrix W*_h, because each new example needs its own dual direction q_s (one rank per placed
    example), not n - 1 ranks; the example's logits l_s are still arbitrary in R^n. Nothing in the
    fact-sheet recipe needed fixing for the grid H in {1,2,4,8}, n in {2,4,8,12}, d_h in {2,4,8,16},
    d = 16 (see the tests); the only additions are the explicit formula for c and the direct factors.

    Any T is accepted: T < capacity leaves the last groups short; examples beyond capacity are placed by
    no head (``unplaced``), which is how the shared-context bound shows up as a nonzero residual.

    Returns a dict: Ws (H, d, d), W_Q and W_K (H, d, d_h), v (H d,), value_vectors (H, d), Z (H d, T),
    residual max|Z^T v - y|, rank (numerical rank of Z), capacity H(r - 1) + 1, rank_W (H,), c (H,),
    cond (sigma_1 / sigma_min(T, H d) of Z), min_saturation (smallest top attention weight of an old
    example over heads >= 2; 1.0 if none), groups, unplaced.
    """
    labels = np.asarray(labels, dtype=np.float64)
    _check_positive(H=H, d_h=d_h)
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


# --------------------------------------------------------------------------------------------------
# Rank of Z (fact sheet 3.3, 6.2 linear capacity)
# --------------------------------------------------------------------------------------------------


def numerical_rank(Z, rtol: float = RANK_RTOL) -> int:
    """Number of singular values of Z above rtol * sigma_1 (0 for an all-zero matrix)."""
    s = np.linalg.svd(np.asarray(Z, dtype=np.float64), compute_uv=False)
    if s.size == 0 or s[0] == 0:
        return 0
    return int(np.sum(s > rtol * s[0]))


def random_head_weights(H: int, d: int, d_h: int, rng: np.random.Generator, scale: float = 8.0) -> np.ndarray:
    """Random Ws (H, d, d) = scale W_K W_Q^T / sqrt(d_h), W_K, W_Q (d x d_h) with entries N(0, 1/d).

    With U[0,1] inputs (d = 16, n = 8), scale 8 gives within-context logit deviations of std 1.1-1.5 for
    every d_h and a mean top attention weight of about 0.4 (uniform: 0.125): far from uniform, not
    saturated (fact sheet 6.3). Of scales 2-32 it gave the best-conditioned Z at d_h = 1 (shared context,
    H = 3, n = 6: sigma_b / sigma_1 median 1.6e-7, worst of 30 seeds 3.4e-9).
    """
    W_K = rng.standard_normal((H, d, d_h)) / np.sqrt(d)
    W_Q = rng.standard_normal((H, d, d_h)) / np.sqrt(d)
    return scale * np.einsum("hik,hjk->hij", W_K, W_Q) / np.sqrt(d_h)


def linear_capacity(queries, contexts, Ws, rtol: float = RANK_RTOL) -> int:
    """Fact sheet 6.2: with attention frozen, the number of examples interpolated = numerical rank of Z."""
    return numerical_rank(z_matrix(queries, contexts, Ws), rtol)


def linear_capacity_prediction(H: int, n: int, d: int, T: int, context: str = "fixed") -> int:
    """Predicted rank(Z) for generic weights: 'fixed' min(T, H(n-1)+1) (the bound, reached generically
    for every d_h >= 1); 'random'/'perm' min(T, H d) for n >= 2 and min(T, d) for n = 1 (fact sheet A3).

    Caveat (measured, float64, rtol 1e-10, random weights of ``random_head_weights``, d = 16, T = 300):
    with d_h = 1 and shared context the bound is reached in exact arithmetic but not numerically once
    n >= 8: numerical ranks 6-8 of 8 (H = 1, n = 8), 53-57 of 57 (H = 8, n = 8), 9-10 of 12 (H = 1,
    n = 12), 62-70 of 89 (H = 8, n = 12). d_h >= 2 reached the bound at every n <= 12, H <= 8 tried.
    """
    _check_positive(H=H, n=n, d=d, T=T)
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


# --------------------------------------------------------------------------------------------------
# Assumptions (fact sheet 2)
# --------------------------------------------------------------------------------------------------


def kruskal_fraction(vectors, k: int, samples: int, rng: np.random.Generator, rtol: float | None = None,
                     batch: int = 512) -> float:
    """Fraction of ``samples`` random k-subsets of the rows of ``vectors`` (T, d) that have rank k.

    The official test protocol (5000 subsets). 1.0 estimates Kruskal rank >= k; k > d gives 0.
    rtol None: numpy's matrix_rank default tolerance; otherwise sigma > rtol * sigma_1.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be (T, d), got shape {vectors.shape}")
    T, dim = vectors.shape
    if not 1 <= k <= T:
        raise ValueError(f"k must be in 1..T = 1..{T}, got {k}")
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if k > dim:
        return 0.0
    full = 0
    for start in range(0, samples, batch):
        count = min(batch, samples - start)
        idx = np.argsort(rng.random((count, T)), axis=1)[:, :k]  # k distinct rows per sample
        s = np.linalg.svd(vectors[idx], compute_uv=False)  # (count, k)
        if rtol is None:
            tol = s[:, :1] * max(k, dim) * np.finfo(np.float64).eps
        else:
            tol = s[:, :1] * rtol
        full += int(np.sum(np.all(s > tol, axis=1) & (s[:, 0] > 0)))
    return full / samples


def kruskal_profile(vectors, ks, samples: int, rng: np.random.Generator, rtol: float | None = None) -> np.ndarray:
    """``kruskal_fraction`` at each k of ``ks`` (the curve of the paper's Figure 1). Returns (len(ks),)."""
    return np.array([kruskal_fraction(vectors, int(k), samples, rng, rtol) for k in ks])


def context_ranks(contexts) -> np.ndarray:
    """Per-example rank of E(t). contexts (T, n, d) or one (n, d). Returns (T,) ints (Assumption 2: all n)."""
    contexts = np.asarray(contexts, dtype=np.float64)
    if contexts.ndim == 2:
        contexts = contexts[None]
    if contexts.ndim != 3:
        raise ValueError(f"contexts must be (T, n, d), got shape {contexts.shape}")
    return np.asarray(np.linalg.matrix_rank(contexts), dtype=int).reshape(-1)


def assumption_report(queries, contexts, samples: int, rng: np.random.Generator, threshold: float = ASSUMPTION_THRESHOLD) -> dict:
    """Assumptions 1-2 and General Position on one input setting.

    queries (T, d), contexts (T, n, d). Returns kruskal_n (pass fraction at k = n), kruskal_d (at k = d),
    query_rank (rank of all queries), context_rank_min, context_full (fraction of examples with rank n),
    and the verdicts assumption1 (kruskal_n >= threshold), assumption2 (every context rank n),
    general_position (kruskal_d >= threshold).
    """
    queries = np.asarray(queries, dtype=np.float64)
    contexts = np.asarray(contexts, dtype=np.float64)
    T, dim = queries.shape
    ctx_len = contexts.shape[-2]
    ranks = context_ranks(contexts)
    k_n = kruskal_fraction(queries, ctx_len, samples, rng)
    k_d = kruskal_fraction(queries, dim, samples, rng) if dim <= T else 0.0
    return {
        "n": ctx_len,
        "d": dim,
        "kruskal_n": k_n,
        "kruskal_d": k_d,
        "query_rank": int(np.linalg.matrix_rank(queries)),
        "context_rank_min": int(ranks.min()),
        "context_full": float(np.mean(ranks == ctx_len)),
        "assumption1": k_n >= threshold,
        "assumption2": bool(np.all(ranks == ctx_len)),
        "general_position": k_d >= threshold,
    }


def sinusoidal_pe(length: int, d: int, base: float = 10000.0) -> np.ndarray:
    """Fixed positional encoding (length, d): PE[i, 2j] = sin(i / base^(2j/d)), PE[i, 2j+1] = cos(same)."""
    pos = np.arange(length)[:, None]
    freq = np.exp(-np.log(base) * np.arange(0, d, 2) / d)  # (ceil(d/2),)
    pe = np.zeros((length, d))
    pe[:, 0::2] = np.sin(pos * freq)
    pe[:, 1::2] = np.cos(pos * freq[: d // 2])
    return pe


def uniform_mix(X) -> np.ndarray:
    """The trivial attention layer of the paper's proposition (fact sheet 2, our reading): zero query/key
    (uniform attention over all n + 1 tokens), identity value/output, skip connection: x_i + mean_j x_j.
    X (..., n+1, d) -> same shape."""
    X = np.asarray(X, dtype=np.float64)
    return X + X.mean(axis=-2, keepdims=True)


def token_pe_setting(T: int, n: int, d: int, rng: np.random.Generator, vocab: int = 16, mix: bool = True):
    """Setting (ii): sequences of n + 1 tokens from a small vocabulary, x_i = emb[tok_i] + PE(i).

    Embedding table (vocab, d) ~ N(0, 1); position 0 is the query token (PE(0), as in the official code),
    positions 1..n the context. mix=True applies ``uniform_mix`` first (the proposition's route from
    Assumptions 2-3 to 1-2): a query is then sum_v c_v emb[v] + (a constant positional term) with
    sum_v c_v = 2, an affine set of dimension vocab - 1 off the origin, so queries span at most vocab
    dimensions (measured: exactly vocab); General Position fails when vocab < d while Kruskal rank >= n
    holds for vocab >= n. mix=False: raw embeddings; the
    queries take only ``vocab`` distinct values (Assumption 1 fails, like the ViT embeddings of Table 1).
    Returns queries (T, d), contexts (T, n, d).
    """
    _check_positive(T=T, n=n, d=d, vocab=vocab)
    table = rng.standard_normal((vocab, d))
    tokens = rng.integers(0, vocab, (T, n + 1))
    X = table[tokens] + sinusoidal_pe(n + 1, d)
    if mix:
        X = uniform_mix(X)
    return X[:, 0], X[:, 1:]


def _layer_norm(X, eps: float = 1e-5):
    mu = X.mean(axis=-1, keepdims=True)
    var = X.var(axis=-1, keepdims=True)
    return (X - mu) / np.sqrt(var + eps)


def _linear_init(fan_in: int, shape, rng):
    bound = 1.0 / np.sqrt(fan_in)  # PyTorch nn.Linear default
    return rng.uniform(-bound, bound, shape)


def digits_setting(rng: np.random.Generator, patch: int = 2, d: int = 64, layer: bool = True, max_images: int | None = None):
    """Setting (iii): a tiny random-init ViT input on scikit-learn's 8x8 digits (1797 images).

    Pixels / 16, cut into (8/patch)^2 patches of patch^2 pixels (row-major), linear patch embedding
    (PyTorch Linear init, with bias) to d, a CLS token ~ N(0, 1) prepended, sinusoidal PE added.
    layer=True: one random-init single-head attention layer, pre-LayerNorm (no affine), Xavier-uniform
    W_Q, W_K, W_V, W_O (d x d), scores / sqrt(d), residual added: X + Attn(LN(X)) (Table 1 config (iii)).
    layer=False: the embeddings themselves (config (i): every CLS row identical).
    Returns queries (N, d) = CLS rows, contexts (N, n, d) with n = (8/patch)^2. Needs scikit-learn.
    """
    if patch not in (1, 2, 4, 8):
        raise ValueError(f"patch must divide 8 (1, 2, 4 or 8), got {patch}")
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise ImportError("digits_setting needs scikit-learn (pip install scikit-learn) for load_digits") from err
    images = load_digits().images / 16.0  # (1797, 8, 8)
    if max_images is not None:
        images = images[:max_images]
    N, side = images.shape[0], 8 // patch
    patches = images.reshape(N, side, patch, side, patch).transpose(0, 1, 3, 2, 4).reshape(N, side * side, patch * patch)
    W_e = _linear_init(patch * patch, (patch * patch, d), rng)
    b_e = _linear_init(patch * patch, (d,), rng)
    cls = rng.standard_normal(d)
    tokens = np.concatenate([np.broadcast_to(cls, (N, 1, d)), patches @ W_e + b_e], axis=1)
    X = tokens + sinusoidal_pe(side * side + 1, d)
    if layer:
        bound = np.sqrt(6.0 / (2 * d))  # Xavier uniform
        W_q, W_k, W_v, W_o = rng.uniform(-bound, bound, (4, d, d))
        Y = _layer_norm(X)
        scores = np.einsum("bid,bjd->bij", Y @ W_q, Y @ W_k) / np.sqrt(d)
        X = X + softmax(scores) @ (Y @ W_v) @ W_o
    return X[:, 0], X[:, 1:]


@functools.cache
def sklearn_available() -> bool:
    try:
        import sklearn.datasets  # noqa: F401
    except ImportError:
        return False
    return True
