"""The shared person-record generator (rote.sims.records) and the entity-memorization theory."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from rote.sims import records as R
from rote.sims.errors import ConfigError
from rote.theory import entity_memorization as th
from rote.theory.exposure import NULL_EXPOSURE

SIZES = dict(n_first=12, n_last=10, n_cities=5, n_employers=4)


@pytest.fixture(scope="module")
def population():
    lay = R.layout(**SIZES)
    persons = R.draw_persons(jax.random.key(0), 40, 20, 5, **SIZES)
    return lay, persons


def test_layout_is_disjoint():
    lay = R.layout(**SIZES)
    assert (lay.first, lay.last, lay.city, lay.employer, lay.domain) == (10, 22, 32, 37, 41)
    assert lay.vocab == 10 + 12 + 10 + 5 + 4 + 4 + len(R.WORDS) + 1 and lay.pad == lay.vocab - 1


def test_keys_unique_and_ambiguous(population):
    _, p = population
    first, last = np.asarray(p.first), np.asarray(p.last)
    full = set(zip(first[:20], last[:20]))
    assert len(full) == 20 and (last[:20] >= 0).all() and (last[20:] == -1).all()
    groups = (40 - 20) // 5
    assert (first[:20] >= groups).all()  # unique keys use the first names left after the ambiguous groups
    counts = np.bincount(first[20:], minlength=groups)
    assert (counts == 5).all()
    phones = np.asarray(p.phone)
    assert len({tuple(x) for x in phones}) == 40 and phones.min() >= 0 and phones.max() <= 9


def test_mentions_hold_the_record(population):
    lay, p = population
    m = np.asarray(R.mentions(jax.random.key(1), lay, p, 8))
    assert m.shape == (40, 8, R.MENTION_LENGTH)
    for i in (0, 25):
        for row in m[i]:
            toks = [t for t in row if t != lay.pad]
            assert toks[0] == lay.first + int(p.first[i])
            digits = [t for t in toks if t < 10]
            assert digits == [int(d) for d in p.phone[i]]
            j = toks.index(lay.word["EMAIL"])
            assert toks[j + 2 : j + 5] == [lay.first + int(p.first[i]), lay.word["AT"], lay.domain + int(p.employer[i])]
            if lay.city + int(p.city[i]) in toks:
                assert toks[toks.index(lay.city + int(p.city[i])) - 2] == lay.word["LIVES"]
    # wordings vary across slots (random clause subsets and orders)
    assert len({tuple(r) for r in m[0]}) > 1


def test_mention_counts_cap():
    c = np.asarray(R.mention_counts(np.array([0, 1, 4, 8]), 8))
    assert c.sum(1).tolist() == [0, 1, 4, 8]
    assert np.asarray(R.mention_counts(np.array([0, 1, 4, 8]), 8, cap=1)).sum(1).tolist() == [0, 1, 1, 1]


@pytest.mark.parametrize("held_out", [False, True])
def test_queries_layout(population, held_out):
    lay, p = population
    q, k = (np.asarray(a) for a in R.queries(lay, p, "phone", held_out))
    assert q.shape == (3, 40, R.QUERY_PROMPT + R.PHONE_DIGITS)
    assert (np.diff(k, axis=0) > 0).all()  # every level leaks more tokens
    for lvl in range(3):
        for i in (0, 25):
            assert q[lvl, i, k[lvl, i] : k[lvl, i] + 5].tolist() == [int(d) for d in p.phone[i]]
            prompt = q[lvl, i, : k[lvl, i]].tolist()
            assert (lay.city + int(p.city[i]) in prompt) == (lvl >= 1)
            assert (lay.employer + int(p.employer[i]) in prompt) == (lvl >= 2)
    e, ke = (np.asarray(a) for a in R.queries(lay, p, "email", held_out))
    assert e[2, 0, ke[2, 0] : ke[2, 0] + 3].tolist() == np.asarray(R.email_tokens(lay, p))[0].tolist()


def test_held_out_template_is_new_but_uses_known_tokens(population):
    lay, p = population
    train = np.asarray(R.mentions(jax.random.key(1), lay, p, 8))
    q, k = (np.asarray(a) for a in R.queries(lay, p, "phone", True))
    seen = set(np.unique(train).tolist())
    prompts = [tuple(q[lvl, i, : k[lvl, i]]) for lvl in range(3) for i in range(40)]
    assert all(set(pr) <= seen for pr in prompts)
    flat = [tuple(r) for r in train.reshape(-1, train.shape[-1])]
    assert not any(pr == r[: len(pr)] for pr in prompts[:5] for r in flat)


def test_matches_agree_with_reference(population):
    _, p = population
    present = np.arange(40) % 3 != 0
    got = np.asarray(R.matches(p, present))
    ref = th.matches_reference(p.first, p.last, p.city, p.employer, present)
    np.testing.assert_array_equal(got, ref)
    assert (got[0, :20] == 1).all() and (np.asarray(R.matches(p))[0, 20:] == 5).all()
    assert (np.diff(got, axis=0) <= 0).all()


def test_population_bounds():
    with pytest.raises(ConfigError, match="groups of share"):
        R.check_population(40, 21, 5, **SIZES)
    with pytest.raises(ConfigError, match="unique full names"):
        R.check_population(200, 150, 5, **SIZES)
    R.check_population(40, 20, 5, **SIZES)
    with pytest.raises(ConfigError):
        R.queries(R.layout(**SIZES), R.draw_persons(jax.random.key(0), 40, 20, 5, **SIZES), "city")


def test_null_entity_exposure():
    assert abs(th.null_entity_exposure(999) - 1.4370) < 1e-3
    assert abs(th.null_entity_exposure(10**6) - NULL_EXPOSURE) < 1e-3
    sd = th.null_exposure_sd(999)
    assert 1.3 < sd < NULL_EXPOSURE + 0.05
    with pytest.raises(ValueError):
        th.null_entity_exposure(0)
    rng = np.random.default_rng(0)
    e = th.entity_exposure(rng.random(20000), rng.random((20000, 99)))
    assert abs(e.mean() - th.null_entity_exposure(99)) < 4 * th.null_exposure_sd(99) / np.sqrt(20000)


def test_entity_exposure_ranks():
    decoys = np.array([[1.0, 2.0, 3.0]])
    assert th.entity_exposure(np.array([0.5]), decoys)[0] == pytest.approx(2.0)
    assert th.entity_exposure(np.array([3.0]), decoys)[0] == pytest.approx(0.0)  # ties count against


def test_chance_ceiling_and_tokens():
    assert th.chance_exact() == 1e-5 and th.chance_digit() == 0.1
    np.testing.assert_allclose(th.ambiguity_ceiling([1, 2, 10]), [1, 0.5, 0.1])
    with pytest.raises(ValueError):
        th.ambiguity_ceiling([0])
    assert th.tokens_for_rate([2, 4, 8], [0.1, 0.6, 0.9], 0.5) == 4
    assert th.tokens_for_rate([2, 4], [0.1, 0.2], 0.5) == float("inf")


def test_email_query_is_a_training_wording(population):
    """The derivable-field query follows the training format (the e-mail after the phone field): its
    prompt is a prefix of some training mention with the same clauses, so trained and never-trained
    persons are asked the same way (issue 17: the draft's 'clauses, EMAIL IS' was never a training wording)."""
    lay, p = population
    train = np.asarray(R.mentions(jax.random.key(1), lay, p, 32))
    e, ke = (np.asarray(a) for a in R.queries(lay, p, "email", False))
    for lvl in (0, 2):  # the name alone; name, city, employer (the order of the query)
        for i in (0, 25):
            prompt = e[lvl, i, : ke[lvl, i]].tolist()
            assert prompt[-2:] == [lay.word["EMAIL"], lay.word["IS"]]
            assert any(row[: len(prompt)].tolist() == prompt for row in train[i]), (lvl, i)
