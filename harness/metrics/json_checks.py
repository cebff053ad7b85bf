"""Format checks for JSON output: parses, and validates against a JSON Schema (Draft 2020-12).

A fenced ```json block is read as its body. The schema arrives inline: `prepare` loads a schema file
named in the suite before any check runs, so these functions stay pure.
"""

from __future__ import annotations

import json
from functools import lru_cache

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from harness.metrics.check_result import CheckResult, RuleError


def strip_fences(text: str) -> str:
    """The body of a fenced code block when the whole output is one; the text otherwise."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```") and stripped.count("```") == 2:
        body = stripped[3:-3]
        newline = body.find("\n")
        return body[newline + 1:] if newline >= 0 else body
    return stripped


def _load(text: str) -> tuple[object, str | None]:
    try:
        return json.loads(strip_fences(text)), None
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"


def parses(text: str, params: dict) -> CheckResult:
    value, error = _load(text)
    if error:
        return CheckResult(passed=False, reason=error)
    return CheckResult(passed=True, value=type(value).__name__, reason="parses as JSON")


@lru_cache(maxsize=32)
def _validator(schema_text: str) -> Draft202012Validator:
    schema = json.loads(schema_text)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise RuleError(f"invalid JSON Schema: {exc.message}") from None
    return Draft202012Validator(schema)


def matches_schema(text: str, params: dict) -> CheckResult:
    schema = params["schema"]
    if not isinstance(schema, dict):
        raise RuleError(f"parameter 'schema': expected a JSON Schema object or a file path, got {schema!r}")
    validator = _validator(json.dumps(schema, sort_keys=True))
    if not text:
        return CheckResult(passed=False, reason="empty output")
    value, error = _load(text)
    if error:
        return CheckResult(passed=False, reason=error)
    problems = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if problems:
        first = problems[0]
        where = "/".join(map(str, first.absolute_path)) or "(root)"
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return CheckResult(passed=False, value=len(problems), reason=f"schema violation at {where}: "
                           f"{first.message}{more}")
    return CheckResult(passed=True, value=0, reason="valid against the schema")
