"""Other architectures and losses of the `grokking` study (paper Fig. 7, Apps. M and N).

Doshi, Das, He, Gromov, "To grok or not to grok" (arXiv 2310.13061); fact sheet
shared/papers/grokking_corruption.md, section 1.4 and "Other variants". ``grokking.py`` keeps the
default model (two-layer quadratic MLP, MSE) with its hand-written gradient and dispatches every
other combination of ``model`` / ``activation`` / ``loss`` here; these are trained with plain
``jax.grad`` of ``loss(logits(...))``. Plain functions over weight dicts, like the default model.

Models (the hidden width N of GrokkingParams is the MLP width, and the model dimension d of the
transformer, so the per-neuron ``ipr`` metric has N entries for every model):
  * ``mlp2``: f(m, n) = W act(U e_m + V e_n) (paper Sec. 2), act x^2 (default) or ReLU (App. N); the
    init of the default model, every entry N(0, (16N)^(-2/3)) (the paper's code swaps only the
    activation). Weights Ut, Vt (p, N), Wt (N, p), as in grokking.py.
  * ``mlp3``: f(m, n) = W relu(H relu(U e_m + V e_n)) (Fig. 7b), no biases, every matrix
    N(0, 2/fan_in) (Kaiming, fan_in 2p for the one-hot pair input, N for the others). Weights Ut, Vt
    (p, N), Ht (N, N), Wt (N, p).
  * ``transformer``: one encoder block on the two tokens (m, n) (Fig. 7a; official code, s = 1):
    x_i = E[token_i] + P[i]; x <- x + MHA(x); x <- x + W2 relu(W1 x); logits = Wu x_last / d. Four
    heads, no LayerNorm, no biases, no causal mask, no "=" token, untied unembedding. Attention scores
    q.k / d_head (the code divides by d_head^((1 + s)/2), s = 1, like the 1/d^((1+s)/2) = 1/d on the
    logits). Init: E, P ~ N(0, 1); every linear map N(0, 1/fan_in). Weights tok (p, d), pos (2, d),
    Wq, Wk, Wv, Wo (d, d), W1 (d, 4d), W2 (4d, d), Wu (d, p), all stored (in, out).

Input-layer IPR (paper Eqs. 3, 4; rfft convention of theory.ipr, pure cosine = 1):
  * mlp2: Eq. 4 unchanged, mean of IPR(U[k,:]), IPR(V[k,:]), IPR(W[:,k]) (what grokking.py stores).
  * mlp3: mean of IPR(U[k,:]) and IPR(V[k,:]) over the first layer's neurons k (the hidden and output
    matrices mix neurons, so they have no per-input-frequency rows).
  * transformer, decision (the axis used in Fig. 7 is UNVERIFIED: the paper's code has no IPR for it):
    per embedding dimension j, the IPR of the token-embedding column E[:, j] over the p tokens. A
    dimension carrying one Fourier mode of the token (the periodic, generalizing embedding of Nanda et
    al.) scores 1; a random (memorizing / untrained) column scores the Gaussian value (0.081 at p 47).
    The positional embedding is constant over tokens and does not enter.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ...theory import grokking as theory

MODELS = ("mlp2", "mlp3", "transformer")
ACTIVATIONS = ("quadratic", "relu")
LOSSES = ("mse", "ce")
MLP_RATIO = 4  # transformer MLP width 4 d (official code: wide_factor 4)


def is_default(params) -> bool:
    """The configuration with the hand-written gradient of grokking.py (mlp2, quadratic, MSE)."""
    return params.model == "mlp2" and params.activation == "quadratic" and params.loss == "mse"


# --------------------------------------------------------------------------------------------------
# Init
# --------------------------------------------------------------------------------------------------


def init_weights(params, key) -> dict[str, jax.Array]:
    """Initial weights of ``params.model`` (shapes in the module docstring), from fold_in(key, 1) like
    grokking.init_weights, so mlp2 with another activation or loss starts from the default's weights."""
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


# --------------------------------------------------------------------------------------------------
# Forward
# --------------------------------------------------------------------------------------------------


def activate(h, activation: str):
    """x^2 (paper Sec. 2) or ReLU (App. N)."""
    return h * h if activation == "quadratic" else jax.nn.relu(h)


def transformer_logits(w, m, n, heads: int):
    """Logits (B, p) at the last position of the one-block encoder (module docstring) for token index
    vectors m, n (B,).

    Only p tokens exist per position, so the embeddings and their query / key / value projections are
    computed once as (p, d) tables and gathered per example; only the last position's output is read,
    so its query alone is needed and the MLP runs on one position. Softmax over the two keys."""
    p, d = w["tok"].shape
    dh = d // heads
    x0, x1 = w["tok"] + w["pos"][0], w["tok"] + w["pos"][1]  # (p, d) tables per position

    def split(t):  # (B, d) -> (B, heads, dh)
        return t.reshape(t.shape[0], heads, dh)

    q = split((x1 @ w["Wq"])[n])
    k = jnp.stack([split((x0 @ w["Wk"])[m]), split((x1 @ w["Wk"])[n])], axis=2)  # (B, heads, 2, dh)
    v = jnp.stack([split((x0 @ w["Wv"])[m]), split((x1 @ w["Wv"])[n])], axis=2)
    att = jax.nn.softmax(jnp.einsum("bhe,bhke->bhk", q, k) / dh, axis=-1)  # scores / d_head (s = 1)
    y = jnp.einsum("bhk,bhke->bhe", att, v).reshape(-1, d)
    x = x1[n] + y @ w["Wo"]
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


def train_loss(w, m, n, labels, params):
    """Mean loss over the given rows; ``jax.grad`` of this trains every non-default configuration."""
    return jnp.mean(row_losses(logits(w, m, n, params), labels, params.loss))


# --------------------------------------------------------------------------------------------------
# IPR of the input layer
# --------------------------------------------------------------------------------------------------


def _nanmean_rows(*rows):
    """Mean over the given (N,) IPR arrays, skipping NaN (all-zero rows); NaN where all are NaN."""
    stacked = jnp.stack(rows)
    count = jnp.sum(~jnp.isnan(stacked), 0)
    return jnp.where(count > 0, jnp.nansum(stacked, 0) / jnp.maximum(count, 1), jnp.nan)


def input_ipr(w, params):
    """Per-neuron IPR (N,) of the input layer (module docstring): Eq. 4 for mlp2, the first layer's
    U and V rows for mlp3, the token-embedding columns for the transformer."""
    if params.model == "mlp2":
        return theory.neuron_ipr(w["Ut"].T, w["Vt"].T, w["Wt"].T)
    if params.model == "mlp3":
        return _nanmean_rows(theory.ipr(w["Ut"].T), theory.ipr(w["Vt"].T))
    return theory.ipr(w["tok"].T)


# --------------------------------------------------------------------------------------------------
# Cost (for chunk sizing and the progress line)
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
