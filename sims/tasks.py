"""Synthetic probe data for memorization beyond verbatim text: facts, rules, styles, surface forms.

The taxonomy of Hartmann et al. (arXiv 2310.18362, Sec. 3: facts, ideas and algorithms, writing
styles, distributional properties, alignment goals) asks for data whose content is known by
construction, so that what a model stored (or derived) can be told apart from what it never saw:

  * knowledge-base triples (subject, relation, object) rendered with templates, each template a fixed
    arrangement of its own filler tokens around the subject and relation slots with the object last
    (the paraphrase design of Allen-Zhu and Li, arXiv 2309.14316, Sec. 3, at toy size);
  * rule tasks: a short list followed by its image under a rule (copy, reverse, sort);
  * authors as Markov chains over one shared vocabulary (``rote.sims.text.markov_chain`` per author);
  * surface forms: a hidden Markov state written with one of several synonym tokens, so synonyms share
    every context (the toy meaning of a paraphrase), and a chain that never visits a given state.

Everything is a pure function of ``jax.random`` keys with static sizes (Python ints), so it runs inside
a traced, vmapped run. Templates use negative codes for their slots: -1 - j is slot j.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from .errors import ConfigError
from .text import markov_chain

RULES = ("copy", "reverse", "sort")
SUBJECT, RELATION, OBJECT = -1, -2, -3  # slot codes of a fact template


def render(template, values):
    """Fill a template's slots: template (L,) int (token >= 0, or slot code -1 - j), values (n, S) int ->
    (n, L) int32 with slot j replaced by ``values[:, j]``."""
    template = jnp.asarray(template, jnp.int32)
    slot = jnp.clip(-1 - template, 0, values.shape[-1] - 1)
    picked = jnp.take_along_axis(values.astype(jnp.int32), jnp.broadcast_to(slot, (values.shape[0], template.shape[0])), axis=1)
    return jnp.where(template[None, :] >= 0, template[None, :], picked)


@partial(jax.jit, static_argnames=("n_templates", "length"))
def fact_templates(key, n_templates: int, length: int, filler_offset: int):
    """(n_templates, length) fact templates: the object slot last; the subject and relation slots at
    random distinct positions (either order) among the first length - 1; the other length - 3 positions
    hold template j's own filler tokens filler_offset + j (length - 3) + 0, 1, ... (no two templates share
    a filler, so a template held out from a fact is a new surface form of it)."""
    if length < 3:
        raise ConfigError(f"a fact template needs at least 3 tokens (subject, relation, object), got {length}")
    n_fill = length - 3

    def one(k, j):
        order = jax.random.permutation(k, length - 1)  # position order[0] <- subject, order[1] <- relation, rest fillers
        fill = filler_offset + j * n_fill + jnp.arange(n_fill)
        content = jnp.concatenate([jnp.array([SUBJECT, RELATION]), fill]).astype(jnp.int32)
        body = jnp.zeros(length - 1, jnp.int32).at[order].set(content)
        return jnp.concatenate([body, jnp.array([OBJECT], jnp.int32)])

    return jax.vmap(one)(jax.random.split(key, n_templates), jnp.arange(n_templates))


def fact_rows(templates, subjects, relations, objects):
    """Every fact rendered with every template: templates (K, L), subjects / relations / objects (n,) ->
    (K, n, L) int32 (template-major)."""
    values = jnp.stack([subjects, relations, objects], axis=1)
    return jax.vmap(lambda t: render(t, values))(templates)


def apply_rule(lists, rule: str):
    """The rule's output for lists (..., L) int: 'copy' (the list), 'reverse', 'sort' (ascending)."""
    if rule not in RULES:
        raise ConfigError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    if rule == "copy":
        return lists
    if rule == "reverse":
        return lists[..., ::-1]
    return jnp.sort(lists, axis=-1)


def distinct_lists(key, n: int, length: int, alphabet: int):
    """(n,) distinct list indices drawn uniformly from alphabet^length and their (n, length) int32 symbols
    (most significant first); n must not exceed alphabet^length."""
    space = alphabet**length
    if n > space:
        raise ConfigError(f"{n} distinct lists do not fit {alphabet}^{length} = {space}")
    index = jax.random.choice(key, space, (n,), replace=False)
    powers = alphabet ** jnp.arange(length - 1, -1, -1)
    return index, ((index[:, None] // powers) % alphabet).astype(jnp.int32)


@partial(jax.jit, static_argnames=("n_authors", "n_states", "k"))
def author_chains(key, n_authors: int, n_states: int, k: int, concentration: float = 1.0):
    """(n_authors, S, S) independent sparse Markov chains over one shared set of S states: each author's
    style is its own successor structure over the same words."""
    return jax.vmap(lambda kk: markov_chain(kk, n_states, k, concentration))(jax.random.split(key, n_authors))


def chain_avoiding(transition, state):
    """The chain conditioned never to enter ``state``: its column zeroed and every row renormalized (a
    row whose only successor was ``state`` becomes uniform over the other states). (S, S) -> (S, S)."""
    S = transition.shape[0]
    keep = jnp.arange(S) != state
    t = transition * keep[None, :]
    total = t.sum(1, keepdims=True)
    return jnp.where(total > 0, t / jnp.where(total > 0, total, 1.0), keep[None, :] / (S - 1.0))


def with_synonyms(key, tokens, state, synonyms):
    """Write every occurrence of token ``state`` in ``tokens`` (...) as one of the ``synonyms`` (m,)
    tokens, drawn uniformly and independently: the surface forms of one hidden state."""
    synonyms = jnp.asarray(synonyms, jnp.int32)
    pick = synonyms[jax.random.randint(key, tokens.shape, 0, synonyms.shape[0])]
    return jnp.where(tokens == state, pick, tokens).astype(jnp.int32)


def place(rows, positions, tokens):
    """Set rows[i, positions[i]] = tokens[i]: rows (n, T), positions (n,), tokens (n,) -> (n, T)."""
    return rows.at[jnp.arange(rows.shape[0]), positions].set(jnp.asarray(tokens, rows.dtype))
