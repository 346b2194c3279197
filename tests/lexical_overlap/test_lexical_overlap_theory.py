"""The analytic anchors: the rote baseline recites training references (on the identity line when
retrieval hits the most similar reference), the generalizer oracle is flat up to the template choice, and
the rote index is 1 on the identity line and 0 on a flat line."""

from __future__ import annotations

import numpy as np
import pytest

from rote.sims.summaries import TYPES, CorpusSpec, bigram_f1, make_corpus, max_similarities
from rote.theory import lexical_overlap as th

SPEC = CorpusSpec(persons=60, orgs=10, places=10, minors=6, events=4, fillers=20, function_words=8, numbers=10, storylines=6,
                  copies_min=3, copies_max=30, novel=300, distractors=2, sentence=6, test_repeat=40, test_variant=40, test_novel=60,
                  test_heldout=20, drift=10, drift_persons=5)


@pytest.fixture(scope="module")
def corpus():
    return make_corpus(SPEC)


def oracle(c, docs):
    codes = {k: TYPES.index(k) for k in ("person", "org", "place", "number", "event")}
    return th.generalizer_oracle(docs, c.token_type, codes, np.flatnonzero(c.token_type == TYPES.index("event")), c.event_templates,
                                 c.template_counts, c.train_sum.shape[1])


def test_rote_baseline_recites_and_its_score_never_exceeds_sim(corpus):
    c = corpus
    rote = th.rote_baseline(c.train_doc, c.train_sum, c.test_doc, c.vocab)
    train = {tuple(r) for r in c.train_sum.tolist()}
    assert all(tuple(r) in train for r in rote.tolist())  # every output is a training reference
    sim, _ = max_similarities(c.test_sum, c.train_sum)
    r2 = np.array([bigram_f1(g, r) for g, r in zip(rote, c.test_sum)])
    assert np.all(r2 <= sim + 1e-12)  # the identity line is the envelope of recitation
    rep = c.test_subset == 0
    assert r2[rep].mean() > 0.6 and r2[c.test_subset == 2].mean() < 0.4


def test_oracle_copies_entities_and_is_flat_up_to_template_choice(corpus):
    c = corpus
    out = oracle(c, c.test_doc)
    ent = c.entity_mask
    for g, doc in zip(out, c.test_doc):
        assert all(t in doc.tolist() for t in g.tolist() if t > 2 and ent[t])  # never an unsupported entity
    r2 = np.array([bigram_f1(g, r) for g, r in zip(out, c.test_sum)])
    sim, _ = max_similarities(c.test_sum, c.train_sum)
    b = th.assign_bins(sim, th.quantile_edges(sim, 5))
    per = np.array([r2[(b == i) & (c.test_subset != 3)].mean() for i in range(5)])
    rote_line = th.identity_line(sim, b)
    assert abs(th.rote_index(per, rote_line)) < abs(th.rote_index(rote_line, rote_line)) and th.rote_index(rote_line, rote_line) == pytest.approx(1.0)
    # a right template gives a perfect oracle summary
    right = np.array([any(np.array_equal(g, r) for r in [s]) for g, s in zip(out, c.test_sum)])
    assert right.any() and np.all(r2[right] == 1.0)


def test_rote_index_and_bins():
    x = np.array([0.2, 0.4, 0.5, 0.6, 0.9])
    assert th.rote_index(x, x) == pytest.approx(1.0)
    assert th.rote_index(np.full(5, 0.3), x) == pytest.approx(0.0)
    assert th.rote_index(0.3 + 0.5 * (x - 0.2), x) == pytest.approx(0.5)
    edges = th.quantile_edges(np.arange(100), 5)
    assert np.bincount(th.assign_bins(np.arange(100), edges)).tolist() == [20] * 5
    with pytest.raises(ValueError):
        th.quantile_edges(np.arange(10), 1)
    assert th.bin_ratio([0.1, 0.5]) == pytest.approx(5.0)
