"""Gates: declared checks that decide whether an adapter ships, evaluated from saved results.

Grammar (one gate per string; no eval, a small regex parser):

    absolute  VARIANT.METRIC[.STAT] OP NUMBER
              sft.format_pass >= 0.95
    relative  VARIANT.METRIC[.STAT] OP [NUMBER *] VARIANT.METRIC[.STAT] [+|- NUMBER]
              sft.words.median <= 0.7 * base.words.median
    paired    VARIANT.METRIC not worse than VARIANT [within MARGIN]
              sft.format_pass not worse than system within 0.02
    baseline  VARIANT.METRIC not worse than baseline [within MARGIN]
              sft.format_pass not worse than baseline within 0.03

OP is one of <= >= < >. STAT is mean (default), median, p90, min or max; pass/fail metrics read as rates.
The two "not worse" forms are non-inferiority tests on the same examples: they pass when the 95% paired
CI of (variant - other) stays above -MARGIN (below +MARGIN for lower-is-better metrics).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from harness.errors import HarnessError
from harness.metrics.registry import CANARY, CORPUS, STATS, Metric, metrics_for, statistic
from harness.results import GateReport, GateResult
from harness.stats import paired_test

OPERATORS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
NAME = r"[a-z][a-z0-9_+-]*"  # a variant name (harness/suite.py)
SUBJECT = rf"(?P<{{p}}variant>{NAME})\.(?P<{{p}}metric>custom\.\w+|\w+)(?:\.(?P<{{p}}stat>{'|'.join(STATS)}))?"
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
ABSOLUTE = re.compile(rf"^{SUBJECT.format(p='')}\s*(?P<op><=|>=|<|>)\s*(?P<bound>{NUMBER})$")
RELATIVE = re.compile(rf"^{SUBJECT.format(p='')}\s*(?P<op><=|>=|<|>)\s*(?:(?P<factor>{NUMBER})\s*\*\s*)?"
                      rf"{SUBJECT.format(p='ref_')}\s*(?:(?P<sign>[-+])\s*(?P<offset>{NUMBER}))?$")
NOT_WORSE = re.compile(rf"^{SUBJECT.format(p='')}\s+not\s+worse\s+than\s+(?P<other>{NAME})"
                       rf"(?:\s+within\s+(?P<margin>{NUMBER}))?$")  # the margin is required; see parse_gate

Kind = Literal["absolute", "relative", "paired", "baseline"]


class GateError(ValueError):
    """A gate that does not parse, or names an unknown variant or metric."""


@dataclass(frozen=True)
class Gate:
    text: str
    kind: Kind
    variant: str
    metric: str
    stat: str
    op: str = ">="
    bound: float = 0.0
    factor: float = 1.0
    offset: float = 0.0
    ref_variant: str | None = None
    ref_metric: str | None = None
    ref_stat: str = "mean"
    margin: float = 0.0

    @property
    def subject(self) -> str:
        """Everything but the numbers: a CLI gate replaces a suite gate with the same subject, e.g.
        `sft.format_pass >= 0.99` replaces `sft.format_pass >= 0.95`, but not `sft.format_pass <= 1`."""
        reference = f"{self.ref_variant}.{self.ref_metric}.{self.ref_stat}" if self.kind == "relative" else \
            self.ref_variant or ""
        return f"{self.kind}:{self.variant}.{self.metric}.{self.stat}:{self.op}:{reference}"


def metric_specs(custom: list[dict]) -> dict[str, Metric]:
    """Every metric a gate may name (harness/metrics/registry.py): the answers' metrics, the suite's custom
    ones and the canary panel's."""
    return {metric.key: metric for metric in [*metrics_for({"metrics": {"custom": custom}}), *CANARY]}


def _rows(results, spec: Metric) -> list:
    """The items a metric is read from: the eval examples, or a panel's own items."""
    if spec.panel == "canary":
        return results.canary.items if results.canary is not None else []
    return results.examples


def _missing(results, spec: Metric, variants: list[str]) -> str | None:
    """Why a gate cannot read its metric from these results, or None."""
    if spec.panel == "canary":
        if results.canary is None:
            return "the run has no canary panel (panels: {canary: {}} in the suite)"
        absent = [v for v in variants if v not in results.canary.variants]
        if absent:
            return (f"the canary panel ran on {', '.join(results.canary.variants)}, not on {', '.join(absent)} "
                    "(it runs on variants with no prompt arm)")
    return None


def suite_gate_errors(suite) -> list[HarnessError]:
    """Each of the suite's gates parses and names a declared variant and a known metric."""
    specs = metric_specs([m.model_dump() for m in suite.metrics.custom])
    names = [v.name for v in suite.variant_specs()]
    errors = []
    for index, text in enumerate(suite.gates):
        try:
            parse_gate(text, specs, names)
        except GateError as exc:
            errors.append(HarnessError(f"gates[{index}]: {exc}", file=suite.path, where=suite.line_of("gates", index)))
    return errors


def parse_gate(text: str, specs: dict[str, Metric], variants: list[str]) -> Gate:
    """A gate read from its text; its variants must be among `variants` (the suite's declared names)."""
    text = " ".join(text.split())
    if match := NOT_WORSE.match(text):
        other = match["other"]
        kind: Kind = "baseline" if other == "baseline" else "paired"
        if match["margin"] is None or float(match["margin"]) <= 0:
            raise GateError(f"{text!r}: a non-inferiority gate needs 'within MARGIN' with a margin above 0 "
                            "(in the metric's units; pass/fail metrics are rates, 0.02 = 2 points)")
        gate = Gate(text, kind, match["variant"], match["metric"], match["stat"] or "mean", ref_variant=other,
                    margin=float(match["margin"]))
        if match["stat"] not in (None, "mean"):
            raise GateError(f"{text!r}: 'not worse than' compares means; drop .{match['stat']}")
    elif match := ABSOLUTE.match(text):
        gate = Gate(text, "absolute", match["variant"], match["metric"], match["stat"] or "mean", op=match["op"],
                    bound=float(match["bound"]))
    elif match := RELATIVE.match(text):
        offset = float(match["offset"] or 0.0) * (-1 if match["sign"] == "-" else 1)
        gate = Gate(text, "relative", match["variant"], match["metric"], match["stat"] or "mean", op=match["op"],
                    factor=float(match["factor"] or 1.0), offset=offset, ref_variant=match["ref_variant"],
                    ref_metric=match["ref_metric"], ref_stat=match["ref_stat"] or "mean")
    else:
        raise GateError(f"{text!r} does not parse; expected e.g. 'sft.format_pass >= 0.95', "
                        "'sft.words.median <= 0.7 * base.words.median' or "
                        "'sft.format_pass not worse than system within 0.02'")
    _check_names(gate, specs, variants)
    return gate


def _check_names(gate: Gate, specs: dict[str, Metric], variants: list[str]) -> None:
    for variant in filter(None, (gate.variant, gate.ref_variant)):
        if variant not in variants and not (variant == "baseline" and gate.kind == "baseline"):
            raise GateError(f"{gate.text!r}: unknown variant {variant!r}; expected one of "
                            f"{', '.join(variants)}")
    corpus = {metric.key for metric in CORPUS}
    for metric in filter(None, (gate.metric, gate.ref_metric)):
        if metric not in specs and metric not in corpus:
            raise GateError(f"{gate.text!r}: unknown metric {metric!r}; expected one of "
                            f"{', '.join([*sorted(specs), *sorted(corpus)])}")
    if gate.kind in ("paired", "baseline") and gate.metric in corpus:
        raise GateError(f"{gate.text!r}: {gate.metric} is a corpus figure; use an example-level metric "
                        "(reference_nll for perplexity) for a paired gate")


def merge_gates(suite_gates: list[str], cli_gates: list[str], specs: dict[str, Metric],
                variants: list[str]) -> list[Gate]:
    """Every suite gate, except those a CLI gate with the same subject replaces; other CLI gates are added."""
    merged = [parse_gate(t, specs, variants) for t in suite_gates]
    for gate in (parse_gate(t, specs, variants) for t in cli_gates):
        kept = [g for g in merged if g.subject != gate.subject]
        if len(kept) < len(merged):
            index = next(i for i, g in enumerate(merged) if g.subject == gate.subject)
            merged = kept[:index] + [gate] + kept[index:]
        else:
            merged.append(gate)
    return merged


def _aggregate(results, variant: str, metric: str, stat: str, specs: dict[str, Metric]) -> float | None:
    corpus = {m.key: m for m in CORPUS}
    if metric in corpus:
        return corpus[metric].value(results.summary[variant])
    spec = specs[metric]
    if _missing(results, spec, [variant]):
        return None
    return statistic(spec.values([e.variants[variant] for e in _rows(results, spec)]), stat)


def evaluate_gate(gate: Gate, results, specs: dict[str, Metric], baseline=None) -> GateResult:
    if gate.kind in ("absolute", "relative"):
        measured = _aggregate(results, gate.variant, gate.metric, gate.stat, specs)
        if gate.kind == "absolute":
            bound = gate.bound
        else:
            reference = _aggregate(results, gate.ref_variant, gate.ref_metric, gate.ref_stat, specs)
            bound = None if reference is None else gate.factor * reference + gate.offset
        if measured is None or bound is None:
            missing = [_missing(results, specs[m], [v]) for v, m in ((gate.variant, gate.metric),
                                                                     (gate.ref_variant, gate.ref_metric))
                       if v is not None and m in specs]
            return GateResult(gate=gate.text, kind=gate.kind, passed=False, measured=measured, bound=bound,
                              detail=next(filter(None, missing),
                                          "no values to measure (e.g. no format rules in this suite)"))
        passed = OPERATORS[gate.op](measured, bound)
        return GateResult(gate=gate.text, kind=gate.kind, passed=passed, measured=measured, bound=bound,
                          detail=f"{gate.variant}.{gate.metric}.{gate.stat} = {measured:.4g}, needs {gate.op} "
                                 f"{bound:.4g}")
    return _non_inferiority(gate, results, specs, baseline)


def _non_inferiority(gate: Gate, results, specs: dict[str, Metric], baseline) -> GateResult:
    spec = specs[gate.metric]
    missing = _missing(results, spec, [gate.variant] + ([gate.ref_variant] if gate.kind == "paired" else []))
    if missing:
        return GateResult(gate=gate.text, kind=gate.kind, passed=False, measured=None, bound=-gate.margin,
                          detail=missing)
    if gate.kind == "baseline":
        if baseline is None:
            return GateResult(gate=gate.text, kind=gate.kind, passed=False, measured=None, bound=-gate.margin,
                              detail="no baseline given (--baseline RUN_DIR or NAME)")
        if gate.variant not in baseline.variants:
            return GateResult(gate=gate.text, kind=gate.kind, passed=False, measured=None, bound=-gate.margin,
                              detail=f"the baseline has no variant {gate.variant!r} (it ran "
                                     f"{', '.join(baseline.variants)})")
        if _missing(baseline, spec, [gate.variant]):
            return GateResult(gate=gate.text, kind=gate.kind, passed=False, measured=None, bound=-gate.margin,
                              detail=f"the baseline: {_missing(baseline, spec, [gate.variant])}")
        other = {e.id: e for e in _rows(baseline, spec)}
        pairs = [(e.variants[gate.variant], other[e.id].variants[gate.variant]) for e in _rows(results, spec)
                 if e.id in other]
        against = f"baseline {gate.variant}"
    else:
        pairs = [(e.variants[gate.variant], e.variants[gate.ref_variant]) for e in _rows(results, spec)]
        against = gate.ref_variant
    kept = [(spec.value(x), spec.value(y)) for x, y in pairs]
    kept = [(x, y) for x, y in kept if x is not None and y is not None]
    if not kept:
        return GateResult(gate=gate.text, kind=gate.kind, passed=False, measured=None, bound=-gate.margin,
                          detail="no values to compare")
    seed = results.manifest.decoding.get("seed", 0)
    stats = paired_test(np.array([x for x, _ in kept]), np.array([y for _, y in kept]), spec.kind, seed=seed)
    if spec.better == "higher":
        passed, bound, side = stats.ci_low > -gate.margin, -gate.margin, "lower"
    else:
        passed, bound, side = stats.ci_high < gate.margin, gate.margin, "upper"
    return GateResult(gate=gate.text, kind=gate.kind, passed=passed, measured=stats.delta, bound=bound,
                      ci_low=stats.ci_low, ci_high=stats.ci_high, n=stats.n,
                      detail=f"{gate.variant} − {against} on {gate.metric}: delta {stats.delta:+.4g}, 95% CI "
                             f"[{stats.ci_low:+.4g}, {stats.ci_high:+.4g}]; the {side} bound must be "
                             f"{'above' if side == 'lower' else 'below'} {bound:+.4g} (n={stats.n})")


def evaluate_gates(gates: list[Gate], results, specs: dict[str, Metric], baseline=None,
                   baseline_name: str | None = None, forced: str | None = None) -> GateReport:
    outcomes = [evaluate_gate(g, results, specs, baseline) for g in gates]
    failed = sum(not g.passed for g in outcomes)
    return GateReport(passed=failed == 0, failed=failed, gates=outcomes, baseline=baseline_name, forced=forced)
