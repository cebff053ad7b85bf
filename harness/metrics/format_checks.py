"""Format adherence family: a registry of deterministic, verifiable checks (in the spirit of IFEval).

Each check is a pure function `(text, params) -> CheckResult` with value, pass and a reason a person can
read. Parameters are validated when the suite is validated, so a bad rule fails before any model loads.
Strict scoring runs a check on the output as written; loose scoring (IFEval's transforms) passes when the
check passes on any of: the output, without markdown emphasis, without its first and/or last line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from harness.metrics import json_checks, text_checks
from harness.metrics.check_result import CheckResult, RuleError

__all__ = ["CHECKS", "CheckResult", "RuleError", "RuleOutcome", "run_rules", "validate_rule", "loose_variants"]


@dataclass(frozen=True)
class Check:
    run: Callable[[str, dict], CheckResult]
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    one_of: frozenset[str] = frozenset()  # exactly one of these must be given


def _spec(run, required=(), optional=(), one_of=()) -> Check:
    return Check(run, frozenset(required), frozenset(optional), frozenset(one_of))


RELATION = ("at_most", "at_least", "exactly")
FLAGS = frozenset({"ignore_case", "full", "negate"})  # a string such as "no" would otherwise count as true
CHECKS: dict[str, Check] = {
    "words": _spec(text_checks.count_words, one_of=RELATION),
    "sentences": _spec(text_checks.count_sentences, one_of=RELATION),
    "paragraphs": _spec(text_checks.count_paragraphs, one_of=RELATION),
    "bullets": _spec(text_checks.count_bullets, one_of=RELATION),
    "sections": _spec(text_checks.count_sections, optional=("marker",), one_of=RELATION),
    "starts_with": _spec(text_checks.starts_with, required=("value",), optional=("ignore_case",)),
    "ends_with": _spec(text_checks.ends_with, required=("value",), optional=("ignore_case",)),
    "must_contain": _spec(text_checks.must_contain, required=("value",), optional=("ignore_case",)),
    "must_not_contain": _spec(text_checks.must_not_contain, required=("value",), optional=("ignore_case", "match")),
    "regex": _spec(text_checks.regex_check, required=("pattern",), optional=("full", "ignore_case", "negate")),
    "lowercase": _spec(text_checks.lowercase),
    "no_commas": _spec(text_checks.no_commas),
    "no_markdown": _spec(text_checks.no_markdown),
    "json": _spec(json_checks.parses),
    "json_schema": _spec(json_checks.matches_schema, required=("schema",)),
}


class RuleOutcome(BaseModel):
    """One rule applied to one output: the strict result, and whether it passed loosely."""

    check: str
    passed: bool
    passed_loose: bool
    value: Any = None
    reason: str


def _params(rule: dict) -> dict:
    return {k: v for k, v in rule.items() if k not in {"check", "name"} and v is not None}


def validate_rule(rule: dict) -> None:
    """Raise RuleError unless the rule names a known check with exactly the parameters it takes."""
    name = rule.get("check")
    spec = CHECKS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise RuleError(f"unknown check {name!r}; expected one of: {', '.join(sorted(CHECKS))}")
    if "name" in rule and not (isinstance(rule["name"], str) and rule["name"].strip()):
        raise RuleError(f"check {name!r}: 'name' must be a non-empty string, got {rule['name']!r}")
    params = _params(rule)
    allowed = spec.required | spec.optional | spec.one_of
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise RuleError(f"check {name!r}: unknown parameter(s) {unknown}; expected {sorted(allowed) or 'none'}")
    missing = sorted(spec.required - set(params))
    if missing:
        raise RuleError(f"check {name!r}: missing parameter {missing[0]!r}")
    if spec.one_of and len(spec.one_of & set(params)) != 1:
        raise RuleError(f"check {name!r}: give exactly one of {', '.join(RELATION)}")
    for flag in sorted(FLAGS & set(params)):
        if not isinstance(params[flag], bool):
            raise RuleError(f"check {name!r}: parameter {flag!r}: expected true or false, got {params[flag]!r}")
    spec.run("", params)  # parameter types and values (e.g. a regex that does not compile) fail here


def loose_variants(text: str) -> list[str]:
    """IFEval's loose transforms: drop markdown emphasis, the first line, the last line, or both."""
    lines = text.split("\n")
    cuts = [text, "\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(), "\n".join(lines[1:-1]).strip()]
    variants = [variant for cut in cuts for variant in (cut, cut.replace("*", ""))]
    return [text] + [v for v in variants[1:] if v.strip()]  # an empty cut would pass every negative check


EMPTY_ANSWER = "empty answer"


def run_rules(text: str, rules: list[dict]) -> list[RuleOutcome]:
    """Every rule on one output. An empty or whitespace-only answer fails every rule, strict and loose (as
    in IFEval): otherwise limits, negated patterns and "no markdown" would all pass on saying nothing."""
    if not text.strip():
        return [RuleOutcome(check=rule.get("name") or rule["check"], passed=False, passed_loose=False,
                            reason=EMPTY_ANSWER) for rule in rules]
    outcomes = []
    loose = loose_variants(text)
    for rule in rules:
        spec, params = CHECKS[rule["check"]], _params(rule)
        strict = spec.run(text, params)
        passed_loose = strict.passed or any(spec.run(variant, params).passed for variant in loose[1:])
        outcomes.append(RuleOutcome(check=rule.get("name") or rule["check"], passed=strict.passed,
                                    passed_loose=passed_loose, value=strict.value, reason=strict.reason))
    return outcomes
