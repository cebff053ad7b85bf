"""How much data SFT needs to beat the prompt: one adapter per `training.data_fractions` entry, each trained
on that share of the training rows (nested subsets, the same validation slice: harness/validation.py) and
cached like any adapter, then evaluated as the adapter's user-only variant on the eval prompts.

For each headline metric the curve is the adapter's mean (95% t-CI) against the number of training
examples, with each prompting variant (no adapter) as a horizontal band. At each size the adapter is
compared, paired on the same examples, with the best prompting variant on that metric (by its mean), the
headline metrics Holm-adjusted together; the curve says from which size on SFT's CI clears it. The epochs
stay as the suite sets them, so a smaller fraction also trains fewer steps (with `max_steps`, the same
steps over fewer rows). No model and no I/O here but the jobs' prompts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from pydantic import BaseModel

from harness.compare import outcome_of
from harness.evaluation import Job
from harness.metrics.registry import Metric
from harness.stats import ALPHA, holm, mean_ci, paired_test, wilson_ci
from harness.suite import ExternalAdapter, Suite
from harness.variants import Variant

CLAIM = ("How much data does SFT need before it beats the prompt? One adapter per fraction of the training rows, "
         "each against the best prompting variant on the same eval examples.")


@dataclass(frozen=True)
class Fraction:
    """One adapter trained on a share of the rows, and the pass that evaluates it."""

    adapter: str  # the suite's adapter it is a smaller copy of
    loaded_as: str  # its name among the run's loaded adapters (never a name a suite can write)
    fraction: float
    variant: str  # the adapter's user-only variant, whose prompts it answers
    job: Job


def loaded_name(adapter: str, fraction: float) -> str:
    return f"{adapter}@{fraction:g}".replace(".", "_")  # PEFT adapter names hold no dots


def wanted(suite: Suite, chosen: list[Variant]) -> dict[str, tuple[Variant, list[float]]]:
    """Each trained adapter with data fractions whose user-only variant runs: that variant and the fractions
    below 1 (1 is the adapter itself)."""
    found = {}
    for name, entry in suite.adapter_settings().items():
        if isinstance(entry, ExternalAdapter) or not entry.data_fractions:
            continue
        variant = next((v for v in chosen if v.adapter == name and v.system is None and not v.shots), None)
        if variant is not None:
            found[name] = (variant, [f for f in entry.data_fractions if f < 1])
    return found


def fraction_jobs(suite: Suite, chosen: list[Variant], variant_jobs: dict[str, Job]) -> list[Fraction]:
    """The pass of each smaller adapter: its variant's prompts and references, with that adapter loaded."""
    return [Fraction(name, loaded_name(name, f), f, variant.name,
                     replace(variant_jobs[variant.name], name=f"data_size/{f:g}/{variant.name}",
                             variant=replace(variant, adapter=loaded_name(name, f))))
            for name, (variant, fractions) in wanted(suite, chosen).items() for f in fractions]


class Band(BaseModel):
    variant: str
    mean: float | None
    ci_low: float | None
    ci_high: float | None


class CurvePoint(BaseModel):
    fraction: float
    examples: int  # training rows it learned from
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    delta: float | None = None  # paired, against the best prompting variant
    delta_low: float | None = None
    delta_high: float | None = None
    p_adjusted: float | None = None  # Holm over the headline metrics at this size
    outcome: str | None = None  # win: SFT better; loss; tie
    note: str | None = None


class Curve(BaseModel):
    adapter: str
    metric: str
    label: str
    best: str | None  # the prompting variant with the best mean on this metric
    bands: list[Band]
    points: list[CurvePoint]
    clears_from: int | None  # training examples from which every size's paired CI clears `best`
    sentence: str


class TrainedFraction(BaseModel):
    adapter: str
    fraction: float
    examples: int
    key: str
    reused: bool
    seconds: float | None
    steps: int | None
    best_validation_loss: float | None


class DataSizeResult(BaseModel):
    claim: str = CLAIM
    adapters: list[TrainedFraction]
    curves: list[Curve]


def _band(name: str, values: list[float], metric: Metric) -> Band:
    """The mean and its 95% CI: Wilson's for a rate, Student's t for a continuous metric."""
    if not values:
        return Band(variant=name, mean=None, ci_low=None, ci_high=None)
    low, high = (wilson_ci(int(sum(values)), len(values)) if metric.kind == "binary" else
                 mean_ci(np.array(values, dtype=float)))
    return Band(variant=name, mean=float(np.mean(values)), ci_low=low, ci_high=high)


def curves(adapter: str, sizes: list[tuple[float, int, list]], prompting: dict[str, list],
           headline: list[Metric]) -> list[Curve]:
    """`sizes`: (fraction, training examples, the adapter's results per eval example), smallest first;
    `prompting`: each prompting variant's results on the same examples."""
    bests = {}
    for m in headline:
        means = {name: band.mean for name, rows in prompting.items()
                 if (band := _band(name, m.values(rows), m)).mean is not None}
        pick = min if m.better == "lower" else max
        bests[m.key] = pick(means, key=means.get) if means else None
    points = {m.key: [] for m in headline}
    for fraction, examples, rows in sizes:
        tests = {}
        for m in headline:
            if (best := bests[m.key]) is not None:
                kept = [(x, y) for a, b in zip(rows, prompting[best], strict=True)
                        if (x := m.value(a)) is not None and (y := m.value(b)) is not None]
                if kept:
                    tests[m.key] = paired_test(np.array([x for x, _ in kept], dtype=float),
                                               np.array([y for _, y in kept], dtype=float), m.kind,
                                               alpha=ALPHA / len(headline))
        adjusted = dict(zip(tests, holm([t.p_value for t in tests.values()]), strict=True))
        for m in headline:
            band = _band("", m.values(rows), m)
            point = CurvePoint(fraction=fraction, examples=examples, mean=band.mean, ci_low=band.ci_low,
                               ci_high=band.ci_high)
            if (stats := tests.get(m.key)) is not None:
                outcome, note = outcome_of(stats, adjusted[m.key], m.better, len(tests))
                point = point.model_copy(update={"delta": stats.delta, "delta_low": stats.ci_low,
                                                 "delta_high": stats.ci_high, "p_adjusted": adjusted[m.key],
                                                 "outcome": outcome, "note": note})
            points[m.key].append(point)
    # A metric with no value anywhere (format checks where the suite sets none) has no curve.
    return [_curve(adapter, m, bests[m.key], [_band(n, m.values(r), m) for n, r in prompting.items()], points[m.key])
            for m in headline if any(p.mean is not None for p in points[m.key])]


def _curve(adapter: str, metric: Metric, best: str | None, bands: list[Band], points: list[CurvePoint]) -> Curve:
    wins = [p.outcome == "win" for p in points]
    start = next((i for i in range(len(points)) if all(wins[i:])), None)
    largest = points[-1].examples if points else 0
    if best is None:
        said = "no prompting variant ran, so there is nothing to clear"
    elif start is not None:
        said = (f"{adapter}'s paired 95% CI clears {best} (the best prompting variant) from {points[start].examples} "
                f"training examples ({points[start].fraction:.0%}) on")
    elif any(wins):
        sizes = ", ".join(str(p.examples) for p, won in zip(points, wins, strict=True) if won)
        said = f"{adapter} beats {best} at {sizes} training examples, but not at every larger size tried"
    else:
        said = f"{adapter}'s CI does not clear {best} (the best prompting variant) at any size tried, up to {largest}"
    return Curve(adapter=adapter, metric=metric.key, label=metric.label, best=best, bands=bands, points=points,
                 clears_from=points[start].examples if start is not None else None,
                 sentence=f"{metric.label[:1].upper()}{metric.label[1:]}: {said}.")
