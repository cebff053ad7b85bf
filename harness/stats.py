"""Paired statistics for two variants answering the same examples. Pure numpy/scipy, no I/O.

For each metric: the mean difference with a Student-t CI of the paired differences, a mid-p McNemar test
for pass/fail metrics or a Wilcoxon signed-rank test for continuous ones, an effect size, and a warning
when n is too small to detect a plausible effect at the level the caller tests at. Holm's correction is
applied by the caller (`holm`) over the family of comparisons the verdict rests on.

Why these choices (measured by `tests/test_stats_simulation.py`, figures in docs/metrics.md):
- the t interval covers 95% at n = 60 for skewed word counts, where the percentile bootstrap it replaced
  covered about 93.3%; for pass rates it covers 95% as the bootstrap did;
- the mid-p McNemar test (Fagerland, Lydersen & Laake 2013) has a size close to 5%, where the exact test's
  was 1.4 to 4%, so it loses less power.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Literal

import numpy as np
from pydantic import BaseModel
from scipy import special
from scipy import stats as sps

CONFIDENCE = 0.95
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
    # "mcnemar_exact" only in runs written before schema 1.2
    test: Literal["mcnemar_midp", "mcnemar_exact", "wilcoxon_signed_rank"]
    p_value: float
    effect_size: float | None
    effect_size_kind: Literal["cohens_g", "cohens_dz"]
    a_only: int | None = None  # binary: examples where only a passes
    b_only: int | None = None
    power_warning: str | None = None


def mean_ci(diffs: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Student-t CI of the mean of the paired differences (a point when they are all equal)."""
    n = len(diffs)
    mean = float(np.mean(diffs))
    if n < 2:
        return mean, mean
    half = float(special.stdtrit(n - 1, 0.5 + confidence / 2)) * float(np.std(diffs, ddof=1)) / math.sqrt(n)
    return mean - half, mean + half


def wilson_ci(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of a rate: inside [0, 1], and not a point at 0 or n successes, unlike a t or
    normal interval of the mean of 0s and 1s."""
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    rate = successes / n
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # At 0 or n successes one bound is exactly 0 or 1; rounding would leave it a hair inside.
    return (0.0 if successes == 0 else max(0.0, centre - half)), (1.0 if successes == n else min(1.0, centre + half))


def mcnemar_midp(a: np.ndarray, b: np.ndarray) -> tuple[float, int, int]:
    """Two-sided mid-p McNemar test on the discordant pairs (Fagerland, Lydersen & Laake 2013):
    the exact binomial p-value minus the probability of the observed count, p = 2·P(X < k) + P(X = k)
    for k = min(a_only, b_only), X ~ Binomial(a_only + b_only, 1/2)."""
    a_only = int(np.sum(a & ~b))
    b_only = int(np.sum(~a & b))
    discordant = a_only + b_only
    if discordant == 0:
        return 1.0, 0, 0
    k = min(a_only, b_only)
    # 2·P(X < k) + P(X = k) = P(X <= k - 1) + P(X <= k), with bdtr the binomial CDF
    p = (special.bdtr(k - 1, discordant, 0.5) if k else 0.0) + special.bdtr(k, discordant, 0.5)
    return float(min(1.0, p)), a_only, b_only


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
    return NormalDist().inv_cdf(q)


def needed_n_continuous(dz: float = PLAUSIBLE_DZ, alpha: float = ALPHA) -> int:
    """Examples a paired test needs for 80% power at a two-sided level alpha (normal approximation, +1)."""
    return math.ceil(((_z(1 - alpha / 2) + _z(POWER)) / dz) ** 2) + 1


def needed_n_binary(discordance: float, change: float = PLAUSIBLE_RATE_CHANGE, alpha: float = ALPHA) -> int:
    """McNemar sample size (Connor 1987) for a change in pass rate, given the discordant share."""
    psi = max(discordance, change + 0.01)
    root = _z(1 - alpha / 2) * math.sqrt(psi) + _z(POWER) * math.sqrt(psi - change ** 2)
    return math.ceil((root / change) ** 2)


def _level(alpha: float) -> str:
    return f"{100 * alpha:.2g}%"


def power_warning(kind: Kind, n: int, discordance: float, alpha: float = ALPHA) -> str | None:
    """Why n may be too small to see a plausible effect at the two-sided level alpha (None when it is not)."""
    if kind == "continuous":
        need = needed_n_continuous(alpha=alpha)
        if n < need:
            detectable = (_z(1 - alpha / 2) + _z(POWER)) / math.sqrt(max(n - 1, 1))
            return (f"n={n} is small: at the {_level(alpha)} level, 80% power only for effects of d_z >= "
                    f"{detectable:.2f}; a medium effect (d_z = {PLAUSIBLE_DZ}) needs about {need} examples")
        return None
    need = needed_n_binary(discordance, alpha=alpha)
    if n < need:
        return (f"n={n} is small: at the {_level(alpha)} level, a {100 * PLAUSIBLE_RATE_CHANGE:.0f}-point change in "
                f"pass rate needs about {need} examples at the observed discordance ({100 * discordance:.0f}%) "
                f"for 80% power")
    return None


def paired_test(a: np.ndarray, b: np.ndarray, kind: Kind, alpha: float = ALPHA,
                seed: int | None = None) -> PairedResult:
    """Compare a against b over the same examples (delta = a - b); the power note is for level `alpha`.

    `seed` is accepted for callers written when the CI was a seeded bootstrap; the t interval needs none."""
    del seed
    if len(a) != len(b) or len(a) == 0:
        raise ValueError("paired test needs two equally long, non-empty samples")
    values_a, values_b = a.astype(float), b.astype(float)
    diffs = values_a - values_b
    low, high = mean_ci(diffs)
    n = len(diffs)
    common = {"n": n, "mean_a": values_a.mean(), "mean_b": values_b.mean(), "delta": diffs.mean(), "ci_low": low,
              "ci_high": high}
    if kind == "binary":
        p, a_only, b_only = mcnemar_midp(a.astype(bool), b.astype(bool))
        effect = a_only / (a_only + b_only) - 0.5 if a_only + b_only else 0.0
        return PairedResult(**common, test="mcnemar_midp", p_value=p, effect_size=effect,
                            effect_size_kind="cohens_g", a_only=a_only, b_only=b_only,
                            power_warning=power_warning(kind, n, (a_only + b_only) / n, alpha))
    spread = float(diffs.std(ddof=1)) if n > 1 else 0.0
    effect = diffs.mean() / spread if spread > 0 else (0.0 if diffs.mean() == 0 else None)
    return PairedResult(**common, test="wilcoxon_signed_rank", p_value=wilcoxon(diffs), effect_size=effect,
                        effect_size_kind="cohens_dz", power_warning=power_warning(kind, n, 0.0, alpha))
