"""Scales of the `mha-capacity` study: smoke (seconds), quick (CPU minutes), paper (GPU).

Each scale is a set of panels, one grid each, after the three panels of the paper's Fig. 2 (arXiv
2306.02010, Sec. 5): capacity vs the number of heads H (a), the context length n (b) and the head
dimension d_h (c), with a shared context. The choices of the reduced design are in NOTES.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...params import replace
from ...study import Scale
from .params import MHAParams

QUICK_T = (128, 256, 512, 1024)


@dataclass(frozen=True)
class Cells:
    """What the claims read at a scale.

    trend_claims: whether the scale has the heads / context / head_dim panels that the trend claims test
        (otherwise only the theory claims run);
    plateau_n: the context length n of the head_dim panel, where the d_h plateau is predicted (the
        claim compares d_h = 2, n and 2n).
    """

    trend_claims: bool
    plateau_n: int


def quick_scale() -> Scale:
    """Minutes on 2 CPU cores: d = D = 16, C = 10, 1000 full-batch steps at lr 1e-2, T 128-1024.

    Panels with shared contexts: (a) H in {1,2,3,4,6,8}, n = 8; (b) n in {1,2,4,8,12}, H = 8; (c) d_h in
    {1,2,4,8,16}, H = 8, n = 8 (4 seeds: the plateau test compares seed means); and the same trends with
    random contexts (2 seeds, fewer points, because each example then has its own keys). Add
    ``--set lr=0.003,0.01,0.03`` for the max over learning rates (acc is maxed over an lr axis).
    """
    base = MHAParams(d=16, D=16, n_max=8, n=8, d_h_max=16, d_h=16, H_max=8, H=8, T_max=1024, C=10, steps=1000, log_every=100, lr=1e-2)
    rand = replace(base, context="random")
    seeds, seeds4, seeds2 = {"seed": (0, 1, 2)}, {"seed": (0, 1, 2, 3)}, {"seed": (0, 1)}
    head_dim = base
    return Scale(
        "quick",
        base,
        {},
        "d = D = 16, C = 10, 1000 steps, T 128-1024; panels over H, n, d_h (shared and random contexts)",
        panels={
            "heads": (base, {"H": (1, 2, 3, 4, 6, 8), "T": QUICK_T, **seeds}),
            "context": (replace(base, n_max=12), {"n": (1, 2, 4, 8, 12), "T": QUICK_T, **seeds}),
            "head_dim": (head_dim, {"d_h": (1, 2, 4, 8, 16), "T": QUICK_T, **seeds4}),
            "heads_random": (rand, {"H": (1, 2, 4, 8), "T": QUICK_T, **seeds2}),
            "context_random": (rand, {"n": (2, 4, 8), "T": QUICK_T, **seeds2}),
            "head_dim_random": (rand, {"d_h": (2, 8, 16), "T": QUICK_T, **seeds2}),
        },
        cells=Cells(trend_claims=True, plateau_n=head_dim.n),
    )


def smoke_scale() -> Scale:
    """Seconds: d = 8, 100 steps, the heads panel only at two T values (each T is one compile, which
    dominates here); the claims are the theory ones."""
    base = MHAParams(d=8, D=8, n_max=4, n=4, d_h_max=8, d_h=8, H_max=4, T_max=64, T=64, C=2, steps=100, log_every=50)
    common = {"T": (16, 64), "seed": (0, 1)}
    return Scale("smoke", base, {}, "seconds: d = 8, 100 steps", panels={"heads": (base, {"H": (1, 2, 4), **common})},
                 cells=Cells(trend_claims=False, plateau_n=base.n))


def paper_scale() -> Scale:
    """The official classification grids of Fig. 2 with a shared context, 6 seeds; GPU. Full batch
    replaces the official minibatches of 256 (NOTES.md)."""
    base = MHAParams(d=64, D=64, n_max=32, n=32, d_h_max=64, d_h=64, H_max=60, T_max=40_000, C=100, steps=20_000, log_every=500)
    seeds = tuple(range(6))
    head_dim = replace(base, H_max=30, T_max=20_000)
    return Scale(
        "paper",
        base,
        {},
        "d = D = 64, n 32, C 100; heads / context / head_dim panels of the official reproduce.sh, 6 seeds",
        panels={
            "heads": (base, {"H": (1, 5, 10, 20, 30, 40, 50, 60), "T": (10_000, 20_000, 30_000, 40_000), "seed": seeds}),
            "context": (replace(base, H_max=20, n_max=60, T_max=18_000), {"n": (1, 5, 10, 20, 30, 40, 50, 60), "H": (20,), "T": (6_000, 10_000, 14_000, 18_000), "seed": seeds}),
            "head_dim": (head_dim, {"d_h": (10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 64), "H": (30,), "T": (10_000, 15_000, 20_000), "seed": seeds}),
        },
        cells=Cells(trend_claims=True, plateau_n=head_dim.n),
    )


SCALES = {"smoke": smoke_scale, "quick": quick_scale, "paper": paper_scale}
