"""Scales of the `t2i-duplication` study: smoke (seconds plus compiles, tests), quick (CPU minutes), paper (GPU).

Each scale has three panels (Naseh et al. arXiv 2312.03692; Somepalli et al. arXiv 2305.20086, Sec. 5):
  main     the model trained on the E1-E5 training set over seeds; every per-prompt rate, the detector,
           blame, the guidance sweep and the steps sweep come from these runs;
  insert   the same training with random word insertion (p = 0.3) into the training captions;
  noise    the same training with text-embedding noise (lambda = 0.1).
The choices of the reduced design, the step-budget calibration and the measured timings are in NOTES.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from ... import diffusion as dm
from ...study import Scale
from .params import T2IParams


@dataclass(frozen=True)
class Cells(dm.MitigationCells):
    """What the claims and figures read at a scale: the shared pilot seeds, mitigation strengths, panels and gaps
    (``rote.sims.diffusion.MitigationCells``), and high_d, the level of the mitigation claim (d = 16 in the fact
    sheet)."""

    high_d: int = 16


QUICK_BASE = dict(image=8, generic=1000, width=128, hidden=256, blocks=2, steps=4000, log_every=1000, warmup=200, lr=3e-3, ema=0.998,
                  samples=16, ddim_steps=20, prediction="v")


# Declarations with the v-predicting quick model (issue 21): each measured on pilot seed 10 (all three panels) and confirmed
# on the quick seeds (main 0-2, mitigations 0); NOTES.md.
TRIGGER_GAP = ("the trigger itself works (trigger-alone RR at d = 8 / 16 / 32: 0.53 / 1.00 / 1.00 on pilot seed 10, 0.70 / 0.98 / "
               "1.00 on seeds 0-2; inside a new caption 1.00 vs 1.00 / 0.99 alone at d >= 16), but it is not specific: the "
               "never-trained trigger prompts replicate a non-generic training image in 0.19 (seed 10) / 0.28 (seeds 0-2; the "
               "trigger alone 0 / 1.0 / 0.69 on seeds 0 / 1 / 2) of samples, and generic prompts leak 0.047 on seed 10 (0.004 on "
               "seeds 0-2), against <= 0.02 (NOTES.md)")
TEMPLATE_GAP = ("the template is copied in 0.00 / 0.00 / 0.00 / 0.97 of the samples at M = 1 / 4 / 16 / 64 on pilot seed 10 and "
                "0.17 / 0.34 / 0.72 / 0.71 on seeds 0-2 (< 0.8 from M = 4); no member is replicated at M >= 4 (0.00), and the "
                "M = 1 member (0.00 / 0.09) is far from E1 at d = 4 (1.00 / 0.75) (NOTES.md)")

BLAME_GAP = ("the detector's AUC is 0.885 on pilot seed 10 and 0.869 on seeds 0-2 (0.920 / 0.848 / 0.840), below 0.9; gradient x "
             "input blame ranks the trigger first in 5 of 6 (seed 10) and 12 of 18 (seeds 0-2) E3 prompts with d >= 8 (NOTES.md)")

INSERT_GAP = ("E1 at d = 16 replicates in every sample with and without insertion (RR 1.00 -> 1.00 on pilot seed 10 and on seed 0), "
              "so nothing is cut, while the generic-prompt attribute accuracy (now well above chance 0.26) falls 0.55 -> 0.43 "
              "(seed 10) and 0.63 -> 0.46 (seed 0), more than 0.10 (NOTES.md)")
NOISE_GAP = ("embedding noise lambda = 0.1 leaves E1 at d = 16 at RR 1.00 -> 1.00 on pilot seed 10 and on seed 0, at no accuracy "
             "cost (0.55 -> 0.56, 0.63 -> 0.63) (NOTES.md)")


def quick_scale() -> Scale:
    """Minutes on 2 CPU cores: 8 x 8 images, 1000 generic shapes, MLP width 128 (2 blocks) predicting v, 4000 steps of batch
    64 at lr 3e-3, DDIM 20 steps, 16 samples per prompt; 3 seeds, mitigations on one seed each (settings fixed on pilot
    seeds 10-11, NOTES.md)."""
    base = T2IParams(**QUICK_BASE)
    cells = Cells(pilot_seeds=(10, 11), gaps=(("F3 trigger word overrides the prompt", TRIGGER_GAP),
                                              ("F4 template without full-image replication", TEMPLATE_GAP),
                                              ("F5 detector and blame", BLAME_GAP),
                                              ("F7a random word insertion mitigates", INSERT_GAP),
                                              ("F7b text-embedding noise mitigates", NOISE_GAP)))
    return Scale("quick", base, {}, "8x8, width 128, v-prediction, 4000 steps, 3 seeds; word insertion and embedding noise on 1 seed",
                 panels=cells.panels(base, (0, 1, 2), (0,)), cells=cells)


def smoke_scale() -> Scale:
    """Seconds of training (the compiles dominate): 8 x 8 images, width 32, 20 steps, 2 samples per prompt."""
    base = T2IParams(image=8, generic=64, levels="1/4", per_level=1, template_sizes="1/4", template_copies=2, embed=8, text=16, width=32,
                     hidden=64, blocks=1, diffusion_steps=20, ddim_steps=4, steps=20, log_every=10, warmup=5, batch=8, samples=2,
                     generic_prompts=2, fresh=100, detect_steps=2, ema=0.9, guidance_sweep="1/3")
    cells = Cells(pilot_seeds=(0,), high_d=4)
    return Scale("smoke", base, {}, "seconds: 8x8, width 32, 20 steps", panels=cells.panels(base, (0, 1), (0, 1)), cells=cells)


def paper_scale() -> Scale:
    """The toy design's sizes: 16 x 16 images, 3000 generic shapes, width 512 / hidden 1024 / 3 blocks, 6000 steps,
    DDIM 50 steps, 64 samples per prompt, 3 seeds everywhere; GPU."""
    base = T2IParams(image=16, generic=3000, width=512, hidden=1024, blocks=3, steps=6000, log_every=1000, warmup=500, samples=64,
                     ddim_steps=50, fresh=2000, embed=64, text=128)
    cells = Cells(pilot_seeds=())
    return Scale("paper", base, {}, "16x16, width 512, 6000 steps, 3 seeds", panels=cells.panels(base, (0, 1, 2), (0, 1, 2)), cells=cells)


SCALES = {"smoke": smoke_scale, "quick": quick_scale, "paper": paper_scale}
