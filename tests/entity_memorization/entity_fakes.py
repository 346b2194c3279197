"""Shared fixtures of the entity-memorization tests: the smoke scale's main and dedup panels swept in
memory (one compile: deduplication is traced; the DP-SGD and narrow-model programs are compiled only by
the slow test that sweeps every panel), and synthetic summarized panels for the claim checks, so every
claim can be fed a passing input and its plausible alternative."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from rote.sims import results
from rote.sims.studies.entity_memorization import STUDY

R = np.array([0, 1, 2, 4, 8])


FAST_PANELS = ("main", "dedup")


def sweep_smoke(panels=None):
    return results.sweep_in_memory(STUDY, "smoke", panels=panels)


@pytest.fixture(scope="session")
def smoke():
    """{panel: summarized Dataset} of the smoke scale's main and dedup panels (one program)."""
    return sweep_smoke(FAST_PANELS)


def curve(r, leak, key, template="training", memorized=True):
    """A plausible entity-memorization rate: 0 at r = 0, rising with r; ambiguous keys only at l = 3;
    the held-out template never answered."""
    if template == "held-out" or not memorized:
        return np.zeros_like(r, float)
    base = np.where(r > 0, 1 - 0.5 ** (r + 0.5), 0.0)
    if key == "ambiguous":
        return base * (1.0 if leak == 3 else 0.0)
    return base


def fake_main(seeds=(0, 1), rate=curve, email=0.8, exposure=(1.4, 1.6, 4.0), soft=0.0, hard=0.0, amb=(0.1, 0.1, 0.95),
              ceiling=(0.1, 0.5, 1.0), decoys=999, soft_step=50, verbatim=(0.0, 0.3, 0.7, 0.9), vk=(2, 4, 8, 12), tokens=9.5):
    """A summarized 'main' panel with the variables the claims read."""
    S = len(seeds)
    ds = xr.Dataset(coords={"seed": list(seeds), "template": ["training", "held-out"], "leak": [1, 2, 3], "key": ["unique", "ambiguous"],
                            "r": R, "prompt": np.asarray(vk), "exposed": np.arange(20)})
    em = np.array([[[[rate(R, lk, k, t) for k in ("unique", "ambiguous")] for lk in (1, 2, 3)] for t in ("training", "held-out")]
                   for _ in seeds])  # (S, T, L, K, R)
    ds["em_r"] = (("seed", "template", "leak", "key", "r"), em)
    ds["hard_em_r"] = ds["em_r"].copy()
    ds["hard_em_r"].loc[dict(template="held-out")] = hard
    ds["soft_em_r"] = ds["em_r"].copy()
    ds["soft_em_r"].loc[dict(template="held-out")] = soft
    ds["email_em_r"] = (("seed", "template", "leak", "key", "r"), np.full((S, 2, 3, 2, R.size), email))
    ds["soft_step"] = (("seed",), np.full(S, float(soft_step)))
    exposed_r = np.tile(R, 4)
    ds = ds.assign_coords(exposed_r=("exposed", exposed_r), exposed_key=("exposed", np.repeat(["unique", "ambiguous"], 10)))
    ex = np.where(exposed_r[None, None, :] == 0, 1.44, np.asarray(exposure)[None, :, None])
    ex = ex + 0.01 * np.random.default_rng(0).standard_normal((S, 3, 20))
    ds["exposure"] = (("seed", "leak", "exposed"), ex)
    ds["exposure_r"] = ds["exposure"].assign_coords(r=("exposed", exposed_r)).groupby("r").mean("exposed").expand_dims(key=["unique", "ambiguous"])
    ds["ambiguous_em"] = (("seed", "leak"), np.tile(amb, (S, 1)))
    ds["ambiguous_ceiling"] = (("seed", "leak"), np.tile(ceiling, (S, 1)))
    ds["ambiguous_hit"] = (("seed", "leak"), np.full((S, 3), 0.9))
    ds["ambiguous_n"] = (("seed", "leak"), np.tile([80.0, 20.0, 0.0], (S, 1)))
    ds["verbatim_r"] = (("seed", "prompt", "r"), np.tile(np.asarray(verbatim)[:, None] * (R > 0), (S, 1, 1)))
    ds["verbatim_k"] = (("seed", "prompt"), np.tile(np.asarray(vk, float), (S, 1)))
    ds["tokens_r"] = (("seed", "template", "leak", "key"), np.full((S, 2, 3, 2), tokens))
    ds.attrs["config"] = json.dumps({"base": {"decoys": decoys}})
    return ds


def fake_mitigated(top=0.2, sigmas=None):
    ds = fake_main(seeds=(0,), rate=lambda r, lk, k, t="training": np.where(r > 0, top, 0.0) * (lk == 3))
    if sigmas:
        ds = xr.concat([ds] * len(sigmas), "sigma").assign_coords(sigma=list(sigmas))
    return ds
