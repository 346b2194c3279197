"""Synthetic person records: entities, mentions with repetition as multiplicities, and entity queries.

The data of entity-level memorization (Zhou, Xiang, Chen, Su, "Quantifying and Analyzing Entity-level
Memorization in Large Language Models", arXiv 2308.15727, Sec. 3: a training sample is a set of
entities; a query leaks some of them and asks for a target entity). Every person has
  * a key: a unique full name (first + last) or an ambiguous one (a first name shared by ``share``
    persons, so only further entities identify the record: the paper's uniqueness condition);
  * a city and an employer (uniform, independent);
  * a phone of 5 random digits (unpredictable: recovering it is memorization);
  * an e-mail ``first @ domain(employer)`` (derivable from the name and the employer: the inference
    control, whose recovery on never-trained persons is generalization, not memorization).

A mention renders one record as tokens: the name, then a random subset of the city and employer
clauses in a random order, then the phone field and the e-mail field, left-packed and padded
with PAD. Person p has ``r_p`` mentions (each with its own random wording); as in ``rote.sims.text`` a
training set is (tokens (N, T), counts (N,)): slot j of person p has count 1 if j < min(r_p, cap), so
the repetition level and the deduplication cap (``cap`` 1) are traced while every shape is static.

Queries (prompt + answer rows, with the prompt length k per row, for ``decoding.greedy_forced``):
  level 1 = the name; 2 = name + city; 3 = name + city + employer; then the target field's label.
  Training style:  first [last] (LIVES IN city) (WORKS AT employer) PHONE IS  -> 5 digits
  Held out:        PHONE first [last] (IN city) (AT employer) IS              -> 5 digits
  E-mail:          the same with the phone field (PHONE IS d1..d5) before EMAIL IS in the training
                   style, where training mentions always put it  -> first AT domain
The held-out template uses only tokens seen in training, in an order never seen in training.

Vocabulary (``layout``): 10 digits, first names, last names, cities, employers, e-mail domains (one per
employer), the template words ``WORDS``, PAD last. Sizes are static Python ints; randomness comes from
``jax.random`` keys, so the generator runs inside a traced, vmapped run.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from rote.sims.errors import ConfigError

DIGITS = 10
PHONE_DIGITS = 5
WORDS = ("LIVES", "IN", "WORKS", "AT", "PHONE", "EMAIL", "IS")
LEVELS = (1, 2, 3)  # leakage levels: name; + city; + employer
MENTION_LENGTH = 2 + 3 + 3 + (2 + PHONE_DIGITS) + 5  # longest mention: 20 tokens
EMAIL_LENGTH = 3  # first @ domain
QUERY_PROMPT = 2 + 3 + 3 + 2  # longest training-style prompt (held out: 1 + 2 + 2 + 2 + 1 = 8)


class Layout(NamedTuple):
    first: int
    last: int
    city: int
    employer: int
    domain: int
    words: int  # token of WORDS[0]; the others follow
    pad: int
    vocab: int

    @property
    def word(self) -> dict:
        return {w: self.words + i for i, w in enumerate(WORDS)}


def layout(n_first: int, n_last: int, n_cities: int, n_employers: int) -> Layout:
    """Token offsets of every entity type and word; vocab = 10 + F + L + 2 E + C + |WORDS| + 1."""
    first = DIGITS
    last = first + n_first
    city = last + n_last
    employer = city + n_cities
    domain = employer + n_employers
    w0 = domain + n_employers
    pad = w0 + len(WORDS)
    return Layout(first, last, city, employer, domain, w0, pad, pad + 1)


def check_population(persons: int, unique: int, share: int, n_first: int, n_last: int, n_cities: int, n_employers: int):
    """ConfigError unless the keys fit: ``unique`` distinct full names from the first names left after
    the ambiguous groups, and the ambiguous persons in groups of ``share`` (one first name each)."""
    ambiguous = persons - unique
    if not 0 <= unique <= persons:
        raise ConfigError(f"unique persons must lie in [0, {persons}], got {unique}")
    if ambiguous % share:
        raise ConfigError(f"the {ambiguous} ambiguous-key persons must split into groups of share={share}")
    groups = ambiguous // share
    if groups >= n_first:
        raise ConfigError(f"{groups} ambiguous first names leave no first name of the {n_first} for unique keys")
    if unique > (n_first - groups) * n_last:
        raise ConfigError(f"{unique} unique full names exceed the {(n_first - groups) * n_last} first x last names left")
    if min(n_cities, n_employers) < 1:
        raise ConfigError("needs at least one city and one employer")


class Persons(NamedTuple):
    first: jax.Array  # (P,) first-name index
    last: jax.Array  # (P,) last-name index, -1 for an ambiguous key (first name only)
    city: jax.Array  # (P,)
    employer: jax.Array  # (P,)
    phone: jax.Array  # (P, 5) digits
    ambiguous: jax.Array  # (P,) bool


@partial(jax.jit, static_argnames=("persons", "unique", "share", "n_first", "n_last", "n_cities", "n_employers"))
def draw_persons(key, persons: int, unique: int, share: int, n_first: int, n_last: int, n_cities: int, n_employers: int) -> Persons:
    """``persons`` records: the first ``unique`` have distinct full names (first names from the ones left
    after the ambiguous groups), the rest ambiguous keys, grouped at random into groups of ``share``
    sharing a first name (so groups mix any ordering a caller imposes, e.g. repetition levels). Phones
    are distinct."""
    ka, kb, kc, kd, ke = jax.random.split(key, 5)
    groups = (persons - unique) // share
    names = jax.random.choice(ka, (n_first - groups) * n_last, (unique,), replace=False)
    u_first, u_last = groups + names // n_last, names % n_last
    order = jax.random.permutation(kb, persons - unique)
    a_first = order // share
    phone_index = jax.random.choice(ke, 10**PHONE_DIGITS, (persons,), replace=False)
    phone = ((phone_index[:, None] // 10 ** jnp.arange(PHONE_DIGITS - 1, -1, -1)) % 10).astype(jnp.int32)
    return Persons(first=jnp.concatenate([u_first, a_first]).astype(jnp.int32),
                   last=jnp.concatenate([u_last, jnp.full((persons - unique,), -1)]).astype(jnp.int32),
                   city=jax.random.randint(kc, (persons,), 0, n_cities), employer=jax.random.randint(kd, (persons,), 0, n_employers),
                   phone=phone, ambiguous=jnp.arange(persons) >= unique)


def pack(tokens, valid, length: int, pad: int):
    """Left-pack the valid tokens of each row: tokens, valid (..., S) -> (..., length) int32 (PAD after);
    also the number of valid tokens (...,). Valid tokens beyond ``length`` are dropped."""
    pos = jnp.cumsum(valid, axis=-1) - 1
    pos = jnp.where(valid, pos, length)  # invalid tokens go to a dropped slot
    out = jnp.full((*tokens.shape[:-1], length + 1), pad, jnp.int32)
    out = jax.vmap(lambda o, p, t: o.at[p].set(t), in_axes=(0, 0, 0))(out.reshape(-1, length + 1), pos.reshape(-1, tokens.shape[-1]),
                                                                      tokens.reshape(-1, tokens.shape[-1]).astype(jnp.int32))
    return out[:, :length].reshape(*tokens.shape[:-1], length), valid.sum(-1)


def _name(lay: Layout, persons: Persons):
    """(P, 2) tokens and validity of the key: first, last (absent for an ambiguous key)."""
    toks = jnp.stack([lay.first + persons.first, lay.last + jnp.maximum(persons.last, 0)], -1)
    return toks, jnp.stack([jnp.ones_like(persons.ambiguous), ~persons.ambiguous], -1)


def _fields(lay: Layout, persons: Persons):
    """(P, 3) city clause, (P, 3) employer clause, (P, 7) phone field, (P, 5) e-mail field."""
    w = lay.word
    P = persons.first.shape[0]
    const = lambda *ts: jnp.broadcast_to(jnp.asarray(ts, jnp.int32), (P, len(ts)))  # noqa: E731
    city = jnp.concatenate([const(w["LIVES"], w["IN"]), (lay.city + persons.city)[:, None]], 1)
    emp = jnp.concatenate([const(w["WORKS"], w["AT"]), (lay.employer + persons.employer)[:, None]], 1)
    phone = jnp.concatenate([const(w["PHONE"], w["IS"]), persons.phone], 1)
    email = jnp.concatenate([const(w["EMAIL"], w["IS"]), email_tokens(lay, persons)], 1)
    return city, emp, phone, email


def email_tokens(lay: Layout, persons: Persons):
    """(P, 3) the derivable e-mail: first-name token, AT, the employer's domain token."""
    return jnp.stack([lay.first + persons.first, jnp.full_like(persons.first, lay.word["AT"]), lay.domain + persons.employer], -1)


@partial(jax.jit, static_argnames=("lay", "slots"))
def mentions(key, lay: Layout, persons: Persons, slots: int):
    """(P, slots, MENTION_LENGTH) mention rows: slot j of person p is its own random wording (clause
    subset of {none, city, employer, both} and clause order; the phone field before the e-mail field),
    left-packed with PAD."""
    P = persons.first.shape[0]
    k_sub, k_ord = jax.random.split(key)
    subset = jax.random.randint(k_sub, (P, slots), 0, 4)  # bit 0: city clause, bit 1: employer clause
    swap_c = jax.random.bernoulli(k_ord, 0.5, (P, slots))
    swap_f = jnp.zeros((P, slots), bool)  # the phone field, then the e-mail (a fixed field order; NOTES.md)
    name, name_ok = _name(lay, persons)
    city, emp, phone, email = _fields(lay, persons)
    email = jnp.concatenate([email, jnp.full((P, 2), lay.pad)], 1)  # to the phone field's 7 slots
    b = lambda a: jnp.broadcast_to(a[:, None], (P, slots, *a.shape[1:]))  # noqa: E731
    c1 = jnp.where(swap_c[..., None], b(emp), b(city))
    c2 = jnp.where(swap_c[..., None], b(city), b(emp))
    has_c1 = jnp.where(swap_c, subset >= 2, subset % 2 == 1)
    has_c2 = jnp.where(swap_c, subset % 2 == 1, subset >= 2)
    f1 = jnp.where(swap_f[..., None], b(email), b(phone))
    f2 = jnp.where(swap_f[..., None], b(phone), b(email))
    ok7 = lambda e: jnp.concatenate([jnp.ones((P, slots, 5), bool), jnp.broadcast_to(~e, (P, slots))[..., None].repeat(2, -1)], -1)  # noqa: E731
    toks = jnp.concatenate([b(name), c1, c2, f1, f2], -1)
    valid = jnp.concatenate([b(name_ok), jnp.repeat(has_c1[..., None], 3, -1), jnp.repeat(has_c2[..., None], 3, -1),
                             ok7(swap_f), ok7(~swap_f)], -1)
    return pack(toks, valid, MENTION_LENGTH, lay.pad)[0]


def mention_counts(levels, slots: int, cap=None):
    """(P, slots) int32 multiplicities: 1 for the first min(r_p, cap) slots of person p (cap None: r_p).
    ``levels`` (P,) and ``cap`` may be traced (deduplication: cap 1)."""
    r = jnp.asarray(levels)
    if cap is not None:
        r = jnp.minimum(r, cap)
    return (jnp.arange(slots)[None, :] < r[:, None]).astype(jnp.int32)


@partial(jax.jit, static_argnames=("lay", "field", "held_out"))
def queries(lay: Layout, persons: Persons, field: str = "phone", held_out: bool = False):
    """Query rows for the leakage levels 1-3: (3, P, L) tokens = prompt + answer (PAD after) and (3, P)
    prompt lengths k; the answer occupies positions k .. k + n - 1 (n = 5 for the phone, 3 for the
    e-mail). L = QUERY_PROMPT + 5 for the phone, MENTION_LENGTH for the e-mail.

    The e-mail query follows the training format, where the e-mail field always comes after the phone
    field: training style ``first [last] (LIVES IN city) (WORKS AT employer) PHONE IS d1..d5 EMAIL IS``
    (the phone field is part of the prompt, not a leaked entity of the level); held out ``EMAIL first
    [last] (IN city) (AT employer) IS``, like the phone's."""
    if field not in ("phone", "email"):
        raise ConfigError(f"field must be 'phone' or 'email', got {field!r}")
    w = lay.word
    P = persons.first.shape[0]
    name, name_ok = _name(lay, persons)
    city, emp, phone_field, _ = _fields(lay, persons)
    label = w["PHONE"] if field == "phone" else w["EMAIL"]
    answer = persons.phone if field == "phone" else email_tokens(lay, persons)
    n = answer.shape[1]
    L = QUERY_PROMPT + PHONE_DIGITS if field == "phone" else MENTION_LENGTH
    rows, ks = [], []
    for level in LEVELS:
        on_c, on_e = level >= 2, level >= 3
        if held_out:
            c = jnp.stack([jnp.full((P,), w["IN"]), lay.city + persons.city], 1)
            e = jnp.stack([jnp.full((P,), w["AT"]), lay.employer + persons.employer], 1)
            head = jnp.full((P, 1), label)
            tail = jnp.full((P, 1), w["IS"])
            toks = jnp.concatenate([head, name, c, e, tail], 1)
            ok = [jnp.ones((P, 1), bool), name_ok, jnp.full((P, 2), on_c), jnp.full((P, 2), on_e), jnp.ones((P, 1), bool)]
        else:
            tail = jnp.broadcast_to(jnp.asarray([label, w["IS"]], jnp.int32), (P, 2))
            parts = [name, city, emp] + ([phone_field] if field == "email" else []) + [tail]
            toks = jnp.concatenate(parts, 1)
            ok = [name_ok, jnp.full((P, 3), on_c), jnp.full((P, 3), on_e)] + ([jnp.ones((P, 7), bool)] if field == "email" else []) \
                + [jnp.ones((P, 2), bool)]
        prompt_ok = jnp.concatenate(ok, 1)
        valid = jnp.concatenate([prompt_ok, jnp.ones((P, n), bool)], 1)
        packed, _ = pack(jnp.concatenate([toks, answer], 1), valid, L, lay.pad)
        rows.append(packed)
        ks.append(prompt_ok.sum(1))
    return jnp.stack(rows), jnp.stack(ks)


def matches(persons: Persons, present=None):
    """(3, P) int32: for each leakage level, how many persons share person p's leaked entities (the key;
    + city; + employer), counting p itself and every other person where ``present`` (P,) bool (e.g.
    trained on; None: all). A query is unique (the paper's identifying set) where this is 1."""
    P = persons.first.shape[0]
    present = jnp.ones(P, bool) if present is None else jnp.asarray(present, bool)
    same_key = (persons.first[:, None] == persons.first[None, :]) & (persons.last[:, None] == persons.last[None, :])
    same_city = persons.city[:, None] == persons.city[None, :]
    same_emp = persons.employer[:, None] == persons.employer[None, :]
    other = present[None, :] | jnp.eye(P, dtype=bool)
    return jnp.stack([(m & other).sum(1) for m in (same_key, same_key & same_city, same_key & same_city & same_emp)]).astype(jnp.int32)
