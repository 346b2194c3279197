"""The default model's training loss with a hand-written gradient (mlp2, quadratic, MSE).

``train_loss`` is ``model.mse(model.forward(...))`` with a ``jax.custom_vjp`` whose gradient is
written out (equal to ``jax.grad`` of the plain loss to float rounding). On CPU the step is limited by
how often the (rows, N) arrays h^2 and dh go through memory, not by the matmuls alone: the gradient
walks the train rows in blocks whose arrays stay in cache, and when configs are vmapped (the engine's
chunks) it trains them one after another (a ``custom_vmap`` rule), each with the same blocks, because
one config's matmuls already occupy every core and a batch of configs only multiplies the bytes per
block. Small configs (one block) stay batched: there the batch amortises the per-operation overhead.
Other backends (GPU) take all rows and all configs at once. Timings: NOTES.md.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.custom_batching import custom_vmap

from .model import forward, mse

CPU_BLOCK_BYTES = 2_400_000  # bytes of one (rows, N) float32 array per block on CPU (paper size: 4 blocks of 1176 rows)


def row_blocks(n_rows: int, N: int) -> tuple[int, int]:
    """(number of blocks, rows per block) on CPU: blocks of about CPU_BLOCK_BYTES per (rows, N) float32
    array; the last block is padded with masked rows."""
    n_blocks = max(1, round(n_rows * N * 4 / CPU_BLOCK_BYTES))
    return n_blocks, -(-n_rows // n_blocks)


def loss_and_grad(weights, m, n, labels, n_blocks: int = 1):
    """``mse(forward(weights, m, n), labels)`` and its gradient, written out by hand.

    With h = U^T[m] + V^T[n] (M, N), a = h^2, logits = a W^T (M, p) and e = logits - onehot(labels):
    loss = sum(e^2) / (M p); g = 2 e / (M p); dW^T = a^T g; dh = 2 h (g W); dU^T, dV^T = dh summed
    over the rows of each m, n (scatter-add). The rows are walked in ``n_blocks`` blocks
    (``lax.scan``; the last one padded with masked rows), accumulating the three gradients. The one-hot
    target is never built (a compare inside the fused subtraction). Returns (loss, grads) with grads
    shaped like ``weights``.
    """
    Ut, Vt, Wt = weights["Ut"], weights["Vt"], weights["Wt"]
    n_rows, p = m.shape[0], Ut.shape[0]
    rows = -(-n_rows // n_blocks)
    scale = 2.0 / (n_rows * p)

    def block(carry, xs):
        sq_err, dUt, dVt, dWt = carry
        mb, nb, yb, valid = xs
        a = (Ut[mb] + Vt[nb]) ** 2
        err = jnp.where(valid[:, None], a @ Wt - (yb[:, None] == jnp.arange(p)).astype(a.dtype), 0.0)
        g = scale * err
        # Gather h again from tables XLA cannot identify with the ones above: it then fuses each gather
        # into its consumer instead of writing U^T[m] and V^T[n] to memory for both.
        Ut2, Vt2 = jax.lax.optimization_barrier((Ut, Vt))
        dh = 2.0 * (Ut2[mb] + Vt2[nb]) * (g @ Wt.T)
        dWt = dWt + (g.T @ a).T  # (p, rows) @ (rows, N): on CPU faster than a.T @ g, which copies a transposed
        return (sq_err + jnp.sum(err * err), dUt.at[mb].add(dh), dVt.at[nb].add(dh), dWt), None

    pad = n_blocks * rows - n_rows  # padded rows point at pair (0, 0) and are masked out of err
    xs = tuple(jnp.pad(x, (0, pad)).reshape(n_blocks, rows) for x in (m, n, labels, jnp.ones(n_rows, bool)))
    zeros = (jnp.zeros((), Ut.dtype), jnp.zeros_like(Ut), jnp.zeros_like(Vt), jnp.zeros_like(Wt))
    if n_blocks == 1:
        carry, _ = block(zeros, tuple(x[0] for x in xs))
    else:
        carry, _ = jax.lax.scan(block, zeros, xs)
    sq_err, dUt, dVt, dWt = carry
    return sq_err / (n_rows * p), {"Ut": dUt, "Vt": dVt, "Wt": dWt}


@custom_vmap
def _cpu_loss_and_grad(weights, m, n, labels):
    """loss_and_grad in CPU-sized blocks; vmapped, see _cpu_loss_and_grad_batched."""
    return loss_and_grad(weights, m, n, labels, row_blocks(m.shape[0], weights["Ut"].shape[1])[0])


@_cpu_loss_and_grad.def_vmap
def _cpu_loss_and_grad_batched(axis_size, in_batched, weights, m, n, labels):
    """A batch of configs: one after another (``lax.map``) in CPU-sized blocks when one config alone
    needs several blocks, else all at once (``vmap``, one block). With several local devices the
    batch may be sharded over them, and a loop over a sharded axis would gather it onto every device:
    there the configs stay batched, in blocks sized for a device's share of the batch."""
    args = jax.tree_util.tree_map(lambda x, b: x if b else jnp.broadcast_to(x, (axis_size, *x.shape)), (weights, m, n, labels), tuple(in_batched))
    n_rows, N = m.shape[-1], weights["Ut"].shape[-1]
    n_blocks = row_blocks(n_rows, N)[0]
    if n_blocks > 1 and jax.local_device_count() == 1:
        out = jax.lax.map(lambda a: loss_and_grad(*a, n_blocks=n_blocks), args)
    else:
        per_device = -(-axis_size // jax.local_device_count())
        n_blocks = row_blocks(per_device * n_rows, N)[0] if n_blocks > 1 else 1
        out = jax.vmap(lambda *a: loss_and_grad(*a, n_blocks=n_blocks))(*args)
    return out, jax.tree_util.tree_map(lambda _: True, out)


@jax.custom_vjp
def train_loss(weights, m, n, labels):
    """The training loss ``mse(forward(weights, m, n), labels)``. Its gradient is ``loss_and_grad``'s
    (computed in the forward pass of the custom VJP, which then only scales it), in CPU-sized blocks
    on CPU (module docstring)."""
    return mse(forward(weights, m, n), labels)


def _train_loss_fwd(weights, m, n, labels):
    if jax.default_backend() == "cpu":
        return _cpu_loss_and_grad(weights, m, n, labels)
    return loss_and_grad(weights, m, n, labels)


def _train_loss_bwd(grads, cotangent):
    return jax.tree_util.tree_map(lambda g: cotangent * g, grads), None, None, None


train_loss.defvjp(_train_loss_fwd, _train_loss_bwd)
