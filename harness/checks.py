"""A run's data and variants, loaded and checked before any model: every bad row of each data set, and every
variant, prompt, adapter or comparison name that is unknown or repeated (harness.variants), each one line
naming the file, the field or line and what was expected. The scoring stage checks its own inputs on top
(harness.scorers.prepare), and harness.gates the gates.
"""

from __future__ import annotations

from harness.errors import HarnessError, InputErrors
from harness.examples import ExampleSet, load_examples
from harness.suite import Suite
from harness.variants import problems as variant_problems


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
    errors.extend(variant_problems(suite, sets.get("train"), sets.get("eval")))
    return sets, errors
