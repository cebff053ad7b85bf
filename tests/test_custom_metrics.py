"""Suites add reference-based metrics: an `evaluate` module from a local path, or a Python callable."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import MINIMAL_SUITE, write_suite

from harness.checks import prepare
from harness.errors import InputErrors
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
