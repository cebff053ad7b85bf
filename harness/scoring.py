"""Scores per example and per variant, and their distributions. Pure: outputs in, records out."""

from __future__ import annotations

import statistics

from pydantic import BaseModel

from harness.examples import Example
from harness.generation import Output
from harness.metrics.filler import FillerScores, Lexicon, filler_scores
from harness.metrics.format_checks import CheckResult, run_rules
from harness.metrics.length import LengthScores, length_scores
from harness.metrics.perplexity import PerplexityScores, ReferenceScore


class FormatScores(BaseModel):
    passed: bool  # every check of this example passed (prompt-level)
    checks: list[CheckResult]


class Scores(BaseModel):
    length: LengthScores
    format: FormatScores
    filler: FillerScores
    perplexity: PerplexityScores


class Distribution(BaseModel):
    n: int
    mean: float | None
    median: float | None
    p90: float | None
    min: float | None
    max: float | None


class VariantSummary(BaseModel):
    words: Distribution
    tokens: Distribution
    characters: Distribution
    sentences: Distribution
    stop_rate: float
    truncation_rate: float
    format_pass_rate: float | None  # None when no rules apply
    format_checks: dict[str, float]  # pass rate per check name
    filler_any_rate: float
    filler_per_100_words: float
    filler_by_category: dict[str, float]  # share of outputs with a hit in each category
    perplexity: float | None
    mean_nll_per_token: float | None
    bits_per_byte: float | None
    reference_tokens: int


def score_output(example: Example, output: Output, suite_rules: list[dict], lexicon: Lexicon,
                 reference: ReferenceScore) -> Scores:
    checks = run_rules(output.text, suite_rules + example.rules)
    return Scores(
        length=length_scores(output.text, output.tokens, output.truncated, example.response),
        format=FormatScores(passed=all(c.passed for c in checks), checks=checks),
        filler=filler_scores(output.text, lexicon),
        perplexity=PerplexityScores(mean_nll=reference.mean_nll, perplexity=_exp(reference.mean_nll),
                                    tokens=reference.tokens),
    )


def _exp(value: float) -> float:
    import math

    return math.exp(min(value, 700.0))


def distribution(values: list[float]) -> Distribution:
    if not values:
        return Distribution(n=0, mean=None, median=None, p90=None, min=None, max=None)
    ordered = sorted(values)
    p90 = statistics.quantiles(ordered, n=10, method="inclusive")[-1] if len(ordered) > 1 else ordered[0]
    return Distribution(n=len(values), mean=statistics.fmean(values), median=statistics.median(ordered),
                        p90=p90, min=ordered[0], max=ordered[-1])


def summarise_variant(outputs: list[Output], scores: list[Scores], corpus: dict) -> VariantSummary:
    n = len(scores)
    has_rules = [s for s in scores if s.format.checks]
    check_totals: dict[str, list[bool]] = {}
    for s in scores:
        for check in s.format.checks:
            check_totals.setdefault(check.check, []).append(check.passed)
    categories = scores[0].filler.by_category.keys() if scores else []
    return VariantSummary(
        words=distribution([s.length.words for s in scores]),
        tokens=distribution([s.length.tokens for s in scores]),
        characters=distribution([s.length.characters for s in scores]),
        sentences=distribution([s.length.sentences for s in scores]),
        stop_rate=sum(o.stopped for o in outputs) / n,
        truncation_rate=sum(o.truncated for o in outputs) / n,
        format_pass_rate=sum(s.format.passed for s in has_rules) / len(has_rules) if has_rules else None,
        format_checks={name: sum(v) / len(v) for name, v in check_totals.items()},
        filler_any_rate=sum(s.filler.any for s in scores) / n,
        filler_per_100_words=statistics.fmean(s.filler.per_100_words for s in scores),
        filler_by_category={c: sum(1 for s in scores if s.filler.by_category[c]) / n for c in categories},
        perplexity=corpus["perplexity"], mean_nll_per_token=corpus["mean_nll_per_token"],
        bits_per_byte=corpus["bits_per_byte"], reference_tokens=corpus["tokens"],
    )
