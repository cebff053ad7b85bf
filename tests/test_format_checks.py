"""The format check library: each check explains itself; loose scoring; rules from suites and rows."""

from __future__ import annotations

import json

import pytest
from conftest import MINIMAL_SUITE, write_suite

from harness.errors import InputErrors
from harness.metrics.format_checks import CHECKS, RuleError, loose_variants, run_rules, validate_rule
from harness.scorers import prepare
from harness.suite import load_suite

SCHEMA = {"type": "object", "properties": {"rating": {"type": "integer", "maximum": 5}},
          "required": ["rating"], "additionalProperties": False}


def one(text: str, **rule):
    validate_rule(rule)
    [outcome] = run_rules(text, [rule])
    return outcome


@pytest.mark.parametrize("text, rule, passed, reason", [
    ("one two three", {"check": "words", "at_most": 2}, False, "3 words, at most 2 allowed"),
    ("one two three", {"check": "words", "at_least": 3}, True, "3 words, at least 3 required"),
    ("One. Two. Three.", {"check": "sentences", "exactly": 2}, False, "3 sentences, exactly 2 required"),
    ("para one\n\npara two", {"check": "paragraphs", "at_most": 1}, False, "2 paragraphs, at most 1 allowed"),
    ("- a\n- b\n* c", {"check": "bullets", "exactly": 3}, True, "3 bullets, exactly 3 required"),
    ("SECTION 1\nx\nSECTION 2\ny", {"check": "sections", "exactly": 2}, True,
     "2 sections marked 'SECTION', exactly 2 required"),
    ("Answer: yes", {"check": "starts_with", "value": "Answer:"}, True, "starts with 'Answer:'"),
    ("Yes, done.", {"check": "ends_with", "value": "Done.", "ignore_case": True}, True, "ends with 'Done.'"),
    ("red and blue", {"check": "must_contain", "value": ["red", "green"]}, False, "missing 'green'"),
    ("as an AI", {"check": "must_not_contain", "value": "AI"}, False, "contains forbidden 'AI'"),
    ("Code 42", {"check": "regex", "pattern": r"\d+", "full": True}, False, "does not fully match '\\\\d+'"),
    ("all quiet here", {"check": "lowercase"}, True, "all lowercase"),
    ("a, b, c", {"check": "no_commas"}, False, "2 commas, none allowed"),
    ("## Title\n**bold**", {"check": "no_markdown"}, False, "uses markdown: a heading, bold or italic emphasis"),
    ("Plain words, 2 * 3 = 6.", {"check": "no_markdown"}, True, "plain text, no markdown"),
    ('{"rating": 9}', {"check": "json"}, True, "parses as JSON"),
    ("{rating: 9}", {"check": "json"}, False, "not valid JSON: Expecting property name enclosed in double quotes "
     "at line 1 column 2"),
    ('```json\n{"rating": 4}\n```', {"check": "json_schema", "schema": SCHEMA}, True, "valid against the schema"),
    ('{"rating": 9, "x": 1}', {"check": "json_schema", "schema": SCHEMA}, False,
     "schema violation at (root): Additional properties are not allowed ('x' was unexpected) (+1 more)"),
])
def test_each_check_returns_value_pass_and_reason(text, rule, passed, reason):
    outcome = one(text, **rule)
    assert (outcome.passed, outcome.reason) == (passed, reason)


def test_every_registered_check_is_covered_above():
    covered = {"words", "sentences", "paragraphs", "bullets", "sections", "starts_with", "ends_with", "must_contain",
               "must_not_contain", "regex", "lowercase", "no_commas", "no_markdown", "json", "json_schema"}
    assert set(CHECKS) == covered


def test_loose_scoring_forgives_a_preamble_line_and_emphasis():
    text = "Sure, here it is:\n**{\"rating\": 4}**"
    assert "{\"rating\": 4}" in loose_variants(text)
    outcome = one(text, check="json")
    assert not outcome.passed and outcome.passed_loose


@pytest.mark.parametrize("rule, message", [
    ({"check": "words"}, "give exactly one of at_most, at_least, exactly"),
    ({"check": "words", "at_most": 3, "at_least": 1}, "give exactly one of"),
    ({"check": "words", "at_most": -1}, "expected a whole number >= 0"),
    ({"check": "starts_with"}, "missing parameter 'value'"),
    ({"check": "json", "strict": True}, "unknown parameter(s) ['strict']"),
    ({"check": "json_schema", "schema": {"type": "nonsense"}}, "invalid JSON Schema"),
    ({"check": "regex", "pattern": "("}, "invalid regex"),
])
def test_bad_rules_fail_validation(rule, message):
    with pytest.raises(RuleError) as caught:
        validate_rule(rule)
    assert message in str(caught.value)


def test_schema_files_and_per_example_rules_come_through_prepare(tmp_path):
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    body = MINIMAL_SUITE + "metrics:\n  format:\n    - {check: json_schema, schema: schema.json}\n"
    rows = [{"prompt": "p", "response": "r", "rules": [{"check": "words", "at_most": 1}]}]
    prepared = prepare(load_suite(write_suite(tmp_path, body, rows, rows)))
    assert prepared.rules[0]["schema"] == SCHEMA
    assert prepared.eval.examples[0].rules == [{"check": "words", "at_most": 1}]


def test_bad_per_example_rule_names_the_example(tmp_path):
    rows = [{"id": "e1", "prompt": "p", "response": "r", "rules": [{"check": "words", "most": 1}]}]
    with pytest.raises(InputErrors) as caught:
        prepare(load_suite(write_suite(tmp_path, MINIMAL_SUITE, rows, rows)))
    assert any("example e1: rules[0]: check 'words': unknown parameter(s) ['most']" in line
               for line in caught.value.lines())


def test_missing_schema_file_is_a_validation_error(tmp_path):
    body = MINIMAL_SUITE + "metrics:\n  format:\n    - {check: json_schema, schema: nope.json}\n"
    rows = [{"prompt": "p", "response": "r"}]
    with pytest.raises(InputErrors, match="metrics.format\\[0\\]: schema file .*nope.json not found"):
        prepare(load_suite(write_suite(tmp_path, body, rows, rows)))


def test_catastrophic_regex_is_an_error_not_a_hang():
    with pytest.raises(RuleError, match="took over"):
        run_rules("a" * 40 + "!", [{"check": "regex", "pattern": r"^(a|a)+$"}])


def test_loose_scoring_never_passes_on_an_empty_cut():
    outcome = one("Yes, it works, really, truly.", check="no_commas")
    assert not outcome.passed and not outcome.passed_loose
    assert all(v.strip() for v in loose_variants("single line")[1:])


@pytest.mark.parametrize("text", ["Define the __init__ method first.", "The war ended in\n1945. It was over.",
                                  "Multiply 2 * 3 * 4."])
def test_prose_that_only_looks_like_markdown_passes(text):
    assert one(text, check="no_markdown").passed


@pytest.mark.parametrize("text", ["", "   ", "\n\t\n"])
def test_an_empty_answer_fails_every_check_strict_and_loose(text):
    rules = [{"check": "words", "at_most": 60}, {"check": "sentences", "at_most": 2}, {"check": "no_commas"},
             {"check": "lowercase"}, {"check": "must_not_contain", "value": "cat"}, {"check": "no_markdown"},
             {"check": "regex", "pattern": r"\*\*", "negate": True}, {"check": "json"}]
    outcomes = run_rules(text, rules)
    assert len(outcomes) == len(rules)
    assert all(not o.passed and not o.passed_loose and o.reason == "empty answer" for o in outcomes)


@pytest.mark.parametrize("text", ["[" * 1000 + "]" * 1000, '{"a": ' * 1000 + "1" + "}" * 1000])
@pytest.mark.parametrize("rule", [{"check": "json"}, {"check": "json_schema", "schema": {"type": "array"}}])
def test_json_nested_too_deep_fails_its_check_with_a_reason_instead_of_crashing(text, rule):
    outcome = one(text, **rule)
    assert not outcome.passed and not outcome.passed_loose
    assert outcome.reason == "JSON nested 1000 levels deep; at most 64 are read"


def test_json_within_the_depth_bound_is_still_checked_against_a_recursive_schema():
    schema = {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"$ref": "#"}}]}
    assert one("[" * 64 + "1" + "]" * 64, check="json_schema", schema=schema).passed
    assert not one("[" * 64 + '"x"' + "]" * 64, check="json_schema", schema=schema).passed


def test_an_integer_too_long_to_convert_fails_the_json_check():
    outcome = one("1" * 5000, check="json")
    assert not outcome.passed and outcome.reason.startswith("not valid JSON: Exceeds the limit")


@pytest.mark.parametrize("schema", [
    {"type": "string", "pattern": "^(a|a)+$"},
    {"type": "object", "patternProperties": {"^(a|a)+$": {}}},
    {"type": "object", "patternProperties": {"^(a|a)+$": {}}, "additionalProperties": False},
    {"type": "object", "propertyNames": {"pattern": "^(a|a)+$"}},
])
def test_a_catastrophic_schema_pattern_is_stopped_and_named(schema):
    """jsonschema's own `re` would hang here; our keywords run through the time-limited `regex` package."""
    validate_rule({"check": "json_schema", "schema": schema})
    value = "a" * 40 + "!"
    text = json.dumps(value if schema.get("type") == "string" else {value: 1})
    with pytest.raises(RuleError, match=r"JSON Schema pattern '\^\(a\|a\)\+\$' took over 1.0s"):
        run_rules(text, [{"check": "json_schema", "schema": schema}])


def test_schema_patterns_still_decide_pass_and_fail():
    schema = {"type": "object", "properties": {"id": {"type": "string", "pattern": "^[A-Z]{2}-\\d+$"}},
              "patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": False}
    assert one('{"id": "AB-12", "x-n": 3}', check="json_schema", schema=schema).passed
    assert "does not match" in one('{"id": "ab-12"}', check="json_schema", schema=schema).reason
    assert "'x-n' is not of type" not in one('{"x-n": 3}', check="json_schema", schema=schema).reason
    assert not one('{"x-n": "3"}', check="json_schema", schema=schema).passed
    assert "('other' was unexpected)" in one('{"other": 1}', check="json_schema", schema=schema).reason


@pytest.mark.parametrize("schema", [
    {"$ref": "https://json-schema.org/draft/2020-12/schema"},  # the meta-schema: known, not fetched
    {"$id": "https://x.test/root.json", "$defs": {"s": {"$id": "sub.json", "$defs": {"b": {"type": "string"}},
                                                        "$ref": "#/$defs/b"}}, "$ref": "sub.json"},
    {"$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}}, "$ref": "#/$defs/node"},
])
def test_schemas_whose_refs_resolve_locally_are_accepted(schema):
    validate_rule({"check": "json_schema", "schema": schema})


def test_a_remote_ref_is_never_fetched(monkeypatch):
    import urllib.request

    def refuse(*args, **kwargs):
        raise AssertionError("a schema $ref reached the network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    with pytest.raises(RuleError, match="cannot be resolved"):
        validate_rule({"check": "json_schema", "schema": {"$ref": "http://127.0.0.1:9/schema.json"}})


@pytest.mark.parametrize("rule, message", [
    ({"check": ["words"]}, "unknown check ['words']"),
    ({"check": "words", "at_most": 3, "name": ""}, "'name' must be a non-empty string"),
    ({"check": "words", "at_most": 3, "name": 7}, "'name' must be a non-empty string"),
    ({"check": "regex", "pattern": "a", "full": "yes"}, "parameter 'full': expected true or false"),
])
def test_rule_fields_have_their_types_checked(rule, message):
    with pytest.raises(RuleError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate_rule(rule)


def test_must_not_contain_matches_whole_words_unless_told_substring():
    assert one("a category of things", check="must_not_contain", value="cat").passed
    assert not one("the cat's toy", check="must_not_contain", value="cat").passed
    assert not one("a category", check="must_not_contain", value="cat", match="substring").passed
    assert not one("I write C++ daily", check="must_not_contain", value="c++", ignore_case=True).passed
    assert one("I write C++ daily", check="must_not_contain", value="c++").passed  # case counts unless ignored
    with pytest.raises(RuleError, match="parameter 'match': expected one of word, substring, got 'words'"):
        validate_rule({"check": "must_not_contain", "value": "cat", "match": "words"})


def test_lowercase_needs_a_letter_as_in_ifeval():
    assert not one("42.", check="lowercase").passed
    assert one("42 cats.", check="lowercase").passed
