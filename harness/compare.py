"""Paired comparisons between variants (or runs) over the same examples, and the verdict they support.

Every comparison of two variants runs the paired test of `stats` on each comparable metric. The verdict
rests on one family: the primary comparisons (`PRIMARY_PAIRS`: sft vs system, the question the harness
asks) × the headline metric of each behaviour (`MetricSpec.primary`), Holm-adjusted within that family
only. Every other pair × metric is secondary: its CI and raw p are shown, labelled "secondary, not
adjusted". Outcomes are read from A's side: `win` when A is better on the metric's own direction with
p < 0.05 (adjusted in the primary family) and a CI on the same side, `loss` when worse, `tie` otherwise;
where the CI and the test disagree, `note` says why in words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel

from harness.stats import ALPHA, Kind, PairedResult, holm, paired_test

Outcome = Literal["win", "tie", "loss"]
Family = Literal["primary", "secondary"]
# The verdict's question: did the adapter beat the system prompt? Testing more pairs in the same family
# would divide the level among them: with 3 pairs x 4 behaviours Holm's first step tests at 0.05/12 and a
# real 10-point gain at n = 200 is seen about half as often as alone (docs/metrics.md).
PRIMARY_PAIRS = (("sft", "system"),)
SECONDARY_PAIRS = (("sft", "base"), ("system", "base"), ("sft+system", "sft"), ("sft+system", "system"))
VARIANT_PAIRS = PRIMARY_PAIRS + SECONDARY_PAIRS
HEADLINE = PRIMARY_PAIRS[0]


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
    # The p the outcome is read from: Holm-adjusted within the primary family; a secondary row is a family
    # of one, so its p_adjusted is its raw p. (Runs before schema 1.2 adjusted over every comparison.)
    p_adjusted: float
    outcome: Outcome
    primary: bool  # the metric is its behaviour's headline metric
    family: Family | None = None  # None: a run written before schema 1.2
    family_size: int | None = None  # m, the number of comparisons Holm adjusts over (1 for secondary rows)
    note: str | None = None  # why the outcome reads as it does where the CI alone would suggest otherwise


class BehaviourVerdict(BaseModel):
    behaviour: str
    metric: str
    outcome: Outcome  # for SFT against the system prompt
    delta: float
    ci_low: float
    ci_high: float
    p_adjusted: float
    answer: str
    note: str | None = None
    family_size: int | None = None


def _vectors(pairs: list[tuple], spec: MetricSpec) -> tuple[np.ndarray, np.ndarray] | None:
    kept = [(spec.value(x), spec.value(y)) for x, y in pairs]
    kept = [(x, y) for x, y in kept if x is not None and y is not None]
    if not kept:
        return None
    return np.array([x for x, _ in kept]), np.array([y for _, y in kept])


def _ci_side(stats: PairedResult, better: str) -> Outcome | None:
    """Which side of zero the whole CI lies on, read as a win or loss for A; None when it holds zero."""
    if stats.ci_high < 0:
        return "win" if better == "lower" else "loss"
    if stats.ci_low > 0:
        return "win" if better == "higher" else "loss"
    return None


def outcome_of(stats: PairedResult, p: float, better: str, family_size: int = 1) -> tuple[Outcome, str | None]:
    """The outcome and, where the CI and the test disagree, why in words. A win or loss needs both the
    test (p < 0.05, adjusted over `family_size` comparisons) and the CI of the mean difference on one side:
    a rank test can be significant while one outlier flips the mean, and the CI does not know the family."""
    side = _ci_side(stats, better)
    rejects = p < ALPHA
    if rejects and side:
        return side, None
    if rejects:
        said = f"adjusted p = {p:.2g}" if family_size > 1 else f"p = {p:.2g}"
        return "tie", (f"the paired test rejects ({said}) but the 95% CI of the mean difference includes "
                       f"zero: the ranks and the mean disagree, e.g. a few large differences pull the mean")
    if side is None:
        return "tie", None
    if family_size > 1 and stats.p_value < ALPHA:
        return "tie", (f"the 95% CI excludes zero, but after adjusting for {family_size} comparisons the test "
                       f"does not reject (raw p = {stats.p_value:.2g}, adjusted p = {p:.2g})")
    return "tie", (f"the 95% CI excludes zero, but the paired test does not reject (p = {stats.p_value:.2g}): "
                   f"the two disagree near the edge of significance")


def compare(paired: dict[tuple[str, str], list[tuple]], specs: list[MetricSpec],
            primary_pairs: tuple[tuple[str, str], ...] | None = None,
            behaviours: list[str] | None = None) -> list[Comparison]:
    """`paired` maps (a, b) to per-example (result_a, result_b) tuples. The primary family is every pair of
    `primary_pairs` (default: all of `paired`) × the headline metric of each behaviour in `behaviours`
    (default: every behaviour), Holm-adjusted together; the power note of a primary row is for Holm's
    smallest level, 0.05 / m. Every other row is secondary."""
    primary_pairs = tuple(paired) if primary_pairs is None else primary_pairs
    rows = []
    for (a, b), pairs in paired.items():
        for spec in specs:
            vectors = _vectors(pairs, spec)
            if vectors is not None:
                in_family = (spec.primary and (a, b) in primary_pairs
                             and (behaviours is None or spec.behaviour in behaviours))
                rows.append((a, b, spec, vectors, in_family))
    m = sum(in_family for *_, in_family in rows)
    tested = [(a, b, spec, in_family, paired_test(*vectors, kind=spec.kind, alpha=ALPHA / m if in_family else ALPHA))
              for a, b, spec, vectors, in_family in rows]
    adjusted = iter(holm([stats.p_value for *_, in_family, stats in tested if in_family]))
    comparisons = []
    for a, b, spec, in_family, stats in tested:
        p, size = (next(adjusted), m) if in_family else (stats.p_value, 1)
        outcome, note = outcome_of(stats, p, spec.better, size)
        if outcome != "tie":
            stats = stats.model_copy(update={"power_warning": None})  # the effect was detected after all
        comparisons.append(Comparison(a=a, b=b, metric=spec.key, behaviour=spec.behaviour, label=spec.label,
                                      kind=spec.kind, better=spec.better, stats=stats, p_adjusted=p, outcome=outcome,
                                      primary=spec.primary, family="primary" if in_family else "secondary",
                                      family_size=size, note=note))
    return comparisons


def compare_variants(examples, specs: list[MetricSpec], behaviours: list[str] | None = None) -> list[Comparison]:
    """Every variant pair of VARIANT_PAIRS over the examples of one run; PRIMARY_PAIRS × the headline metrics
    of `behaviours` (default: all) carry the verdict."""
    paired = {(a, b): [(e.variants[a], e.variants[b]) for e in examples] for a, b in VARIANT_PAIRS}
    return compare(paired, specs, primary_pairs=PRIMARY_PAIRS, behaviours=behaviours)


def verdict(comparisons: list[Comparison], a: str = HEADLINE[0], b: str = HEADLINE[1]) -> list[BehaviourVerdict]:
    """Per behaviour of the verdict's family, the headline: did A (the adapter) beat B (the system prompt) on
    its primary metric? (Runs before schema 1.2 had no family: every headline metric of the pair.)"""
    found = []
    for c in comparisons:
        if c.a == a and c.b == b and (c.family == "primary" if c.family is not None else c.primary):
            found.append(BehaviourVerdict(behaviour=c.behaviour, metric=c.metric, outcome=c.outcome,
                                          delta=c.stats.delta, ci_low=c.stats.ci_low, ci_high=c.stats.ci_high,
                                          p_adjusted=c.p_adjusted, answer=_sentence(c, a, b), note=c.note,
                                          family_size=c.family_size))
    return found


def headline(found: list, a: str = HEADLINE[0], b: str = HEADLINE[1]) -> str:
    """The whole verdict in one plain sentence: which behaviours A won, lost and could not tell apart.
    `found` holds A-vs-B rows with a behaviour and an outcome (verdict rows, or primary comparisons)."""
    if not found:
        return ""
    by = {outcome: [v.behaviour for v in found if v.outcome == outcome] for outcome in ("win", "loss", "tie")}
    tested = f"({len(found)} primary comparison{'s' if len(found) != 1 else ''}, Holm-adjusted)"
    if len(by["win"]) == len(found):
        return f"{a} beat {b} on every headline behaviour: {_and(by['win'])} {tested}."
    if len(by["loss"]) == len(found):
        return f"{b} beat {a} on every headline behaviour: {_and(by['loss'])} {tested}."
    if len(by["tie"]) == len(found):
        return f"No clear difference between {a} and {b} on any headline behaviour ({_and(by['tie'])}) {tested}."
    parts = []
    if by["win"]:
        parts.append(f"{a} beat {b} on {_and(by['win'])}")
    if by["loss"]:
        parts.append(f"{b} beat {a} on {_and(by['loss'])}")
    if by["tie"]:
        parts.append(f"no clear difference on {_and(by['tie'])}")
    return "; ".join(parts) + f" {tested}."  # starts with a variant name, kept as written


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _sentence(c: Comparison, a: str, b: str) -> str:
    scale, unit = (100.0, " points") if c.kind == "binary" else (1.0, "")
    adjusted = (f"adjusted p = {c.p_adjusted:.3g} (Holm over {c.family_size})" if (c.family_size or 1) > 1
                else f"p = {c.p_adjusted:.3g}")
    change = (f"{c.label}: {scale * c.stats.mean_a:.3g} vs {scale * c.stats.mean_b:.3g}, "
              f"delta {scale * c.stats.delta:+.3g}{unit} (95% CI {scale * c.stats.ci_low:+.3g} to "
              f"{scale * c.stats.ci_high:+.3g}), {adjusted}")
    said = {"win": f"yes: {a} beat {b}", "loss": f"no: {b} beat {a}",
            "tie": f"no clear difference between {a} and {b}"}[c.outcome]
    return f"{c.behaviour}: {said}. {change}" + (f"; {c.note}." if c.note else "")


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
