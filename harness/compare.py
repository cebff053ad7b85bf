"""Paired comparisons between variants (or runs) over the same examples, and the verdict they support.

Every comparison of two variants runs the paired test of `stats` on each comparable metric. The verdict
rests on one family: the suite's primary comparisons (`comparisons:`; default: each adapter's user-only
variant against `system`, today's sft vs system) × the headline metric of each behaviour
(`Metric.headline`), Holm-adjusted within that family only. Every other pair × metric is secondary: its CI
and raw p are shown, labelled "secondary, not adjusted". Outcomes are read from A's side: `win` when A is
better on the metric's own direction with p < 0.05 (adjusted in the primary family) and a CI on the same
side, `loss` when worse, `tie` otherwise; where the CI and the test disagree, `note` says why in words.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel

from harness.metrics.registry import Metric, metrics_for
from harness.stats import ALPHA, Kind, PairedResult, holm, paired_test

Outcome = Literal["win", "tie", "loss"]
Family = Literal["primary", "secondary"]
# The question of a suite that declares no comparisons: did the adapter beat the system prompt? Testing more
# pairs in the same family divides the level among them: with 3 pairs x 4 behaviours Holm's first step tests
# at 0.05/12 and a real 10-point gain at n = 200 is seen about half as often as alone (docs/metrics.md).
HEADLINE = ("sft", "system")


def variant_pairs(names: list[str], primary: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The primary pairs whose variants ran, then every other pair once, the later-declared variant as A."""
    pairs = [pair for pair in primary if pair[0] in names and pair[1] in names]
    covered = {frozenset(pair) for pair in pairs}
    for j, a in enumerate(names):
        for b in names[:j]:
            if frozenset((a, b)) not in covered:
                pairs.append((a, b))
    return pairs


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
    a: str = HEADLINE[0]  # the primary comparison, A against B (runs before schema 1.3: sft against system)
    b: str = HEADLINE[1]
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


def _vectors(pairs: list[tuple], spec: Metric) -> tuple[np.ndarray, np.ndarray] | None:
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


def compare(paired: dict[tuple[str, str], list[tuple]], specs: list[Metric],
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


def compare_variants(examples, specs: list[Metric], names: list[str], primary: list[tuple[str, str]],
                     behaviours: list[str] | None = None) -> list[Comparison]:
    """Every pair of the variants `names` over the examples of one run; the `primary` pairs × the headline
    metrics of `behaviours` (default: all) carry the verdict."""
    paired = {(a, b): [(e.variants[a], e.variants[b]) for e in examples] for a, b in variant_pairs(names, primary)}
    return compare(paired, specs, primary_pairs=tuple(primary), behaviours=behaviours)


def verdict(comparisons: list[Comparison]) -> list[BehaviourVerdict]:
    """Per primary comparison and behaviour of the verdict's family: did A beat B on its headline metric?
    (Runs before schema 1.2 had no family: every headline metric of sft against system.)"""
    found = []
    for c in comparisons:
        in_family = c.family == "primary" if c.family is not None else c.primary and (c.a, c.b) == HEADLINE
        if in_family:
            found.append(BehaviourVerdict(a=c.a, b=c.b, behaviour=c.behaviour, metric=c.metric, outcome=c.outcome,
                                          delta=c.stats.delta, ci_low=c.stats.ci_low, ci_high=c.stats.ci_high,
                                          p_adjusted=c.p_adjusted, answer=_sentence(c, c.a, c.b), note=c.note,
                                          family_size=c.family_size))
    return found


def outside_verdict(comparisons: list[Comparison]) -> list[str]:
    """The headline behaviours a suite's `verdict.behaviours` leaves out, on the verdict's own comparisons: one
    sentence each, from the secondary row (raw p, not adjusted)."""
    pairs = {(c.a, c.b) for c in comparisons if c.family == "primary"}
    return [_sentence(c, c.a, c.b) for c in comparisons
            if c.family == "secondary" and c.primary and (c.a, c.b) in pairs]


def headlines(found: list) -> list[str]:
    """One sentence per primary comparison, in order (see `headline`)."""
    pairs = list(dict.fromkeys((v.a, v.b) for v in found))
    return [headline([v for v in found if (v.a, v.b) == pair], *pair) for pair in pairs]


def headline(found: list, a: str = HEADLINE[0], b: str = HEADLINE[1]) -> str:
    """The whole verdict in one plain sentence: which behaviours A won, lost and could not tell apart.
    `found` holds A-vs-B rows with a behaviour and an outcome (verdict rows, or primary comparisons)."""
    if not found:
        return ""
    by = {outcome: [v.behaviour for v in found if v.outcome == outcome] for outcome in ("win", "loss", "tie")}
    size = getattr(found[0], "family_size", None)  # None: a run before schema 1.2, adjusted over every row
    m = size or len(found)  # several primary pairs share one family
    tested = ("(1 primary comparison, tested alone at 0.05)" if size == 1 else
              f"({m} primary comparison{'s' if m != 1 else ''}, Holm-adjusted)")
    if len(found) == 1:  # the one behaviour the verdict tests
        outcome = found[0].outcome
        said = {"win": f"{a} beat {b} on", "loss": f"{b} beat {a} on",
                "tie": f"No clear difference between {a} and {b} on"}
        return f"{said[outcome]} {found[0].behaviour} {tested}."
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
        # The filler lexicon: another version finds other filler in the same answers (older manifests: None).
        ("filler lexicon", lambda m: {k: v for k, v in (m.get("lexicon") or {}).items() if k in ("name", "version")}),
        # --variants and --limit: a run of a subset is not the run it would be compared with.
        ("selection (--variants, --limit)", lambda m: m.get("selection") or {"variants": None, "limit": None}),
    )
    for what, read in checks:
        if read(a_manifest) != read(b_manifest):
            problems.append(f"the {what} differs")
    # Alike in name and version, a suite's extension may still differ in its phrases (manifests from 1.7 on).
    digests = [(m.get("lexicon") or {}).get("sha256") for m in (a_manifest, b_manifest)]
    if all(digests) and digests[0] != digests[1] and "the filler lexicon differs" not in problems:
        problems.append("the filler lexicon's phrases differ")
    return problems


def family_line(suite) -> str:
    """What the verdict will test, in one line for `harness validate`: its comparisons, its behaviours, the
    level the first test runs at, and a hint where the default family of every headline behaviour costs power."""
    declared = suite.verdict.behaviours
    behaviours = list(dict.fromkeys(m.behaviour for m in specs_for(suite.model_dump(mode="json"))
                                    if m.in_verdict(declared)))
    pairs = [f"{a} vs {b}" for a, b in suite.primary_pairs()]
    if not pairs:
        return "no verdict (no adapter variant against a system-prompted one)"
    size = len(pairs) * len(behaviours)
    level = "at the full 0.05" if size == 1 else f"Holm over {size}, the first test at 0.05 / {size}"
    alone = "at the full 0.05" if len(pairs) == 1 else f"at 0.05 / {len(pairs)}, once per comparison"
    hint = (f"; naming the behaviour the adapter is for in verdict.behaviours tests it {alone}"
            if declared is None and len(behaviours) > 1 else "")
    return f"verdict: {', '.join(pairs)} on {', '.join(behaviours)} ({level}){hint}"


def specs_for(settings: dict) -> list[Metric]:
    """The metrics compared between variants: built-in and custom (harness/metrics/registry.py)."""
    return [metric for metric in metrics_for(settings) if metric.compared]


def run_against_run(a, b, label_a: str, label_b: str, variants: list[str]) -> list[Comparison]:
    """Run B against run A (two Results over the same example ids), variant by variant: each compared
    variant's headline metrics form the primary family."""
    by_id = {e.id: e for e in b.examples}
    aligned = [by_id[e.id] for e in a.examples]
    paired = {(f"{label_b}·{v}", f"{label_a}·{v}"): [(y.variants[v], x.variants[v])
                                                    for x, y in zip(a.examples, aligned, strict=True)]
              for v in variants}
    settings = a.manifest.settings()
    return compare(paired, specs_for(settings), behaviours=(settings.get("verdict") or {}).get("behaviours"))
