"""Reference-based metrics a suite adds: `evaluate` modules loaded from a local path (no network), or
Python callables named as `module:function`. Each becomes a function (prediction, reference) -> float.

Loading one imports and runs the suite's Python, at `harness validate` too; `--no-custom-code` refuses
such suites (harness/scorers.py). Whatever the code raises or returns becomes one line naming the metric.
"""

from __future__ import annotations

import importlib
import math
import numbers
import sys
from collections.abc import Callable

from harness.errors import HarnessError
from harness.suite import CustomMetric, Suite

Scorer = Callable[[str, str], "float | None"]
Fail = Callable[[str], HarnessError]  # builds the error of one metric: file, YAML line, metrics.custom[i]


def load_scorer(metric: CustomMetric, suite: Suite, index: int) -> Scorer:
    """Import the metric's code (running it) and wrap it; raises HarnessError naming the metric."""
    where = suite.line_of("metrics", "custom", index)

    def fail(message: str) -> HarnessError:
        return HarnessError(f"metrics.custom[{index}]{message}", file=suite.path, where=where)

    if metric.evaluate is not None:
        return _guarded(_evaluate_function(metric, suite, fail), fail)
    return _guarded(_callable_function(metric, suite, fail), fail)


def _evaluate_function(metric: CustomMetric, suite: Suite, fail: Fail) -> Callable:
    import evaluate

    path = suite.resolve(metric.evaluate)
    if not path.exists():
        raise fail(f".evaluate: {path} not found; expected a local evaluate module (a folder with its script, "
                   "or the .py file)")
    try:
        module = evaluate.load(str(path))
    except (Exception, SystemExit) as exc:  # evaluate wraps import and script errors in many types
        raise fail(f".evaluate: cannot load {path}: {type(exc).__name__}: {_one_line(exc)}") from None
    key = metric.key or metric.name

    def score(prediction: str, reference: str) -> object:
        result = module.compute(predictions=[prediction], references=[reference])
        if not isinstance(result, dict) or key not in result:
            shown = sorted(result) if isinstance(result, dict) else type(result).__name__
            raise fail(f".key: {key!r} is not in the module's result {shown}")
        return result[key]

    return score


def _callable_function(metric: CustomMetric, suite: Suite, fail: Fail) -> Callable:
    module_name, _, attribute = metric.callable.partition(":")
    folder = str(suite.path.parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)  # modules kept next to the suite file import like installed ones
    try:
        function = getattr(importlib.import_module(module_name), attribute)
    except (Exception, SystemExit) as exc:  # the module's own code runs here: any error, a syntax error included
        raise fail(f".callable: cannot import {metric.callable!r}: {type(exc).__name__}: {_one_line(exc)}") from None
    finally:
        if added:
            sys.path.remove(folder)
    if not callable(function):
        raise fail(f".callable: {metric.callable!r} is not callable")
    return function


def _guarded(function: Callable, fail: Fail) -> Scorer:
    """The user's code, with whatever it raises or returns checked: one line naming the metric, never a
    traceback. A score that is not finite (NaN, inf) is recorded as missing, not averaged."""

    def score(prediction: str, reference: str) -> float | None:
        try:
            value = function(prediction, reference)
        except HarnessError:
            raise
        except Exception as exc:
            raise fail(f": the metric raised {type(exc).__name__}: {_one_line(exc)}") from None
        if value is None:
            return None
        if not isinstance(value, numbers.Real):  # numpy scalars are Real too; True/False count as 1/0
            raise fail(f": the metric returned {_one_line(repr(value))}; expected a number")
        number = float(value)
        return number if math.isfinite(number) else None

    return score


def _one_line(value: object, limit: int = 200) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
