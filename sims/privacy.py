"""Per-example gradients, per-example and per-microbatch clipping, DP-SGD noise, and the accountant.

DP-SGD (Abadi et al., arXiv 1607.00133, Sec. 3.1, Algorithm 1): compute every example's gradient
g_i, clip it to norm at most C, g_i * min(1, C / ||g_i||_2), sum, add N(0, sigma^2 C^2 I) and
divide by the (expected) batch size. The clipped sum has sensitivity C under adding or removing one
example, so the noise multiplier sigma and the Poisson sampling rate q fix the privacy loss of a
step; ``epsilon`` composes the steps with the ``dp_accounting`` package (``rote.sims.accounting``,
JAX-free, re-exported here).

Per-microbatch ("per-core") clipping (Wang, Thakkar, Mathews, arXiv 2310.11739, per-core clipping)
clips the mean gradient of each of m equal microbatches instead of each example, then averages the
m clipped means: m gradient evaluations instead of B; with microbatch size 1 it is per-example
clipping. It bounds a microbatch's, not an example's, contribution: a memorization mitigation, not
an example-level DP guarantee. ``sharded_per_core_grad`` runs it across devices with ``shard_map``,
clipping on each device before the cross-device mean.

Shapes: a batch is a pytree whose leaves have a leading axis B; ``loss_fn(params, example)`` is the
scalar loss of ONE example (leaves without the leading axis). Gradient stacks are params-shaped
pytrees with a leading axis (B for examples, m for microbatches). The clipping norm C may be
``inf`` (no clipping) and C and sigma may be traced (a sweep axis). Everything is pure and jit-able.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from rote.sims.accounting import ACCOUNTANTS, check_accounting, epsilon  # noqa: F401  (re-exported; JAX-free)
from rote.sims.errors import ConfigError


def per_example_grads(loss_fn, params, batch):
    """Gradient of ``loss_fn`` at every example: a params-shaped pytree with leading axis B (vmap(grad))."""
    return jax.vmap(jax.grad(loss_fn), in_axes=(None, 0))(params, batch)


def split_microbatches(batch, n_micro: int):
    """Reshape every leaf (B, ...) -> (n_micro, B / n_micro, ...): contiguous microbatches, as a batch
    sharded over n_micro cores."""
    B = jax.tree_util.tree_leaves(batch)[0].shape[0]
    if n_micro < 1 or B % n_micro:
        raise ConfigError(f"the number of microbatches {n_micro} must divide the batch size {B}")
    return jax.tree_util.tree_map(lambda x: x.reshape(n_micro, B // n_micro, *x.shape[1:]), batch)


def per_microbatch_grads(loss_fn, params, batch, n_micro: int):
    """Gradient of the mean loss over each of ``n_micro`` contiguous microbatches: leading axis n_micro."""
    mean_loss = lambda p, mb: jnp.mean(jax.vmap(loss_fn, in_axes=(None, 0))(p, mb))
    return jax.vmap(jax.grad(mean_loss), in_axes=(None, 0))(params, split_microbatches(batch, n_micro))


def global_norms(grads):
    """L2 norm of each row of a gradient stack over all leaves: leading axis n -> (n,)."""
    sq = sum(jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1) for g in jax.tree_util.tree_leaves(grads))
    return jnp.sqrt(sq)


def clip_factors(norms, clip):
    """min(1, C / norm) for (n,) norms; C = inf gives 1, a zero norm gives 1."""
    return jnp.minimum(1.0, clip / jnp.maximum(norms, 1e-30))


def clip_rows(grads, clip):
    """Scale each row of a gradient stack to L2 norm at most ``clip``: g_i * min(1, C / ||g_i||)."""
    f = clip_factors(global_norms(grads), clip)
    return jax.tree_util.tree_map(lambda g: g * f.reshape(-1, *([1] * (g.ndim - 1))).astype(g.dtype), grads)


def clipped_mean(grads, clip):
    """Mean of the clipped rows (per-example or per-microbatch clipping without noise): params-shaped."""
    return jax.tree_util.tree_map(lambda g: g.mean(0), clip_rows(grads, clip))


def per_example_clipped_grad(loss_fn, params, batch, clip):
    """Per-example clipping (PEC) without noise: mean_i g_i min(1, C / ||g_i||), params-shaped."""
    return clipped_mean(per_example_grads(loss_fn, params, batch), clip)


def per_core_clipped_grad(loss_fn, params, batch, clip, n_cores: int):
    """Per-core clipping (PCC; Wang, Thakkar, Mathews, arXiv 2310.11739) on one device: the batch split
    into ``n_cores`` contiguous microbatches (as a batch sharded over n_cores cores), each microbatch's
    mean gradient clipped to C, the clipped means averaged; params-shaped."""
    return clipped_mean(per_microbatch_grads(loss_fn, params, batch, n_cores), clip)


def _shard_map(fn, mesh, in_specs, out_specs):
    """shard_map without the replication (vma) check: loops inside the loss (e.g. optax.ctc_loss's scan)
    carry values the check would require to be marked as varying; the result is pmean'd anyway."""
    if hasattr(jax, "shard_map"):
        return jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False)
    from jax.experimental.shard_map import shard_map  # older JAX

    return shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_rep=False)


def sharded_per_core_grad(loss_fn, params, batch, clip, mesh, axis_name: str, n_cores: int | None = None):
    """``per_core_clipped_grad`` across real devices: the batch is sharded over the mesh axis
    ``axis_name`` (its devices in order hold contiguous slices); each device splits its slice into
    n_cores / devices microbatches, clips each microbatch's mean gradient to C *before* any
    communication, and the clipped means are averaged with one ``pmean`` (as paxml's
    ``PercoreClippedDpSgdGradient`` does under pmap). ``n_cores`` defaults to the number of devices on
    the axis and must be a multiple of it; the result equals ``per_core_clipped_grad`` with n_cores
    microbatches to float rounding. Params are replicated; the result is replicated."""
    from jax.sharding import PartitionSpec as P

    devices = mesh.shape[axis_name]
    n_cores = devices if n_cores is None else n_cores
    B = jax.tree_util.tree_leaves(batch)[0].shape[0]
    if n_cores % devices or B % n_cores:
        raise ConfigError(f"the number of cores {n_cores} must be a multiple of the {devices} devices and divide the batch size {B}")

    def local(p, b, c):
        g = per_core_clipped_grad(loss_fn, p, b, c, n_cores // devices)
        return jax.lax.pmean(g, axis_name)

    batch_spec = jax.tree_util.tree_map(lambda _: P(axis_name), batch)
    fn = _shard_map(local, mesh, (P(), batch_spec, P()), P())
    return fn(params, batch, jnp.asarray(clip, jnp.float32))


def dp_aggregate(grads, clip, noise_multiplier, key, denominator=None):
    """DP-SGD aggregate of Algorithm 1 (Abadi et al., arXiv 1607.00133): (sum_i clip(g_i) + N(0, sigma^2
    C^2 I)) / denominator, params-shaped. The rows are examples (or microbatches); ``denominator``
    defaults to their number (pass the expected batch size q N under Poisson sampling). sigma = 0
    adds nothing, also when C = inf."""
    total = jax.tree_util.tree_map(lambda g: g.sum(0), clip_rows(grads, clip))
    n = jax.tree_util.tree_leaves(grads)[0].shape[0] if denominator is None else denominator
    std = jnp.where(noise_multiplier > 0, noise_multiplier * clip, 0.0)
    vec, unravel = ravel_pytree(total)  # one draw for all leaves: one random-bits kernel to compile
    return unravel((vec + std * jax.random.normal(key, vec.shape, vec.dtype)) / n)


def dp_gradient(loss_fn, params, batch, key, clip, noise_multiplier, n_micro: int | None = None):
    """One DP-SGD gradient: per-example gradients (``n_micro`` None) or per-microbatch mean gradients,
    clipped, summed, noised and averaged by ``dp_aggregate``. With sigma = 0 and C = inf it is the
    plain mean gradient (to float rounding)."""
    if n_micro is None:
        grads = per_example_grads(loss_fn, params, batch)
    else:
        grads = per_microbatch_grads(loss_fn, params, batch, n_micro)
    return dp_aggregate(grads, clip, noise_multiplier, key)


class DPAggregateState(NamedTuple):
    """The noise key of ``dp_aggregate_transform``, split at every update."""

    key: jax.Array


def dp_aggregate_transform(clip, noise_multiplier, key) -> optax.GradientTransformation:
    """``dp_aggregate`` as the first link of an optax chain, e.g.
    ``optax.chain(dp_aggregate_transform(C, sigma, key), optax.adam(lr))``: ``update`` takes the
    per-example (or per-microbatch) gradient stack, leading axis n, and returns the noised mean."""

    def init_fn(params):
        del params
        return DPAggregateState(key)

    def update_fn(updates, state, params=None):
        del params
        nxt, sub = jax.random.split(state.key)
        return dp_aggregate(updates, clip, noise_multiplier, sub), DPAggregateState(nxt)

    return optax.GradientTransformation(init_fn, update_fn)


def poisson_capacity(expected: float, z: float = 4.5) -> int:
    """Slots of a fixed-shape Poisson batch: ceil(expected + z sqrt(expected)). A Poisson batch of mean
    32 exceeds 32 + 4.5 sqrt(32) = 58 slots with probability about 4e-6 per step."""
    return int(math.ceil(expected + z * math.sqrt(expected)))


def poisson_sample(key, valid, rate, slots: int):
    """Poisson sampling (each valid item independently with probability ``rate``, as the accountant
    assumes) into a fixed-shape batch: valid (M,) bool -> (indices (slots,) int, mask (slots,) bool,
    overflow () bool).

    One uniform u_i per item; the sample is {i valid : u_i < rate}. The ``slots`` smallest u_i are
    kept, so the mask is exactly the sample unless more than ``slots`` items were drawn (``overflow``),
    when a uniformly random subset of ``slots`` of them is kept. ``rate`` may be traced."""
    u = jnp.where(valid, jax.random.uniform(key, valid.shape), 2.0)
    neg, idx = jax.lax.top_k(-u, slots)
    overflow = jnp.sum(u < rate) > slots
    return idx, -neg < rate, overflow
