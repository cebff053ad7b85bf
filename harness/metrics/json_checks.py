"""Format checks for JSON output: parses, and validates against a JSON Schema (Draft 2020-12).

A fenced ```json block is read as its body. The schema arrives inline: `prepare` loads a schema file
named in the suite before any check runs, so these functions stay pure. An answer nested deeper than
MAX_JSON_DEPTH fails the check with that reason instead of recursing into it.
"""

from __future__ import annotations

import json

from harness.limits import LimitError, check_json_depth
from harness.metrics.check_result import CheckResult, RuleError
from harness.metrics.json_schemas import compile_schema


def strip_fences(text: str) -> str:
    """The body of a fenced code block when the whole output is one; the text otherwise."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```") and stripped.count("```") == 2:
        body = stripped[3:-3]
        newline = body.find("\n")
        return body[newline + 1:] if newline >= 0 else body
    return stripped


def _load(text: str) -> tuple[object, str | None]:
    body = strip_fences(text)
    try:
        check_json_depth(body)
        return json.loads(body), None
    except LimitError as exc:
        return None, str(exc)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except (ValueError, RecursionError) as exc:  # e.g. an integer of over 4,300 digits
        return None, f"not valid JSON: {exc}"


def parses(text: str, params: dict) -> CheckResult:
    value, error = _load(text)
    if error:
        return CheckResult(passed=False, reason=error)
    return CheckResult(passed=True, value=type(value).__name__, reason="parses as JSON")


def matches_schema(text: str, params: dict) -> CheckResult:
    schema = params["schema"]
    if not isinstance(schema, dict):
        raise RuleError(f"parameter 'schema': expected a JSON Schema object or a file path, got {schema!r}")
    validator = compile_schema(json.dumps(schema, sort_keys=True))
    if not text:
        return CheckResult(passed=False, reason="empty output")
    value, error = _load(text)
    if error:
        return CheckResult(passed=False, reason=error)
    try:
        problems = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    except RecursionError:  # compile_schema refuses $ref loops; this is a last guard, never a crash
        return CheckResult(passed=False, reason="the schema recursed too deep on this answer")
    if problems:
        first = problems[0]
        where = "/".join(map(str, first.absolute_path)) or "(root)"
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return CheckResult(passed=False, value=len(problems), reason=f"schema violation at {where}: "
                           f"{first.message}{more}")
    return CheckResult(passed=True, value=0, reason="valid against the schema")
