"""The models of the `grokking` study as plain functions over weight dicts (arXiv 2310.13061).

Models (the hidden width N is the MLP width and the transformer's model dimension d, so the per-neuron
``ipr`` metric has N entries for every model):
  * ``mlp2`` (paper Sec. 2): f(m, n) = W act(U e_m + V e_n), act x^2 (default) or ReLU (App. N), no
    biases, every entry N(0, (16N)^(-2/3)). The first layer is a gather (its gradient a scatter-add);
    the one-hot input is never built. U and V are stored transposed, Ut, Vt (p, N), so the gather
    reads contiguous rows; Wt (N, p).
  * ``mlp3`` (Fig. 7b): f(m, n) = W relu(H relu(U e_m + V e_n)), no biases, every matrix
    N(0, 2/fan_in) (Kaiming; fan_in 2p for the one-hot pair input, N for the others). Ut, Vt (p, N),
    Ht (N, N), Wt (N, p).
  * ``transformer`` (Fig. 7a; the paper's code, s = 1): one encoder block on the two tokens (m, n):
    x_i = E[token_i] + P[i]; x <- x + MHA(x); x <- x + W2 relu(W1 x); logits = Wu x_last / d. Four
    heads, no LayerNorm, no biases, no causal mask, no "=" token, untied unembedding; attention scores
    q.k / d_head (the code's 1 / d_head^((1 + s)/2)). Init: E, P ~ N(0, 1); every linear map
    N(0, 1/fan_in). Weights tok (p, d), pos (2, d), Wq, Wk, Wv, Wo (d, d), W1 (d, 4d), W2 (4d, d),
    Wu (d, p), all stored (in, out).

Regularized training forwards (paper Fig. 3 panels): dropout on the hidden pre-activation, inverted
scaling, before the square; BatchNorm1d after the square with PyTorch's conventions (Fig. 5).

Input-layer IPR (paper Eqs. 3, 4; rfft convention of ``theory.grokking.ipr``, pure cosine = 1):
mlp2: Eq. 4, mean of IPR(U[k,:]), IPR(V[k,:]), IPR(W[:,k]); mlp3: mean of IPR(U[k,:]) and IPR(V[k,:])
over the first layer's neurons (the hidden and output matrices mix neurons); transformer: per embedding
dimension j, the IPR of the token-embedding column E[:, j] over the p tokens (the paper gives no IPR
for it; a dimension carrying one Fourier mode of the token scores 1, a random one the Gaussian value).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ....theory import grokking as theory
from ...nn import attend, merge_heads

MLP_RATIO = 4  # transformer MLP width 4 d (the paper's code: wide_factor 4)
BN_EPS, BN_MOMENTUM = 1e-5, 0.1  # PyTorch BatchNorm1d defaults


# --------------------------------------------------------------------------------------------------
# Init
# --------------------------------------------------------------------------------------------------


def init_weights(params, key) -> dict[str, jax.Array]:
    """Initial weights of ``params.model`` (shapes in the module docstring), from fold_in(key, 1): mlp2
    with any activation or loss starts from the same weights."""
    p, N = params.p, params.N
    key = jax.random.fold_in(key, 1)
    if params.model == "mlp2":
        std = (16.0 * N) ** (-1.0 / 3.0)
        ku, kv, kw = jax.random.split(key, 3)
        return {"Ut": std * jax.random.normal(ku, (p, N)), "Vt": std * jax.random.normal(kv, (p, N)), "Wt": std * jax.random.normal(kw, (N, p))}
    if params.model == "mlp3":
        ku, kv, kh, kw = jax.random.split(key, 4)
        first, rest = (2.0 / (2 * p)) ** 0.5, (2.0 / N) ** 0.5
        return {
            "Ut": first * jax.random.normal(ku, (p, N)),
            "Vt": first * jax.random.normal(kv, (p, N)),
            "Ht": rest * jax.random.normal(kh, (N, N)),
            "Wt": rest * jax.random.normal(kw, (N, p)),
        }
    if params.model == "transformer":
        d, h = N, MLP_RATIO * N
        shapes = {"tok": (p, d), "pos": (2, d), "Wq": (d, d), "Wk": (d, d), "Wv": (d, d), "Wo": (d, d), "W1": (d, h), "W2": (h, d), "Wu": (d, p)}
        keys = dict(zip(shapes, jax.random.split(key, len(shapes))))
        # embeddings N(0, 1); linear maps N(0, 1/fan_in), fan_in = rows of the (in, out) matrix
        return {k: (1.0 if k in ("tok", "pos") else s[0] ** -0.5) * jax.random.normal(keys[k], s) for k, s in shapes.items()}
    raise ValueError(f"unknown model {params.model!r}")


def init_bn(params):
    """BatchNorm1d(N) parameters and buffers, PyTorch init: gamma 1, beta 0, running mean 0, var 1."""
    N = params.N
    return {"gamma": jnp.ones(N), "beta": jnp.zeros(N)}, {"mean": jnp.zeros(N), "var": jnp.ones(N)}


# --------------------------------------------------------------------------------------------------
# The default model (mlp2, quadratic, MSE) and its eval-mode features
# --------------------------------------------------------------------------------------------------


def forward(weights, m, n):
    """Logits (B, p) for index vectors m, n (B,): (U^T[m] + V^T[n])^2 @ W^T."""
    h = weights["Ut"][m] + weights["Vt"][n]
    return (h * h) @ weights["Wt"]


def mse(logits, labels):
    """Mean over examples and outputs of (f - onehot)^2 (PyTorch MSELoss default reduction)."""
    return jnp.mean((logits - jax.nn.one_hot(labels, logits.shape[-1])) ** 2)


def features(checkpoint, m, n):
    """Eval-mode hidden features (B, N) whose product with W^T gives the logits: (U^T[m] + V^T[n])^2,
    then, for a BatchNorm checkpoint (keys gamma, beta, bn_mean, bn_var of shape (N,)),
    (a - running mean) / sqrt(running var + eps) * gamma + beta."""
    h = checkpoint["Ut"][m] + checkpoint["Vt"][n]
    a = h * h
    if "gamma" in checkpoint:
        a = (a - checkpoint["bn_mean"]) / jnp.sqrt(checkpoint["bn_var"] + BN_EPS) * checkpoint["gamma"] + checkpoint["beta"]
    return a


def checkpoint_of(weights, bn_stats):
    """The trained weights plus BatchNorm running statistics (bn_mean, bn_var) when there are any."""
    return weights if bn_stats is None else {**weights, "bn_mean": bn_stats["mean"], "bn_var": bn_stats["var"]}


def train_features(weights, m, n, params, key, bn_stats=None):
    """Training-mode hidden features (B, N) and the new running BatchNorm statistics.

    Dropout (the paper's code): keep ~ Bernoulli(1 - q) per (row, neuron), h <- keep * h / (1 - q)
    before the square, so train-time features are inflated by 1/(1 - q) on average (E[(keep h /
    (1 - q))^2] = h^2 / (1 - q); replicated, not fixed). BatchNorm after the square, PyTorch training
    mode: normalize with the batch mean and the biased batch variance; running statistics updated with
    momentum 0.1 and the unbiased variance.
    """
    h = weights["Ut"][m] + weights["Vt"][n]
    if params.regularizer == "dropout":
        q = params.dropout
        keep = jax.random.bernoulli(key, 1.0 - q, h.shape)
        h = jnp.where(keep, h / (1.0 - q), 0.0)
    a = h * h
    new_stats = bn_stats
    if params.regularizer == "batchnorm":
        B = a.shape[0]
        mean, var = jnp.mean(a, 0), jnp.var(a, 0)
        a = (a - mean) / jnp.sqrt(var + BN_EPS) * weights["gamma"] + weights["beta"]
        mean, var = jax.lax.stop_gradient((mean, var))
        new_stats = {
            "mean": (1 - BN_MOMENTUM) * bn_stats["mean"] + BN_MOMENTUM * mean,
            "var": (1 - BN_MOMENTUM) * bn_stats["var"] + BN_MOMENTUM * var * B / (B - 1),
        }
    return a, new_stats


def regularized_loss(weights, m, n, labels, params, key, bn_stats=None):
    """Training-mode MSE with dropout or BatchNorm (``train_features``); returns (loss, new running BN
    statistics)."""
    a, new_stats = train_features(weights, m, n, params, key, bn_stats)
    return mse(a @ weights["Wt"], labels), new_stats


# --------------------------------------------------------------------------------------------------
# Every model: logits and losses (trained by plain jax.grad except the default)
# --------------------------------------------------------------------------------------------------


def activate(h, activation: str):
    """x^2 (paper Sec. 2) or ReLU (App. N)."""
    return h * h if activation == "quadratic" else jax.nn.relu(h)


def transformer_logits(w, m, n, heads: int):
    """Logits (B, p) at the last position of the one-block encoder (module docstring) for token index
    vectors m, n (B,).

    Only p tokens exist per position, so the embeddings and their query / key / value projections are
    computed once as (p, d) tables and gathered per example; only the last position's output is read,
    so its query alone is needed and the MLP runs on one position. Softmax over the two keys
    (``sims.nn.attend``)."""
    p, d = w["tok"].shape
    dh = d // heads
    x0, x1 = w["tok"] + w["pos"][0], w["tok"] + w["pos"][1]  # (p, d) tables per position

    def heads_of(*rows):  # per-position (B, d) rows -> (B, heads, positions, dh)
        return jnp.stack([r.reshape(r.shape[0], heads, dh) for r in rows], axis=2)

    q = heads_of((x1 @ w["Wq"])[n])  # (B, heads, 1, dh): the last position's query
    k = heads_of((x0 @ w["Wk"])[m], (x1 @ w["Wk"])[n])  # (B, heads, 2, dh)
    v = heads_of((x0 @ w["Wv"])[m], (x1 @ w["Wv"])[n])
    y, _ = attend(q, k, v, 1.0 / dh)  # scores / d_head (s = 1)
    x = x1[n] + merge_heads(y)[:, 0] @ w["Wo"]
    x = x + jax.nn.relu(x @ w["W1"]) @ w["W2"]
    return (x @ w["Wu"]) / d


def logits(w, m, n, params):
    """Logits (B, p) of ``params.model`` for index vectors m, n (B,)."""
    if params.model == "transformer":
        return transformer_logits(w, m, n, params.heads)
    h = activate(w["Ut"][m] + w["Vt"][n], params.activation)
    if params.model == "mlp3":
        h = jax.nn.relu(h @ w["Ht"])
    return h @ w["Wt"]


def row_losses(z, labels, loss: str):
    """Per-example loss (B,): MSE against the one-hot label averaged over the p outputs (PyTorch
    MSELoss), or softmax cross-entropy (App. M; PyTorch CrossEntropyLoss, natural log)."""
    if loss == "ce":
        return -jnp.take_along_axis(jax.nn.log_softmax(z, -1), labels[:, None], -1)[:, 0]
    return jnp.mean((z - jax.nn.one_hot(labels, z.shape[-1])) ** 2, -1)


def mean_loss(w, m, n, labels, params):
    """Mean loss over the given rows; ``jax.grad`` of this trains every non-default configuration."""
    return jnp.mean(row_losses(logits(w, m, n, params), labels, params.loss))


# --------------------------------------------------------------------------------------------------
# IPR of the input layer (paper Eqs. 3, 4)
# --------------------------------------------------------------------------------------------------


def neuron_ipr(weights):
    """Per-neuron IPR (N,) of the mlp2 weights in the paper's layout: rows U[k,:], V[k,:], W[:,k] (Eq. 4)."""
    return theory.neuron_ipr(weights["Ut"].T, weights["Vt"].T, weights["Wt"].T)


def _nanmean_rows(*rows):
    """Mean over the given (N,) IPR arrays, skipping NaN (all-zero rows); NaN where all are NaN."""
    stacked = jnp.stack(rows)
    count = jnp.sum(~jnp.isnan(stacked), 0)
    return jnp.where(count > 0, jnp.nansum(stacked, 0) / jnp.maximum(count, 1), jnp.nan)


def input_ipr(w, params):
    """Per-neuron IPR (N,) of the input layer (module docstring): Eq. 4 for mlp2, the first layer's
    U and V rows for mlp3, the token-embedding columns for the transformer."""
    if params.model == "mlp2":
        return neuron_ipr(w)
    if params.model == "mlp3":
        return _nanmean_rows(theory.ipr(w["Ut"].T), theory.ipr(w["Vt"].T))
    return theory.ipr(w["tok"].T)


# --------------------------------------------------------------------------------------------------
# Size (for the cost model of run.py)
# --------------------------------------------------------------------------------------------------


def forward_flops_per_row(params) -> float:
    """Matmul FLOPs of one example's forward (the gathers and elementwise work left out)."""
    p, N = params.p, params.N
    if params.model == "mlp2":
        return 2.0 * N * p
    if params.model == "mlp3":
        return 2.0 * (N * N + N * p)
    return 2.0 * (N * N + 2 * MLP_RATIO * N * N + N * p)  # Wo, W1 and W2, Wu (the tables are per step)


def floats_per_row(params) -> int:
    """Activations kept per example in the backward pass, in floats (rough)."""
    p, N = params.p, params.N
    if params.model == "mlp2":
        return 3 * N + 3 * p
    if params.model == "mlp3":
        return 5 * N + 3 * p
    return (10 + 2 * MLP_RATIO) * N + 3 * p

