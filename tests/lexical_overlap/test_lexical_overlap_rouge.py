"""ROUGE-2 on token ids: the numpy bigram F1 with its inverted index, and the JAX one used for capping and
calibration, equal rouge-score's rouge2 F1 (no stemming) on the words of the same ids."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from rouge_score import rouge_scorer

from rote.sims.studies.lexical_overlap.model import bigram_f1 as jax_f1
from rote.sims.studies.lexical_overlap.model import bigram_ids
from rote.sims.summaries import BigramIndex, CorpusSpec, bigram_f1, make_corpus, max_similarities

SPEC = CorpusSpec(persons=30, orgs=6, places=6, minors=4, events=3, fillers=10, function_words=6, numbers=4, storylines=4,
                  copies_min=2, copies_max=10, novel=60, distractors=1, sentence=5, test_repeat=10, test_variant=10, test_novel=10,
                  test_heldout=5, drift=5, drift_persons=3)


def random_pairs(n=200, seed=0):
    """Pairs of random token rows over a small vocabulary (repeated bigrams, PAD tails and EOS included)."""
    c = make_corpus(SPEC)
    rng = np.random.default_rng(seed)
    V = min(c.vocab, 10)  # few distinct words: many repeated bigrams, so clipping matters
    rows = rng.integers(3, V, size=(2 * n, 12))
    for r in rows:
        r[rng.integers(4, 13):] = 0  # PAD tail
        if rng.random() < 0.3:
            r[rng.integers(1, 10)] = 2  # an EOS cuts the row
    return c, rows[:n], rows[n:]


def test_numpy_bigram_f1_equals_rouge_score_on_200_random_pairs():
    c, a, b = random_pairs()
    scorer = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=False)
    ours = np.array([bigram_f1(x, y) for x, y in zip(a, b)])
    ref = np.array([scorer.score(c.text(y), c.text(x))["rouge2"].fmeasure for x, y in zip(a, b)])
    assert np.abs(ours - ref).max() <= 1e-9
    assert (ref > 0).sum() > 40 and len(set(np.round(ref, 6))) > 20  # not trivially all zero or all one


def test_inverted_index_max_equals_brute_force_rouge_score():
    c = make_corpus(SPEC)
    scorer = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=False)
    refs = [c.text(t) for t in c.train_sum]
    sim, arg = max_similarities(c.test_sum, c.train_sum)
    for i, q in enumerate(c.test_sum):
        brute = [scorer.score(r, c.text(q))["rouge2"].fmeasure for r in refs]
        assert abs(sim[i] - max(brute)) <= 1e-9
        assert abs(brute[arg[i]] - sim[i]) <= 1e-9
    index = BigramIndex(c.train_sum)
    assert index.max_similarity(c.train_sum[0])[0] == 1.0
    assert index.max_similarity(c.train_sum[0], exclude=0)[0] < 1.0 or any(np.array_equal(c.train_sum[0], t) for t in c.train_sum[1:])


def test_jax_bigram_f1_matches_rouge_score():
    c, a, b = random_pairs(60, seed=1)
    scorer = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=False)
    clean = lambda r: np.where(np.cumsum(r == 2) - (r == 2) > 0, 0, r)  # noqa: E731
    for x, y in zip(a, b):
        x, y = clean(x), clean(y)
        ours = float(jax_f1(bigram_ids(jnp.asarray(x), c.vocab), bigram_ids(jnp.asarray(y), c.vocab)))
        assert abs(ours - scorer.score(c.text(y), c.text(x))["rouge2"].fmeasure) <= 1e-6


def test_vocabulary_is_rouge_safe():
    c = make_corpus(SPEC)
    scorer = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=False)
    from rouge_score import tokenize
    for w in c.words[3:]:
        assert tokenize.tokenize(w, None) == [w]
    assert scorer.score(c.text(c.train_sum[0]), c.text(c.train_sum[0]))["rouge2"].fmeasure == 1.0
