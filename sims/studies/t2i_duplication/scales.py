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

from ...params import replace
from ...study import Scale
from .params import T2IParams


@dataclass(frozen=True)
class Cells:
    """What the claims and figures read at a scale.

    main, insert, noise: panel names; insert_p, noise_lambda: the mitigations' strengths; high_d: the level
    of the mitigation claim (d = 16 in the fact sheet); pilot_seeds: the seeds the step budget was fixed on
    (claims report the other seeds separately); gaps: claim name -> why the pilots showed the claim does not
    hold at this scale ('' where it is expected to).
    """

    pilot_seeds: tuple[int, ...]
    high_d: int = 16
    insert_p: float = 0.3
    noise_lambda: float = 0.1
    main: str = "main"
    insert: str = "insert"
    noise: str = "noise"
    gaps: tuple[tuple[str, str], ...] = ()

    def gap(self, claim: str) -> str:
        return dict(self.gaps).get(claim, "")


def _panels(base: T2IParams, seeds, mitigation_seeds, cells: Cells) -> dict:
    return {
        "main": (base, {"seed": tuple(seeds)}),
        "insert": (replace(base, word_insert=cells.insert_p), {"seed": tuple(mitigation_seeds)}),
        "noise": (replace(base, text_noise=cells.noise_lambda), {"seed": tuple(mitigation_seeds)}),
    }


QUICK_BASE = dict(image=8, generic=1000, width=128, hidden=256, blocks=2, steps=4000, log_every=1000, warmup=200, lr=2e-3, ema=0.998,
                  samples=16, ddim_steps=20)


TRIGGER_GAP = ("the bag-of-words encoder averages 9 token embeddings, so one trigger word carries 1/9 of the caption's "
               "embedding: in the first quick sweep (seeds 0-2) trigger-alone RR was 0.00 / 0.20 and trigger-in-caption RR "
               "0.07 / 0.21 at d = 16 / 32, against E5 (the word is 1/1 to 1/4 of its captions) 0.79 / 0.96 and E1 0.80 / 0.99 "
               "(NOTES.md)")
TEMPLATE_GAP = ("the template is copied in 0.30 of the samples at M = 4 (0.79 at M = 16, 0.77 at M = 64) in the first quick sweep "
                "(seeds 0-2); no single member is replicated at any M, M = 1 included (0.00, E1 at d = 4: 0.05) (NOTES.md)")

BLAME_GAP = ("the detector separates perfectly (AUC 1.00 in every seed), but gradient x input blame ranks the trigger first in "
             "14 of 18 E3 prompts with d >= 8 (0.78; ranks 3, 4, 5 in seed 2) in the quick sweep (NOTES.md)")
GUIDANCE_GAP = ("E1 RR rises from w = 1 to w = 3 at every d >= 4 but falls from w = 3 to w = 7 at d = 8 (0.61 -> 0.50, 96 samples "
                "per cell) in the quick sweep; the mean gain w = 1 -> 7 is 0.33 (NOTES.md)")

INSERT_GAP = ("two random words inserted with p = 0.3 into a reserved pair of caption slots cut E1 RR at d = 16 only from 0.94 to "
              "0.81 (13 %) on seed 0 in the quick sweep, at no accuracy cost (0.35 -> 0.35): the 4-word ID caption keeps its rare "
              "word, which the bag of words still reads (NOTES.md)")
NOISE_GAP = ("text-embedding noise lambda = 0.1 on the unit-RMS embedding c moves it by about 10 % of its norm: E1 RR at d = 16 "
             "0.94 -> 0.97 on seed 0 in the quick sweep (NOTES.md)")


def quick_scale() -> Scale:
    """Minutes on 2 CPU cores: 8 x 8 images, 1000 generic shapes, MLP width 128 (2 blocks), 4000 steps of batch 64,
    DDIM 20 steps, 16 samples per prompt; 3 seeds, mitigations on one seed each."""
    base = T2IParams(**QUICK_BASE)
    cells = Cells(pilot_seeds=(0,), gaps=(("F3 trigger word overrides the prompt", TRIGGER_GAP),
                                          ("F4 template without full-image replication", TEMPLATE_GAP),
                                          ("F5 detector and blame", BLAME_GAP), ("F6 guidance amplifies replication", GUIDANCE_GAP),
                                          ("F7a random word insertion mitigates", INSERT_GAP),
                                          ("F7b text-embedding noise mitigates", NOISE_GAP)))
    return Scale("quick", base, {}, "8x8, width 128, 4000 steps, 3 seeds; word insertion and embedding noise on 1 seed",
                 panels=_panels(base, (0, 1, 2), (0,), cells), cells=cells)


def smoke_scale() -> Scale:
    """Seconds of training (the compiles dominate): 8 x 8 images, width 32, 20 steps, 2 samples per prompt."""
    base = T2IParams(image=8, generic=64, levels="1/4", per_level=1, template_sizes="1/4", template_copies=2, embed=8, text=16, width=32,
                     hidden=64, blocks=1, diffusion_steps=20, ddim_steps=4, steps=20, log_every=10, warmup=5, batch=8, samples=2,
                     generic_prompts=2, fresh=100, detect_steps=2, ema=0.9, guidance_sweep="1/3")
    cells = Cells(pilot_seeds=(0,), high_d=4)
    return Scale("smoke", base, {}, "seconds: 8x8, width 32, 20 steps", panels=_panels(base, (0, 1), (0, 1), cells), cells=cells)


def paper_scale() -> Scale:
    """The toy design's sizes: 16 x 16 images, 3000 generic shapes, width 512 / hidden 1024 / 3 blocks, 6000 steps,
    DDIM 50 steps, 64 samples per prompt, 3 seeds everywhere; GPU."""
    base = T2IParams(image=16, generic=3000, width=512, hidden=1024, blocks=3, steps=6000, log_every=1000, warmup=500, samples=64,
                     ddim_steps=50, fresh=2000, embed=64, text=128)
    cells = Cells(pilot_seeds=())
    return Scale("paper", base, {}, "16x16, width 512, 6000 steps, 3 seeds", panels=_panels(base, (0, 1, 2), (0, 1, 2), cells), cells=cells)


SCALES = {"smoke": smoke_scale, "quick": quick_scale, "paper": paper_scale}
