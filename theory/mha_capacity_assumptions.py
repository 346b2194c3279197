"""Assumptions 1-2 of Theorem 1 versus General Position, on three input settings (no training).

Mahdavi, Liao, Thrampoulidis, arXiv 2306.02010, Sec. 4: Assumption 1 asks the T query vectors to have
Kruskal rank >= n (every n of them independent), Assumption 2 every context E(t) to have rank n; General
Position (earlier memorization work) asks Kruskal rank d. The paper tests them by drawing random
k-subsets and counting the full-rank ones (Table 1, Fig. 1, on ViT representations). Here the same test
on the synthetic data (``mha_capacity.synthetic_data``), on tokens with sinusoidal positions
(``token_pe_setting``) and on one random attention layer over scikit-learn's 8x8 digits
(``digits_setting``, the analogue of the ViT check). Kruskal fractions use numpy's default matrix_rank
tolerance unless ``rtol`` is given; an assumption counts as met at a pass fraction >=
``ASSUMPTION_THRESHOLD`` (our reading; the paper states no threshold).

Everything is numpy float64: the rank tests need exact structure (float32 round-off would make
rank-deficient query sets look full rank).
"""

from __future__ import annotations

import functools

import numpy as np

from .mha_capacity import check_positive, context_ranks, softmax
from .positions import sinusoidal

ASSUMPTION_THRESHOLD = 0.99  # Kruskal pass fraction at which an assumption counts as met


def kruskal_fraction(vectors, k: int, samples: int, rng: np.random.Generator, rtol: float | None = None,
                     batch: int = 512) -> float:
    """Fraction of ``samples`` random k-subsets of the rows of ``vectors`` (T, d) that have rank k.

    The paper's test (Sec. 4; 5000 subsets in its official code). 1.0 estimates Kruskal rank >= k; k > d gives 0.
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
    """``kruskal_fraction`` at each k of ``ks`` (the curve of the paper's Fig. 1). Returns (len(ks),)."""
    return np.array([kruskal_fraction(vectors, int(k), samples, rng, rtol) for k in ks])


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


def uniform_mix(X) -> np.ndarray:
    """The trivial attention layer of the paper's proposition from token-mixed inputs to Assumptions 1-2
    (Sec. 4; our reading): zero query/key (uniform attention over all n + 1 tokens), identity value and
    output, skip connection: x_i + mean_j x_j. X (..., n+1, d) -> same shape."""
    X = np.asarray(X, dtype=np.float64)
    return X + X.mean(axis=-2, keepdims=True)


def token_pe_setting(T: int, n: int, d: int, rng: np.random.Generator, vocab: int = 16, mix: bool = True):
    """Token setting: sequences of n + 1 tokens from a small vocabulary, x_i = emb[tok_i] + PE(i).

    Embedding table (vocab, d) ~ N(0, 1); position 0 is the query token (PE(0), as in the official code),
    positions 1..n the context. mix=True applies ``uniform_mix`` first (the proposition's route from
    Assumptions 2-3 to 1-2): a query is then sum_v c_v emb[v] + (a constant positional term) with
    sum_v c_v = 2, an affine set of dimension vocab - 1 off the origin, so queries span at most vocab
    dimensions (exactly vocab for generic embeddings); General Position fails when vocab < d while
    Kruskal rank >= n holds for vocab >= n. mix=False: raw embeddings; the queries take only ``vocab``
    distinct values (Assumption 1 fails, like the ViT embeddings of Table 1).
    Returns queries (T, d), contexts (T, n, d).
    """
    check_positive(T=T, n=n, d=d, vocab=vocab)
    table = rng.standard_normal((vocab, d))
    tokens = rng.integers(0, vocab, (T, n + 1))
    X = table[tokens] + sinusoidal(n + 1, d)
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
    """Image setting: a tiny random-init ViT input on scikit-learn's 8x8 digits (1797 images).

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
    X = tokens + sinusoidal(side * side + 1, d)
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
