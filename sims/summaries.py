"""A procedural news-like summarization corpus with recurring storylines, and ROUGE-2 on its tokens.

The corpus stands in for the news benchmarks of Choubey et al., "Lexical Repetitions Lead to Rote
Learning" (arXiv 2311.09458, Sec. 1: reference summaries that repeat the wording of frequent
storylines). Every token is one lowercase alphanumeric word, so the tokenizer of ``rouge-score``
(lowercase, everything outside [a-z0-9] becomes a space) maps token ids and words one to one.

Lexicon: persons, organisations, places, "minor" entities (mentioned only in distractor sentences),
event words, filler / function words and numbers; names are made-up consonant-vowel words.
Document: a key sentence (person, event, organisation, place), a fact sentence (a number) and
distractor sentences (fillers and one minor entity each), shuffled. Reference summary: one of the
event's templates filled with (person, organisation, place, number).
Recurring storylines: fixed (person, organisation, event, place, template) tuples whose number of
training copies follows a Zipf law from ``copies_min`` to ``copies_max`` (exponent ``zipf``, by
default the one that joins the two); each copy has a fresh document and number. Injected artifact: in a
fraction ``artifact`` of each storyline's copies the document states another organisation while the
reference still names the usual one (an unsupported reference). Novel pairs: random entities, a random
seen template of the event. Test subsets: storyline repeats, storyline variants (the storyline's
person and event with a new organisation and place, named correctly), novel combinations with seen
templates, and held-out templates; a drift set with unseen person names and a new event type.

Everything is numpy on the host and deterministic in ``seed``; ``bigram_f1`` / ``max_similarity`` are
the exact ROUGE-2 F1 of ``rouge_score.rouge_scorer.RougeScorer(["rouge2"], use_stemmer=False)`` on
the words of the token ids, the latter with an inverted index over the references' bigrams.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

PAD, SEP, EOS = 0, 1, 2
SPECIAL = ("<pad>", "<sep>", "<eos>")
SUBSETS = ("repeat", "variant", "novel", "heldout")
TYPES = ("special", "filler", "number", "event", "person", "org", "place", "minor")
ENTITY_TYPES = ("person", "org", "place", "minor")
SLOTS = ("P", "E", "O", "L", "N")


@dataclass(frozen=True)
class CorpusSpec:
    """Sizes of the corpus (all static). ``storylines = 0`` with ``artifact = 0`` is the negative control."""

    persons: int = 240
    orgs: int = 40
    places: int = 40
    minors: int = 40
    events: int = 20
    templates: int = 4
    fillers: int = 120
    function_words: int = 24
    numbers: int = 60
    storylines: int = 30
    copies_min: int = 5
    copies_max: int = 200
    zipf: float = 0.0  # 0: the exponent that joins copies_max (rank 1) and copies_min (rank R)
    artifact: float = 0.3
    novel: int = 5000
    distractors: int = 4
    sentence: int = 8
    test_repeat: int = 500
    test_variant: int = 500
    test_novel: int = 800
    test_heldout: int = 200
    drift: int = 500
    drift_persons: int = 40
    seed: int = 0

    @property
    def doc_len(self) -> int:
        return (2 + self.distractors) * self.sentence

    @property
    def summary_len(self) -> int:
        """Longest template: 5 slots and up to 2 function words after each of the last 4 slots, plus one."""
        return 5 + 2 * 4 + 1


@dataclass(frozen=True)
class Corpus:
    """Token arrays (int32, PAD-padded) and their annotations. Summaries exclude EOS."""

    words: tuple[str, ...]
    token_type: np.ndarray  # (V,) index into TYPES
    train_doc: np.ndarray  # (N, doc_len)
    train_sum: np.ndarray  # (N, summary_len)
    train_storyline: np.ndarray  # (N,) storyline index or -1
    train_artifact: np.ndarray  # (N,) bool: the document names another organisation than the reference
    test_doc: np.ndarray
    test_sum: np.ndarray
    test_subset: np.ndarray  # (M,) index into SUBSETS
    test_storyline: np.ndarray  # (M,) storyline index or -1
    test_usual_org: np.ndarray  # (M,) the storyline's usual organisation (token id) on variants, else -1
    drift_doc: np.ndarray
    drift_sum: np.ndarray
    event_templates: tuple  # per event (drift event last): tuple of templates (tuples of slots / word ids)
    template_counts: np.ndarray  # (events + 1, templates + 1) training uses of each template

    @property
    def vocab(self) -> int:
        return len(self.words)

    @property
    def entity_mask(self) -> np.ndarray:
        return np.isin(self.token_type, [TYPES.index(t) for t in ENTITY_TYPES])

    def text(self, ids) -> str:
        """Words of token ids up to the first EOS, skipping PAD and SEP."""
        out = []
        for t in np.asarray(ids).tolist():
            if t == EOS:
                break
            if t > EOS:
                out.append(self.words[t])
        return " ".join(out)


def _names(rng, n: int, syllables: int, taken: set) -> list[str]:
    cons, vows = "bdfgklmnprstvz", "aeiou"
    out = []
    while len(out) < n:
        w = "".join(rng.choice(list(cons)) + rng.choice(list(vows)) for _ in range(syllables))
        if w not in taken:
            taken.add(w)
            out.append(w)
    return out


def _template(rng, function_ids) -> tuple:
    """Person, event, then organisation, place and number in random order, each after 1-2 function words."""
    items: list = ["P", "E"]
    for slot in rng.permutation(["O", "L", "N"]):
        items += [int(w) for w in rng.choice(function_ids, rng.integers(1, 3), replace=False)] + [str(slot)]
    if rng.random() < 0.5:
        items.append(int(rng.choice(function_ids)))
    return tuple(items)


def _fill(template, ents: dict, length: int) -> np.ndarray:
    ids = [ents[x] if isinstance(x, str) else x for x in template]
    return np.pad(np.asarray(ids, np.int32), (0, length - len(ids)))


def _document(rng, spec: CorpusSpec, lex: dict, person, event, org, place, number) -> np.ndarray:
    S, fill = spec.sentence, lex["filler"]

    def sentence(ents):
        pos = np.sort(rng.choice(np.arange(S), len(ents), replace=False))
        s = rng.choice(fill, S).astype(np.int32)
        s[pos] = ents
        return s

    sents = [sentence([person, event, org, place]), sentence([number])]
    sents += [sentence([rng.choice(lex["minor"])]) for _ in range(spec.distractors)]
    return np.concatenate([sents[i] for i in rng.permutation(len(sents))]).astype(np.int32)


def zipf_copies(spec: CorpusSpec) -> np.ndarray:
    """(R,) training copies of each storyline: round(copies_max r^-s), at least copies_min."""
    R = spec.storylines
    if R == 0:
        return np.zeros(0, np.int64)
    s = spec.zipf or (np.log(spec.copies_max / spec.copies_min) / np.log(R) if R > 1 else 0.0)
    return np.maximum(spec.copies_min, np.round(spec.copies_max * np.arange(1, R + 1, dtype=float) ** -s)).astype(np.int64)


@lru_cache(maxsize=8)
def make_corpus(spec: CorpusSpec) -> Corpus:
    """The corpus of ``spec`` (deterministic in spec.seed)."""
    rng = np.random.default_rng(spec.seed)
    taken: set = set(SPECIAL)
    words = list(SPECIAL)
    ttype = [0, 0, 0]
    lex: dict = {}

    def add(kind, names):
        lex[kind] = np.arange(len(words), len(words) + len(names), dtype=np.int32)
        words.extend(names)
        ttype.extend([TYPES.index(kind)] * len(names))

    add("filler", _names(rng, spec.fillers + spec.function_words, 2, taken))
    function_ids = lex["filler"][spec.fillers:]
    lex["filler"] = lex["filler"][: spec.fillers]
    add("number", [str(i) for i in range(1, spec.numbers + 1)])
    add("event", _names(rng, spec.events + 1, 2, taken))
    add("person", _names(rng, spec.persons + spec.drift_persons, 3, taken))
    add("org", _names(rng, spec.orgs, 3, taken))
    add("place", _names(rng, spec.places, 3, taken))
    add("minor", _names(rng, spec.minors, 3, taken))
    persons, drift_persons = lex["person"][: spec.persons], lex["person"][spec.persons:]
    # templates: the first `templates` of each event are seen in training, the last one is held out
    templates = tuple(tuple(_template(rng, function_ids) for _ in range(spec.templates + 1)) for _ in range(spec.events + 1))
    counts = np.zeros((spec.events + 1, spec.templates + 1), np.int64)
    L = spec.summary_len

    def pair(person, e, org, place, j, doc_org=None):
        number = rng.choice(lex["number"])
        doc = _document(rng, spec, lex, person, lex["event"][e], org if doc_org is None else doc_org, place, number)
        return doc, _fill(templates[e][j], {"P": person, "E": lex["event"][e], "O": org, "L": place, "N": number}, L)

    story_persons = rng.choice(persons, spec.storylines, replace=False)
    stories = [(story_persons[r], rng.integers(spec.events), rng.choice(lex["org"]), rng.choice(lex["place"]), rng.integers(spec.templates))
               for r in range(spec.storylines)]
    docs, sums, story, art = [], [], [], []
    for r, c in enumerate(zipf_copies(spec)):
        p, e, o, loc, j = stories[r]
        n_art = int(round(spec.artifact * c))
        for i in range(c):
            other = rng.choice(lex["org"][lex["org"] != o]) if i < n_art else None
            d, s = pair(p, e, o, loc, j, other)
            docs.append(d), sums.append(s), story.append(r), art.append(i < n_art)
            counts[e, j] += 1
    for _ in range(spec.novel):
        e, j = rng.integers(spec.events), rng.integers(spec.templates)
        d, s = pair(rng.choice(persons), e, rng.choice(lex["org"]), rng.choice(lex["place"]), j)
        docs.append(d), sums.append(s), story.append(-1), art.append(False)
        counts[e, j] += 1
    order = rng.permutation(len(docs))
    train = (np.stack(docs)[order], np.stack(sums)[order], np.asarray(story, np.int32)[order], np.asarray(art, bool)[order])

    tdocs, tsums, tsub, tstory, tusual = [], [], [], [], []

    def test(d, s, sub, r=-1, usual=-1):
        tdocs.append(d), tsums.append(s), tsub.append(sub), tstory.append(r), tusual.append(usual)

    R = spec.storylines
    for _ in range(spec.test_repeat if R else 0):
        r = rng.integers(R)
        p, e, o, loc, j = stories[r]
        test(*pair(p, e, o, loc, j), 0, r)
    for _ in range(spec.test_variant if R else 0):
        r = rng.integers(R)
        p, e, o, loc, j = stories[r]
        o2, loc2 = rng.choice(lex["org"][lex["org"] != o]), rng.choice(lex["place"][lex["place"] != loc])
        test(*pair(p, e, o2, loc2, j), 1, r, o)
    for _ in range(spec.test_novel):
        test(*pair(rng.choice(persons), rng.integers(spec.events), rng.choice(lex["org"]), rng.choice(lex["place"]),
                   rng.integers(spec.templates)), 2)
    for _ in range(spec.test_heldout):
        test(*pair(rng.choice(persons), rng.integers(spec.events), rng.choice(lex["org"]), rng.choice(lex["place"]), spec.templates), 3)
    ddocs, dsums = [], []
    for _ in range(spec.drift):
        new = rng.random() < 0.5
        e = spec.events if new else rng.integers(spec.events)
        d, s = pair(rng.choice(drift_persons), e, rng.choice(lex["org"]), rng.choice(lex["place"]), rng.integers(spec.templates))
        ddocs.append(d), dsums.append(s)
    i32 = lambda x: np.asarray(x, np.int32)  # noqa: E731
    return Corpus(tuple(words), i32(ttype), *train, i32(tdocs), i32(tsums), i32(tsub), i32(tstory), i32(tusual),
                  i32(ddocs).reshape(-1, spec.doc_len), i32(dsums).reshape(-1, L), templates, counts)


# ---------------------------------------------------------------- ROUGE-2 on token ids (numpy)

def _bigrams(ids) -> Counter:
    ids = [t for t in np.asarray(ids).tolist() if t > EOS] if not isinstance(ids, list) else ids
    return Counter(zip(ids[:-1], ids[1:]))


def tokens_until_eos(ids) -> list[int]:
    """Word token ids of a sequence, up to its first EOS, without PAD / SEP."""
    out = []
    for t in np.asarray(ids).tolist():
        if t == EOS:
            break
        if t > EOS:
            out.append(t)
    return out


def f1_from_counts(overlap: float, n_a: float, n_b: float) -> float:
    """ROUGE F1 from the clipped overlap and the two bigram totals (rouge-score's conventions)."""
    p, r = overlap / max(n_a, 1), overlap / max(n_b, 1)
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def bigram_f1(a, b) -> float:
    """ROUGE-2 F1 of two token-id sequences (symmetric; equals rouge-score's rouge2 fmeasure on their words)."""
    ca, cb = _bigrams(tokens_until_eos(a)), _bigrams(tokens_until_eos(b))
    return f1_from_counts(sum(min(v, cb[g]) for g, v in ca.items()), sum(ca.values()), sum(cb.values()))


class BigramIndex:
    """Inverted index over the bigrams of a set of references (token-id rows): ``max_similarity(q)``
    is max over references t of ROUGE-2 F1(q, t), computed exactly for the references that share at
    least one bigram with q (every other one scores 0), and the argmax."""

    def __init__(self, refs):
        self.counts = [_bigrams(tokens_until_eos(r)) for r in refs]
        self.totals = np.asarray([sum(c.values()) for c in self.counts], float)
        self.postings: dict = defaultdict(list)
        for i, c in enumerate(self.counts):
            for g, v in c.items():
                self.postings[g].append((i, v))

    def overlaps(self, query) -> tuple[dict, float]:
        cq = _bigrams(tokens_until_eos(query))
        acc: dict = defaultdict(int)
        for g, v in cq.items():
            for i, w in self.postings.get(g, ()):
                acc[i] += min(v, w)
        return acc, float(sum(cq.values()))

    def similarities(self, query, exclude: int = -1) -> dict:
        """{reference index: F1} for every reference sharing a bigram with ``query`` (except ``exclude``)."""
        acc, nq = self.overlaps(query)
        return {i: f1_from_counts(o, nq, self.totals[i]) for i, o in acc.items() if i != exclude}

    def max_similarity(self, query, exclude: int = -1) -> tuple[float, int]:
        sims = self.similarities(query, exclude)
        if not sims:
            return 0.0, -1
        i = max(sims, key=sims.get)
        return float(sims[i]), int(i)


def max_similarities(queries, refs, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(sim (n,), argmax (n,)) of each query row against the reference rows (inverted index)."""
    index = BigramIndex(refs)
    out = [index.max_similarity(q, i if exclude_self else -1) for i, q in enumerate(queries)]
    return np.asarray([s for s, _ in out], float), np.asarray([j for _, j in out], np.int64)
