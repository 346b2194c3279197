"""Summaries of `memorization-types` results (xarray, numpy, scipy, scikit-learn; no JAX).

Each panel's results hold, per model (config) and item, the item's group code, its target loss and
teacher-forced accuracy, and its decoding under greedy, temperature and top-k sampling (run.py). From
them, per type of the taxonomy of Hartmann et al. (arXiv 2310.18362, Sec. 3):
  * rates per group (``group_rates``): extraction / recall / refusal, per model;
  * ideas: counterfactual memorization as IN minus OUT accuracy (Zhang et al., arXiv 2112.12938, Eq. 1,
    with one model's random IN / OUT halves of exchangeable strings in place of IN / OUT models);
  * style: a bigram logistic-regression classifier trained on real text of each author (scikit-learn)
    names the author of the model's generations;
  * distribution: a leave-one-out meta-classifier on loss statistics recovers the attribute fraction p
    (Suri and Evans, arXiv 2109.06024, Sec. 4), with a binomial test against chance (scipy.stats);
  * the summary table: trained vs never-trained rate per type with bootstrap intervals over seeds.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from scipy import stats

from ...dataset import annotate
from ...errors import ConfigError
from ...stats import bootstrap_interval
from .params import DECODERS, TypesParams, layout

VARIABLES = {
    "seed": ("1", "model (its seed: data, initialization, batches, decoding draws)"),
    "item": ("1", "probe item (one row; its group in `group`)"),
    "position": ("1", "token position"),
    "decoder": ("1", "decoding algorithm: greedy, sampling at the temperature, top-k sampling"),
    "train_loss": ("1", "mean training loss over the last tenth of the steps (nats per token)"),
    "group": ("1", "group code of the item (params.layout names them; the never-trained controls included)"),
    "tokens": ("1", "token ids of the item's row"),
    "loss": ("1", "mean loss of the item's target tokens (nats per token)"),
    "accuracy": ("1", "teacher-forced accuracy of the item's target tokens"),
    "hit": ("1", "fraction of draws whose decoded target equals the item's (alignment: the REFUSE token)"),
    "generated": ("1", "the item's prompt and the first decoded continuation of each decoder"),
    "score": ("1", "exact exposure of a canary in bits (verbatim probe; NaN elsewhere)"),
    "diverged": ("1", "the config produced a non-finite training loss"),
}


def params_of(ds: xr.Dataset) -> TypesParams:
    """The base parameters a results file was swept with."""
    try:
        base = json.loads(ds.attrs["config"])["base"]
        return TypesParams(**{k: v for k, v in base.items() if k in TypesParams.__dataclass_fields__})
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"results hold no memorization-types configuration ({type(exc).__name__}: {exc})") from None


def summarize(ds: xr.Dataset) -> xr.Dataset:
    return annotate(ds, VARIABLES)


def _models(ds: xr.Dataset, var: str) -> np.ndarray:
    """``var`` with the config axes flattened to one leading model axis (in grid order)."""
    da = ds[var]
    axes = [d for d in da.dims if d not in ("item", "decoder", "position")]
    return np.asarray(da.transpose(*axes, *[d for d in da.dims if d not in axes]).values).reshape(-1, *[ds.sizes[d] for d in da.dims if d not in axes])


def group_rates(ds: xr.Dataset, var: str = "hit", decoder: str | None = "greedy") -> xr.DataArray:
    """Mean of ``var`` over each group's items, per config: (*config axes, group)."""
    da = ds[var].sel(decoder=decoder) if decoder is not None and "decoder" in ds[var].dims else ds[var]
    codes = sorted({int(c) for c in np.unique(ds["group"].values) if np.isfinite(c)})
    out = [da.where(ds["group"] == c).mean("item") for c in codes]
    return xr.concat(out, dim=xr.DataArray(codes, dims="group", name="group"))


def seed_values(rates: xr.DataArray, **sel) -> np.ndarray:
    """One value per seed (mean over every other config axis) of ``rates.sel(**sel)``."""
    da = rates.sel(**sel)
    other = [d for d in da.dims if d != "seed"]
    return np.asarray(da.mean(other).values if other else da.values, float).ravel()


def levels_table(ds: xr.Dataset) -> xr.DataArray:
    """Verbatim / facts: rate per (seed, decoder, level r) of the greedy, sampled and top-k verdicts."""
    return xr.concat([group_rates(ds, "hit", d) for d in DECODERS], dim=xr.DataArray(list(DECODERS), dims="decoder"))


def ideas_summary(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """Per seed: generalization (greedy exact match on unseen lists), greedy extraction of rule-derived
    strings IN and OUT of training, and counterfactual memorization (IN minus OUT teacher-forced accuracy)
    of the rule-derived and of the random-output strings."""
    hit, acc = group_rates(ds, "hit"), group_rates(ds, "accuracy", None)
    return {"generalization": seed_values(hit, group=0), "extract_rule_in": seed_values(hit, group=1),
            "extract_rule_out": seed_values(hit, group=2), "extract_random_in": seed_values(hit, group=3),
            "extract_random_out": seed_values(hit, group=4),
            "mem_rule": seed_values(acc, group=1) - seed_values(acc, group=2),
            "mem_random": seed_values(acc, group=3) - seed_values(acc, group=4),
            "acc_rule_out": seed_values(acc, group=2)}


def bigram_features(rows: np.ndarray, vocab: int) -> np.ndarray:
    """(n, vocab^2) bigram counts of token rows (n, T) (tokens >= vocab, the author tags, are skipped)."""
    a, b = rows[:, :-1], rows[:, 1:]
    ok = (a < vocab) & (b < vocab) & (a >= 0) & (b >= 0)
    idx = np.where(ok, a * vocab + b, 0)
    out = np.zeros((rows.shape[0], vocab * vocab))
    np.add.at(out, (np.repeat(np.arange(rows.shape[0]), idx.shape[1]), idx.ravel()), ok.ravel().astype(float))
    return out


def style_accuracy(ds: xr.Dataset) -> xr.DataArray:
    """Per seed, decoder and prompted author (A, B, never-trained C): the fraction of the model's
    generations that a bigram logistic-regression classifier, trained on that seed's real text of the three
    authors, attributes to the prompted author. (seed, decoder, author)."""
    from sklearn.linear_model import LogisticRegression

    p = params_of(ds)
    W = p.words
    group, tokens, gen = _models(ds, "group"), _models(ds, "tokens"), _models(ds, "generated")
    out = np.full((group.shape[0], len(DECODERS), 3), np.nan)
    for m in range(group.shape[0]):
        real = group[m] >= 10
        clf = LogisticRegression(max_iter=2000, C=1.0)
        clf.fit(bigram_features(tokens[m][real], W), (group[m][real] - 10).astype(int))
        prompted = group[m] < 10
        for d in range(len(DECODERS)):
            pred = clf.predict(bigram_features(gen[m][prompted, d], W))
            truth = group[m][prompted].astype(int)
            out[m, d] = [np.mean(pred[truth == a] == a) for a in range(3)]
    return xr.DataArray(out, dims=("seed", "decoder", "author"),
                        coords={"seed": ds["seed"].values, "decoder": list(DECODERS), "author": ["A", "B", "C (never trained)"]})


def distribution_features(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(models, 3) loss statistics [mean loss on population-A probes, on B probes, B minus A] and (models,)
    the fraction p each model was trained with."""
    group, loss = _models(ds, "group"), _models(ds, "loss")
    la = np.array([loss[m][group[m] == 0].mean() for m in range(loss.shape[0])])
    lb = np.array([loss[m][group[m] == 1].mean() for m in range(loss.shape[0])])
    one = ds["loss"].isel(item=0)
    if "fraction" in ds.coords and "fraction" in one.dims:
        frac = np.asarray(ds["fraction"].broadcast_like(one).transpose(*one.dims).values).ravel()
    else:
        frac = np.full(la.shape, float(np.asarray(ds["fraction"]).ravel()[0]) if "fraction" in ds.coords else params_of(ds).fraction)
    return np.stack([la, lb, lb - la], 1), frac


def meta_classifier(features: np.ndarray, labels: np.ndarray) -> dict:
    """Leave-one-out logistic-regression meta-classifier (scikit-learn) of ``labels`` from ``features``:
    accuracy, the number right of n, the chance level 1 / (classes), and the one-sided binomial p-value of
    doing better than chance (scipy.stats.binomtest), plus each model's correctness."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import LeaveOneOut, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classes, y = np.unique(labels, return_inverse=True)
    if len(classes) < 2 or np.bincount(y).min() < 2:
        raise ConfigError(f"the meta-classifier needs at least two models of each of at least two fractions, got {np.bincount(y).tolist()}")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    pred = cross_val_predict(model, features, y, cv=LeaveOneOut())
    right = pred == y
    chance = 1.0 / len(classes)
    test = stats.binomtest(int(right.sum()), right.size, chance, alternative="greater")
    return {"accuracy": float(right.mean()), "k": int(right.sum()), "n": int(right.size), "chance": chance,
            "p_value": float(test.pvalue), "correct": right.astype(float)}


def property_inference(ds: xr.Dataset) -> dict:
    """The meta-classifier on the trained property p, and on the never-trained control: labels permuted
    across models by a fixed generator (a property of nothing the models trained on)."""
    features, frac = distribution_features(ds)
    real = meta_classifier(features, frac)
    control = meta_classifier(features, np.random.default_rng(0).permutation(frac))
    return {"trained": real, "control": control}


def summary_table(evidence, n_boot: int = 2000) -> list[dict]:
    """One row per type: the rate on trained items vs on never-trained items, each a seed mean with its
    bootstrap 95 % interval over seeds (distribution: over models). Panels missing from ``evidence`` are
    left out."""
    rows = []

    def add(kind, what, trained, never):
        rows.append({"type": kind, "measure": what, "trained": bootstrap_interval(trained, n_boot),
                     "never_trained": bootstrap_interval(never, n_boot)})

    if "verbatim" in evidence:
        ds = evidence["verbatim"]
        r = group_rates(ds)
        top = int(r["group"].values.max())
        add("verbatim", f"greedy extraction of canaries, r = {top} vs r = 0", seed_values(r, group=top), seed_values(r, group=0))
    if "facts" in evidence:
        r = group_rates(evidence["facts"])
        top = int(r["group"].values.max())
        add("facts", f"held-out-template recall, r = {top} vs r = 0", seed_values(r, group=top), seed_values(r, group=0))
    if "ideas" in evidence:
        s = ideas_summary(evidence["ideas"])
        add("ideas", "greedy extraction of rule-derived strings, IN vs OUT", s["extract_rule_in"], s["extract_rule_out"])
        acc = group_rates(evidence["ideas"], "accuracy", None)
        add("ideas", "accuracy on random-output strings, IN vs OUT", seed_values(acc, group=3), seed_values(acc, group=4))
    if "style" in evidence:
        a = style_accuracy(evidence["style"]).sel(decoder="sample")
        add("style", "author named from sampled generations, authors A, B vs never-trained C",
            a.isel(author=[0, 1]).mean("author").values, a.isel(author=2).values)
    if "distribution" in evidence:
        pi = property_inference(evidence["distribution"])
        add("distribution", "meta-classifier right on p, trained property vs permuted control", pi["trained"]["correct"], pi["control"]["correct"])
    if "alignment" in evidence:
        r = group_rates(evidence["alignment"])
        add("alignment", "refusal, exact trained triggers vs ordinary prompts", seed_values(r, group=0), seed_values(r, group=4))
        add("alignment", "refusal, paraphrases (trained synonym) vs held-out synonym", seed_values(r, group=2), seed_values(r, group=3))
    return rows


def decoding_table(evidence) -> dict[str, dict[str, float]]:
    """{probe: {decoder: rate}} on the trained items (r > 0) of the verbatim and facts probes, and on the
    never-trained items (r = 0) as '<decoder> r=0'."""
    out = {}
    for probe in ("verbatim", "facts"):
        if probe not in evidence:
            continue
        t = levels_table(evidence[probe])
        trained = t.sel(group=t["group"] > 0).mean("group")
        row = {d: float(trained.sel(decoder=d).mean()) for d in DECODERS}
        row.update({f"{d} r=0": float(t.sel(group=0, decoder=d).mean()) for d in DECODERS})
        out[probe] = row
    return out


def group_names(ds: xr.Dataset) -> dict[int, str]:
    return layout(params_of(ds))["groups"]
