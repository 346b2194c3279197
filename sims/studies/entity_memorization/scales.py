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
    the reasons (from the pilots, NOTES.md) why a claim is not reproduced at this scale ('' where it is
    expected to hold; the claims are still checked as stated, on the pilot and the other seeds)."""

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
    """On CPU the engine runs chunks of 2 configs (a 1-config panel is padded, at the same cost), so the
    dedup and scale panels take the main panel's seeds and DP-SGD runs on the last seed (not a pilot's)."""
    return {
        "main": (base, {"seed": tuple(seeds)}),
        "dedup": (replace(base, dedup=True), {"seed": tuple(seeds)}),
        "dp": (replace(base, dp=True, clip=1.0), {"sigma": tuple(sigmas), "seed": tuple(seeds[-1:])}),
        "scale": (replace(base, width=narrow), {"seed": tuple(seeds)}),
    }


PILOT = "pilot seed 0 (quick config: 1500 steps, width 64; EM of the persons the attacker did not know; NOTES.md)"
SOFT_GAP = (f"{PILOT}: the soft prompt, started at the trained start prefix and kept by EM on held-back known persons, "
            "never beat the hand-written query: Adam lr 3e-3 / 1e-2 / 3e-2 kept the start (step 0), lr 1e-3 kept step 50, "
            "which extracted less on unknown persons (training template l3 0.52 vs 0.56); held-out l3 0.00-0.04 either way. "
            "The draft's drop (training template 0.45 -> 0.02) came from a prefix the model had never seen (any prefix, "
            "even zeros, cut EM to 0.13) and from tuning that fit the known persons (answer loss 0.95 -> 0.39) while "
            "unknown persons got worse (1.15 -> 2.10)")
SCALE_GAP = (f"{PILOT} and width 32: partial-leak EM 0.43 (d 32) vs 0.44 (d 64), held-out EM 0.007 vs 0.004: the "
             "narrow model associates as much; reported, the toy design does not gate on it")
FULL_GAP = (f"{PILOT}: ambiguous EM(l3) 0.81 at r = 4 and 0.65 at r = 8, below the toy design's 3000-step pilot C")
ORDER_GAP = ("with random clause subsets the full-leak wording (name, city, employer in this order) is 1 of 8 mention "
             "wordings and the l2 wording 1 of 4, so it is rarer in training: the draft's pilot A had ambiguous EM l2 > l3 "
             "(0.45 vs 0.35 at r = 4), and pilot seed 0 of the fixed model l2 > l3 at r = 1 (0.12 vs 0.05) and r = 4 "
             "(0.65 vs 0.57) with 40 persons per cell (NOTES.md)")
INFERENCE_GAP = (f"{PILOT}: with the e-mail query in the training format the control measures: never-trained persons "
                 "get the derivable e-mail at 0.70, trained ones at 0.96-1.00 (gap about 0.29): the toy memorizes part "
                 "of the derivable field too")
TOKENS_GAP = (f"{PILOT}: verbatim prefixes reach EM 0.50 / 0.70 at k = 8 / 12 (capped at the 6-8 true tokens before "
              "the phone), the l3 entity query (9-10 tokens) about 0.6: no token saving at this scale")


def quick_scale() -> Scale:
    """Minutes on 2 CPU cores: the toy design's model (2 x 64 x 4) and data (400 persons), 1500 steps,
    K = 999 decoys for 2 persons per level and key kind, 2 seeds (0 the pilots'); dedup, width 32 (2 seeds),
    DP-SGD sigma 0.5 and 1 (seed 1)."""
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
