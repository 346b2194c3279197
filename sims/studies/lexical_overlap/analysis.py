"""Summaries of `lexical-overlap` results (numpy, xarray, rouge-score; no JAX).

Choubey et al. (arXiv 2311.09458): score a summarizer separately on test subsets binned by the lexical
similarity of the test reference to the training references. For every config and stage ('mle': after
MLE; 'cal': after calibration, equal to 'mle' without it) and every test / drift example:
  r2        ROUGE-2 F1 of the greedy summary against the reference, rouge_score.rouge_scorer.RougeScorer(
            ["rouge2"], use_stemmer=False), score(target=reference, prediction=summary); the rouge-score
            tokenizer (lowercase, [a-z0-9] runs) reads each token as one word;
  er        entity recall |Ent(ref) & Ent(gen)| / |Ent(ref)| (entities exact: the lexicon's persons,
            organisations, places and minor entities);
  uer       unsupported-entity rate |Ent(gen) - Ent(doc)| / max(1, |Ent(gen)|);
  usual     the summary names the storyline's usual organisation (variants only, else 0);
  verbatim  max_t R2F(gen, t) >= 0.9 over the training references and r2 < 0.5 (verbatim recall).
Per example (no config axes): sim = max_t R2F(ref, t) over the training references (exact, inverted
index), subset, bin (quantile bins of sim over the test set; drift examples -1), the fixed bin
([0, .2), ..., [.8, 1]), and the rote baseline and generalizer oracle scores (theory/lexical_overlap.py).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from rouge_score import rouge_scorer

from ....theory import lexical_overlap as th
from ...dataset import annotate
from ...errors import ConfigError
from ...summaries import SUBSETS, TYPES, BigramIndex, Corpus, make_corpus, max_similarities, tokens_until_eos
from .params import OverlapParams, corpus_spec

STAGES = ("mle", "cal")
SUBSET_NAMES = SUBSETS + ("drift",)
VERBATIM_SIM, VERBATIM_R2 = 0.9, 0.5
VARIABLES = {
    "example": ("1", "evaluation example: test set (repeat, variant, novel, heldout), then the drift set"),
    "position": ("1", "token position in the generated summary"),
    "pair": ("1", "training pair"),
    "log_step": ("1", "twentieth of the MLE steps"),
    "stage": ("1", "mle: after MLE; cal: after calibration (equal to mle without calibration)"),
    "gen_mle": ("1", "greedy summary token ids after MLE (PAD after EOS)"),
    "gen_cal": ("1", "greedy summary token ids after calibration"),
    "weight": ("1", "training weight of the pair (0/1: the repetition limit of the config's mode)"),
    "loss_curve": ("1", "MLE loss, mean over each twentieth of the steps (nats per summary token)"),
    "train_loss": ("1", "MLE loss over the last tenth of the steps (nats per summary token)"),
    "kept_fraction": ("1", "fraction of the training pairs kept"),
    "cand_distinct": ("1", "calibration candidates: fraction of distinct candidates per document"),
    "cand_diversity": ("1", "calibration candidates: 1 - mean pairwise ROUGE-2 F1"),
    "quality_spread": ("1", "calibration candidates: standard deviation of q_beta per document"),
    "score_spread_before": ("1", "standard deviation of the length-normalized score f per document before calibration (nats)"),
    "score_spread_after": ("1", "standard deviation of the length-normalized score f per document after calibration (nats)"),
    "rank_agreement_before": ("1", "fraction of candidate pairs ordered alike by f and q, before calibration"),
    "rank_agreement_after": ("1", "fraction of candidate pairs ordered alike by f and q, after calibration"),
    "ctr_loss": ("1", "contrastive loss over the last tenth of the calibration steps"),
    "r2": ("1", "ROUGE-2 F1 of the summary against the reference (rouge-score, no stemming)"),
    "er": ("1", "entity recall of the summary"),
    "uer": ("1", "unsupported-entity rate of the summary (entities not in the document)"),
    "usual": ("1", "the summary names the storyline's usual organisation (variants; 0 elsewhere)"),
    "verbatim": ("1", "verbatim recall: max R2F to a training reference >= 0.9 and R2F to the reference < 0.5"),
    "sim": ("1", "max ROUGE-2 F1 of the reference to a training reference"),
    "subset": ("1", "0 repeat, 1 variant, 2 novel, 3 heldout, 4 drift"),
    "bin": ("1", "quantile bin of sim over the test set (0 lowest; -1 drift)"),
    "fixed_bin": ("1", "fixed bin of sim: [0, .2), [.2, .4), ..., [.8, 1] (-1 drift)"),
    "bin_edges": ("1", "quantile bin edges of sim over the test set"),
    "rote_r2": ("1", "ROUGE-2 F1 of the rote (retrieval) baseline"),
    "rote_er": ("1", "entity recall of the rote baseline"),
    "rote_uer": ("1", "unsupported-entity rate of the rote baseline"),
    "oracle_r2": ("1", "ROUGE-2 F1 of the generalizer oracle"),
    "oracle_er": ("1", "entity recall of the generalizer oracle"),
    "oracle_uer": ("1", "unsupported-entity rate of the generalizer oracle"),
    "diverged": ("1", "the config produced a non-finite training loss"),
}


def params_of(ds: xr.Dataset) -> OverlapParams:
    try:
        base = json.loads(ds.attrs["config"])["base"]
        return OverlapParams(**{k: v for k, v in base.items() if k in OverlapParams.__dataclass_fields__})
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"results hold no lexical-overlap configuration ({type(exc).__name__}: {exc})") from None


class Scorer:
    """Per-example metrics of generated summaries against one corpus's evaluation set."""

    def __init__(self, corpus: Corpus):
        self.c = corpus
        self.rouge = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=False)
        self.docs = np.concatenate([corpus.test_doc, corpus.drift_doc])
        self.refs = np.concatenate([corpus.test_sum, corpus.drift_sum])
        self.ref_text = [corpus.text(r) for r in self.refs]
        ent = corpus.entity_mask
        self.ent = lambda ids: {t for t in ids if 0 <= t < ent.size and ent[t]}
        self.doc_ents = [self.ent(d.tolist()) for d in self.docs]
        self.ref_ents = [self.ent(tokens_until_eos(r)) for r in self.refs]
        self.usual_org = np.concatenate([corpus.test_usual_org, np.full(len(corpus.drift_doc), -1)])
        self.index = BigramIndex(corpus.train_sum)
        self._train_sim: dict = {}

    def train_similarity(self, ids: tuple) -> float:
        if ids not in self._train_sim:
            self._train_sim[ids] = self.index.max_similarity(list(ids))[0]
        return self._train_sim[ids]

    def score(self, gen) -> dict[str, np.ndarray]:
        """gen (n_eval, S) token ids -> {r2, er, uer, usual, verbatim} each (n_eval,)."""
        out = {k: np.zeros(len(gen)) for k in ("r2", "er", "uer", "usual", "verbatim")}
        for i, row in enumerate(np.asarray(gen)):
            ids = tokens_until_eos(row)
            r2 = self.rouge.score(self.ref_text[i], self.c.text(row))["rouge2"].fmeasure
            ge = self.ent(ids)
            out["r2"][i] = r2
            out["er"][i] = len(self.ref_ents[i] & ge) / max(1, len(self.ref_ents[i]))
            out["uer"][i] = len(ge - self.doc_ents[i]) / max(1, len(ge))
            out["usual"][i] = float(self.usual_org[i] >= 0 and int(self.usual_org[i]) in ids)
            out["verbatim"][i] = float(r2 < VERBATIM_R2 and self.train_similarity(tuple(ids)) >= VERBATIM_SIM)
        return out


def example_table(p: OverlapParams) -> dict[str, np.ndarray]:
    """Per-example similarity, subset, bins and the rote / oracle scores of a parameter set's corpus."""
    c = make_corpus(corpus_spec(p))
    n_test = c.test_doc.shape[0]
    scorer = Scorer(c)
    sim_test, _ = max_similarities(c.test_sum, c.train_sum)
    sim_drift, _ = max_similarities(c.drift_sum, c.train_sum)
    edges = th.quantile_edges(sim_test, p.bins)
    bins = np.concatenate([th.assign_bins(sim_test, edges), np.full(len(sim_drift), -1)])
    fixed = np.concatenate([th.assign_bins(sim_test, th.FIXED_EDGES), np.full(len(sim_drift), -1)])
    docs = scorer.docs
    rote = th.rote_baseline(c.train_doc, c.train_sum, docs, c.vocab)
    codes = {k: TYPES.index(k) for k in ("person", "org", "place", "number", "event")}
    event_ids = np.flatnonzero(c.token_type == TYPES.index("event"))
    oracle = th.generalizer_oracle(docs, c.token_type, codes, event_ids, c.event_templates, c.template_counts, c.train_sum.shape[1])
    rs, os_ = scorer.score(rote), scorer.score(oracle)
    return {"sim": np.concatenate([sim_test, sim_drift]), "subset": np.concatenate([c.test_subset, np.full(len(sim_drift), 4)]),
            "bin": bins, "fixed_bin": fixed, "bin_edges": edges, "n_test": n_test,
            **{f"rote_{k}": rs[k] for k in ("r2", "er", "uer")}, **{f"oracle_{k}": os_[k] for k in ("r2", "er", "uer")}}


def summarize(ds: xr.Dataset) -> xr.Dataset:
    """Score every config's summaries (both stages) and attach the per-example table."""
    p = params_of(ds)
    c = make_corpus(corpus_spec(p))
    scorer = Scorer(c)
    table = example_table(p)
    grid_dims = [d for d in ds["gen_mle"].dims if d not in ("example", "position")]
    shape = tuple(ds.sizes[d] for d in grid_dims)
    n = ds.sizes["example"]
    metrics = {k: np.zeros(shape + (len(STAGES), n)) for k in ("r2", "er", "uer", "usual", "verbatim")}
    gens = {s: np.asarray(ds[f"gen_{s}"].transpose(*grid_dims, "example", "position").values) for s in STAGES}
    for idx in np.ndindex(*shape):
        done = {}
        for j, s in enumerate(STAGES):
            g = gens[s][idx]
            key = g.tobytes()
            done.setdefault(key, scorer.score(g))
            for k, v in done[key].items():
                metrics[k][idx + (j,)] = v
    ds = ds.assign_coords(stage=list(STAGES))
    for k, v in metrics.items():
        ds[k] = (tuple(grid_dims) + ("stage", "example"), v)
    for k in ("sim", "subset", "bin", "fixed_bin", "rote_r2", "rote_er", "rote_uer", "oracle_r2", "oracle_er", "oracle_uer"):
        ds[k] = ("example", table[k])
    ds["bin_edges"] = ("edge", table["bin_edges"])
    return annotate(ds, VARIABLES)


def test_examples(ds: xr.Dataset) -> xr.Dataset:
    return ds.isel(example=np.flatnonzero(np.asarray(ds["subset"]) < 4))


def pooled(ds: xr.Dataset, var: str, stage: str, where) -> float:
    """Mean of ``var`` at ``stage`` over the examples where ``where`` (bool (example,)) and every config left."""
    x = ds[var].sel(stage=stage).values if "stage" in ds[var].dims else ds[var].values
    return float(np.asarray(x)[..., np.asarray(where)].mean())


def per_bin(ds: xr.Dataset, var: str, stage: str = "mle") -> np.ndarray:
    """(bins,) mean of ``var`` per quantile bin over the test examples, pooled over configs and seeds."""
    b = np.asarray(ds["bin"])
    n_bins = int(b.max()) + 1
    return np.array([pooled(ds, var, stage, b == i) for i in range(n_bins)])


def per_subset(ds: xr.Dataset, var: str, stage: str = "mle") -> dict[str, float]:
    s = np.asarray(ds["subset"])
    return {name: pooled(ds, var, stage, s == i) for i, name in enumerate(SUBSET_NAMES) if np.any(s == i)}


def bootstrap_bins(ds: xr.Dataset, var: str, stage: str = "mle", draws: int = 200, seed: int = 0) -> np.ndarray:
    """(bins, 2) 95 % bootstrap interval of the per-bin mean: seeds resampled, then examples within each bin."""
    rng = np.random.default_rng(seed)
    x = ds[var].sel(stage=stage) if "stage" in ds[var].dims else ds[var]
    x = np.asarray(x.values).reshape(-1, ds.sizes["example"])  # (configs, example)
    b = np.asarray(ds["bin"])
    n_bins = int(b.max()) + 1
    out = np.zeros((n_bins, 2))
    for i in range(n_bins):
        cols = np.flatnonzero(b == i)
        means = [x[rng.integers(0, x.shape[0], x.shape[0])][:, rng.choice(cols, cols.size)].mean() for _ in range(draws)]
        out[i] = np.quantile(means, [0.025, 0.975])
    return out
