"""Parameters of the `lexical-overlap` study: rote learning of repeated training summaries.

Choubey, Fabbri, Xiong, Wu, "Lexical Repetitions Lead to Rote Learning: Unveiling the Impact of Lexical
Overlap in Train and Test Reference Summaries" (arXiv 2311.09458): a summarizer scores far higher on
test references lexically close to training references than on novel ones, reproduces training
artifacts there, and limiting lexical repetition among training summaries (fine-tuning and likelihood
calibration, BRIO: Liu et al., arXiv 2203.16804, Sec. 3) helps novel cases.

The corpus (``rote.sims.summaries``) is built on the host from its static sizes and ``data_seed``, so
its knobs (storylines, Zipf exponent, artifact rate) are static: each value compiles its own program.
The repetition limit (``mode``, ``theta``, ``k``), the calibration quality penalty ``beta``, the learning
rates and the seed are traced: one compiled program sweeps them.

mode: 0 every training pair (MLE), 1 greedy repetition capping (keep pair i unless at least k
already-kept references t have ROUGE-2 F1(ref_i, t) >= theta, visiting the pairs in a random order
from the seed), 2 a random subset of the same size as the capped one (the "less data" control).
"""

from __future__ import annotations

import functools

from ...errors import ConfigError
from ...lm import check_heads
from ...params import SIZE_BOUND, seed, size, static, study_params, traced
from ...summaries import CorpusSpec

MODES = ("full", "capped", "random")


_size = functools.partial(size, lo=0)  # a count here may be 0 unless a field says otherwise


@study_params
class OverlapParams:
    persons: int = _size(240, "person names in training and test (the drift set adds drift_persons unseen ones)", lo=2)
    drift_persons: int = _size(40, "person names only in the drift set", lo=1)
    orgs: int = _size(40, "organisation names", lo=2)
    places: int = _size(40, "place names", lo=2)
    minors: int = _size(40, "minor entities (named only in distractor sentences)", lo=1)
    events: int = _size(20, "event types (the drift set adds one)", lo=1)
    templates: int = _size(4, "summary templates per event seen in training (one more per event is held out)", lo=1)
    fillers: int = _size(120, "filler words of the documents", lo=1)
    function_words: int = _size(24, "function words of the summary templates", lo=2)
    numbers: int = _size(60, "number tokens 1..numbers", lo=1)
    storylines: int = _size(30, "recurring storylines R (0: the negative control)")
    copies_min: int = _size(5, "training copies of the rarest storyline", lo=1)
    copies_max: int = _size(200, "training copies of the most frequent storyline", lo=1)
    zipf: float = static(0.0, "Zipf exponent of the storyline copies (0: the one joining copies_max and copies_min)", ge=0)
    artifact: float = static(0.3, "fraction of a storyline's training copies whose document names another organisation", ge=0, le=1)
    novel: int = _size(5000, "novel training pairs (random entities, seen templates)", lo=1)
    distractors: int = _size(4, "distractor sentences per document")
    sentence: int = _size(8, "tokens per document sentence", lo=4, hi=64)
    test_repeat: int = _size(500, "test storyline repeats")
    test_variant: int = _size(500, "test storyline variants (new organisation and place)")
    test_novel: int = _size(800, "test novel combinations (seen templates)")
    test_heldout: int = _size(200, "test pairs with held-out templates")
    drift: int = _size(500, "drift-set pairs (unseen persons, half with a new event type)", lo=1)
    data_seed: int = static(0, "the corpus derives from this seed", ge=0, lt=2**31, integer=True)
    width: int = _size(64, "model width d", lo=1)
    layers: int = _size(2, "transformer blocks", lo=1)
    heads: int = _size(4, "attention heads", lo=1)
    mlp_ratio: int = _size(4, "MLP width / d", lo=1)
    steps: int = _size(3000, "MLE optimizer steps", lo=1, hi=1 << 20)
    warmup: int = _size(200, "linear warm-up steps of the cosine schedule")
    batch_size: int = _size(32, "pairs per MLE step", lo=1)
    lr: float = traced(3e-4, "AdamW peak learning rate (MLE)", gt=0)
    mode: int = traced(0, "training set: 0 all pairs, 1 repetition-capped, 2 random subset of the capped size", choices=(0, 1, 2), integer=True)
    theta: float = traced(0.6, "capping threshold on ROUGE-2 F1 between training references", ge=0, le=1)
    k: int = traced(3, "capping: a pair is dropped once k already-kept references reach theta", ge=1, le=SIZE_BOUND, integer=True)
    calib_steps: int = _size(0, "calibration (BRIO-style) steps after MLE (0: none)", hi=1 << 20)
    calib_docs: int = _size(2000, "training documents with calibration candidates", lo=1)
    candidates: int = _size(6, "sampled candidates per calibration document", lo=2, hi=64)
    calib_batch: int = _size(8, "documents per calibration step", lo=1)
    calib_lr: float = traced(1e-4, "Adam learning rate of the calibration stage", gt=0)
    temperature: float = traced(1.0, "sampling temperature of the candidates", gt=0)
    beta: float = traced(0.0, "calibration quality q = R2F(c, ref) - beta max_t R2F(c, t), t another training reference", ge=0)
    margin: float = traced(0.01, "BRIO rank margin lambda", ge=0)
    alpha: float = traced(1.0, "length normalization exponent of the candidate score", ge=0)
    gamma: float = traced(1.0, "weight of the contrastive loss", ge=0)
    bins: int = static(5, "quantile bins of the test references' similarity to the training references", ge=2, le=100, integer=True)
    seed: int = seed(doc="capping order, random subset, initialization, batches and candidates derive from this seed")

    def validate(self):
        check_heads(self.width, self.heads)
        if self.copies_min > self.copies_max:
            raise ConfigError(f"copies_min {self.copies_min} exceeds copies_max {self.copies_max}")
        if self.storylines > self.persons:
            raise ConfigError(f"storylines {self.storylines} exceed the {self.persons} persons")
        if self.test_repeat + self.test_variant + self.test_novel + self.test_heldout < 1:
            raise ConfigError("the test set is empty")


def corpus_spec(p: OverlapParams) -> CorpusSpec:
    """The corpus sizes of a parameter set (host side, static fields only)."""
    names = ("persons", "orgs", "places", "minors", "events", "templates", "fillers", "function_words", "numbers", "storylines",
             "copies_min", "copies_max", "zipf", "artifact", "novel", "distractors", "sentence", "test_repeat", "test_variant",
             "test_novel", "test_heldout", "drift", "drift_persons")
    return CorpusSpec(**{n: getattr(p, n) for n in names}, seed=int(p.data_seed))


def context(p: OverlapParams) -> int:
    """Tokens of one prefix-LM row: document, SEP, summary, EOS."""
    spec = corpus_spec(p)
    return spec.doc_len + 1 + spec.summary_len + 1
