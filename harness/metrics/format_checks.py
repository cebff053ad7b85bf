"""Format adherence family: deterministic, verifiable checks, each returning value, pass and reason.

Checks are looked up by name in CHECKS. Parameters are validated when the suite is validated, so a bad
rule fails before any model loads. Regexes from suites run with a time limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import regex
from pydantic import BaseModel

from harness.metrics.length import words

REGEX_SECONDS = 1.0


class CheckResult(BaseModel):
    check: str
    passed: bool
    value: Any = None
    reason: str


class RuleError(ValueError):
    """A rule whose check is unknown or whose parameters are wrong."""


def _need(params: dict, key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in params:
        raise RuleError(f"missing parameter {key!r}")
    if not isinstance(params[key], kind) or isinstance(params[key], bool) and kind is not bool:
        raise RuleError(f"parameter {key!r}: expected {getattr(kind, '__name__', kind)}, got {params[key]!r}")
    return params[key]


def _compile(params: dict) -> regex.Pattern:
    pattern = _need(params, "pattern", str)
    try:
        return regex.compile(pattern, regex.IGNORECASE if params.get("ignore_case") else 0)
    except regex.error as exc:
        raise RuleError(f"invalid regex {pattern!r}: {exc}") from None


def _search(text: str, params: dict) -> regex.Match | None:
    pattern = _compile(params)
    try:
        if params.get("full"):
            return pattern.fullmatch(text.strip(), timeout=REGEX_SECONDS)
        return pattern.search(text, timeout=REGEX_SECONDS)
    except TimeoutError:
        raise RuleError(f"regex {pattern.pattern!r} took over {REGEX_SECONDS}s on one output "
                        "(catastrophic backtracking?); simplify the pattern") from None


def check_regex(text: str, params: dict) -> CheckResult:
    """Passes when the pattern matches (with `negate: true`, when it does not match anywhere)."""
    match = _search(text, params)
    pattern = params["pattern"]
    if params.get("negate"):
        if match:
            return CheckResult(check="regex", passed=False, value=match.group(0),
                               reason=f"contains {match.group(0)!r}, which {pattern!r} forbids")
        return CheckResult(check="regex", passed=True, reason=f"nothing matches forbidden {pattern!r}")
    if match:
        return CheckResult(check="regex", passed=True, value=match.group(0), reason=f"matches {pattern!r}")
    mode = "match the whole output" if params.get("full") else "match"
    return CheckResult(check="regex", passed=False, reason=f"does not {mode} {pattern!r}")


def strip_fences(text: str) -> str:
    """The body of a fenced ```json block when the output is one; the text otherwise."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```") and stripped.count("```") == 2:
        body = stripped[3:-3]
        first_newline = body.find("\n")
        return body[first_newline + 1:] if first_newline >= 0 else body
    return stripped


def check_json(text: str, params: dict) -> CheckResult:
    try:
        value = json.loads(strip_fences(text))
    except json.JSONDecodeError as exc:
        return CheckResult(check="json", passed=False, reason=f"not valid JSON: {exc.msg} at line {exc.lineno} "
                           f"column {exc.colno}")
    return CheckResult(check="json", passed=True, value=type(value).__name__, reason="parses as JSON")


def check_max_words(text: str, params: dict) -> CheckResult:
    limit, count = _need(params, "value", int), words(text)
    return CheckResult(check="max_words", passed=count <= limit, value=count,
                       reason=f"{count} words, at most {limit} allowed")


def check_min_words(text: str, params: dict) -> CheckResult:
    limit, count = _need(params, "value", int), words(text)
    return CheckResult(check="min_words", passed=count >= limit, value=count,
                       reason=f"{count} words, at least {limit} required")


CHECKS: dict[str, Callable[[str, dict], CheckResult]] = {
    "regex": check_regex,
    "json": check_json,
    "max_words": check_max_words,
    "min_words": check_min_words,
}
PARAMETERS: dict[str, set[str]] = {
    "regex": {"pattern", "full", "ignore_case", "negate"},
    "json": set(),
    "max_words": {"value"},
    "min_words": {"value"},
}


def validate_rule(rule: dict) -> None:
    """Raise RuleError unless the rule names a known check with the parameters it needs."""
    name = rule.get("check")
    if name not in CHECKS:
        raise RuleError(f"unknown check {name!r}; expected one of: {', '.join(sorted(CHECKS))}")
    params = {k: v for k, v in rule.items() if k not in {"check", "name"}}
    unknown = set(params) - PARAMETERS[name]
    if unknown:
        raise RuleError(f"check {name!r}: unknown parameter(s) {sorted(unknown)}; expected "
                        f"{sorted(PARAMETERS[name]) or 'none'}")
    CHECKS[name]("", params) if name != "regex" else _compile(params)


def run_rules(text: str, rules: list[dict]) -> list[CheckResult]:
    results = []
    for rule in rules:
        params = {k: v for k, v in rule.items() if k not in {"check", "name"}}
        result = CHECKS[rule["check"]](text, params)
        if rule.get("name"):
            result = result.model_copy(update={"check": rule["name"]})
        results.append(result)
    return results
