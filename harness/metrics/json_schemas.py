"""A suite's JSON Schema, checked when the suite is validated and compiled into a validator that cannot
fetch, hang or recurse without bound.

- Draft 2020-12 only; a keyword outside it (a typo such as `requried`, or draft-07's `dependencies`) is an
  error rather than silently ignored.
- Every `$ref` must resolve inside the schema (or to a JSON Schema meta-schema); nothing is fetched.
- `pattern` and `patternProperties` run through the `regex` package with the time limit of every user
  regex (harness/limits.py); a pattern that runs too long is the suite's error (RuleError), as in the
  `regex` check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache

import referencing
import referencing.exceptions
import regex
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema_specifications import REGISTRY
from referencing.jsonschema import DRAFT202012

from harness.limits import REGEX_SECONDS, compile_regex, search
from harness.metrics.check_result import RuleError

# Keywords whose value is one schema, a list of schemas, or a map of name -> schema.
ONE = ("not", "if", "then", "else", "contains", "items", "additionalProperties", "unevaluatedProperties",
       "unevaluatedItems", "propertyNames", "contentSchema")
LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
ANNOTATIONS = {"$schema", "$id", "$anchor", "$dynamicAnchor", "$comment", "$vocabulary", "title", "description",
               "default", "examples", "deprecated", "readOnly", "writeOnly", "contentMediaType", "contentEncoding",
               "minContains", "maxContains"}
KEYWORDS = set(Draft202012Validator.VALIDATORS) | set(ONE) | set(LISTS) | set(MAPS) | ANNOTATIONS


def subschemas(schema: object, pointer: str = "") -> Iterator[tuple[str, dict]]:
    """Every schema object inside `schema` (itself included), with its JSON pointer."""
    if isinstance(schema, dict):  # true / false are schemas with nothing inside
        yield pointer or "/", schema
        for child_pointer, child in _children(schema, pointer, ONE + LISTS + MAPS):
            yield from subschemas(child, child_pointer)


def _children(schema: dict, pointer: str, keywords: tuple[str, ...]) -> Iterator[tuple[str, dict]]:
    for keyword in keywords:
        value = schema.get(keyword)
        if keyword in LISTS and isinstance(value, list):
            items = [(f"{pointer}/{keyword}/{index}", item) for index, item in enumerate(value)]
        elif keyword in MAPS and isinstance(value, dict):
            items = [(f"{pointer}/{keyword}/{name}", item) for name, item in value.items()]
        else:
            items = [(f"{pointer}/{keyword}", value)]
        yield from ((where, item) for where, item in items if isinstance(item, dict))


def _timed_search(pattern: str, text: str) -> bool:
    try:
        return search(compile_regex(pattern), text) is not None
    except TimeoutError:
        raise RuleError(f"JSON Schema pattern {pattern!r} took over {REGEX_SECONDS}s on one output "
                        "(catastrophic backtracking?); simplify the pattern") from None


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _timed_search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, patterns, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _timed_search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator, additional, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [key for key in instance
              if key not in known and not any(_timed_search(pattern, key) for pattern in patterns)]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        listed = ", ".join(repr(extra) for extra in sorted(extras))
        verb = "was" if len(extras) == 1 else "were"
        yield ValidationError(f"Additional properties are not allowed ({listed} {verb} unexpected)")


TimedValidator = validators.extend(Draft202012Validator, {
    "pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional_properties,
})


# Keywords that apply their schema to the same value (not to a nested one): a $ref cycle through these alone
# never ends, whatever the answer.
SAME_VALUE = ("not", "if", "then", "else", "allOf", "anyOf", "oneOf", "dependentSchemas")


@lru_cache(maxsize=32)
def compile_schema(schema_text: str) -> Draft202012Validator:
    """The validator of a schema (given as canonical JSON text, so it can be cached); RuleError names what
    is wrong with the schema."""
    schema = json.loads(schema_text)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise RuleError(f"invalid JSON Schema: {exc.message}") from None
    parts = list(subschemas(schema))
    for pointer, subschema in parts:
        _check_keywords(pointer, subschema)
    if any("unevaluatedProperties" in s for _, s in parts) and any("patternProperties" in s for _, s in parts):
        # jsonschema matches patternProperties with `re` inside unevaluatedProperties, out of reach of a time limit
        raise RuleError("JSON Schema: unevaluatedProperties together with patternProperties is not supported; "
                        "use additionalProperties")
    if isinstance(schema, dict):
        try:
            _check_refs(schema, REGISTRY.resolver_with_root(DRAFT202012.create_resource(schema)), "", set())
        except RecursionError:
            raise RuleError("JSON Schema: its $ref chains are too long to check") from None
    # A registry with no `retrieve`: no remote $ref is ever fetched (jsonschema's default would fetch it).
    return TimedValidator(schema, registry=referencing.Registry())


def _check_keywords(pointer: str, subschema: dict) -> None:
    unknown = sorted(set(subschema) - KEYWORDS)
    if unknown:
        raise RuleError(f"JSON Schema at {pointer}: unknown keyword {unknown[0]!r}; expected a Draft 2020-12 keyword")
    patterns = list(subschema.get("patternProperties", {}))
    if isinstance(subschema.get("pattern"), str):
        patterns.append(subschema["pattern"])
    for pattern in patterns:
        try:
            compile_regex(pattern)
        except regex.error as exc:
            raise RuleError(f"JSON Schema at {pointer}: invalid pattern {pattern!r}: {exc}") from None


def _check_refs(schema: dict, resolver: referencing.Resolver, pointer: str, done: set[int]) -> None:
    """Every $ref resolves (following $id changes of the base URI), and no chain of references comes back
    to where it started without descending into the value."""
    if "$id" in schema and pointer:
        resolver = resolver.in_subresource(DRAFT202012.create_resource(schema))
    _no_cycle(schema, resolver, pointer, set(), done)
    for child_pointer, child in _children(schema, pointer, ONE + LISTS + MAPS):
        _check_refs(child, resolver, child_pointer, done)


def _no_cycle(schema: dict, resolver: referencing.Resolver, pointer: str, path: set[int], done: set[int]) -> None:
    if id(schema) in path:
        raise RuleError(f"JSON Schema at {pointer or '/'}: $ref leads back to itself without descending into the "
                        "value, so validation would never end")
    if id(schema) in done:
        return
    path.add(id(schema))
    for keyword in ("$ref", "$dynamicRef"):
        ref = schema.get(keyword)
        if isinstance(ref, str):
            try:
                resolved = resolver.lookup(ref)
            except referencing.exceptions.Unresolvable:
                raise RuleError(f"JSON Schema at {pointer or '/'}: {keyword} {ref!r} cannot be resolved; expected a "
                                "reference inside the schema (nothing is fetched)") from None
            if isinstance(resolved.contents, dict):
                _no_cycle(resolved.contents, resolved.resolver, f"{pointer}/{keyword}", path, done)
    for child_pointer, child in _children(schema, pointer, SAME_VALUE):
        _no_cycle(child, resolver, child_pointer, path, done)
    path.discard(id(schema))
    done.add(id(schema))
