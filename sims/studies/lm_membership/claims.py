"""Claims of the `lm-membership` study: predictions of the survey's toy design (Hartmann et al., arXiv
2310.18362, Sec. 3, E4 and E5) vs measurement, each with its tolerance stated beside it.

E4 (Zhang et al., arXiv 2112.12938, Sec. 4): counterfactual memorization is high for rare (unique random)
text and low for common (templated) text that every model predicts whether or not it trained on it.
E5 (Carlini et al., arXiv 2112.03570, Sec. V-VI; Duan et al., arXiv 2402.07841, Sec. 4; Lee et al.,
arXiv 2107.06499): per-example (LiRA) tests beat a global loss threshold at low FPR; with few shadow
models a fixed variance beats per-example variances; one epoch over a large deduplicated corpus leaves
every attack near chance; deduplication weakens the attacks on sequences that were duplicated.
Each check is a function of plain numbers (``*_verdict``) so the tests can feed it the plausible
alternative; the Claim reads its panel with ``evidence[name]``.
"""

from __future__ import annotations

import numpy as np

from ...study import Claim, Scale
from .analysis import attack_table, mean_by_kind, memorization

MEM_GAP = 0.2  # mean mem(rare) - mean mem(common) at least this
MEM_COMMON = 0.1  # mean mem(common) at most this ...
COMMON_TRAIN_ACC = 0.8  # ... while the common sequences' mean IN (training) accuracy is at least this
LIRA_FACTOR = 2.0  # TPR@1%FPR of LiRA online at least this times that of the loss threshold
CHANCE_AUC = 0.55  # negative control: every attack's AUC at most this
FPR = 0.01  # the false-positive rate of the TPR claims


def rare_common_verdict(by_kind: dict) -> tuple[str, bool]:
    gap = by_kind["rare"] - by_kind["common"]
    return f"mem rare {by_kind['rare']:.3f} - common {by_kind['common']:.3f} = {gap:.3f}", bool(gap >= MEM_GAP)


def common_low_verdict(by_kind: dict, train_acc: float) -> tuple[str, bool]:
    ok = by_kind["common"] <= MEM_COMMON and train_acc >= COMMON_TRAIN_ACC
    return f"mem common {by_kind['common']:.3f}; common IN accuracy {train_acc:.3f}", bool(ok)


def lira_loss_verdict(tpr_lira: float, tpr_loss: float) -> tuple[str, bool]:
    ratio = tpr_lira / tpr_loss if tpr_loss > 0 else np.inf
    return f"TPR@1% LiRA online {tpr_lira:.3f}, loss {tpr_loss:.3f} (ratio {ratio:.2f})", bool(tpr_lira >= LIRA_FACTOR * tpr_loss and tpr_lira > 0)


def fixed_variance_verdict(fixed: dict, per: dict, models: int) -> tuple[str, bool]:
    """fixed, per: {'online': AUC, 'offline': AUC}; fixed must be >= per-example for both."""
    text = "; ".join(f"{v} AUC fixed {fixed[v]:.3f} vs per-example {per[v]:.3f}" for v in ("online", "offline"))
    return f"M = {models}: {text}", all(fixed[v] >= per[v] for v in ("online", "offline"))


def negative_verdict(aucs: dict) -> tuple[str, bool]:
    worst = max(aucs, key=aucs.get)
    return f"max AUC {aucs[worst]:.3f} ({worst}); " + ", ".join(f"{a} {v:.3f}" for a, v in aucs.items()), all(v <= CHANCE_AUC for v in aucs.values())


def dedup_verdict(plain: dict, dedup: dict) -> tuple[str, bool]:
    drops = {a: plain[a] - dedup[a] for a in plain}
    least = min(drops, key=drops.get)
    text = f"smallest AUC drop {drops[least]:+.3f} ({least}: {plain[least]:.3f} -> {dedup[least]:.3f}); mean drop {np.mean(list(drops.values())):+.3f}"
    return text, all(d > 0 for d in drops.values())


def _aucs(table) -> dict:
    return {str(a): float(v) for a, v in zip(table["attack"].values, table["auc"].values)}


def claims(scale: Scale) -> list[Claim]:
    cells = scale.cells
    pilot = f" ({cells.pilot})" if cells.pilot else ""

    def mem(evidence):
        return memorization(evidence[cells.shadow])

    def check_gap(evidence):
        return rare_common_verdict(mean_by_kind(mem(evidence)))

    def check_common(evidence):
        m = mem(evidence)
        return common_low_verdict(mean_by_kind(m), mean_by_kind(m, "accuracy_in")["common"])

    def check_lira(evidence):
        t = attack_table(evidence[cells.shadow], attacks=["lira_online", "loss"])
        tpr = t["tpr"].sel(fpr=FPR, method="nearest")
        return lira_loss_verdict(float(tpr.sel(attack="lira_online")), float(tpr.sel(attack="loss")))

    def check_fixed(evidence):
        names = ["lira_online", "lira_online_fixed", "lira_offline", "lira_offline_fixed"]
        a = _aucs(attack_table(evidence[cells.shadow], models=cells.few_models, attacks=names))
        return fixed_variance_verdict({"online": a["lira_online_fixed"], "offline": a["lira_offline_fixed"]},
                                      {"online": a["lira_online"], "offline": a["lira_offline"]}, cells.few_models)

    def check_negative(evidence):
        return negative_verdict(_aucs(attack_table(evidence[cells.negative])))

    def check_dedup(evidence):
        plain, dd = evidence[cells.corpus], evidence[cells.negative]
        dup = np.asarray(plain["copies"].values) > 1
        if not dup.any():
            raise ValueError("the corpus has no duplicated sequences (duplicated = 0)")
        m = min(plain.sizes["seed"], dd.sizes["seed"])
        return dedup_verdict(_aucs(attack_table(plain, columns=dup, models=m)), _aucs(attack_table(dd, columns=dup, models=m)))

    return [
        Claim("E4 rare vs common memorization", f"mean mem(rare) - mean mem(common) >= {MEM_GAP}{pilot}",
              f"margin {MEM_GAP} (mem on per-token accuracy, IN minus OUT models)", check_gap),
        Claim("E4 common text not memorized", f"mean mem(common) <= {MEM_COMMON} while its training (IN) accuracy >= {COMMON_TRAIN_ACC}",
              f"bounds {MEM_COMMON} and {COMMON_TRAIN_ACC} as stated", check_common, not_reproduced=cells.common_not_reproduced),
        Claim("E5 LiRA beats loss at low FPR", f"TPR@1%FPR(LiRA online) >= {LIRA_FACTOR:g} x TPR@1%FPR(loss threshold)",
              f"factor {LIRA_FACTOR:g}, pooled over all models x sequences", check_lira),
        Claim("E5 fixed variance with few models", f"AUC(fixed variance) >= AUC(per-example variance), LiRA online and offline, M = {cells.few_models}",
              "no margin (>=), both variants", check_fixed, not_reproduced=cells.fixed_not_reproduced),
        Claim("E5 negative control near chance", f"one epoch on a large deduplicated corpus: AUC <= {CHANCE_AUC} for every attack",
              f"AUC bound {CHANCE_AUC}, every attack", check_negative),
        Claim("E5 dedup weakens attacks on duplicates", "one epoch over a corpus with sequences x copies: their AUC lower with deduplication, every attack",
              "strictly lower (> 0 drop) for every attack, same number of models", check_dedup),
    ]
