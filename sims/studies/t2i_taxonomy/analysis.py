"""Summaries of `t2i-taxonomy` results (xarray, numpy; no JAX): the ME / MI / MU labelling of every detected element.

Operational definitions (ours, after Naseh, Roh, Houmansadr, arXiv 2312.07550, Sec. 3; NOTES.md): for a prompt p
and a sample g, an element e detected in g (max NCC >= tau_e) is
  ME  if e is explicit for p: bound to a word of p (the prompt's glyph token);
  MI  if e is implicit: not explicit and P_train(e | w) >= rho for some word w of p (co-occurrence counts);
  MA  (over-association, tracked apart) if e is a scene feature with 0 < P_train(e | w) < rho;
  MU  otherwise (a stamp, a glyph or feature the prompt does not carry); and a whole-image match (nearest
      training image with cosine > tau_img) is one more MU event, even when the prompt names its subject.
R_type = #events / (|P| S) per prompt class. ``own`` marks a match to one of the prompt's own training images
(its glyph's images, its scene's images, its texture).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from ...dataset import annotate
from ...stats import bootstrap_interval
from .data import CLASSES, FAMILIES, FRESH_OF_KIND, layout
from .params import TaxonomyParams

TYPES = ("ME", "MI", "MA", "MU")
KIND_OF_CLASS = {"glyph": 1, "scene": 2, "dup": 3, "control": -9}

VARIABLES = {
    "ncc": ("1", "max normalised cross-correlation of each element pattern with the sample"),
    "det": ("1", "element detected: ncc >= its calibrated threshold tau"),
    "cos": ("1", "mean-centred pixel cosine to the nearest training image"),
    "match": ("1", "whole-image match: cos > tau_img of the nearest training image's generator"),
    "ratio": ("1", "NN ratio ||g - NN1|| / ||g - NN2||"),
    "nn_image": ("1", "index of the nearest training image"),
    "assoc": ("1", "max over the prompt's words of P_train(element | word)"),
    "tau": ("1", "element threshold: max(nominal, 99th percentile of fresh images without the element)"),
    "fire": ("1", "fraction of fresh images without the element that fire (<= 0.01 by construction)"),
    "tau_img": ("1", "whole-image threshold per generator: 99th percentile of its fresh novel images' top-1 cosine"),
    "img_fire": ("1", "fraction of those fresh images above tau_img"),
    "train_loss": ("1", "mean diffusion loss over the last tenth of training"),
    "anchor_me": ("1", "T7: ideal memorizer's rate of the anchor's named glyph (NaN: texture)"),
    "anchor_mu": ("1", "T7: ideal memorizer's whole-image match rate"),
    "anchor_dev": ("1", "T7: max |sampled member frequency - m_i / sum m|"),
    "anchor_tol": ("1", "T7: tolerance of that frequency (4 binomial standard errors + 0.02)"),
    "n_me": ("events", "explicit intended events per sample"), "n_mi": ("events", "implicit intended events per sample"),
    "n_ma": ("events", "over-associated feature events per sample (0 < P(e | w) < rho)"),
    "n_mu": ("events", "unintended events per sample (stamps, foreign elements, whole-image match)"),
    "own": ("1", "whole-image match to one of the prompt's own training images"),
    "elem": ("1", "the prompt's own element detected (its glyph; its scene's feature); NaN for other classes"),
    "stamp": ("1", "the prompt's scene's stamp detected; NaN where the scene has none"),
}


def params_of(ds: xr.Dataset) -> TaxonomyParams:
    return TaxonomyParams(**json.loads(ds.attrs["config"])["base"])


def prompt_table(p: TaxonomyParams) -> dict:
    """Static per-prompt descriptors: class, group label, n_ctx, d, q, s (NaN / 0 where not applicable)."""
    lay = layout(p)
    P = lay.prompt_class.size
    cls = np.array(CLASSES)[lay.prompt_class]
    n, d, q, s = np.zeros(P, int), np.zeros(P, int), np.full(P, np.nan), np.zeros(P, int)
    group = np.empty(P, object)
    for i in range(P):
        o = lay.prompt_owner[i]
        if cls[i] == "glyph":
            n[i], d[i] = lay.glyph_n[o], lay.glyph_d[o]
            group[i] = f"glyph n_ctx={n[i]}" + (f" d={d[i]}" if d[i] > 1 else "")
        elif cls[i] == "scene":
            q[i] = lay.scene_q[o]
            st = lay.scene_stamp[o]
            s[i] = lay.stamp_s[st] if st >= 0 else 0
            group[i] = f"scene q={q[i]:g}"
        elif cls[i] == "dup":
            d[i] = lay.texture_d[o]
            group[i] = f"dup d={d[i]}"
        else:
            group[i] = "control"
    return {"prompt_class": cls, "prompt_group": group.astype(str), "prompt_n": n, "prompt_d": d, "prompt_q": q, "prompt_s": s}


def label(ds: xr.Dataset, p: TaxonomyParams | None = None) -> xr.Dataset:
    p = p or params_of(ds)
    lay = layout(p)
    t = prompt_table(p)
    ds = ds.assign_coords({k: ("prompt", v) for k, v in t.items()})
    return ds.assign_coords(element_family=("element", np.array(FAMILIES)[lay.element_family]),
                            element_name=("element", np.array(lay.element_names)))


def explicit(p: TaxonomyParams) -> np.ndarray:
    """(P, E) bool: the element is bound to a word of the prompt (a glyph prompt's glyph)."""
    lay = layout(p)
    out = np.zeros((lay.prompt_class.size, lay.E), bool)
    g = lay.prompts_of("glyph")
    out[g, lay.prompt_owner[g]] = True
    return out


def label_events(det, match, assoc, exp, family, rho: float) -> dict:
    """Event counts per sample from numpy arrays: det (..., P, S, E) bool, match (..., P, S) bool, assoc (..., P, E),
    exp (P, E) bool, family (E,) FAMILIES index; returns {'ME', 'MI', 'MA', 'MU'} (..., P, S) counts and the per-element
    type code (..., P, E) (0 ME, 1 MI, 2 MA, 3 MU)."""
    det, match, assoc = np.asarray(det, bool), np.asarray(match, bool), np.asarray(assoc, float)
    exp = np.broadcast_to(np.asarray(exp, bool), assoc.shape)
    imp = (assoc >= rho) & ~exp
    weak = (np.asarray(family)[None] == FAMILIES.index("feature")) & (assoc > 0) & ~imp & ~exp
    code = np.where(exp, 0, np.where(imp, 1, np.where(weak, 2, 3)))
    d = det
    c = code[..., :, None, :]  # (..., P, 1, E)
    out = {t: np.sum(d & (c == i), -1).astype(float) for i, t in enumerate(TYPES)}
    out["MU"] = out["MU"] + match
    return {**out, "code": code}


def rematch(ds: xr.Dataset, lay) -> xr.Dataset:
    """match = cos > tau_img of the nearest training image's generator (FRESH_OF_KIND), recomputed from the saved cos,
    nn_image and tau_img, so results saved when match used the prompt class's generator read the same way (NOTES.md)."""
    kind = np.asarray(FRESH_OF_KIND)[lay.image_kind]
    nn = ds["nn_image"].values.astype(int)
    k = xr.DataArray(kind[nn], dims=ds["nn_image"].dims, coords=ds["nn_image"].coords)
    thr = ds["tau_img"].isel(fresh_kind=k) if "fresh_kind" in ds["tau_img"].dims else ds["tau_img"]
    ds["match"] = (ds["cos"] > thr).astype(float).transpose(*ds["cos"].dims)
    return ds


def events(ds: xr.Dataset, p: TaxonomyParams | None = None) -> xr.Dataset:
    """Add n_me, n_mi, n_ma, n_mu, own, elem, stamp (..., w, prompt, sample) and the type code (..., prompt, element)."""
    p = p or params_of(ds)
    lay = layout(p)
    ds = rematch(ds, lay)
    det = ds["det"].transpose(..., "w", "prompt", "sample", "element")
    assoc = ds["assoc"].transpose(..., "prompt", "element")
    # assoc lacks the w and sample dims: insert w before prompt
    a = np.expand_dims(assoc.values, -3)
    ev = label_events(det.values > 0.5, ds["match"].transpose(..., "w", "prompt", "sample").values > 0.5, a, explicit(p),
                      lay.element_family, p.rho)
    dims = det.dims[:-1]
    for t in TYPES:
        ds[f"n_{t.lower()}"] = (dims, ev[t])
    ds["type_code"] = (assoc.dims, ev["code"][..., 0, :, :])
    nn = ds["nn_image"].transpose(*dims).values.astype(int)
    want_kind = np.array([KIND_OF_CLASS[c] for c in np.array(CLASSES)[lay.prompt_class]])
    shape = [1] * nn.ndim
    shape[dims.index("prompt")] = -1
    own = (lay.image_kind[nn] == want_kind.reshape(shape)) & (lay.image_owner[nn] == lay.prompt_owner.reshape(shape))
    ds["own"] = (dims, (own & (ds["match"].transpose(*dims).values > 0.5)).astype(float))
    P = lay.prompt_class.size
    elem_idx, stamp_idx = np.full(P, -1), np.full(P, -1)
    g, sc = lay.prompts_of("glyph"), lay.prompts_of("scene")
    elem_idx[g] = lay.prompt_owner[g]
    elem_idx[sc] = lay.G + lay.scene_feature[lay.prompt_owner[sc]]
    st = lay.scene_stamp[lay.prompt_owner[sc]]
    stamp_idx[sc] = np.where(st >= 0, lay.G + 3 + st, -1)
    dv = det.values > 0.5
    pick = lambda idx: np.where(idx.reshape(shape) >= 0, np.take_along_axis(  # noqa: E731
        dv, np.broadcast_to(np.maximum(idx, 0).reshape(shape + [1]), dv.shape[:-1] + (1,)), -1)[..., 0].astype(float), np.nan)
    ds["elem"] = (dims, pick(elem_idx))
    ds["stamp"] = (dims, pick(stamp_idx))
    return ds


def summarize(ds: xr.Dataset) -> xr.Dataset:
    ds = events(label(ds))
    return annotate(ds, VARIABLES)


def prompt_means(ds: xr.Dataset, var: str, w: float) -> xr.DataArray:
    """(..., prompt) the mean over samples of ``var`` at guidance w."""
    return ds[var].sel(w=w).mean("sample")


def group_mean(ds: xr.Dataset, var: str, w: float, select) -> xr.DataArray:
    """(...) the mean of ``var`` at guidance w over the samples of the prompts where ``select`` (P,) bool."""
    idx = np.flatnonzero(np.asarray(select))
    return ds[var].sel(w=w).isel(prompt=idx).mean(["prompt", "sample"])


def groups(ds: xr.Dataset) -> list[tuple[str, np.ndarray]]:
    """[(row label, prompt mask)]: glyph conditions, scenes by q, stamped scenes by s, duplicates by d, control."""
    g = np.asarray(ds["prompt_group"].values)
    cls = np.asarray(ds["prompt_class"].values)
    rows = [(name, g == name) for name in dict.fromkeys(g[cls == "glyph"])]
    rows += [(name, g == name) for name in dict.fromkeys(g[cls == "scene"])]
    s = np.asarray(ds["prompt_s"].values)
    rows += [(f"stamped s={v}", (cls == "scene") & (s == v)) for v in sorted(set(s[(cls == "scene") & (s > 0)]))]
    rows += [(name, g == name) for name in dict.fromkeys(g[cls == "dup"])]
    rows += [("control", cls == "control")]
    return rows


RATE_VARS = (("R_ME", "n_me"), ("R_MI", "n_mi"), ("R_MA", "n_ma"), ("R_MU", "n_mu"), ("replication", "own"), ("element", "elem"),
             ("stamp", "stamp"))


def rate_table(ds: xr.Dataset, w: float) -> dict:
    """{row: {column: (mean, low, high)}}: every rate per prompt-class row at guidance w, the mean over seeds and its
    bootstrap 95 % interval over seeds (``rote.sims.stats.bootstrap_interval``)."""
    out = {}
    for name, sel in groups(ds):
        row = {}
        for col, var in RATE_VARS:
            v = group_mean(ds, var, w, sel)
            row[col] = bootstrap_interval(v.values.ravel())
        out[name] = row
    return out
