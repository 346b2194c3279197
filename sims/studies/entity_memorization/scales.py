"""Scales of the `entity-memorization` study: smoke (seconds plus compiles, tests), quick (CPU minutes), paper.

Four panels (Zhou, Xiang, Chen, Su, arXiv 2308.15727, Sec. 4; the toy design's EN1-EN8):
  main    leakage levels x templates x r x key kind inside every run, the soft prompt and the verbatim
          baseline, over seeds (pilot seed 0, the others confirm);
  dedup   the same runs with deduplicated mentions (r capped at 1);
  dp      DP-SGD at clip C = 1 over the noise multiplier sigma;
  scale   a narrower model (EN6, reported).
Choices and measured timings are in NOTES.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...params import replace
from ...study import Scale
from .params import EntityParams


@dataclass(frozen=True)
class Cells:
    """What the claims and figures read: panel names, the base width (main panel), the pilot seeds, and
    the reasons (from the pilots, NOTES.md) why EN5 / EN6 are not reproduced at this scale ('' where
    they are expected to hold; the claims are still checked as stated)."""

    base_width: int
    pilot_seeds: tuple[int, ...]
    main: str = "main"
    dedup: str = "dedup"
    dp: str = "dp"
    scale: str = "scale"
    soft_not_reproduced: str = ""
    scale_not_reproduced: str = ""
    full_leak_not_reproduced: str = ""
    order_not_reproduced: str = ""
    inference_not_reproduced: str = ""
    tokens_not_reproduced: str = ""
    everywhere: str = ""  # a scale too small for any claim (smoke): the reason, applied to every claim


def _panels(base: EntityParams, seeds, narrow: int, sigmas) -> dict:
    return {
        "main": (base, {"seed": tuple(seeds)}),
        "dedup": (replace(base, dedup=True), {"seed": tuple(seeds[:1])}),
        "dp": (replace(base, dp=True, clip=1.0), {"sigma": tuple(sigmas), "seed": tuple(seeds[:1])}),
        "scale": (replace(base, width=narrow), {"seed": tuple(seeds[:1])}),
    }


SOFT_GAP = ("the held-out template is not answered at toy scale: pilot seed 0 (2000 steps) held-out EM 0.00-0.03 and 0.00 "
            "with the soft prompt at every level and r (NOTES.md)")
SCALE_GAP = "not piloted (no CPU time left); the toy design says report, do not gate"
FULL_GAP = ("CPU steps under-train: pilot seed 0 at 2000 steps (loss 0.28) reached ambiguous EM(l3) 0.35 at r = 4 and 0.43 at "
            "r = 8, far below the toy design's 3000-step pilot C (NOTES.md)")
ORDER_GAP = ("with random clause subsets the full-leak wording (name, city, employer) is 1 of 8 mention wordings and the "
             "l2 wording 1 of 4, so it is rarer in training: pilot seed 0 had ambiguous EM l2 > l3 (0.45 vs 0.35 at r = 4)")
INFERENCE_GAP = ("pilot seed 0 (random field order): never-trained persons got the e-mail at 0.70 vs 0.93-1.0 trained and the "
                 "phone gap at r >= 2 was about 0.37; with the fixed field order (e-mail after the phone) the query 'clauses, "
                 "EMAIL IS' is never a training wording and the e-mail is not emitted at all (NOTES.md)")
TOKENS_GAP = ("pilot seed 0: verbatim prefixes of 7 true tokens reach 0.30-0.46, the l3 entity query (9-10 tokens) 0.17-0.68: "
              "no token saving at this under-trained scale")


def quick_scale() -> Scale:
    """Minutes on 2 CPU cores: the toy design's model (2 x 64 x 4) and data (400 persons), 1500 steps,
    K = 999 decoys for 2 persons per level and key kind, 2 seeds; dedup, DP-SGD sigma 0.5 and 1, width 32."""
    base = EntityParams(steps=1500, soft_steps=200, exposure_per_level=2)
    return Scale("quick", base, {}, "2 x 64 x 4 LM, 400 persons, 1500 steps, 2 seeds; dedup; DP-SGD sigma 0.5/1; width 32",
                 panels=_panels(base, (0, 1), 32, (0.5, 1.0)),
                 cells=Cells(base_width=64, pilot_seeds=(0,), soft_not_reproduced=SOFT_GAP, scale_not_reproduced=SCALE_GAP,
                             full_leak_not_reproduced=FULL_GAP, order_not_reproduced=ORDER_GAP, inference_not_reproduced=INFERENCE_GAP,
                             tokens_not_reproduced=TOKENS_GAP))


def smoke_scale() -> Scale:
    """Seconds of training (compiles dominate): width 16, 1 layer, 60 persons, 40 steps, K = 9."""
    base = EntityParams(width=16, layers=1, heads=2, unique_per_level=4, ambiguous_per_level=4, share=4, decoys=9,
                        exposure_per_level=1, prompt_lengths="2/8", soft_steps=10, steps=40, batch_size=8)
    gap = "smoke: 40 steps of a width-16 model memorize nothing"
    return Scale("smoke", base, {}, "seconds: width 16, 1 layer, 40 steps", panels=_panels(base, (0, 1), 8, (1.0,)),
                 cells=Cells(base_width=16, pilot_seeds=(0,), everywhere=gap))


def paper_scale() -> Scale:
    """The toy design's full size: 3000 steps, K = 999 for 8 persons per level and kind, 3 seeds; GPU."""
    base = EntityParams(steps=3000)
    return Scale("paper", base, {}, "2 x 64 x 4 LM, 3000 steps, 3 seeds; dedup; DP-SGD; width 32",
                 panels=_panels(base, (0, 1, 2), 32, (0.5, 1.0)), cells=Cells(base_width=64, pilot_seeds=(0,)))


SCALES = {"smoke": smoke_scale, "quick": quick_scale, "paper": paper_scale}
