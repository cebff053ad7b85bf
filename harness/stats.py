"""Paired statistics for two variants answering the same examples. Pure numpy/scipy, no I/O.

For each metric: the mean difference with a seeded paired bootstrap CI (resampling examples), an exact
McNemar test for pass/fail metrics or a Wilcoxon signed-rank test for continuous ones, an effect size,
and a warning when n is too small to detect a plausible effect. Holm's correction is applied across the
family of comparisons in a run by the caller (`holm`).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel
from scipy import stats as sps

CONFIDENCE = 0.95
RESAMPLES = 10_000
ALPHA = 0.05
POWER = 0.80
PLAUSIBLE_DZ = 0.5  # a "medium" paired effect (Cohen)
PLAUSIBLE_RATE_CHANGE = 0.10  # ten percentage points on a pass/fail metric

Kind = Literal["binary", "continuous"]


class PairedResult(BaseModel):
    n: int
    mean_a: float
    mean_b: float
    delta: float  # mean of (a - b)
    ci_low: float
    ci_high: float
    test: Literal["mcnemar_exact", "wilcoxon_signed_rank"]
    p_value: float
    effect_size: float | None
    effect_size_kind: Literal["cohens_g", "cohens_dz"]
    a_only: int | None = None  # binary: examples where only a passes
    b_only: int | None = None
    power_warning: str | None = None


def bootstrap_ci(diffs: np.ndarray, resamples: int = RESAMPLES, seed: int = 0,
                 confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile CI of the mean difference, resampling examples (pairs stay together)."""
    rng = np.random.default_rng(seed)
    n = len(diffs)
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // max(n, 1))  # bound memory: chunk x n indices at a time
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        means[start:start + size] = diffs[rng.integers(0, n, size=(size, n))].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def mcnemar_exact(a: np.ndarray, b: np.ndarray) -> tuple[float, int, int]:
    """Two-sided exact McNemar: a binomial test on the discordant pairs."""
    a_only = int(np.sum(a & ~b))
    b_only = int(np.sum(~a & b))
    if a_only + b_only == 0:
        return 1.0, 0, 0
    return float(sps.binomtest(a_only, a_only + b_only, 0.5).pvalue), a_only, b_only


def wilcoxon(diffs: np.ndarray) -> float:
    """Wilcoxon signed-rank p-value (zero differences dropped); 1.0 when every difference is zero."""
    if not np.any(diffs != 0):
        return 1.0
    return float(sps.wilcoxon(diffs, zero_method="wilcox", method="auto").pvalue)


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order (a NaN p-value counts as 1)."""
    p_values = [1.0 if math.isnan(p) else p for p in p_values]
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def _z(q: float) -> float:
    return float(sps.norm.ppf(q))


def needed_n_continuous(dz: float = PLAUSIBLE_DZ) -> int:
    """Examples a paired test needs for 80% power at a two-sided 5% level (normal approximation, +1)."""
    return math.ceil(((_z(1 - ALPHA / 2) + _z(POWER)) / dz) ** 2) + 1


def needed_n_binary(discordance: float, change: float = PLAUSIBLE_RATE_CHANGE) -> int:
    """McNemar sample size (Connor 1987) for a change in pass rate, given the discordant share."""
    psi = max(discordance, change + 0.01)
    root = _z(1 - ALPHA / 2) * math.sqrt(psi) + _z(POWER) * math.sqrt(psi - change ** 2)
    return math.ceil((root / change) ** 2)


def _power_warning(kind: Kind, n: int, discordance: float) -> str | None:
    if kind == "continuous":
        need = needed_n_continuous()
        if n < need:
            detectable = (_z(1 - ALPHA / 2) + _z(POWER)) / math.sqrt(max(n - 1, 1))
            return (f"n={n} is small: 80% power only for effects of d_z >= {detectable:.2f}; a medium effect "
                    f"(d_z = {PLAUSIBLE_DZ}) needs about {need} examples")
        return None
    need = needed_n_binary(discordance)
    if n < need:
        return (f"n={n} is small: a {100 * PLAUSIBLE_RATE_CHANGE:.0f}-point change in pass rate needs about "
                f"{need} examples at the observed discordance ({100 * discordance:.0f}%) for 80% power")
    return None


def paired_test(a: np.ndarray, b: np.ndarray, kind: Kind, seed: int = 0,
                resamples: int = RESAMPLES) -> PairedResult:
    """Compare a against b over the same examples (delta = a - b)."""
    if len(a) != len(b) or len(a) == 0:
        raise ValueError("paired test needs two equally long, non-empty samples")
    values_a, values_b = a.astype(float), b.astype(float)
    diffs = values_a - values_b
    low, high = bootstrap_ci(diffs, resamples=resamples, seed=seed)
    n = len(diffs)
    if kind == "binary":
        p, a_only, b_only = mcnemar_exact(a.astype(bool), b.astype(bool))
        effect = a_only / (a_only + b_only) - 0.5 if a_only + b_only else 0.0
        return PairedResult(n=n, mean_a=values_a.mean(), mean_b=values_b.mean(), delta=diffs.mean(), ci_low=low,
                            ci_high=high, test="mcnemar_exact", p_value=p, effect_size=effect,
                            effect_size_kind="cohens_g", a_only=a_only, b_only=b_only,
                            # compare() drops it when the Holm-adjusted result shows the effect was detected.
                            power_warning=_power_warning(kind, n, (a_only + b_only) / n))
    spread = float(diffs.std(ddof=1)) if n > 1 else 0.0
    effect = diffs.mean() / spread if spread > 0 else (0.0 if diffs.mean() == 0 else None)
    return PairedResult(n=n, mean_a=values_a.mean(), mean_b=values_b.mean(), delta=diffs.mean(), ci_low=low,
                        ci_high=high, test="wilcoxon_signed_rank", p_value=wilcoxon(diffs), effect_size=effect,
                        effect_size_kind="cohens_dz", power_warning=_power_warning(kind, n, 0.0))
