"""Scales of the `lm-canaries` study: smoke (seconds plus compiles, tests), quick (CPU minutes), paper (GPU).

Each scale has three panels (Carlini et al., arXiv 1802.08232 and 2202.07646; Hartmann et al., arXiv
2310.18362, Sec. 3 of its toy design, experiments E1-E3 and E6):
  repetition  exposure and extraction vs the repetition level r (inside every run), the width d and the
              training step, over seeds;
  dedup       the same runs with exact deduplication;
  dp          DP-SGD at clip C = 1 over the noise multiplier sigma.
The choices of the reduced design, and the measured timings, are in NOTES.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...params import replace
from ...study import Scale
from .params import CanaryParams


@dataclass(frozen=True)
class Cells:
    """What the claims and figures read at a scale.

    repetition, dedup, dp: the panel names; base_width: the width of the dedup and dp panels, where the
        repetition claims are read; width_level: the repetition level compared across widths and steps;
    pilot_seeds: the seeds the pilots used to fix the step count and the memorization-timing rule (the
        claims that rest on them report these seeds and the others separately, and need both);
    early_not_reproduced, dp_threshold_not_reproduced: why the pilots showed that "memorized before
        validation loss stops improving" and the toy design's "<= 3 bits at sigma >= 1" do not hold at
        this scale ('' where they are expected to); the claims are still checked as stated.
    """

    base_width: int
    pilot_seeds: tuple[int, ...]
    width_level: int = 4
    repetition: str = "repetition"
    dedup: str = "dedup"
    dp: str = "dp"
    early_not_reproduced: str = ""
    dp_threshold_not_reproduced: str = ""


EARLY_GAP = ("validation loss reaches its plateau near step 200 and the r_max canaries keep gaining exposure on it: on the pilot "
             "seeds 0-1 they reach 90 % of their maximum at step 300, plateau at 200, with 59-80 % of the final exposure "
             "reached by then (NOTES.md)")
DP_GAP = ("a canary inserted 16 times is protected only at about 16 epsilon (group privacy: 16 x 2.17 at sigma 1, 16 x 0.68 at "
          "sigma 2); the pilot DP run (seed 0) keeps 4.36 and 3.99 bits, two of its eight canaries at 11-13 bits (NOTES.md)")


def _panels(base: CanaryParams, widths, seeds, dp_seeds, sigmas=(0.0, 0.5, 1.0, 2.0)) -> dict:
    return {
        "repetition": (base, {"width": tuple(widths), "seed": tuple(seeds)}),
        "dedup": (replace(base, dedup=True), {"seed": tuple(seeds)}),
        "dp": (replace(base, dp=True, clip=1.0), {"sigma": tuple(sigmas), "seed": tuple(dp_seeds)}),
    }


def quick_scale() -> Scale:
    """Minutes on 2 CPU cores: widths 32 and 64 (2 layers, 4 heads), 600 steps of expected batch 32 on
    2000 Markov rows (about 7 epochs), log every 50; 4 seeds; DP-SGD over sigma on one seed."""
    base = CanaryParams(width=32, steps=600, log_every=50)
    return Scale("quick", base, {}, "d 32 and 64, 600 steps, 4 seeds; dedup; DP-SGD sigma 0-2 (C = 1)",
                 panels=_panels(base, (32, 64), (0, 1, 2, 3), (0,)),
                 cells=Cells(base_width=32, pilot_seeds=(0, 1), early_not_reproduced=EARLY_GAP, dp_threshold_not_reproduced=DP_GAP))


def smoke_scale() -> Scale:
    """Seconds of training (the compiles dominate): width 16, 1 layer, 40 steps, 2 canaries per level."""
    base = CanaryParams(width=16, layers=1, heads=2, context=16, train_sequences=200, val_sequences=32, references=200,
                        audit_canaries=16, audit_digits=6, repetitions="0/1/4", canaries_per_level=2, prompt_lengths="2/6",
                        suffix_length=4, steps=40, log_every=20, batch_size=8)
    return Scale("smoke", base, {}, "seconds: width 16, 1 layer, 40 steps", panels=_panels(base, (16,), (0, 1), (0,), (0.0, 1.0)),
                 cells=Cells(base_width=16, pilot_seeds=(0,), width_level=4))


def paper_scale() -> Scale:
    """The toy design's sizes: widths 32, 64 and 128, 3000 steps logged every 250, 3 seeds everywhere; GPU."""
    base = CanaryParams(width=64, steps=3000, log_every=250)
    return Scale("paper", base, {}, "d 32-128, 3000 steps, 3 seeds; dedup; DP-SGD sigma 0-2 (C = 1)",
                 panels=_panels(base, (32, 64, 128), (0, 1, 2), (0, 1, 2)), cells=Cells(base_width=64, pilot_seeds=()))


SCALES = {"smoke": smoke_scale, "quick": quick_scale, "paper": paper_scale}
