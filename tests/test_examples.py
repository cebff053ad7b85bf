"""Example loading: both row shapes, field mapping, `datasets` sources, duplicates."""

from __future__ import annotations

import json

import pytest
from conftest import MINIMAL_SUITE, write_suite

from harness.errors import InputErrors
from harness.examples import load_examples
from harness.suite import load_suite


def test_both_shapes_become_the_same_examples(tmp_path):
    rows = [{"instruction": "Summarise.", "input": "A long text.", "output": "Short."},
            {"id": "q2", "prompt": "What is 2+2?", "response": "4.", "rules": [{"check": "max_words", "value": 3}]}]
    suite = load_suite(write_suite(tmp_path, MINIMAL_SUITE, rows, rows))
    examples = load_examples(suite, "train").examples
    assert examples[0].prompt == "Summarise.\n\nA long text." and examples[0].response == "Short."
    assert examples[0].id == "train-00001"
    assert examples[1].id == "q2" and examples[1].rules == [{"check": "max_words", "value": 3}]


def test_field_mapping_and_a_datasets_source(tmp_path):
    folder = tmp_path / "my_dataset"
    folder.mkdir()
    rows = [{"question": f"Q{i}?", "answer": f"A{i}.", "key": f"k{i}"} for i in range(5)]
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    body = MINIMAL_SUITE.replace(
        "train: {path: train.jsonl}",
        "train: {dataset: my_dataset, split: train, limit: 3, fields: {prompt: question, response: answer, id: key}}")
    suite = load_suite(write_suite(tmp_path, body, None, rows[:1] and [{"prompt": "x", "response": "y"}]))
    examples = load_examples(suite, "train")
    assert [e.id for e in examples.examples] == ["k0", "k1", "k2"]
    assert examples.examples[2].prompt == "Q2?" and examples.examples[2].response == "A2."


def test_content_hash_ignores_where_data_lives(tmp_path):
    rows = [{"prompt": "p", "response": "r"}]
    one = tmp_path / "one"
    two = tmp_path / "two"
    one.mkdir()
    two.mkdir()
    first = load_examples(load_suite(write_suite(one, MINIMAL_SUITE, rows, rows)), "eval")
    second = load_examples(load_suite(write_suite(two, MINIMAL_SUITE, rows, rows)), "eval")
    assert first.source != second.source and first.content_hash == second.content_hash


def test_duplicate_ids_are_reported_with_both_lines(tmp_path):
    rows = [{"id": "a", "prompt": "p", "response": "r"}, {"id": "a", "prompt": "q", "response": "s"}]
    suite = load_suite(write_suite(tmp_path, MINIMAL_SUITE, rows, rows))
    with pytest.raises(InputErrors, match="eval.jsonl:2: duplicate id 'a' \\(first at 1\\)"):
        load_examples(suite, "eval")
