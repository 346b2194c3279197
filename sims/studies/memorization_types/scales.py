"""Scales of the `memorization-types` study: smoke (seconds plus compiles, tests), quick (CPU minutes), paper (GPU).

One panel per type of the taxonomy of Hartmann et al. (arXiv 2310.18362, Sec. 3), each a sweep over seeds
(the distribution panel also over the attribute fraction p, the alignment panel over the number of trigger
variants seen): verbatim, facts, ideas, style, distribution, alignment. The choices of the reduced design,
the pilots and the measured timings are in NOTES.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...params import replace
from ...study import Scale
from .params import TypesParams

PANELS = ("verbatim", "facts", "ideas", "style", "distribution", "alignment")


@dataclass(frozen=True)
class Cells:
    """What the claims and figures read at a scale.

    fractions: the attribute fractions p of the distribution panel; variant_counts: the numbers of trigger
    variants of the alignment panel; pilot: which seeds the pilots used (the claims read other seeds);
    bootstrap: resamples of the seed bootstrap; *_not_reproduced: why a prediction is declared not
    reproduced at this scale ('' where expected to hold).
    """

    fractions: tuple[float, ...]
    variant_counts: tuple[int, ...]
    pilot: str = ""
    bootstrap: int = 2000
    alignment_not_reproduced: str = ""
    variants_not_reproduced: str = ""


def _panels(base: TypesParams, seeds, steps: dict, fractions, variant_counts, dist_seeds) -> dict:
    seeds = tuple(seeds)
    panel = lambda probe, **kw: replace(base, probe=probe, steps=steps[probe], **kw)  # noqa: E731
    return {
        "verbatim": (panel("verbatim"), {"seed": seeds}),
        "facts": (panel("facts"), {"seed": seeds}),
        "ideas": (panel("ideas"), {"seed": seeds}),
        "style": (panel("style"), {"seed": seeds}),
        "distribution": (panel("distribution"), {"fraction": tuple(fractions), "seed": tuple(dist_seeds)}),
        "alignment": (panel("alignment"), {"variants": tuple(variant_counts), "seed": seeds}),
    }


VARIANTS_GAP = ("pilot seeds 10-12 (trigger_reps 32): trained-synonym paraphrase refusal 0.24, 0.19, 0.11, 0.53 for 1, 2, 4, 8 "
                "variants, with a seed spread (0-0.56 at one variant) larger than the trend below 8; it rises only at 8 (NOTES.md)")

QUICK_STEPS = {"verbatim": 400, "facts": 150, "ideas": 400, "style": 200, "distribution": 100, "alignment": 300}


def quick_scale() -> Scale:
    """Minutes on 2 CPU cores: the 2 x 32 x 4 LM, 100-400 Adam steps of batch 32 per probe, 4 seeds (the
    distribution panel: 3 fractions x 8 seeds), decoders greedy / temperature 1 / top-3 with 8 draws."""
    base = TypesParams(data_seed=1)
    fractions, variants = (0.2, 0.5, 0.8), (1, 2, 4, 8)
    return Scale("quick", base, {}, "six probes on the 2 x 32 LM, 4 seeds; distribution 3 fractions x 8 models; alignment 1-8 variants",
                 panels=_panels(base, range(4), QUICK_STEPS, fractions, variants, range(8)),
                 cells=Cells(fractions=fractions, variant_counts=variants, pilot="pilot seeds 10-12, data_seed 0 (NOTES.md)",
                             variants_not_reproduced=VARIANTS_GAP))


def smoke_scale() -> Scale:
    """Seconds of training (the compiles dominate): width 16, 1 layer, 20-40 steps, small item sets."""
    base = TypesParams(width=16, layers=1, heads=2, batch_size=16, samples=2, levels="0/4", per_level=4, text_rows=64, context=8,
                       format_facts=8, rule_rows=48, probe_strings=4, unseen=8, generations=4, max_variants=4, paraphrases=4)
    steps = {k: 20 for k in PANELS}
    return Scale("smoke", base, {}, "seconds: width 16, 1 layer, 20 steps, 2 seeds",
                 panels=_panels(base, (0, 1), steps, (0.2, 0.8), (1, 4), (0, 1)),
                 cells=Cells(fractions=(0.2, 0.8), variant_counts=(1, 4), bootstrap=200))


def paper_scale() -> Scale:
    """The survey's toy sizes: the 2 x 64 x 4 LM, 4x the quick steps, 8 seeds (distribution 3 x 16); GPU."""
    base = TypesParams(width=64, data_seed=1)
    steps = {k: 4 * v for k, v in QUICK_STEPS.items()}
    fractions, variants = (0.2, 0.5, 0.8), (1, 2, 4, 8)
    return Scale("paper", base, {}, "six probes on the 2 x 64 LM, 8 seeds; distribution 3 x 16 models",
                 panels=_panels(base, range(8), steps, fractions, variants, range(16)),
                 cells=Cells(fractions=fractions, variant_counts=variants))


SCALES = {"smoke": smoke_scale, "quick": quick_scale, "paper": paper_scale}
