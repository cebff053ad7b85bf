"""Suites add reference-based metrics: an `evaluate` module from a local path, or a Python callable."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import MINIMAL_SUITE, write_suite

from harness.errors import HarnessError, InputErrors
from harness.scorers import prepare
from harness.suite import load_suite

METRICS = Path(__file__).parent / "data" / "metrics"
ROWS = [{"prompt": "What is the capital of France?", "response": "Paris is the capital"}]


def _suite(tmp_path, custom: str):
    shutil.copytree(METRICS, tmp_path / "metrics")
    return load_suite(write_suite(tmp_path, MINIMAL_SUITE + "metrics:\n  custom:\n" + custom, ROWS, ROWS))


def test_evaluate_module_from_a_local_path(tmp_path):
    suite = _suite(tmp_path, "    - {name: word_overlap, evaluate: metrics/word_overlap, better: higher}\n")
    score = prepare(suite).custom["word_overlap"]
    assert score("the capital is Paris", "Paris is the capital") == 1.0
    assert score("Lyon", "Paris is the capital") == 0.0


def test_python_callable_next_to_the_suite(tmp_path):
    suite = _suite(tmp_path, "    - {name: exact, callable: 'metrics.house_metrics:exact_match', kind: binary}\n")
    score = prepare(suite).custom["exact"]
    assert score(" paris ", "Paris") == 1.0 and score("Lyon", "Paris") == 0.0


@pytest.mark.parametrize("custom, message", [
    ("    - {name: x, callable: 'metrics.house_metrics:missing'}\n", "metrics.custom[0].callable: cannot import"),
    ("    - {name: x, callable: 'metrics.house_metrics:NOT_CALLABLE'}\n", "is not callable"),
    ("    - {name: x, evaluate: metrics/nowhere}\n", "metrics.custom[0].evaluate:"),
])
def test_bad_extensions_fail_at_validate(tmp_path, custom, message):
    with pytest.raises(InputErrors, match=message.replace("[", "\\[").replace("]", "\\]")):
        prepare(_suite(tmp_path, custom))


def test_an_extension_needs_exactly_one_source(tmp_path):
    with pytest.raises(InputErrors, match="give exactly one of 'evaluate'"):
        _suite(tmp_path, "    - {name: x}\n")


def test_a_non_finite_score_is_recorded_as_missing(tmp_path):
    (tmp_path / "nan_metric.py").write_text("def score(prediction, reference):\n    return float('nan')\n")
    suite = _suite(tmp_path, "    - {name: broken, callable: 'nan_metric:score'}\n")
    assert prepare(suite).custom["broken"]("a", "b") is None


def test_numpy_and_boolean_scores_are_numbers(tmp_path):
    (tmp_path / "typed_metric.py").write_text("import numpy\ndef f32(p, r):\n    return numpy.float32(0.5)\n"
                                              "def same(p, r):\n    return p == r\n")
    suite = _suite(tmp_path, "    - {name: a, callable: 'typed_metric:f32'}\n"
                             "    - {name: b, callable: 'typed_metric:same', kind: binary}\n")
    custom = prepare(suite).custom
    assert custom["a"]("x", "y") == 0.5 and custom["b"]("x", "x") == 1.0 and custom["b"]("x", "y") == 0.0


def test_a_metric_that_fails_only_on_some_answers_is_one_line_at_scoring(tmp_path):
    """Loading calls the metric once on a reference; an answer that breaks it later names the metric."""
    (tmp_path / "picky_metric.py").write_text("def score(p, r):\n    return 1.0 if p == r else 'n/a'\n")
    score = prepare(_suite(tmp_path, "    - {name: picky, callable: 'picky_metric:score'}\n")).custom["picky"]
    assert score("same", "same") == 1.0
    with pytest.raises(HarnessError, match=r"metrics.custom\[0\]: the metric returned 'n/a'; expected a number"):
        score("other", "same")


def test_no_custom_code_refuses_before_importing(tmp_path):
    (tmp_path / "loud_metric.py").write_text("raise SystemExit('imported')\n")
    suite = _suite(tmp_path, "    - {name: loud, callable: 'loud_metric:score'}\n")
    with pytest.raises(HarnessError, match="refused by --no-custom-code"):
        prepare(suite, custom_code=False)
