"""First metrics: length, format rules (regex with a time limit, JSON), filler from the lexicon."""

from __future__ import annotations

import pytest

from harness.metrics.filler import builtin_lexicon_raw, filler_scores, parse_lexicon
from harness.metrics.format_checks import RuleError, check_json, check_regex, run_rules, validate_rule
from harness.metrics.length import length_scores, sentences, words


def test_length_counts():
    scores = length_scores("Paris is the capital. It is in France!", tokens=9, truncated=False, reference="Paris.")
    assert (scores.words, scores.characters, scores.sentences, scores.tokens) == (8, 38, 2, 9)
    assert scores.log_ratio_to_reference == pytest.approx(2.0794, abs=1e-4)
    assert words("don't stop") == 3 and sentences("") == 0


def test_regex_and_negated_regex_explain_themselves():
    assert check_regex("Answer: 42", {"pattern": r"\d+"}).passed
    failed = check_regex("**bold**", {"pattern": r"\*\*", "negate": True})
    assert not failed.passed and failed.reason == "contains '**', which '\\\\*\\\\*' forbids"


def test_catastrophic_regex_is_an_error_not_a_hang():
    with pytest.raises(RuleError, match="took over"):
        check_regex("a" * 40 + "!", {"pattern": r"^(a|a)+$"})


def test_json_check_handles_fences_and_explains_failures():
    assert check_json('```json\n{"a": 1}\n```', {}).passed
    failed = check_json('{"a": 1,}', {})
    assert not failed.passed and "not valid JSON" in failed.reason and "column" in failed.reason


def test_rules_are_validated_and_named():
    with pytest.raises(RuleError, match="missing parameter 'value'"):
        validate_rule({"check": "max_words"})
    with pytest.raises(RuleError, match="unknown parameter"):
        validate_rule({"check": "json", "strict": True})
    [result] = run_rules("one two three", [{"check": "max_words", "value": 2, "name": "short"}])
    assert result.check == "short" and not result.passed and result.reason == "3 words, at most 2 allowed"


def test_filler_positions_and_curly_quotes():
    lexicon = parse_lexicon(builtin_lexicon_raw(), "builtin")
    text = "Certainly! Paris is the capital. I hope this helps!"
    scores = filler_scores(text, lexicon)
    assert scores.any == 1 and scores.by_category["opener"] == 1 and scores.by_category["closer"] == 1
    assert [s.phrase for s in scores.spans] == ["Certainly", "I hope this helps"]
    # An opener phrase in the middle of an answer is not an opener.
    assert filler_scores("The test will fail. Certainly it will.", lexicon).by_category["opener"] == 0
    assert filler_scores("As an AI language model, I can\u2019t browse.", lexicon).by_category["self_reference"] == 1
    assert filler_scores("Make sure the lid is closed.", lexicon).any == 0
