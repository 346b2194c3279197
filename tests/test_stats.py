"""sims.stats against known values."""

import numpy as np
import pytest

from rote.sims import stats


def test_t_quantiles_match_tables():
    # two-sided 95 %: t_{0.975} at df 1, 2, 10, 11, 30 (standard tables)
    for df, value in ((1, 12.706), (2, 4.303), (10, 2.228), (11, 2.201), (30, 2.042)):
        assert stats.t_quantile(df) == pytest.approx(value, abs=1e-3)
    with pytest.raises(ValueError):
        stats.t_quantile(0)


def test_spearman_known_values_and_nan_handling():
    assert stats.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert stats.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert stats.spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)
    assert stats.spearman([1, 2, np.nan, 4, 5], [2, 1, 9, 3, 5]) == pytest.approx(stats.spearman([1, 2, 4, 5], [2, 1, 3, 5]))
    assert np.isnan(stats.spearman([1, 1, 1], [1, 2, 3]))
    assert np.isnan(stats.spearman([1, 2], [1, 2]))


def test_mean_interval():
    mean, half = stats.mean_interval([[1.0, 2.0, 3.0]])
    assert mean[0] == pytest.approx(2.0)
    assert half[0] == pytest.approx(4.303 * 1.0 / np.sqrt(3), rel=1e-3)
    assert stats.mean_interval([[5.0]])[1][0] == 0.0


def test_t_quantiles_at_any_degrees_of_freedom_and_confidence():
    # beyond any short table (which stopped at df 10 and fell back to 1.96, 11 % too narrow at df 11)
    for df, value in ((11, 2.2010), (20, 2.0860), (60, 2.0003), (120, 1.9799), (1000, 1.9623)):
        assert stats.t_quantile(df) == pytest.approx(value, abs=1e-4)
    assert stats.t_quantile(10**6) == pytest.approx(1.959966, abs=1e-5)  # the normal limit
    assert stats.t_quantile(11, 0.99) == pytest.approx(3.1058, abs=1e-4)
    assert stats.t_quantile(5, 0.90) == pytest.approx(2.0150, abs=1e-4)
    assert stats.t_quantile(11) / 1.96 == pytest.approx(1.123, abs=1e-3)


def test_spearman_with_ties_and_nan_against_known_values():
    # ties get average ranks: x ranks 1, 2.5, 2.5, 4, 5; y ranks 1..5 -> rho = 0.9747 (Pearson of the ranks)
    assert stats.spearman([1, 2, 2, 3, 4], [1, 2, 3, 4, 5]) == pytest.approx(0.974679, abs=1e-6)
    assert stats.spearman([np.nan, 1, 2, np.inf, 3], [5, 1, 2, 3, 3]) == pytest.approx(1.0)  # non-finite pairs dropped
    assert np.isnan(stats.spearman([1, np.nan, 3], [1, 2, np.nan]))  # fewer than 3 pairs left


def test_no_hand_written_t_table_or_rank_correlation_outside_stats():
    """Every t quantile and rank correlation goes through sims/stats.py (scipy.stats)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    patterns = {
        "a t table or its 1.96 fallback": re.compile(r"\b(12\.706|4\.303|2\.228|2\.262|1\.96)\b"),
        "ranks by double argsort": re.compile(r"argsort\([^)]*\)\s*\.argsort\(|argsort\(\s*np\.argsort"),
        "scipy's t or spearman called directly": re.compile(r"\b(stats\.t\.ppf|spearmanr|t\.ppf)\b"),
    }
    found = []
    for folder in ("theory", "sims", "figures", "paper_notebooks"):
        for path in (root / folder).rglob("*.py"):
            if path == root / "sims" / "stats.py" or "gallery" in path.parts:
                continue
            for line_no, line in enumerate(path.read_text().splitlines(), 1):
                for what, pattern in patterns.items():
                    if pattern.search(line.split("#")[0]):
                        found.append(f"{path.relative_to(root)}:{line_no}: {what}")
    assert not found, found


def test_rank_fraction_is_the_ordinal_rank_over_n():
    from rote.sims.stats import rank_fraction

    x = np.array([0.3, -1.0, 2.5, 0.0])
    np.testing.assert_array_equal(rank_fraction(x), np.array([2, 0, 3, 1]) / 4)
    assert rank_fraction([1.0, 1.0]).tolist() == [0.0, 0.5]  # ties in order of appearance
