"""A run's data and variants, loaded and checked before any model: every bad row of each data set, and every
variant, prompt, adapter or comparison name that is unknown or repeated (harness.variants), and every panel
setting that does not fit the suite (harness.panel_checks), each one line
naming the file, the field or line and what was expected. The scoring stage checks its own inputs on top
(harness.scorers.prepare), and harness.gates the gates.
"""

from __future__ import annotations

from harness.errors import HarnessError, InputErrors
from harness.examples import ExampleSet, load_examples
from harness.panel_checks import canary_problem, exchanges
from harness.panel_checks import problems as panel_problems
from harness.suite import Suite
from harness.variants import problems as variant_problems
from harness.variants import resolve


def load_data(suite: Suite) -> tuple[dict[str, ExampleSet], list[HarnessError]]:
    """The train and eval sets that load, and every problem found in them and in the variants."""
    errors: list[HarnessError] = []
    sets = {}
    for split in ("train", "eval"):
        try:
            sets[split] = load_examples(suite, split)
        except InputErrors as exc:
            errors.extend(exc.errors)
        except HarnessError as exc:
            errors.append(exc)
    variant_errors = variant_problems(suite, sets.get("train"), sets.get("eval"))
    errors.extend(variant_errors)
    errors.extend(_panel_errors(suite, checkable=not variant_errors and "train" in sets and "eval" in sets,
                                sets=sets))
    return sets, errors


def _panel_errors(suite: Suite, checkable: bool, sets: dict[str, ExampleSet]) -> list[HarnessError]:
    """The panels' settings: their exchanges file, prompt names, and (where the variants resolve) the
    canary's variants."""
    turns, errors = None, []
    if suite.panels.persistence or suite.panels.truncation:
        try:
            turns = exchanges(suite)
        except InputErrors as exc:
            errors.extend(exc.errors)
        except HarnessError as exc:
            errors.append(exc)
    errors.extend(panel_problems(suite, turns))
    if suite.panels.canary is not None and checkable:
        found = canary_problem(resolve(suite, sets["train"], sets["eval"]))
        if found:
            errors.append(HarnessError(found, file=suite.path, where=suite.line_of("panels", "canary")))
    return errors
