"""Parameters of the `entity-memorization` study: entity-level memorization of synthetic person records.

Zhou, Xiang, Chen, Su, "Quantifying and Analyzing Entity-level Memorization in Large Language Models"
(arXiv 2308.15727, Sec. 3-4): a tiny decoder-only LM is trained from scratch on mentions of synthetic
person records (``rote.sims.records``), each person mentioned r times in varied wording; queries leak
1-3 of a record's entities (name; + city; + employer) and ask for its random phone (memorization) or
its derivable e-mail (inference control); the model reads a learned start prefix before every mention,
and an EME-style soft prompt started from it (Sec. 3, Efficient Memorization
Extraction) is tuned on the attacker-known records with the model frozen; mitigations are
deduplicated mentions (r capped at 1) and DP-SGD (Abadi et al., arXiv 1607.00133).

Sizes are static (one compile per value); learning rates, deduplication, clip norm, noise multiplier
and the seed are traced. Lists are '/'-separated.
"""

from __future__ import annotations

import numpy as np

from ...errors import ConfigError
from ...lm import check_heads
from ...params import SIZE_BOUND, parse_levels, seed, size, static, study_params, traced
from ...records import LEVELS, MENTION_LENGTH, check_population

MAX_REPETITION = 64




@study_params
class EntityParams:
    n_first: int = size(40, "first names (the first ones are the ambiguous keys' shared names)")
    n_last: int = size(40, "last names")
    n_cities: int = size(20, "cities")
    n_employers: int = size(20, "employers (each with its own e-mail domain token)")
    repetitions: str = static("0/1/2/4/8", "repetition levels r (mentions per person), '/'-separated; r = 0: never trained on")
    unique_per_level: int = size(40, "persons with a unique full name at each level", lo=0)
    ambiguous_per_level: int = size(40, "persons with an ambiguous key (a shared first name) at each level", lo=0)
    share: int = size(10, "persons sharing each ambiguous first name", lo=2)
    leak_levels: str = static("1/2/3", "leakage levels queried: 1 name, 2 + city, 3 + employer, '/'-separated")
    decoys: int = static(999, "K decoy phones of the entity exposure (rank among K + 1)", ge=1, le=99999, integer=True)
    exposure_per_level: int = size(8, "persons per repetition level (and key kind) whose entity exposure is computed", lo=1)
    prompt_lengths: str = static("2/4/8/12", "verbatim baseline: true training-prefix lengths k before the phone, '/'-separated")
    soft_tokens: int = size(8, "prefix vectors: the start prefix trained with the model and the EME soft prompt started from it", hi=64)
    soft_steps: int = size(300, "Adam steps of the soft prompt (model frozen)", hi=1 << 20)
    soft_fraction: float = static(0.2, "fraction of persons the attacker knows (soft-prompt training set)", gt=0, lt=1)
    soft_lr: float = traced(1e-2, "Adam learning rate of the soft prompt", gt=0)
    width: int = size(64, "model width d")
    layers: int = size(2, "transformer blocks")
    heads: int = size(4, "attention heads")
    mlp_ratio: int = size(4, "MLP width / d")
    steps: int = size(3000, "optimizer steps", hi=1 << 20)
    batch_size: int = size(32, "mentions per step (expected batch size under dp)")
    lr: float = traced(3e-3, "Adam learning rate", gt=0)
    dedup: bool = traced(False, "deduplicated mentions: every person's r capped at 1")
    dp: bool = static(False, "DP-SGD: Poisson batches, per-example clipping at `clip`, noise `sigma * clip`")
    clip: float = traced(1.0, "per-example clip norm C (with dp)", gt=0)
    sigma: float = traced(0.0, "noise multiplier sigma (with dp)", ge=0)
    seed: int = seed(doc="records, wordings, decoys, init, batches, noise and the attacker's split derive from this seed")

    def validate(self):
        levels = self.levels
        if len(levels) < 2 or levels[0] != 0:
            raise ConfigError(f"repetitions needs r = 0 (never trained) and at least one r >= 1, got {self.repetitions!r}")
        leaks = self.leaks
        if self.unique_per_level + self.ambiguous_per_level == 0:
            raise ConfigError("needs unique_per_level + ambiguous_per_level >= 1")
        n = len(levels)
        check_population(self.persons, n * self.unique_per_level, self.share, self.n_first, self.n_last, self.n_cities, self.n_employers)
        if self.exposure_per_level > min(x for x in (self.unique_per_level, self.ambiguous_per_level) if x > 0):
            raise ConfigError(f"exposure_per_level {self.exposure_per_level} exceeds the persons of a level and key kind")
        if self.decoys >= 10**5 - self.persons:
            raise ConfigError(f"{self.decoys} decoys do not fit the 10^5 phones beside the {self.persons} persons'")
        if round(self.soft_fraction * self.persons) < 1:
            raise ConfigError(f"soft_fraction {self.soft_fraction} leaves the attacker no known record of {self.persons}")
        check_heads(self.width, self.heads)
        if self.sigma > 0 and not self.dp:
            raise ConfigError(f"sigma {self.sigma} acts only with dp=True (DP-SGD)")
        del leaks

    @property
    def levels(self) -> tuple[int, ...]:
        return parse_levels(self.repetitions, "repetitions", 0, MAX_REPETITION)

    @property
    def leaks(self) -> tuple[int, ...]:
        values = parse_levels(self.leak_levels, "leak_levels", 1, SIZE_BOUND)
        if values[-1] > LEVELS[-1]:
            raise ConfigError(f"leakage level {values[-1]} exceeds the record's {LEVELS[-1]} leakable entities (name, city, employer)")
        return values

    @property
    def prompts(self) -> tuple[int, ...]:
        return parse_levels(self.prompt_lengths, "prompt_lengths", 1, MENTION_LENGTH)

    @property
    def persons(self) -> int:
        return len(self.levels) * (self.unique_per_level + self.ambiguous_per_level)


def person_levels(p: EntityParams) -> np.ndarray:
    """(P,) repetition level of each person: unique keys first, level-major, then ambiguous keys, level-major."""
    lv = np.asarray(p.levels, np.int32)
    return np.concatenate([np.repeat(lv, p.unique_per_level), np.repeat(lv, p.ambiguous_per_level)])


def exposure_persons(p: EntityParams) -> np.ndarray:
    """Indices of the persons whose entity exposure is computed: the first ``exposure_per_level`` of every
    level and key kind."""
    out = []
    for start, per in ((0, p.unique_per_level), (len(p.levels) * p.unique_per_level, p.ambiguous_per_level)):
        for i in range(len(p.levels) if per else 0):
            out.extend(range(start + i * per, start + i * per + p.exposure_per_level))
    return np.asarray(out, np.int32)
