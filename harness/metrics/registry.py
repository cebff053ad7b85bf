"""Every metric, declared once: its name, behaviour, label, unit, direction, pass/fail or continuous, how a
variant's values aggregate, the paired test that compares two variants, its chart and whether the summary
shows it. Scoring computes each answer's raw scores (harness/scoring.py); the comparisons, the gates, the
report, the console and the model card read the metrics from here, so adding one is a line in `METRICS`
(and, for a new kind of score, its scorer): docs/metrics.md shows the diff of a real addition.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["binary", "continuous"]  # binary: pass/fail per answer, aggregated as a rate
Better = Literal["lower", "higher"]
STATS = ("mean", "median", "p90", "min", "max")
TESTS = {"binary": "mid-p McNemar", "continuous": "Wilcoxon signed-rank"}  # harness/stats.py runs them


@dataclass(frozen=True)
class Metric:
    key: str  # what comparisons and gates call it: `sft.words.median <= 40`
    behaviour: str  # the question it answers: length, format, filler, fit (or a custom metric's name)
    label: str  # what the report, the console and the model card call it
    unit: str
    kind: Kind
    better: Better
    value: Callable[[Any], float | bool | None]  # one variant's result on one example; None: not applicable
    headline: bool = False  # answers its behaviour's question in the verdict (one per behaviour)
    compared: bool = True  # tested between every pair of variants (False: gates and the summary only)
    aggregate: str = "mean"  # the summary statistic of a variant (a rate for pass/fail metrics)
    chart: Literal["histogram", "rate", "box"] | None = None
    summary: bool = False  # a row of the per-variant summary (console, report, model card)
    digits: int = 1
    panel: str | None = None  # a panel's metric (e.g. canary): its values come from that panel's items

    @property
    def primary(self) -> bool:
        return self.headline

    def in_verdict(self, behaviours: list[str] | None) -> bool:
        """The headline metric of a behaviour the verdict tests (every behaviour where `behaviours` is None)."""
        return self.headline and self.panel is None and (behaviours is None or self.behaviour in behaviours)

    @property
    def test(self) -> str:
        return TESTS[self.kind]

    def values(self, results: list) -> list[float]:
        """The applicable values over one variant's results, pass/fail as 0 and 1."""
        return [float(v) for r in results if (v := self.value(r)) is not None]

    def show(self, value: float | None) -> str:
        if value is None:
            return "–"
        return f"{100 * value:.1f}%" if self.kind == "binary" else f"{value:,.{self.digits}f}"

    @property
    def summary_label(self) -> str:
        return self.label if self.kind == "binary" else f"{self.label}, {self.aggregate}"


@dataclass(frozen=True)
class CorpusMetric:
    """A figure of a variant's whole eval set rather than of each answer (no paired test, no per-example gate)."""

    key: str
    label: str
    better: Better
    value: Callable[[Any], float | None]  # a VariantSummary -> the figure
    digits: int = 2

    def show(self, value: float | None) -> str:
        return "–" if value is None else f"{value:,.{self.digits}f}"


METRICS: tuple[Metric, ...] = (
    Metric("words", "length", "words per answer", "words", "continuous", "lower",
           lambda v: v.scores.length.words, headline=True, aggregate="median", chart="histogram", summary=True),
    Metric("tokens", "length", "tokens per answer", "tokens", "continuous", "lower",
           lambda v: v.scores.length.tokens, aggregate="median"),
    Metric("sentences", "length", "sentences per answer", "sentences", "continuous", "lower",
           lambda v: v.scores.length.sentences, aggregate="median", summary=True),
    Metric("stopped", "length", "stopped on end-of-turn", "share", "binary", "higher",
           lambda v: v.output.stopped, compared=False, chart="rate", summary=True),
    Metric("truncated", "length", "truncated at max_new_tokens", "share", "binary", "lower",
           lambda v: v.output.truncated, chart="rate", summary=True),
    Metric("empty", "length", "empty answers", "share", "binary", "lower",
           lambda v: not v.output.text.strip(), summary=True),
    Metric("format_pass", "format", "all format checks pass (strict)", "share", "binary", "higher",
           lambda v: v.scores.format.passed, headline=True, chart="rate", summary=True),
    Metric("format_pass_loose", "format", "all format checks pass (loose)", "share", "binary", "higher",
           lambda v: v.scores.format.passed_loose, chart="rate"),
    Metric("filler_any", "filler", "answers with filler", "share", "binary", "lower",
           lambda v: bool(v.scores.filler.any), headline=True, chart="rate", summary=True),
    Metric("filler_per_100_words", "filler", "filler hits per 100 words", "hits", "continuous", "lower",
           lambda v: v.scores.filler.per_100_words, digits=2),
    Metric("reference_nll", "fit", "reference NLL per token", "nats per token", "continuous", "lower",
           lambda v: v.scores.perplexity.mean_nll, headline=True, chart="box", digits=3),
)
# The canary panel's metrics (harness/canary.py): read from its items, not from the eval examples; gates name
# them like any other (`sft.canary_nll not worse than base within 0.05`).
CANARY: tuple[Metric, ...] = (
    Metric("canary_nll", "general text", "general-text NLL per token", "nats per token", "continuous", "lower",
           lambda s: s.nll, headline=True, digits=3, panel="canary"),
    # Exact match also rewards answering in the asked form; "contained" tells a forgotten fact from a right
    # answer in a sentence, so a change of format alone moves the first and not the second.
    Metric("canary_exact", "factual QA, exact", "factual QA exact match", "share", "binary", "higher",
           lambda s: s.exact, headline=True, panel="canary"),
    Metric("canary_contains", "factual recall", "factual QA answer contained", "share", "binary", "higher",
           lambda s: s.contains, headline=True, panel="canary"),
)
CORPUS: tuple[CorpusMetric, ...] = (
    CorpusMetric("perplexity", "reference perplexity", "lower", lambda s: s.perplexity),
)


def custom_metric(name: str, better: Better, kind: Kind) -> Metric:
    """A suite's custom metric (`metrics.custom`): its own behaviour, answered by itself."""
    return Metric(f"custom.{name}", name, name, "", kind, better, lambda v: v.scores.custom.get(name),
                  headline=True, summary=True, digits=3)


def metrics_for(settings: dict) -> list[Metric]:
    """The built-in metrics and the custom ones a suite (as recorded in a manifest) declares."""
    custom = (settings.get("metrics") or {}).get("custom") or []
    return [*METRICS, *(custom_metric(m["name"], m.get("better", "higher"), m.get("kind", "continuous"))
                        for m in custom)]


def statistic(values: list[float], stat: str) -> float | None:
    """One of STATS over values (None for none); p90 is the inclusive 90th percentile, as everywhere."""
    if not values:
        return None
    if stat == "p90":
        return statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else values[0]
    return {"mean": statistics.fmean, "median": statistics.median, "min": min, "max": max}[stat](values)


def summary_rows(results, variants: list[str] | None = None) -> list[tuple[str, list[str]]]:
    """The per-variant summary, one row per metric that shows in it: (label, a cell per variant)."""
    variants = variants or list(results.variants)
    settings = results.manifest.settings()
    rows = []
    for metric in metrics_for(settings):
        if metric.summary:
            cells = [metric.show(statistic(metric.values([e.variants[name] for e in results.examples]),
                                           metric.aggregate)) for name in variants]
            rows.append((metric.summary_label, cells))
    rows += [(m.label, [m.show(m.value(results.summary[name])) for name in variants]) for m in CORPUS]
    return rows
