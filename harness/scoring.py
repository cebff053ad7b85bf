"""Scores per example and per variant, and their distributions. Pure: outputs in, records out."""

from __future__ import annotations

import math
import statistics

from pydantic import BaseModel

from harness.examples import Example
from harness.generation import Output
from harness.metrics.filler import FillerScores, filler_scores
from harness.metrics.format_checks import RuleOutcome, run_rules
from harness.metrics.length import LengthScores, length_scores
from harness.metrics.lexicon import Lexicon
from harness.metrics.perplexity import PerplexityScores, ReferenceScore
from harness.metrics.registry import statistic


class FormatScores(BaseModel):
    passed: bool | None  # every check of this example passed, strictly (prompt-level); None without checks
    passed_loose: bool | None
    checks: list[RuleOutcome]


class Scores(BaseModel):
    length: LengthScores
    format: FormatScores
    filler: FillerScores
    perplexity: PerplexityScores
    custom: dict[str, float | None] = {}  # None: the metric gave no finite value for this output


class Distribution(BaseModel):
    n: int
    mean: float | None
    median: float | None
    p90: float | None
    min: float | None
    max: float | None


class FormatSummary(BaseModel):
    """IFEval's four accuracies: prompt-level (all checks of an example) and instruction-level (each check)."""

    examples_with_checks: int
    prompt_strict: float | None
    prompt_loose: float | None
    instruction_strict: float | None
    instruction_loose: float | None
    by_check: dict[str, float]  # strict pass rate per check name
    by_check_loose: dict[str, float]


class VariantSummary(BaseModel):
    words: Distribution
    tokens: Distribution
    characters: Distribution
    sentences: Distribution
    log_ratio_to_reference: Distribution
    stop_rate: float
    truncation_rate: float
    empty_rate: float = 0.0  # answers that are empty or only whitespace
    format: FormatSummary
    filler_any_rate: float
    filler_per_100_words: float
    filler_by_category: dict[str, float]  # share of outputs with a hit in each category
    perplexity: float | None  # corpus, token-weighted
    mean_nll_per_token: float | None
    bits_per_byte: float | None
    reference_tokens: int
    prompt_tokens: Distribution
    custom: dict[str, Distribution] = {}


def score_output(example: Example, output: Output, suite_rules: list[dict], lexicon: Lexicon,
                 reference: ReferenceScore, custom: dict[str, float | None] | None = None) -> Scores:
    checks = run_rules(output.text, suite_rules + example.rules)
    return Scores(
        length=length_scores(output.text, output.tokens, output.truncated, example.response),
        format=FormatScores(passed=all(c.passed for c in checks) if checks else None,
                            passed_loose=all(c.passed_loose for c in checks) if checks else None, checks=checks),
        filler=filler_scores(output.text, lexicon, output.truncated, example.prompt),
        perplexity=PerplexityScores(mean_nll=reference.mean_nll, perplexity=math.exp(min(reference.mean_nll, 700.0)),
                                    tokens=reference.tokens),
        custom=custom or {},
    )


def distribution(values: list[float]) -> Distribution:
    values = [v for v in values if v is not None]
    if not values:
        return Distribution(n=0, mean=None, median=None, p90=None, min=None, max=None)
    ordered = sorted(values)
    return Distribution(n=len(values), mean=statistics.fmean(values), median=statistics.median(ordered),
                        p90=statistic(ordered, "p90"), min=ordered[0], max=ordered[-1])


def _rate(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def format_summary(scores: list[Scores]) -> FormatSummary:
    checked = [s.format for s in scores if s.format.checks]
    outcomes = [c for f in checked for c in f.checks]
    by_check: dict[str, list[RuleOutcome]] = {}
    for outcome in outcomes:
        by_check.setdefault(outcome.check, []).append(outcome)
    return FormatSummary(
        examples_with_checks=len(checked),
        prompt_strict=_rate([f.passed for f in checked]), prompt_loose=_rate([f.passed_loose for f in checked]),
        instruction_strict=_rate([c.passed for c in outcomes]),
        instruction_loose=_rate([c.passed_loose for c in outcomes]),
        by_check={name: _rate([c.passed for c in group]) for name, group in by_check.items()},
        by_check_loose={name: _rate([c.passed_loose for c in group]) for name, group in by_check.items()},
    )


def summarise_variant(outputs: list[Output], scores: list[Scores], corpus: dict,
                      prompt_tokens: list[int]) -> VariantSummary:
    n = len(scores)
    categories = list(scores[0].filler.by_category) if scores else []
    custom_names = list(scores[0].custom) if scores else []
    return VariantSummary(
        words=distribution([s.length.words for s in scores]),
        tokens=distribution([s.length.tokens for s in scores]),
        characters=distribution([s.length.characters for s in scores]),
        sentences=distribution([s.length.sentences for s in scores]),
        log_ratio_to_reference=distribution([s.length.log_ratio_to_reference for s in scores]),
        stop_rate=sum(o.stopped for o in outputs) / n,
        truncation_rate=sum(o.truncated for o in outputs) / n,
        empty_rate=sum(not o.text.strip() for o in outputs) / n,
        format=format_summary(scores),
        filler_any_rate=sum(s.filler.any for s in scores) / n,
        filler_per_100_words=statistics.fmean(s.filler.per_100_words for s in scores),
        filler_by_category={c: sum(1 for s in scores if s.filler.by_category[c]) / n for c in categories},
        perplexity=corpus["perplexity"], mean_nll_per_token=corpus["mean_nll_per_token"],
        bits_per_byte=corpus["bits_per_byte"], reference_tokens=corpus["tokens"],
        prompt_tokens=distribution(prompt_tokens),
        custom={name: distribution([s.custom[name] for s in scores]) for name in custom_names},
    )


class PromptTax(BaseModel):
    """What the system prompt costs on every request, and the adapter does not."""

    base_prompt_tokens: float  # mean rendered prompt tokens without the system prompt
    system_prompt_tokens: float  # mean with it
    extra_tokens_per_request: float
    extra_fraction: float
    statement: str


def prompt_tax(base: Distribution, system: Distribution, what: str = "the system prompt") -> PromptTax:
    """`what` (the system prompt, or a named or few-shot prompt) costs every request this many tokens."""
    extra = system.mean - base.mean
    fraction = extra / base.mean if base.mean else 0.0
    return PromptTax(base_prompt_tokens=base.mean, system_prompt_tokens=system.mean, extra_tokens_per_request=extra,
                     extra_fraction=fraction,
                     statement=f"{what[0].upper() + what[1:]} adds {extra:.1f} prompt tokens to every request "
                               f"(+{100 * fraction:.0f}% input); the adapter adds none.")
