"""Sentence boundaries on the labelled hard cases: abbreviations, decimals, ellipses, quotes, lists, URLs."""

from __future__ import annotations

import json
from pathlib import Path

from harness.metrics.sentences import sentence_spans, sentences

CASES = [json.loads(line) for line in
         (Path(__file__).parent / "data" / "sentence_cases.jsonl").read_text(encoding="utf-8").splitlines()]
# The misses docs/metrics.md lists: both are ambiguous to a rule ("I" is always capitalised; "A." is an initial).
KNOWN_MISSES = {"Wait... I think I understand now.", "Plan A. Plan B. Plan C."}


def test_the_labelled_set_is_large_and_varied():
    assert len(CASES) >= 100
    assert {"abbreviation", "decimal", "ellipsis", "quote", "list", "url", "code fence", "empty"} <= \
        {case["kind"] for case in CASES}


def test_counts_agree_with_the_labels_except_the_documented_misses():
    wrong = {case["text"] for case in CASES if sentences(case["text"]) != case["sentences"]}
    assert wrong == KNOWN_MISSES
    assert round(1 - len(wrong) / len(CASES), 3) == 0.983  # the rate docs/metrics.md states (116 of 118)


def test_the_issue_example_is_one_sentence():
    assert sentences("Mr. and Mrs. Jones live on Elm St. now.") == 1


def test_spans_point_into_the_text_without_surrounding_space():
    text = "Sure!  Mr. Smith paid $3.50... then left.\n\n- one\n- two"
    assert [text[a:b] for a, b in sentence_spans(text)] == ["Sure!", "Mr. Smith paid $3.50... then left.",
                                                           "- one", "- two"]


def test_a_very_long_line_is_split_in_linear_time():
    assert sentences("One more sentence here. " * 5_000) == 5_000
