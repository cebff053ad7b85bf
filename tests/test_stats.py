"""Paired statistics: known values, and simulations over many synthetic paired datasets.

Tolerances: with S simulated datasets, a rate's standard error is sqrt(p(1-p)/S); the bounds below are
about three standard errors wide (plus the known conservatism of the exact McNemar test).
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats import bootstrap_ci, holm, mcnemar_exact, needed_n_continuous, paired_test, wilcoxon

SIMULATIONS = 400
N = 40


def test_holm_matches_the_textbook_example():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.02, 0.5]) == pytest.approx([0.04, 0.5])
    assert holm([0.5, 0.9]) == [1.0, 1.0]


def test_mcnemar_exact_counts_only_discordant_pairs():
    a = np.array([1, 1, 1, 1, 1, 0, 0, 1], bool)
    b = np.array([0, 0, 0, 0, 0, 0, 0, 1], bool)
    p, a_only, b_only = mcnemar_exact(a, b)
    assert (a_only, b_only) == (5, 0) and p == pytest.approx(2 * 0.5 ** 5)
    assert mcnemar_exact(b, b)[0] == 1.0


def test_bootstrap_is_seeded():
    diffs = np.random.default_rng(1).normal(size=30)
    assert bootstrap_ci(diffs, seed=3) == bootstrap_ci(diffs, seed=3)
    assert bootstrap_ci(diffs, seed=3) != bootstrap_ci(diffs, seed=4)


def test_paired_test_reports_effect_size_and_power_warning():
    rng = np.random.default_rng(0)
    a = rng.normal(1.0, 1.0, 12)
    result = paired_test(a, a - 0.5 + rng.normal(0, 0.1, 12), "continuous", resamples=2000)
    assert result.test == "wilcoxon_signed_rank" and result.effect_size_kind == "cohens_dz"
    assert result.effect_size > 2 and result.delta == pytest.approx(0.5, abs=0.1)
    assert "n=12 is small" in result.power_warning and f"about {needed_n_continuous()} examples" in result.power_warning
    binary = paired_test(np.ones(200, bool), np.zeros(200, bool), "binary", resamples=2000)
    assert binary.test == "mcnemar_exact" and binary.effect_size == 0.5 and binary.p_value < 1e-50


def _correlated_pairs(rng, delta: float):
    shared = rng.normal(0, 1, N)
    return shared + rng.normal(delta, 0.7, N), shared + rng.normal(0, 0.7, N)


def test_no_true_effect_gives_about_five_percent_false_positives():
    rng = np.random.default_rng(2026)
    wilcoxon_hits = ci_hits = mcnemar_hits = 0
    for _ in range(SIMULATIONS):
        a, b = _correlated_pairs(rng, 0.0)
        wilcoxon_hits += wilcoxon(a - b) < 0.05
        low, high = bootstrap_ci(a - b, resamples=2000, seed=int(rng.integers(1 << 30)))
        ci_hits += not low <= 0 <= high
        pass_a, pass_b = rng.random(N) < 0.5, rng.random(N) < 0.5
        mcnemar_hits += mcnemar_exact(pass_a, pass_b)[0] < 0.05
    assert 0.02 <= wilcoxon_hits / SIMULATIONS <= 0.08
    assert 0.02 <= ci_hits / SIMULATIONS <= 0.10  # percentile bootstrap runs slightly liberal at n=40
    assert 0.005 <= mcnemar_hits / SIMULATIONS <= 0.07  # exact McNemar is conservative


def test_ci_covers_the_true_delta_about_95_percent_of_the_time():
    rng = np.random.default_rng(7)
    true_delta = 0.3
    covered = 0
    for _ in range(SIMULATIONS):
        a, b = _correlated_pairs(rng, true_delta)
        low, high = bootstrap_ci(a - b, resamples=2000, seed=int(rng.integers(1 << 30)))
        covered += low <= true_delta <= high
    assert 0.91 <= covered / SIMULATIONS <= 0.98


def test_a_real_effect_is_detected():
    rng = np.random.default_rng(11)
    detected = sum(wilcoxon(np.subtract(*_correlated_pairs(rng, 0.6))) < 0.05 for _ in range(100))
    assert detected >= 80
