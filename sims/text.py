"""Synthetic text: sparse random Markov chains, canaries, repetition as multiplicities, deduplication.

Ordinary training text is drawn from a sparse random Markov chain (each state has exactly ``k``
successors with Dirichlet weights), so what a model could learn from it is known in closed form.
Canaries follow Carlini et al. (arXiv 1802.08232, Sec. 3-4): a fixed template prefix followed by a
secret of random digits drawn from the space R of all digit strings of that length.

Repetition is data, not shape. A training set is ``(tokens (N, T), counts (N,))``: row i occurs
``counts[i]`` times in the training multiset. Inserting a canary r times sets its row's count to r
(r = 0: never trained on), so the repetition level is a traced sweep axis while every array keeps its
shape. Deduplication (Lee et al., arXiv 2107.06499, exact duplicates) caps the multiplicity of every
distinct sequence at 1. Batches are drawn with probability proportional to the counts
(``sample_batch``), or read from the fixed-size list of occurrences (``occurrences``).

Randomness comes from ``jax.random`` keys, so every generator runs inside a traced, vmapped run.
Sizes (numbers of states, successors, sequences, lengths) are static Python ints.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from rote.sims.errors import ConfigError

MAX_DISTINCT_SECRETS = 2**24  # secret spaces up to this size are sampled without replacement


@partial(jax.jit, static_argnames=("n_states", "k"))
def markov_chain(key, n_states: int, k: int, concentration: float = 1.0):
    """(n_states, n_states) row-stochastic matrix: each row has exactly ``k`` distinct successors
    (uniform without replacement) with weights ~ Dirichlet(concentration * ones(k))."""
    if not 1 <= k <= n_states:
        raise ConfigError(f"k must be an integer in [1, {n_states}] (the number of states), got {k}")
    k_succ, k_w = jax.random.split(key)

    def row(kk_succ, kk_w):
        succ = jax.random.choice(kk_succ, n_states, (k,), replace=False)
        w = jax.random.dirichlet(kk_w, jnp.full((k,), concentration))
        return jnp.zeros(n_states).at[succ].set(w)

    return jax.vmap(row)(jax.random.split(k_succ, n_states), jax.random.split(k_w, n_states))


@partial(jax.jit, static_argnames=("n", "length"))
def sample_sequences(key, transition, n: int, length: int, offset: int = 0):
    """(n, length) int32 token sequences of the chain ``transition`` (S, S): a uniform first state,
    then successors; state s is written as token ``offset + s`` (e.g. after the digit tokens)."""
    S = transition.shape[0]
    log_t = jnp.log(transition)

    def one(kk):
        k0, k_rest = jax.random.split(kk)

        def step(state, kt):
            nxt = jax.random.categorical(kt, log_t[state])
            return nxt, nxt

        first = jax.random.randint(k0, (), 0, S)
        _, rest = jax.lax.scan(step, first, jax.random.split(k_rest, length - 1))
        return jnp.concatenate([first[None], rest])

    return (jax.vmap(one)(jax.random.split(key, n)) + offset).astype(jnp.int32)


@partial(jax.jit, static_argnames="length")
def chain_loss_floor(transition, length: int):
    """Mean next-token entropy (nats) over tokens 1..length-1 of ``sample_sequences``' sequences
    (uniform first state): the teacher-forced loss of the true chain, i.e. the validation-loss floor
    of any model scored as in ``rote.sims.lm`` (token 0 unscored). (S, S) -> scalar."""
    S = transition.shape[0]
    row_entropy = -jnp.sum(jnp.where(transition > 0, transition * jnp.log(jnp.where(transition > 0, transition, 1.0)), 0.0), axis=1)

    def step(p, _):
        return p @ transition, p @ row_entropy

    _, per_position = jax.lax.scan(step, jnp.full(S, 1.0 / S), None, length=length - 1)
    return per_position.mean()


def secret_digits(index, n_digits: int, base: int = 10):
    """Write secret indices (...,) in base ``base`` with ``n_digits`` digits, most significant first:
    (...,) int -> (..., n_digits) int32."""
    powers = base ** jnp.arange(n_digits - 1, -1, -1)
    return ((jnp.asarray(index)[..., None] // powers) % base).astype(jnp.int32)


def secret_space(n_digits: int, base: int = 10):
    """All |R| = base^n_digits secrets in index order: (|R|, n_digits) int32 digits."""
    return secret_digits(jnp.arange(base**n_digits), n_digits, base)


def random_secrets(key, n: int, n_digits: int, base: int = 10):
    """(n,) distinct secret indices drawn uniformly from R (|R| = base^n_digits).

    Spaces up to ``MAX_DISTINCT_SECRETS`` are drawn without replacement; larger ones with replacement
    (a collision has probability about n^2 / (2 |R|), below 1e-4 for n = 100 and |R| = 10^9)."""
    space = base**n_digits
    if n > space:
        raise ConfigError(f"{n} canaries do not fit a secret space of {space} ({n_digits} digits in base {base})")
    if space <= MAX_DISTINCT_SECRETS:
        return jax.random.choice(key, space, (n,), replace=False)
    if space >= 2**31:
        raise ConfigError(f"a secret space of {space} does not fit int32 indices (at most 9 decimal digits)")
    return jax.random.randint(key, (n,), 0, space)


def canaries(template, secrets, n_digits: int, digit_offset: int = 0, base: int = 10):
    """Canary token sequences: the fixed ``template`` (L,) followed by each secret's digits, written
    as tokens ``digit_offset + digit``. secrets (n,) indices -> (n, L + n_digits) int32."""
    template = jnp.asarray(template, jnp.int32)
    digits = secret_digits(secrets, n_digits, base) + digit_offset
    return jnp.concatenate([jnp.broadcast_to(template, (digits.shape[0], template.shape[0])), digits], axis=1)


def check_canary_layout(vocab: int, context: int, template_length: int, n_digits: int, digit_offset: int = 0, base: int = 10):
    """Raise ConfigError if the digit tokens do not fit the vocabulary or the canary the context."""
    if not 0 <= digit_offset <= vocab - base:
        raise ConfigError(f"digit tokens {digit_offset}..{digit_offset + base - 1} do not fit a vocabulary of {vocab}")
    if template_length + n_digits > context:
        raise ConfigError(f"context {context} is shorter than the canary ({template_length} prefix + {n_digits} digit tokens)")


def overwrite_start(rows, heads):
    """Put ``heads`` (n, L) at the start of ``rows`` (n, T), keeping each row's tail: (n, T).

    A canary row is the canary followed by ordinary text, so all its copies are identical sequences
    of the training length (and deduplication collapses them)."""
    return rows.at[:, : heads.shape[1]].set(heads.astype(rows.dtype))


def with_inserted(tokens, counts, inserted, reps):
    """Append ``inserted`` rows (C, T) with multiplicities ``reps`` (C,) (may be traced, 0 allowed) to
    a training set (tokens (N, T), counts (N,)): returns ((N + C, T), (N + C,))."""
    reps = jnp.broadcast_to(jnp.asarray(reps, counts.dtype), (inserted.shape[0],))
    return jnp.concatenate([tokens, inserted.astype(tokens.dtype)]), jnp.concatenate([counts, reps])


def repeat_rows(counts, rows, reps):
    """Set the multiplicity of existing ``rows`` (C,) int to ``reps`` (C,) or scalar: (N,) -> (N,).
    Duplicating ordinary training sequences r times keeps the shapes fixed."""
    return counts.at[rows].set(jnp.asarray(reps, counts.dtype))


def deduplicate(tokens, counts):
    """Exact deduplication as multiplicities capped at 1: tokens (N, T), counts (N,) -> (N,) int32.

    Every distinct sequence that occurs at all (summed over identical rows) keeps count 1, on its
    first row (in order) with a positive count; every other copy gets 0. Traceable (sort-based)."""
    N, T = tokens.shape
    present = counts > 0
    keys = [jnp.arange(N), ~present] + [tokens[:, j] for j in range(T - 1, -1, -1)]
    order = jnp.lexsort(keys)  # rows grouped by content; in each group present rows first, by index
    st = tokens[order]
    new_group = jnp.concatenate([jnp.array([True]), jnp.any(st[1:] != st[:-1], axis=1)])
    group = jnp.cumsum(new_group) - 1
    total = jax.ops.segment_sum(counts[order], group, num_segments=N)
    keep_sorted = new_group & (total[group] > 0)
    return jnp.zeros(N, jnp.int32).at[order].set(keep_sorted.astype(jnp.int32))


def sample_batch(key, counts, batch_size: int):
    """(batch_size,) row indices drawn with replacement, row i with probability counts[i] / sum(counts)
    (counts must not all be 0)."""
    counts = jnp.asarray(counts, jnp.float32)
    return jax.random.choice(key, counts.shape[0], (batch_size,), p=counts / counts.sum())


def occurrences(counts, size: int):
    """The training multiset as a fixed-size list: (size,) row indices (row i ``counts[i]`` times,
    in row order) and (size,) bool ``valid`` (False on the padding after sum(counts) entries).
    ``size`` must be at least sum(counts) (e.g. N + C * max repetition)."""
    idx = jnp.repeat(jnp.arange(counts.shape[0]), counts, total_repeat_length=size)
    return idx, jnp.arange(size) < counts.sum()
