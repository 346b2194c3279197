"""Summaries of `entity-memorization` results (xarray, numpy; no JAX).

Per config (Zhou, Xiang, Chen, Su, arXiv 2308.15727, Sec. 3-4): exact-match rates by template, leakage
level, key kind (unique full name / ambiguous first name) and repetition level r; the same with the
soft prompt (persons the attacker did not know); the e-mail control; entity exposure by level; the
verbatim baseline by prompt length; the ambiguous queries (matching >= 2 persons).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ....theory import entity_memorization as th
from ...dataset import annotate
from .params import EntityParams, exposure_persons, person_levels

KEYS = ("unique", "ambiguous")

VARIABLES = {
    "template": ("1", "query template: training style or held out"),
    "leak": ("1", "leakage level: 1 name, 2 + city, 3 + employer"),
    "person": ("1", "person (index; unique keys first, level-major, then ambiguous keys)"),
    "exposed": ("1", "person whose entity exposure is computed (index)"),
    "prompt": ("1", "verbatim baseline: true training tokens before the phone (k)"),
    "r": ("1", "repetition level r: mentions of a person in the training set"),
    "key": ("1", "key kind: unique full name or ambiguous shared first name"),
    "person_r": ("1", "repetition level of each person"),
    "person_key": ("1", "key kind of each person"),
    "exposed_r": ("1", "repetition level of each exposed person"),
    "exposed_key": ("1", "key kind of each exposed person"),
    "train_loss": ("1", "mean next-token cross-entropy over the training multiset at the end (nats per token)"),
    "phone_em": ("1", "greedy output after the query equals the 5-digit phone (0/1)"),
    "phone_digits": ("1", "fraction of the phone's 5 digits reproduced greedily"),
    "soft_em": ("1", "exact phone match with the EME soft prompt prepended (0/1)"),
    "candidate_hit": ("1", "training-style output is the phone of some person the query matches (0/1)"),
    "email_em": ("1", "greedy output equals the derivable e-mail (0/1)"),
    "matches": ("1", "persons (the target and the trained ones) sharing the leaked entities"),
    "prompt_tokens": ("1", "tokens of the query prompt"),
    "exposure": ("bit", "entity exposure log2(K + 1) - log2 rank of the phone among K decoy phones"),
    "verbatim_em": ("1", "greedy decoding from k true training tokens reproduces the phone (0/1)"),
    "verbatim_tokens": ("1", "true training tokens used (k capped at those before the phone)"),
    "known": ("1", "the attacker knows the person (soft-prompt training set; 0/1)"),
    "soft_step": ("1", "soft-prompt step kept by the attacker's validation (0: the initial, hand-written prompt)"),
    "em_r": ("1", "exact-match rate by template, leakage level, key kind and r"),
    "digits_r": ("1", "digit accuracy by template, leakage level, key kind and r"),
    "soft_em_r": ("1", "exact-match rate with the soft prompt, persons the attacker did not know"),
    "hard_em_r": ("1", "exact-match rate without the soft prompt, persons the attacker did not know"),
    "email_em_r": ("1", "e-mail exact-match rate by template, leakage level, key kind and r"),
    "exposure_r": ("bit", "mean entity exposure by leakage level, key kind and r"),
    "verbatim_r": ("1", "verbatim-prefix extraction rate by k and r"),
    "verbatim_k": ("1", "mean true-prefix tokens used at each k"),
    "tokens_r": ("1", "mean query prompt tokens by template, leakage level and key kind"),
    "ambiguous_em": ("1", "exact-match rate of queries matching >= 2 persons, by leakage level"),
    "ambiguous_ceiling": ("1", "mean 1 / matches of those queries (the ceiling when the model cannot tell them apart)"),
    "ambiguous_hit": ("1", "fraction of those queries answered with one candidate's phone"),
    "ambiguous_n": ("1", "number of queries matching >= 2 persons, by leakage level"),
}


def person_coords(p: EntityParams) -> tuple[np.ndarray, np.ndarray]:
    lv = person_levels(p)
    kinds = np.where(np.arange(lv.size) >= len(p.levels) * p.unique_per_level, "ambiguous", "unique")
    return lv, kinds


def params_of(ds: xr.Dataset) -> EntityParams:
    import json
    return EntityParams(**json.loads(ds.attrs["config"])["base"])


def _by(da: xr.DataArray, dim: str, r: np.ndarray, kinds: np.ndarray, where=None) -> xr.DataArray:
    out = []
    for k in KEYS:
        per = []
        for level in np.unique(r):
            sel = (r == level) & (kinds == k) & (True if where is None else where)
            per.append(da.isel({dim: np.nonzero(sel)[0]}).mean(dim) if np.any(sel) else da.isel({dim: 0}) * np.nan)
        out.append(xr.concat(per, "r").assign_coords(r=np.unique(r)))
    return xr.concat(out, "key").assign_coords(key=list(KEYS))


def summarize(ds: xr.Dataset) -> xr.Dataset:
    """Add the per-level rates above, every variable annotated (``VARIABLES``)."""
    p = params_of(ds)
    r, kinds = person_coords(p)
    ds = ds.assign_coords(person_r=("person", r), person_key=("person", kinds))
    who = exposure_persons(p)
    ds = ds.assign_coords(exposed_r=("exposed", r[who]), exposed_key=("exposed", kinds[who]))
    ds["em_r"] = _by(ds["phone_em"], "person", r, kinds)
    ds["digits_r"] = _by(ds["phone_digits"], "person", r, kinds)
    unknown = ds["known"] < 0.5
    ds["soft_em_r"] = _by(ds["soft_em"].where(unknown), "person", r, kinds)
    ds["hard_em_r"] = _by(ds["phone_em"].where(unknown), "person", r, kinds)
    ds["email_em_r"] = _by(ds["email_em"], "person", r, kinds)
    ds["exposure_r"] = _by(ds["exposure"], "exposed", r[who], kinds[who])
    ds["verbatim_r"] = xr.concat([ds["verbatim_em"].isel(person=np.nonzero(r == v)[0]).mean("person") for v in np.unique(r)],
                                 "r").assign_coords(r=np.unique(r))
    ds["verbatim_k"] = ds["verbatim_tokens"].mean("person")
    ds["tokens_r"] = _by(ds["prompt_tokens"], "person", r, kinds).mean("r")
    amb = (ds["matches"] >= 2) & (ds["person_r"] > 0)
    ds["ambiguous_em"] = ds["phone_em"].sel(template="training").where(amb).mean("person")
    ds["ambiguous_ceiling"] = (1.0 / ds["matches"]).where(amb).mean("person")
    ds["ambiguous_hit"] = ds["candidate_hit"].where(amb).mean("person")
    ds["ambiguous_n"] = amb.sum("person").astype(float)
    return annotate(ds, VARIABLES)


def seed_mean(da: xr.DataArray) -> xr.DataArray:
    return da.mean("seed") if "seed" in da.dims else da


def null_exposure(decoys: int) -> tuple[float, float]:
    """(mean, SD) of the entity exposure of a never-trained phone among K decoys."""
    return th.null_entity_exposure(decoys), th.null_exposure_sd(decoys)
