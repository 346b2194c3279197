"""Summaries of `t2i-duplication` results (xarray, numpy; no JAX).

Per config the run gives per-prompt rates (``run.py``); here they are labelled by prompt kind (E1, E2,
E3 alone, E3 inside a generic caption, E4, E5, generic, never-trained trigger) and by duplication level d
(or template group size M), averaged per level, and the Wen et al. detector's AUC (arXiv 2407.21720,
Sec. 4: memorized prompts, RR >= 0.5, against generic prompts) is computed from the per-prompt magnitudes.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from ...dataset import annotate
from .data import KINDS, layout
from .params import T2IParams

MEMORIZED_RR = 0.5  # a prompt counts as memorized for the detector's AUC when its RR >= this

VARIABLES = {
    "rr": ("1", "replication rate: fraction of samples whose nearest training image is the prompt's target, cosine > tau"),
    "leak": ("1", "fraction of samples whose nearest training image is a target or template member, cosine > tau"),
    "nn": ("1", "fraction of samples whose nearest image is the target with NN ratio < 1/3"),
    "template": ("1", "fraction of samples whose frame + logo region matches the group's template (masked cosine > tau_frame)"),
    "member": ("1", "fraction of samples replicating one member of the prompt's template group (cosine > tau)"),
    "similarity": ("1", "mean top-1 mean-centred pixel cosine of the samples to the training images"),
    "magnitude": ("1", "Wen et al. detector: mean ||eps_c - eps_null|| over the first DDIM steps and the samples"),
    "accuracy": ("1", "rule-based attribute accuracy (colour, row, column) of samples of generic prompts"),
    "blame": ("1", "gradient x input |<d magnitude / d e_i, e_i>| of the first-step magnitude per token (E3 prompts in a caption)"),
    "blame_rank": ("1", "rank of the trigger token by blame among the prompt's tokens (1 = most blamed)"),
    "rr_guidance": ("1", "replication rate of E1 and E3-alone prompts at each guidance w"),
    "rr_steps": ("1", "replication rate of E1 prompts along training"),
    "tau": ("1", "replication threshold: 99th percentile of fresh low-pass fields' top-1 cosine to the training set"),
    "tau_generic": ("1", "the same percentile for fresh generic shape images (reported, not used)"),
    "tau_member": ("1", "member threshold: 99th percentile of fresh template-group members' (new textures) top-1 cosine"),
    "tau_frame": ("1", "template threshold: 99th percentile of fresh non-template images' masked cosine to a template"),
    "fresh_exceed": ("1", "fraction of fresh low-pass fields above tau (about 0.01 by construction)"),
    "train_loss": ("1", "mean diffusion loss ||eps - eps_hat||^2 per pixel over each logging block"),
    "rr_d": ("1", "replication rate per prompt kind and duplication level d (mean over the level's prompts)"),
    "auc": ("1", "AUC of the detector magnitude: memorized prompts (RR >= 0.5) vs generic prompts"),
}


def params_of(ds: xr.Dataset) -> T2IParams:
    """The sweep's base parameters (static fields fix the layout)."""
    return T2IParams(**json.loads(ds.attrs["config"])["base"])


def label(ds: xr.Dataset, p: T2IParams | None = None) -> xr.Dataset:
    """Prompt coordinates: prompt_kind (KINDS name), prompt_d (d or M), prompt_target; gprompt_d for rr_guidance."""
    lay = layout(p or params_of(ds))
    ds = ds.assign_coords(prompt_kind=("prompt", np.array(KINDS)[lay.prompt_kind]), prompt_d=("prompt", lay.prompt_d),
                          prompt_target=("prompt", lay.prompt_target))
    if "gprompt" in ds.dims:
        ds = ds.assign_coords(gprompt_d=("gprompt", lay.prompt_d[ds["gprompt"].values]),
                              gprompt_kind=("gprompt", np.array(KINDS)[lay.prompt_kind[ds["gprompt"].values]]))
    if "target" in ds.dims:
        ds = ds.assign_coords(target_d=("target", lay.target_d))
    return ds


def by_level(ds: xr.Dataset, var: str, kind: str) -> xr.DataArray:
    """(..., d) the mean of ``var`` over the prompts of ``kind`` at each level d."""
    sel = ds[var].isel(prompt=np.flatnonzero(ds["prompt_kind"].values == kind))
    return sel.groupby(sel["prompt_d"].rename("d")).mean("prompt")


def auc(pos, neg) -> float:
    """P(pos > neg) + P(tie) / 2 (Mann-Whitney); NaN if either set is empty."""
    pos, neg = np.asarray(pos, float).ravel(), np.asarray(neg, float).ravel()
    if not pos.size or not neg.size:
        return float("nan")
    return float(((pos[:, None] > neg[None]).mean() + 0.5 * (pos[:, None] == neg[None]).mean()))


def detector_auc(rr, magnitude, kinds) -> float:
    """AUC of magnitudes of memorized prompts (RR >= MEMORIZED_RR, any kind but generic) vs generic prompts."""
    rr, magnitude, kinds = np.asarray(rr), np.asarray(magnitude), np.asarray(kinds)
    memorized = (rr >= MEMORIZED_RR) & (kinds != "generic")
    return auc(magnitude[memorized], magnitude[kinds == "generic"])


def summarize(ds: xr.Dataset) -> xr.Dataset:
    """Label prompts; add rr_d (..., kind, d) for E1, E2, E3_alone, E3_caption, E5 and auc (...) per config."""
    ds = label(ds)
    kinds = ["E1", "E2", "E3_alone", "E3_caption", "E5"]
    ds["rr_d"] = xr.concat([by_level(ds, "rr", k) for k in kinds], dim=xr.DataArray(kinds, dims="kind", name="kind"))
    ds["auc"] = xr.apply_ufunc(lambda r, m: detector_auc(r, m, ds["prompt_kind"].values), ds["rr"], ds["magnitude"],
                               input_core_dims=[["prompt"], ["prompt"]], vectorize=True)
    return annotate(ds, VARIABLES)
