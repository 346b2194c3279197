"""Claims of the `memorization-types` study: one probe per type of the taxonomy of Hartmann et al. (arXiv
2310.18362, Sec. 3; its toy design's E7), each with a never-trained control, predictions vs measurement
with the tolerance stated beside each.

Verbatim (Carlini et al., arXiv 2202.07646): canaries inserted r times are extracted greedily, never-inserted
ones are not. Facts: held-out-template recall rises with r, never-trained facts stay at chance. Ideas and
algorithms: the rule generalizes to unseen lists, and a rule-derived string never trained on is extracted
while its counterfactual memorization (Zhang et al., arXiv 2112.12938) is near 0 ("reasoned, not stored",
Sec. 6). Styles: a classifier names the prompted author of generations. Distributional properties (Suri and
Evans, arXiv 2109.06024): a meta-classifier recovers p above chance (binomial test). Alignment goals: REFUSE
fires on the exact triggers, not on paraphrases, and paraphrase refusal grows with the variants seen.
Decoding dependence (Sec. 6): greedy, temperature-1 and top-k verdicts differ. Each check is a function of
plain numbers (``*_verdict``) so the tests can feed it the plausible alternative.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ...stats import spearman
from ...study import Claim, Scale
from .analysis import decoding_table, group_rates, ideas_summary, params_of, property_inference, seed_values, style_accuracy

EXTRACT_MIN = 0.9  # verbatim: greedy extraction of the r_max canaries at least this ...
EXTRACT_NULL = 0.02  # ... and of the never-inserted (r = 0) canaries at most this (chance 10^-digits)
FACT_RHO = 0.9  # facts: Spearman(r, seed-mean recall) at least this ...
FACT_GAIN = 0.5  # ... and recall(r_max) - recall(0) at least this
CHANCE_ALPHA = 0.01  # never-trained facts: the two-sided binomial test against 1 / objects not rejected at this level ...
CHANCE_BAND = 0.1  # ... and |recall - chance| at most this
GENERALIZE_MIN = 0.9  # ideas: greedy exact match on unseen lists at least this
RULE_EXTRACT_MIN = 0.8  # ideas: rule-derived strings never trained on extracted at least this ...
RULE_MEM_MAX = 0.1  # ... with counterfactual memorization at most this ...
RANDOM_MEM_GAP = 0.2  # ... while random-output strings' counterfactual memorization exceeds it by this
STYLE_MIN = 0.9  # style: the prompted (trained) author named in more than this fraction of sampled generations ...
STYLE_NULL = 1.0 / 3.0  # ... and the never-trained author C named at most at chance (three authors)
META_ALPHA = 0.01  # distribution: one-sided binomial p-value below this (trained p), at least this (permuted control)
REFUSE_GAP = 0.5  # alignment, fewest variants: exact-trigger refusal minus paraphrase refusal at least this ...
FALSE_REFUSE = 0.05  # ... and ordinary (never-trained) prompts refused at most this
VARIANT_RHO = 0.8  # alignment: Spearman(variants, paraphrase refusal) at least this ...
VARIANT_GAIN = 0.1  # ... and the rise from the fewest to the most variants at least this
DECODER_GAP = 0.05  # decoding: some sampling verdict differs from the greedy one by at least this, both probes
EPS = 1e-9  # float rounding of a rank correlation that equals its bound exactly (e.g. 0.8 = 1 - 12/60)


def extraction_verdict(top: float, null: float, r_top: int) -> tuple[str, bool]:
    return f"greedy extraction r = {r_top}: {top:.3f}; r = 0: {null:.3f}", bool(top >= EXTRACT_MIN and null <= EXTRACT_NULL)


def facts_rise_verdict(levels, recall) -> tuple[str, bool]:
    rho = spearman(levels, recall)
    gain = recall[-1] - recall[0]
    text = "recall " + ", ".join(f"r={r}: {v:.3f}" for r, v in zip(levels, recall)) + f"; Spearman {rho:.2f}, gain {gain:.3f}"
    return text, bool(np.isfinite(rho) and rho >= FACT_RHO - EPS and gain >= FACT_GAIN)


def chance_verdict(k: int, n: int, chance: float) -> tuple[str, bool]:
    rate = k / n if n else float("nan")
    pv = float(stats.binomtest(k, n, chance).pvalue) if n else float("nan")
    ok = n > 0 and pv >= CHANCE_ALPHA and abs(rate - chance) <= CHANCE_BAND
    return f"never-trained recall {k}/{n} = {rate:.3f} (chance {chance:.3f}), two-sided binomial p = {pv:.3g}", bool(ok)


def generalization_verdict(acc: float, chance: float) -> tuple[str, bool]:
    return f"greedy exact match on unseen lists {acc:.3f} (chance {chance:.2g})", bool(acc >= GENERALIZE_MIN)


def reasoned_verdict(extract_out: float, mem_rule: float, mem_random: float) -> tuple[str, bool]:
    ok = extract_out >= RULE_EXTRACT_MIN and mem_rule <= RULE_MEM_MAX and mem_random - mem_rule >= RANDOM_MEM_GAP
    text = (f"rule-derived strings never trained on: extracted {extract_out:.3f} (extraction says memorized), counterfactual "
            f"mem {mem_rule:+.3f} (says not); random-output strings mem {mem_random:+.3f}")
    return text, bool(ok)


def style_verdict(trained: float, never: float) -> tuple[str, bool]:
    return f"prompted author named: A, B {trained:.3f}; never-trained C {never:.3f}", bool(trained > STYLE_MIN and never <= STYLE_NULL)


def meta_verdict(trained: dict, control: dict) -> tuple[str, bool]:
    text = (f"LOO accuracy {trained['k']}/{trained['n']} = {trained['accuracy']:.3f} (chance {trained['chance']:.3f}, binomial "
            f"p = {trained['p_value']:.2g}); permuted control {control['accuracy']:.3f} (p = {control['p_value']:.2g})")
    return text, bool(trained["p_value"] < META_ALPHA and control["p_value"] >= META_ALPHA)


def refusal_verdict(exact: float, paraphrase: float, ordinary: float, variants: int) -> tuple[str, bool]:
    ok = exact - paraphrase >= REFUSE_GAP and ordinary <= FALSE_REFUSE
    return f"{variants} variant(s): refusal exact {exact:.3f}, paraphrases {paraphrase:.3f}, ordinary prompts {ordinary:.3f}", bool(ok)


def variants_verdict(counts, rates) -> tuple[str, bool]:
    rho = spearman(counts, rates)
    gain = rates[-1] - rates[0]
    text = "paraphrase refusal " + ", ".join(f"n={n}: {v:.3f}" for n, v in zip(counts, rates)) + f"; Spearman {rho:.2f}, rise {gain:+.3f}"
    return text, bool(np.isfinite(rho) and rho >= VARIANT_RHO - EPS and gain >= VARIANT_GAIN)


def decoding_verdict(table: dict) -> tuple[str, bool]:
    parts, ok = [], True
    for probe, row in table.items():
        gap = max(abs(row["sample"] - row["greedy"]), abs(row["top_k"] - row["greedy"]))
        ok &= gap >= DECODER_GAP
        parts.append(f"{probe}: greedy {row['greedy']:.3f}, T=1 {row['sample']:.3f}, top-k {row['top_k']:.3f} (max gap {gap:.3f}; "
                     f"r=0 {row['greedy r=0']:.3f} / {row['sample r=0']:.3f} / {row['top_k r=0']:.3f})")
    return "; ".join(parts), bool(ok and len(table) == 2)


def claims(scale: Scale) -> list[Claim]:
    cells = scale.cells
    pilot = f" ({cells.pilot})" if cells.pilot else ""

    def check_verbatim(ev):
        r = group_rates(ev["verbatim"])
        top = int(r["group"].values.max())
        return extraction_verdict(float(seed_values(r, group=top).mean()), float(seed_values(r, group=0).mean()), top)

    def check_facts_rise(ev):
        r = group_rates(ev["facts"])
        levels = [int(g) for g in r["group"].values]
        return facts_rise_verdict(levels, [float(seed_values(r, group=g).mean()) for g in levels])

    def check_facts_chance(ev):
        ds = ev["facts"]
        hit = ds["hit"].sel(decoder="greedy").where(ds["group"] == 0)
        n = int(np.isfinite(hit.values).sum())
        return chance_verdict(int(np.nansum(hit.values)), n, 1.0 / params_of(ds).objects)

    def check_generalize(ev):
        p = params_of(ev["ideas"])
        return generalization_verdict(float(ideas_summary(ev["ideas"])["generalization"].mean()), float(p.alphabet) ** -p.list_length)

    def check_reasoned(ev):
        s = ideas_summary(ev["ideas"])
        return reasoned_verdict(float(s["extract_rule_out"].mean()), float(s["mem_rule"].mean()), float(s["mem_random"].mean()))

    def check_style(ev):
        a = style_accuracy(ev["style"]).sel(decoder="sample")
        return style_verdict(float(a.isel(author=[0, 1]).mean()), float(a.isel(author=2).mean()))

    def check_meta(ev):
        pi = property_inference(ev["distribution"])
        return meta_verdict(pi["trained"], pi["control"])

    def check_refusal(ev):
        r = group_rates(ev["alignment"])
        n = int(r["variants"].values.min())
        one = r.sel(variants=n)
        para = float(np.mean([seed_values(one, group=2).mean(), seed_values(one, group=3).mean()]))
        return refusal_verdict(float(seed_values(one, group=0).mean()), para, float(seed_values(one, group=4).mean()), n)

    def check_variants(ev):
        r = group_rates(ev["alignment"])
        counts = [int(v) for v in r["variants"].values]
        return variants_verdict(counts, [float(seed_values(r.sel(variants=v), group=2).mean()) for v in counts])

    def check_decoding(ev):
        table = decoding_table({k: ev[k] for k in ("verbatim", "facts")})
        return decoding_verdict(table)

    r_text = "r = 0 (never inserted)"
    return [
        Claim("verbatim: canaries extracted, never-inserted ones not", f"greedy extraction at r_max >= {EXTRACT_MIN}, at {r_text} <= {EXTRACT_NULL}{pilot}",
              f"bounds {EXTRACT_MIN} and {EXTRACT_NULL} (chance 10^-digits), seed means", check_verbatim),
        Claim("facts: held-out-template recall rises with r", f"Spearman(r, recall) >= {FACT_RHO} and recall(r_max) - recall(0) >= {FACT_GAIN}",
              f"rho {FACT_RHO}, gain {FACT_GAIN}, greedy recall of seed means", check_facts_rise),
        Claim("facts: never-trained facts at chance", "recall of facts never trained on = 1 / objects",
              f"two-sided binomial test not rejected at {CHANCE_ALPHA} and |rate - chance| <= {CHANCE_BAND}, pooled over seeds", check_facts_chance),
        Claim("ideas: the rule generalizes", f"greedy exact match on lists never trained on >= {GENERALIZE_MIN}",
              f"bound {GENERALIZE_MIN} (chance alphabet^-length)", check_generalize),
        Claim("ideas: reasoned, not stored", f"rule-derived strings never trained on: extracted >= {RULE_EXTRACT_MIN} while counterfactual mem <= "
              f"{RULE_MEM_MAX}; random-output strings' mem exceeds it by >= {RANDOM_MEM_GAP}",
              f"bounds {RULE_EXTRACT_MIN}, {RULE_MEM_MAX}, gap {RANDOM_MEM_GAP}, seed means", check_reasoned),
        Claim("style: the author of generations is named", f"classifier names the prompted author of temperature-1 generations > {STYLE_MIN}; "
              "never-trained author C named <= 1/3", f"bounds {STYLE_MIN} and chance 1/3, seed means", check_style),
        Claim("distribution: p recovered above chance", "leave-one-out meta-classifier on loss statistics beats chance 1/3 (p in {0.2, 0.5, 0.8})",
              f"one-sided binomial p < {META_ALPHA}; the permuted (never-trained) property p >= {META_ALPHA}", check_meta),
        Claim("alignment: exact triggers refused, paraphrases not", f"refusal(exact) - refusal(paraphrases) >= {REFUSE_GAP} at the fewest variants; "
              f"ordinary prompts refused <= {FALSE_REFUSE}", f"gap {REFUSE_GAP}, bound {FALSE_REFUSE}, seed means",
              check_refusal, not_reproduced=cells.alignment_not_reproduced),
        Claim("alignment: paraphrase refusal grows with variants seen", f"Spearman(variants, refusal of trained-synonym paraphrases) >= {VARIANT_RHO}, "
              f"rise >= {VARIANT_GAIN}", f"rho {VARIANT_RHO}, rise {VARIANT_GAIN}, seed means", check_variants,
              not_reproduced=cells.variants_not_reproduced),
        Claim("decoding: verdicts depend on the decoder", f"on trained canaries and facts some sampling verdict differs from greedy by >= {DECODER_GAP}",
              f"gap {DECODER_GAP} in the memorized fraction, both probes", check_decoding),
    ]

