"""Paired statistics against reference computations (scipy, textbook values); the simulations that measure
size, coverage and power are in test_stats_simulation.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from harness.stats import (
    holm,
    mcnemar_midp,
    mean_ci,
    needed_n_binary,
    needed_n_continuous,
    paired_test,
    power_warning,
    wilcoxon,
)


def test_holm_matches_the_textbook_example():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.02, 0.5]) == pytest.approx([0.04, 0.5])
    assert holm([0.5, 0.9]) == [1.0, 1.0]


def _discordant(a_only: int, b_only: int, both: int = 7, neither: int = 5):
    a = np.array([1] * a_only + [0] * b_only + [1] * both + [0] * neither, bool)
    b = np.array([0] * a_only + [1] * b_only + [1] * both + [0] * neither, bool)
    return a, b


@pytest.mark.parametrize(("a_only", "b_only"), [(5, 0), (0, 5), (9, 3), (3, 9), (12, 12), (1, 0), (30, 14)])
def test_mid_p_mcnemar_matches_a_binomial_reference(a_only, b_only):
    """Fagerland et al. (2013): mid-p = 2·[P(X <= k) - P(X = k) / 2], X ~ Binomial(a_only + b_only, 1/2), which is the
    exact two-sided p less P(X = k) wherever the exact p is below 1."""
    p, found_a, found_b = mcnemar_midp(*_discordant(a_only, b_only))
    n, k = a_only + b_only, min(a_only, b_only)
    exact = sps.binomtest(k, n, 0.5).pvalue
    reference = min(1.0, 2 * (sps.binom.cdf(k, n, 0.5) - sps.binom.pmf(k, n, 0.5) / 2))
    by_sum = sum(math.comb(n, i) for i in range(k)) / 2 ** (n - 1) + math.comb(n, k) / 2 ** n
    assert (found_a, found_b) == (a_only, b_only)
    assert p == pytest.approx(reference, rel=1e-12) and p == pytest.approx(min(1.0, by_sum), rel=1e-12)
    if exact < 1:
        assert p == pytest.approx(exact - sps.binom.pmf(k, n, 0.5), rel=1e-12)  # less conservative than exact


def test_mid_p_mcnemar_known_value_and_no_discordance():
    # 5 to 0: exact p = 2/32 = 0.0625 (does not reject); mid-p = 0.0625 - 1/32 = 0.03125 (rejects)
    assert mcnemar_midp(*_discordant(5, 0))[0] == pytest.approx(0.03125)
    assert mcnemar_midp(*_discordant(0, 0))[0] == 1.0


def test_t_interval_matches_scipy():
    diffs = np.random.default_rng(1).normal(2.0, 3.0, 30)
    low, high = mean_ci(diffs)
    ref = sps.t.interval(0.95, 29, loc=diffs.mean(), scale=sps.sem(diffs))
    assert (low, high) == pytest.approx(ref, rel=1e-12)
    assert mean_ci(np.zeros(10)) == (0.0, 0.0) and mean_ci(np.array([4.0])) == (4.0, 4.0)


def test_wilcoxon_matches_scipy_and_all_zero_is_one():
    diffs = np.random.default_rng(2).normal(0.4, 1, 40)
    assert wilcoxon(diffs) == pytest.approx(sps.wilcoxon(diffs).pvalue)
    assert wilcoxon(np.zeros(5)) == 1.0


def test_power_notes_are_for_the_level_tested_at():
    assert needed_n_continuous() == 33 and needed_n_continuous(alpha=0.05 / 4) > 40
    assert needed_n_binary(0.3, alpha=0.05 / 4) > needed_n_binary(0.3)
    assert power_warning("binary", 280, 0.3) is None  # 280 examples suffice at 5% ...
    adjusted = power_warning("binary", 280, 0.3, alpha=0.05 / 4)  # ... but not at Holm's first step of 4
    assert adjusted.startswith("n=280 is small: at the 1.2% level")
    assert f"about {needed_n_binary(0.3, alpha=0.0125)} examples" in adjusted


def test_paired_test_reports_effect_size_and_power_warning():
    rng = np.random.default_rng(0)
    a = rng.normal(1.0, 1.0, 12)
    result = paired_test(a, a - 0.5 + rng.normal(0, 0.1, 12), "continuous")
    assert result.test == "wilcoxon_signed_rank" and result.effect_size_kind == "cohens_dz"
    assert result.effect_size > 2 and result.delta == pytest.approx(0.5, abs=0.1)
    assert "n=12 is small" in result.power_warning and f"about {needed_n_continuous()} examples" in result.power_warning
    binary = paired_test(np.ones(200, bool), np.zeros(200, bool), "binary")
    assert binary.test == "mcnemar_midp" and binary.effect_size == 0.5 and binary.p_value < 1e-50
    with pytest.raises(ValueError, match="equally long"):
        paired_test(np.ones(3), np.ones(4), "continuous")


def test_wilson_interval_of_a_rate_stays_in_range_and_is_not_a_point_at_the_edges():
    from harness.stats import wilson_ci

    low, high = wilson_ci(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    low, high = wilson_ci(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_ci(10, 10)[1] == 1.0 and wilson_ci(10, 10)[0] < 1.0
