"""Scales of the `lm-membership` study: smoke (seconds plus compiles, tests), quick (CPU minutes), paper (GPU).

Three panels, each a sweep over the shadow-model axis ``seed`` (one config = one shadow model; Carlini
et al., arXiv 2112.03570, Sec. IV; Zhang et al., arXiv 2112.12938, Sec. 3):
  shadow    M models on random halves of the pool (rare, common, Markov): counterfactual memorization (E4 of
            the survey's toy design, Hartmann et al., arXiv 2310.18362, Sec. 3) and every attack (E5), also
            with the first m models only;
  corpus    one epoch (of the deduplicated corpus) over a large pool of ordinary Markov text in which some
            sequences occur `copies` times (Kandpal et al., arXiv 2202.06539: duplicates drive membership
            leakage);
  negative  the same corpus and models with exact deduplication (Lee et al., arXiv 2107.06499): the
            MIMIR-style negative control (Duan et al., arXiv 2402.07841, Sec. 4), one epoch over a large
            deduplicated corpus.
The choices of the reduced design, pilots and measured timings are in NOTES.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...params import replace
from ...study import Scale
from .params import MembershipParams


@dataclass(frozen=True)
class Cells:
    """What the claims and figures read at a scale.

    few_models: the number of shadow models (the first ones of the shadow panel) at which fixed variance
        is compared with per-example variance ("M <= 16"); model_counts: the m of the TPR-vs-models curve;
    pilot: the pool (data_seed) and model seeds of the pilots that fixed the steps and width, and what they
        measured (claims are read on the scale's own data_seed and seeds, which the pilots did not use);
    *_not_reproduced: why a prediction is declared not reproduced at this scale ('' where expected to hold).
    """

    few_models: int
    model_counts: tuple[int, ...]
    pilot: str = ""
    shadow: str = "shadow"
    corpus: str = "corpus"
    negative: str = "negative"
    common_not_reproduced: str = ""
    fixed_not_reproduced: str = ""


def corpus_base(base: MembershipParams, pool: int, duplicated: int, copies: int) -> MembershipParams:
    """``pool`` Markov sequences, the first ``duplicated`` of them ``copies`` times, trained for one epoch
    of the kept half of the deduplicated corpus (the same steps with and without deduplication)."""
    steps = max(1, math.ceil(pool * base.keep / base.batch_size))
    return replace(base, rare=0, families=0, markov=pool, duplicated=duplicated, copies=copies, dedup=False, steps=steps)


def _panels(base, models, corpus_models, pool, duplicated, copies) -> dict:
    corpus = corpus_base(base, pool, duplicated, copies)
    return {
        "shadow": (base, {"seed": tuple(range(models))}),
        "corpus": (corpus, {"seed": tuple(range(corpus_models))}),
        "negative": (replace(corpus, dedup=True), {"seed": tuple(range(corpus_models))}),
    }


PILOT = ("pilot: data_seed 1, models 0-15 (NOTES.md), at 200 steps mem rare 0.906, common 0.110 and TPR@1% LiRA 0.742 vs loss "
         "0.736 (over-trained, every member separable), at 80 steps 0.408, 0.065, 0.556 vs 0.223; the claims read data_seed 2")
FIXED_GAP = ("offline LiRA: the per-example SD was slightly better than the fixed one at M = 16 in both pilots (AUC 0.965 vs "
             "0.962 at 200 steps, 0.922 vs 0.919 at 80 steps; online fixed was better, 0.989 vs 0.984 and 0.966 vs 0.957)")


def quick_scale() -> Scale:
    """Minutes on 2 CPU cores: the survey's pool (N = 512: 128 rare, 8 x 32 common, 128 Markov), 2 x 64 x 4
    LM, 80 steps of batch 32 (10 epochs of the kept half); M = 16 shadow models (the spec's 32 is the paper
    scale); corpus / negative control: 8 models, one epoch over 8192 Markov rows, 64 of them x 8 copies."""
    base = MembershipParams(steps=80, data_seed=2)
    return Scale("quick", base, {}, "N 512, M 16 shadow models (2 x 64), 80 steps; corpus 8192 rows one epoch, with and without dedup, M 8",
                 panels=_panels(base, 16, 8, 8192, 64, 8),
                 cells=Cells(few_models=16, model_counts=(4, 8, 16), pilot=PILOT, fixed_not_reproduced=FIXED_GAP))


def smoke_scale() -> Scale:
    """Seconds of training (the compiles dominate): width 16, 1 layer, context 8, a pool of 40, 4 models."""
    base = MembershipParams(vocab=16, context=8, body=4, rare=8, families=2, per_family=8, markov=16, width=16, layers=1, heads=2,
                            steps=20, batch_size=8)
    return Scale("smoke", base, {}, "seconds: width 16, 1 layer, pool 40, 4 models", panels=_panels(base, 4, 4, 64, 8, 4),
                 cells=Cells(few_models=4, model_counts=(2, 4)))


def paper_scale() -> Scale:
    """The survey's sizes: N = 512, M = 32 shadow models, 2 x 64 x 4 LM, 80 steps; corpus / negative control
    16 models, one epoch over 16384 Markov rows, 128 of them x 8 copies; GPU."""
    base = MembershipParams(steps=80, data_seed=2)
    return Scale("paper", base, {}, "N 512, M 32 shadow models, 80 steps; corpus 16384 rows one epoch, with and without dedup, M 16",
                 panels=_panels(base, 32, 16, 16384, 128, 8),
                 cells=Cells(few_models=16, model_counts=(4, 8, 16, 32), pilot=PILOT, fixed_not_reproduced=FIXED_GAP))


SCALES = {"smoke": smoke_scale, "quick": quick_scale, "paper": paper_scale}
