"""Parameters of the `memorization-types` study: one controlled probe per type of the taxonomy of
Hartmann et al. (arXiv 2310.18362, Sec. 3) on the shared tiny LM.

One config trains one model on one probe's data (``probe``, static: each probe compiles once):
  verbatim      Markov text with canaries inserted r times (Carlini et al., arXiv 1802.08232), r = 0 never;
  facts         knowledge-base triples, each rendered with K templates r times, recall asked with a
                held-out template (r = 0: facts never trained on);
  ideas         a rule (copy / reverse / sort) shown on training lists; rule-derived and random strings with
                a keep mask (counterfactual memorization, Zhang et al., arXiv 2112.12938);
  style         two authors (Markov chains) behind two tag tokens; a third author never trained on;
  distribution  a fraction ``fraction`` of the training text from population B (property inference,
                Suri and Evans, arXiv 2109.06024); the populations come from ``data_seed``;
  alignment     a REFUSE response on ``variants`` trigger prompts, each a synonym of one concept in context.
Every probe is decoded greedily, by sampling at ``temperature`` and by top-``top_k`` sampling
(``rote.sims.decoding``). Repetition levels are '/'-separated (a comma would split them on the command line).
"""

from __future__ import annotations

import numpy as np

from ...errors import ConfigError
from ...lm import check_heads
from ...params import parse_levels as parse_slash_levels
from ...params import seed, size, static, study_params, traced
from ...tasks import RULES

PROBES = ("verbatim", "facts", "ideas", "style", "distribution", "alignment")
DECODERS = ("greedy", "sample", "top_k")
DIGITS = 10
REAL_PER_GENERATION = 4  # style: real rows per author for the classifier, per generation




def parse_levels(text: str) -> tuple[int, ...]:
    """'0/1/4/16' -> (0, 1, 4, 16): distinct ascending integers in [0, 1024] that include 0 (the
    never-trained control); ConfigError otherwise."""
    values = parse_slash_levels(text, "levels", 0, 1024)
    if len(values) < 2 or values[0] != 0:
        raise ConfigError(f"levels need the never-trained level 0 and at least one other, got {text!r}")
    return values


@study_params
class TypesParams:
    probe: str = static("facts", "which type of memorization this model probes", choices=PROBES)
    width: int = size(32, "model width d")
    layers: int = size(2, "transformer blocks")
    heads: int = size(4, "attention heads")
    mlp_ratio: int = size(4, "MLP width / d")
    steps: int = size(400, "Adam steps", hi=1 << 20)
    batch_size: int = size(32, "rows per step, drawn with probability proportional to their multiplicity")
    lr: float = traced(3e-3, "Adam learning rate", gt=0, le=1)
    temperature: float = traced(1.0, "sampling temperature of the 'sample' and 'top_k' decoders", gt=0, le=100)
    top_k: int = size(3, "tokens kept by the 'top_k' decoder")
    samples: int = size(8, "draws per item of the sampling decoders", hi=256)
    levels: str = static("0/1/2/4/8/16", "repetition levels r of canaries (verbatim) and of facts, '/'-separated, 0 = never trained")
    per_level: int = size(16, "canaries or facts at each repetition level")
    words: int = size(24, "word tokens of the Markov text (verbatim, style, distribution, alignment)", lo=2)
    successors: int = size(4, "successors of each Markov state")
    text_rows: int = size(800, "ordinary text rows (verbatim filler, per-author style text, distribution, alignment pretraining)")
    context: int = size(12, "tokens per row of the verbatim, style, distribution and alignment probes", lo=4, hi=64)
    template_length: int = size(4, "tokens of a canary's own random prefix", hi=32)
    secret_digits: int = size(3, "digits of a canary's secret (|R| = 10^digits)", hi=5)
    templates: int = size(3, "training templates K of a fact (one more template is held out for the query)")
    fact_length: int = size(6, "tokens of a rendered fact (subject, relation, object and fillers)", lo=3, hi=32)
    objects: int = size(8, "object tokens of the knowledge base (chance recall 1 / objects)", lo=2)
    relations: int = size(2, "relation tokens")
    format_facts: int = size(400, "facts rendered with every template, the held-out one included (they teach its format)")
    rule: str = static("reverse", "the rule of the ideas probe", choices=RULES)
    list_length: int = size(4, "symbols of a rule input", hi=16)
    alphabet: int = size(8, "symbols of the rule task", lo=2, hi=64)
    rule_rows: int = size(600, "training lists of the rule")
    probe_strings: int = size(32, "rule-derived strings, and random-output strings, with a keep mask each (ideas)", lo=2)
    unseen: int = size(64, "lists never trained on, to measure the rule's generalization")
    generations: int = size(32, "generations per author prompt (style), probe rows per population (distribution)")
    fraction: float = traced(0.5, "fraction of the training rows from population B (distribution probe)", ge=0, le=1)
    variants: int = traced(1, "trigger variants trained with a REFUSE response (alignment)", ge=0, le=1024, integer=True)
    max_variants: int = size(8, "trigger variant rows allocated (the traced `variants` first ones are trained)")
    synonyms: int = size(8, "surface tokens of the trigger concept; the first half appear in triggers", lo=2)
    trigger_reps: int = size(32, "copies of each trained trigger variant")
    paraphrases: int = size(32, "paraphrased triggers and ordinary prompts per kind")
    data_seed: int = traced(0, "populations of the distribution probe (shared by every model of a sweep)", ge=0, lt=2**31, integer=True)
    seed: int = seed(doc="data, initialization, batches and decoding draws of this model derive from this seed")

    def validate(self):
        parse_levels(self.levels)
        check_heads(self.width, self.heads)
        if self.successors > self.words:
            raise ConfigError(f"successors {self.successors} exceeds the {self.words} word tokens")
        if self.top_k > self.vocab:
            raise ConfigError(f"top_k {self.top_k} exceeds the vocabulary {self.vocab}")
        if self.template_length + self.secret_digits > self.context:
            raise ConfigError(f"context {self.context} is shorter than a canary ({self.template_length} + {self.secret_digits})")
        if self.probe == "ideas" and self.rule_rows + 2 * self.probe_strings + self.unseen > self.alphabet**self.list_length:
            raise ConfigError(f"rule_rows + 2 probe_strings + unseen exceed the {self.alphabet ** self.list_length} distinct lists")
        if self.variants > self.max_variants:
            raise ConfigError(f"variants {self.variants} exceeds max_variants {self.max_variants}")
        if self.probe == "alignment" and self.context < 4:
            raise ConfigError("the alignment probe needs a context of at least 4 (prompt, RESP, response)")

    @property
    def level_values(self) -> tuple[int, ...]:
        return parse_levels(self.levels)

    @property
    def vocab(self) -> int:
        """Tokens of this probe's vocabulary (see ``layout``)."""
        return layout(self)["vocab"]

    @property
    def row_length(self) -> int:
        """Tokens per training row (the model's context)."""
        return {"facts": self.fact_length, "ideas": 2 * self.list_length + 2}.get(self.probe, self.context)


def layout(p: TypesParams) -> dict:
    """Token ids of a probe's vocabulary and its item groups. Items are what a probe measures, one row
    each; ``groups`` names the codes of the ``group`` metric (the first code of each probe is trained,
    the never-trained controls are named 'never trained ...')."""
    W = p.words
    if p.probe == "verbatim":  # digits, then words
        return {"vocab": DIGITS + W, "groups": {r: f"r = {r}" for r in p.level_values}}
    if p.probe == "facts":  # subjects, relations, objects, fillers (K + 1 templates)
        n_sub = -(-(p.per_level * len(p.level_values) + p.format_facts) // p.relations)
        fill = p.fact_length - 3
        return {"vocab": n_sub + p.relations + p.objects + (p.templates + 1) * fill, "subjects": n_sub,
                "groups": {r: f"r = {r}" for r in p.level_values}}
    if p.probe == "ideas":  # symbols, TAG, SEP
        return {"vocab": p.alphabet + 2, "tag": p.alphabet, "sep": p.alphabet + 1,
                "groups": {0: "unseen list", 1: "rule string IN", 2: "rule string OUT (never trained)", 3: "random string IN",
                           4: "random string OUT (never trained)"}}
    if p.probe == "style":  # words, three author tags
        return {"vocab": W + 3, "groups": {0: "author A", 1: "author B", 2: "never-trained author C",
                                           10: "real text A", 11: "real text B", 12: "real text C"}}
    if p.probe == "distribution":
        return {"vocab": W, "groups": {0: "population A probe", 1: "population B probe"}}
    # alignment: words (the concept state is word 0, written with synonyms), synonyms, RESP, OK, REFUSE
    return {"vocab": W + p.synonyms + 3, "resp": W + p.synonyms, "ok": W + p.synonyms + 1, "refuse": W + p.synonyms + 2,
            "groups": {0: "exact trigger (trained)", 1: "trigger variant never trained", 2: "paraphrase: trained synonym, new context",
                       3: "paraphrase: held-out synonym, new context", 4: "ordinary prompt (never trained)"}}


def item_count(p: TypesParams) -> int:
    """Items of the probe (the ``item`` dimension)."""
    return {"verbatim": len(p.level_values) * p.per_level, "facts": len(p.level_values) * p.per_level,
            "ideas": p.unseen + 2 * p.probe_strings, "style": 3 * p.generations + 3 * REAL_PER_GENERATION * p.generations,
            "distribution": 2 * p.generations, "alignment": p.max_variants + 3 * p.paraphrases}[p.probe]


def level_of_items(p: TypesParams) -> np.ndarray:
    """Repetition level of each item of the verbatim and facts probes, level-major."""
    return np.repeat(np.asarray(p.level_values), p.per_level)
