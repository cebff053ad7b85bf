"""Reference-based metrics a suite adds: `evaluate` modules loaded from a local path (no network), or
Python callables named as `module:function`. Each becomes a function (prediction, reference) -> float."""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Callable

from harness.errors import HarnessError
from harness.suite import CustomMetric, Suite

Scorer = Callable[[str, str], "float | None"]


def _finite(value) -> float | None:
    """A score that is not a finite number (NaN, inf) is recorded as missing, not averaged."""
    number = float(value)
    return number if math.isfinite(number) else None


def load_scorer(metric: CustomMetric, suite: Suite, index: int) -> Scorer:
    field = f"metrics.custom[{index}]"
    if metric.evaluate is not None:
        return _evaluate_scorer(metric, suite, field)
    return _callable_scorer(metric, suite, field)


def _evaluate_scorer(metric: CustomMetric, suite: Suite, field: str) -> Scorer:
    import evaluate

    path = suite.resolve(metric.evaluate)
    if not path.exists():
        raise HarnessError(f"{field}.evaluate: {path} not found; expected a local evaluate module "
                           "(a folder with its script, or the .py file)", file=suite.path)
    try:
        module = evaluate.load(str(path))
    except Exception as exc:  # evaluate wraps import and script errors in many types
        raise HarnessError(f"{field}.evaluate: cannot load {path}: {exc}", file=suite.path) from None
    key = metric.key or metric.name

    def score(prediction: str, reference: str) -> float:
        result = module.compute(predictions=[prediction], references=[reference])
        if key not in result:
            raise HarnessError(f"{field}.key: {key!r} is not in the module's result {sorted(result)}",
                               file=suite.path)
        return _finite(result[key])

    return score


def _callable_scorer(metric: CustomMetric, suite: Suite, field: str) -> Scorer:
    module_name, _, attribute = metric.callable.partition(":")
    folder = str(suite.path.parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)  # modules kept next to the suite file import like installed ones
    try:
        function = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise HarnessError(f"{field}.callable: cannot import {metric.callable!r}: {exc}", file=suite.path) from None
    finally:
        if added:
            sys.path.remove(folder)
    if not callable(function):
        raise HarnessError(f"{field}.callable: {metric.callable!r} is not callable", file=suite.path)
    return lambda prediction, reference: _finite(function(prediction, reference))
