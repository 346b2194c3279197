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
