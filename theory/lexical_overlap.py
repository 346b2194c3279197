"""Analytic anchors of the `lexical-overlap` study: the rote (retrieval) baseline, the generalizer
oracle, similarity bins and the rote index (numpy constructions, no training).

Choubey et al., "Lexical Repetitions Lead to Rote Learning" (arXiv 2311.09458, abstract and Sec. 1):
test examples are binned by the lexical similarity of their reference to the training references,
sim(r) = max_t ROUGE-2 F1(r, t) (our operationalization: the paper's exact function is not public), and
a summarizer that recites training summaries scores high only in the top bins.

* Rote baseline: retrieve the training document closest in bag-of-words cosine and output its
  reference. When retrieval returns the reference that maximizes the similarity, its ROUGE-2 F1 on a
  test example equals sim(r): per bin, the identity line R2 = mean sim, the upper envelope of recitation.
* Generalizer oracle: read the event, person, organisation, place and number off the document and fill
  the event's most frequent training template. Its ROUGE-2 depends only on whether the template is the
  right one (the template-choice term), not on the similarity: a flat line, bin ratio about 1.
* Rote index of a model: the least-squares slope of per-bin R2 against per-bin mean sim; 0 is pure
  generalization (flat), 1 is pure recitation (the identity line).
"""

from __future__ import annotations

import numpy as np


def quantile_edges(sim, bins: int) -> np.ndarray:
    """(bins + 1,) quantile edges of ``sim``; the first is its minimum, the last its maximum."""
    if bins < 2:
        raise ValueError(f"the number of bins must be >= 2, got {bins}")
    return np.quantile(np.asarray(sim, float), np.linspace(0.0, 1.0, bins + 1))


def assign_bins(sim, edges) -> np.ndarray:
    """Bin index 0..len(edges) - 2 of each value (right edge of the last bin included)."""
    return np.clip(np.searchsorted(edges, np.asarray(sim, float), side="right") - 1, 0, len(edges) - 2)


FIXED_EDGES = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])


def bag_of_words(seqs, vocab: int, first_word: int = 3, idf=None) -> np.ndarray:
    """(n, vocab) L2-normalized counts of the word tokens (ids >= first_word) of each row, each word
    weighted by ``idf`` (vocab,) if given."""
    seqs = np.asarray(seqs)
    out = np.zeros((seqs.shape[0], vocab))
    for i, row in enumerate(seqs):
        w = row[row >= first_word]
        np.add.at(out[i], w, 1.0)
    if idf is not None:
        out = out * idf
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def inverse_document_frequency(docs, vocab: int) -> np.ndarray:
    """(vocab,) smoothed idf log((1 + n) / (1 + df)) + 1 over the rows of ``docs``."""
    df = np.zeros(vocab)
    for row in np.asarray(docs):
        df[np.unique(row)] += 1
    return np.log((1 + len(docs)) / (1 + df)) + 1


def rote_baseline(train_docs, train_sums, query_docs, vocab: int) -> np.ndarray:
    """The reference of the training document with the largest bag-of-words cosine (tf-idf weighted over
    the training documents, so filler words do not decide) to each query document (lowest index on
    ties): (n_query, summary length)."""
    idf = inverse_document_frequency(train_docs, vocab)
    a, b = bag_of_words(query_docs, vocab, idf=idf), bag_of_words(train_docs, vocab, idf=idf)
    nearest = np.argmax(a @ b.T, axis=1)
    return np.asarray(train_sums)[nearest]


def generalizer_oracle(docs, token_type, type_codes: dict, event_ids, templates, template_counts, summary_len: int) -> np.ndarray:
    """Oracle summaries (n, summary_len): the event's most frequent training template filled with the
    document's person, organisation, place and number (the first token of each type in the document).

    type_codes: {'person': c, 'org': c, 'place': c, 'number': c, 'event': c} codes of ``token_type``;
    event_ids: token id of each event, in the order of ``templates``; a template is a tuple of slots
    'P', 'E', 'O', 'L', 'N' and word ids."""
    token_type = np.asarray(token_type)
    event_index = {int(t): e for e, t in enumerate(event_ids)}
    slot_type = {"P": "person", "O": "org", "L": "place", "N": "number", "E": "event"}
    out = np.zeros((len(docs), summary_len), np.int32)
    for i, doc in enumerate(np.asarray(docs)):
        found = {}
        for s, kind in slot_type.items():
            hits = doc[token_type[doc] == type_codes[kind]]
            found[s] = int(hits[0]) if hits.size else None
        e = event_index.get(found["E"], None)
        if e is None:
            continue
        j = int(np.argmax(template_counts[e][: len(templates[e]) - 1])) if np.any(template_counts[e]) else 0
        ids = [found[x] if isinstance(x, str) else x for x in templates[e][j]]
        ids = [t for t in ids if t is not None][:summary_len]
        out[i, : len(ids)] = ids
    return out


def identity_line(sim, bins) -> np.ndarray:
    """The rote envelope per bin: mean sim of the examples of each bin (bins (n,) indices 0..B-1)."""
    sim, bins = np.asarray(sim, float), np.asarray(bins)
    return np.array([sim[bins == b].mean() if np.any(bins == b) else np.nan for b in range(bins.max() + 1)])


def rote_index(bin_r2, bin_sim) -> float:
    """Least-squares slope of per-bin R2 against per-bin mean similarity (0 flat: generalization; 1:
    the identity line of recitation)."""
    x, y = np.asarray(bin_sim, float), np.asarray(bin_r2, float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 2 or np.ptp(x[keep]) == 0:
        return float("nan")
    return float(np.polyfit(x[keep], y[keep], 1)[0])


def bin_ratio(bin_values) -> float:
    """Top bin over bottom bin (inf when the bottom bin is 0 and the top is positive)."""
    v = np.asarray(bin_values, float)
    if v[0] == 0:
        return float("inf") if v[-1] > 0 else float("nan")
    return float(v[-1] / v[0])
