"""Paired comparisons between variants (or runs) over the same examples, and the verdict they support.

Every comparison of two variants runs the paired test of `stats` on each comparable metric; Holm's
correction covers the whole family of comparisons in a run. Outcomes are read from A's side: `win` when
A is better on the metric's own direction with adjusted p < 0.05, `loss` when worse, `tie` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel

from harness.stats import ALPHA, Kind, PairedResult, holm, paired_test

Outcome = Literal["win", "tie", "loss"]
VARIANT_PAIRS = (("sft", "system"), ("sft", "base"), ("system", "base"), ("sft+system", "sft"),
                 ("sft+system", "system"))
HEADLINE = ("sft", "system")


@dataclass(frozen=True)
class MetricSpec:
    key: str
    behaviour: str
    label: str
    kind: Kind
    better: Literal["lower", "higher"]
    value: Callable  # VariantResult -> float | bool | None (None: not applicable to this example)
    primary: bool = False  # the metric that answers its behaviour's headline question


def builtin_specs() -> list[MetricSpec]:
    return [
        MetricSpec("words", "length", "words per answer", "continuous", "lower",
                   lambda v: v.scores.length.words, primary=True),
        MetricSpec("tokens", "length", "tokens per answer", "continuous", "lower", lambda v: v.scores.length.tokens),
        MetricSpec("truncated", "length", "truncated at max_new_tokens", "binary", "lower",
                   lambda v: v.output.truncated),
        MetricSpec("format_pass", "format", "all format checks pass (strict)", "binary", "higher",
                   lambda v: v.scores.format.passed, primary=True),
        MetricSpec("format_pass_loose", "format", "all format checks pass (loose)", "binary", "higher",
                   lambda v: v.scores.format.passed_loose),
        MetricSpec("filler_any", "filler", "answers with filler", "binary", "lower",
                   lambda v: bool(v.scores.filler.any), primary=True),
        MetricSpec("filler_per_100_words", "filler", "filler hits per 100 words", "continuous", "lower",
                   lambda v: v.scores.filler.per_100_words),
        MetricSpec("reference_nll", "fit", "reference NLL per token", "continuous", "lower",
                   lambda v: v.scores.perplexity.mean_nll, primary=True),
    ]


def custom_spec(name: str, better: str, kind: Kind) -> MetricSpec:
    return MetricSpec(f"custom.{name}", name, name, kind, better, lambda v: v.scores.custom.get(name),
                      primary=True)


class Comparison(BaseModel):
    a: str
    b: str
    metric: str
    behaviour: str
    label: str
    kind: Kind
    better: Literal["lower", "higher"]
    stats: PairedResult
    p_adjusted: float
    outcome: Outcome
    primary: bool


class BehaviourVerdict(BaseModel):
    behaviour: str
    metric: str
    outcome: Outcome  # for SFT against the system prompt
    delta: float
    ci_low: float
    ci_high: float
    p_adjusted: float
    answer: str


def _vectors(pairs: list[tuple], spec: MetricSpec) -> tuple[np.ndarray, np.ndarray] | None:
    kept = [(spec.value(x), spec.value(y)) for x, y in pairs]
    kept = [(x, y) for x, y in kept if x is not None and y is not None]
    if not kept:
        return None
    return np.array([x for x, _ in kept]), np.array([y for _, y in kept])


def _outcome(stats: PairedResult, p_adjusted: float, better: str) -> Outcome:
    """A win or loss needs both the test (adjusted p < 0.05) and the CI of the mean difference to agree on a
    side: a rank test can be significant while one outlier flips the mean."""
    if p_adjusted >= ALPHA:
        return "tie"
    if stats.ci_high < 0:
        return "win" if better == "lower" else "loss"
    if stats.ci_low > 0:
        return "win" if better == "higher" else "loss"
    return "tie"


def compare(paired: dict[tuple[str, str], list[tuple]], specs: list[MetricSpec], seed: int = 0,
            resamples: int | None = None) -> list[Comparison]:
    """`paired` maps (a, b) to per-example (result_a, result_b) tuples; one family, Holm-adjusted."""
    raw = []
    for (a, b), pairs in paired.items():
        for spec in specs:
            vectors = _vectors(pairs, spec)
            if vectors is None:
                continue
            kwargs = {"resamples": resamples} if resamples else {}
            raw.append((a, b, spec, paired_test(*vectors, kind=spec.kind, seed=seed, **kwargs)))
    adjusted = holm([stats.p_value for *_, stats in raw])
    comparisons = []
    for (a, b, spec, stats), p in zip(raw, adjusted, strict=True):
        outcome = _outcome(stats, p, spec.better)
        if outcome != "tie" and spec.kind == "binary":
            stats = stats.model_copy(update={"power_warning": None})  # the effect was detected after all
        comparisons.append(Comparison(a=a, b=b, metric=spec.key, behaviour=spec.behaviour, label=spec.label,
                                      kind=spec.kind, better=spec.better, stats=stats, p_adjusted=p, outcome=outcome,
                                      primary=spec.primary))
    return comparisons


def compare_variants(examples, specs: list[MetricSpec], seed: int = 0) -> list[Comparison]:
    """Every variant pair of VARIANT_PAIRS over the examples of one run."""
    paired = {(a, b): [(e.variants[a], e.variants[b]) for e in examples] for a, b in VARIANT_PAIRS}
    return compare(paired, specs, seed=seed)


def verdict(comparisons: list[Comparison], a: str = HEADLINE[0], b: str = HEADLINE[1]) -> list[BehaviourVerdict]:
    """Per behaviour, the headline: did A (the adapter) beat B (the system prompt) on its primary metric?"""
    found = []
    for c in comparisons:
        if c.a == a and c.b == b and c.primary:
            found.append(BehaviourVerdict(behaviour=c.behaviour, metric=c.metric, outcome=c.outcome,
                                          delta=c.stats.delta, ci_low=c.stats.ci_low, ci_high=c.stats.ci_high,
                                          p_adjusted=c.p_adjusted, answer=_sentence(c, a, b)))
    return found


def _sentence(c: Comparison, a: str, b: str) -> str:
    scale, unit = (100.0, " points") if c.kind == "binary" else (1.0, "")
    change = (f"{c.label}: {scale * c.stats.mean_a:.3g} vs {scale * c.stats.mean_b:.3g}, "
              f"delta {scale * c.stats.delta:+.3g}{unit} (95% CI {scale * c.stats.ci_low:+.3g} to "
              f"{scale * c.stats.ci_high:+.3g}), adjusted p = {c.p_adjusted:.3g}")
    said = {"win": f"yes: {a} beat {b}", "loss": f"no: {b} beat {a}",
            "tie": f"no clear difference between {a} and {b}"}[c.outcome]
    return f"{c.behaviour}: {said}. {change}"


def comparability_problems(a_manifest: dict, b_manifest: dict) -> list[str]:
    """Why two runs' numbers should not be compared example by example (empty when they can be)."""
    problems = []
    checks = (
        ("base model", lambda m: (m.get("model", {}).get("weights_sha256"))),
        ("eval set", lambda m: m.get("data", {}).get("eval_sha256")),
        ("decoding settings", lambda m: m.get("decoding")),
        # Precision and quantisation move every number a little; older manifests have none (None == None).
        ("precision", lambda m: {k: v for k, v in (m.get("numerics") or {}).items() if k != "notes"} or None),
    )
    for what, read in checks:
        if read(a_manifest) != read(b_manifest):
            problems.append(f"the {what} differs")
    return problems


def specs_for(settings: dict) -> list[MetricSpec]:
    """Built-in metrics plus the custom ones a suite (as recorded in a manifest) declares."""
    custom = settings.get("metrics", {}).get("custom", [])
    return builtin_specs() + [custom_spec(m["name"], m.get("better", "higher"), m.get("kind", "continuous"))
                              for m in custom]
