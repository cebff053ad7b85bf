"""The scoring stage's inputs, loaded and checked before any model: format rules (suite-wide and per example,
JSON Schemas inlined), the filler lexicon, custom metrics, and the behaviours the verdict names; with the data
and variants (harness.checks), everything `harness validate` and `harness run` check first. Every problem
becomes one line naming the file, the field and what was expected.

Custom metrics are Python code: checking them means importing and calling them. `custom_code=False`
(`--no-custom-code`) refuses a suite that has any, before anything is imported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from harness.checks import load_data
from harness.errors import HarnessError, InputErrors
from harness.examples import ExampleSet
from harness.limits import LimitError, check_json_depth, read_bounded
from harness.metrics.custom import Scorer, load_scorer
from harness.metrics.format_checks import RuleError, validate_rule
from harness.metrics.lexicon import Lexicon, builtin_lexicon_raw, check_lexicon, load_lexicon_file, merge, parse_lexicon
from harness.metrics.registry import metrics_for
from harness.suite import Suite


@dataclass(frozen=True)
class Prepared:
    """A run's inputs, checked: the suite, its data, and what scoring needs."""

    suite: Suite
    train: ExampleSet
    eval: ExampleSet
    rules: list[dict]
    lexicon: Lexicon
    custom: dict[str, Scorer]


def prepare(suite: Suite, custom_code: bool = True) -> Prepared:
    """Load and check all inputs; raises InputErrors listing every problem found."""
    if not custom_code:
        refuse_custom_code(suite)
    sets, errors = load_data(suite)
    rules = [rule.model_dump(exclude_none=True) for rule in suite.metrics.format]
    for index, rule in enumerate(rules):
        try:
            rules[index] = _checked(rule, suite)
        except RuleError as exc:
            errors.append(HarnessError(f"metrics.format[{index}]: {exc}", file=suite.path,
                                       where=suite.line_of("metrics", "format", index)))
    sets = {split: _with_checked_rules(examples, suite, errors) for split, examples in sets.items()}
    lexicon = None
    try:
        lexicon = _lexicon(suite)
    except HarnessError as exc:
        errors.append(exc)
    custom = _custom_metrics(suite, sets.get("eval"), errors)
    errors.extend(_behaviour_errors(suite))
    if errors:
        raise InputErrors(errors)
    return Prepared(suite, sets["train"], sets["eval"], rules, lexicon, custom)


def _with_checked_rules(examples: ExampleSet, suite: Suite, errors: list[HarnessError]) -> ExampleSet:
    """Each example's own rules checked (schemas inlined); a bad one is an error naming the example."""
    checked = []
    for example in examples.examples:
        own = []
        for index, rule in enumerate(example.rules):
            try:
                own.append(_checked(rule, suite))
            except RuleError as exc:
                errors.append(HarnessError(f"rules[{index}]: {exc}", file=examples.source,
                                           where=f"example {example.id}"))
        checked.append(example.model_copy(update={"rules": own}))
    return examples.model_copy(update={"examples": checked})


def _behaviour_errors(suite: Suite) -> list[HarnessError]:
    """`verdict.behaviours` names behaviours some metric answers (harness/metrics/registry.py)."""
    known = list(dict.fromkeys(m.behaviour for m in metrics_for(suite.model_dump(mode="json")) if m.headline))
    return [HarnessError(f"verdict.behaviours[{index}]: unknown behaviour {name!r}; expected one of "
                         f"{', '.join(known)}", file=suite.path, where=suite.line_of("verdict", "behaviours", index))
            for index, name in enumerate(suite.verdict.behaviours or []) if name not in known]


def refuse_custom_code(suite: Suite) -> None:
    """For CI on untrusted suites: a suite with custom metrics would import and run its own Python."""
    if suite.metrics.custom:
        names = ", ".join(metric.name for metric in suite.metrics.custom)
        raise HarnessError(f"metrics.custom: this suite runs its own Python code (custom metrics: {names}); "
                           "refused by --no-custom-code", file=suite.path, where=suite.line_of("metrics", "custom"))


def _custom_metrics(suite: Suite, eval_set: ExampleSet | None, errors: list[HarnessError]) -> dict[str, Scorer]:
    """Each custom metric imported, then called once on an eval reference, so an import error, a missing
    function or a wrong signature stops the run here rather than after generation."""
    custom = {}
    sample = eval_set.examples[0].response if eval_set and eval_set.examples else "a sample answer"
    for index, metric in enumerate(suite.metrics.custom):
        try:
            scorer = load_scorer(metric, suite, index)
            scorer(sample, sample)
            custom[metric.name] = scorer
        except HarnessError as exc:
            errors.append(exc)
    return custom


def _checked(rule: object, suite: Suite) -> dict:
    """The rule validated, with a JSON Schema named by path loaded inline (relative to the suite file)."""
    if not isinstance(rule, dict):
        raise RuleError(f"expected a mapping such as {{check: words, at_most: 60}}, got {type(rule).__name__}")
    if rule.get("check") == "json_schema" and isinstance(rule.get("schema"), str):
        path = suite.resolve(rule["schema"])
        try:
            text = read_bounded(path, "JSON Schema")
            check_json_depth(text)
            rule = {**rule, "schema": json.loads(text)}
        except FileNotFoundError:
            raise RuleError(f"schema file {path} not found") from None
        except LimitError as exc:
            raise RuleError(f"schema file {path}: {exc}") from None
        except OSError as exc:
            raise RuleError(f"schema file {path}: cannot read it: {exc.strerror or exc}") from None
        except ValueError as exc:  # JSON and UTF-8 errors
            raise RuleError(f"schema file {path} is not valid JSON: {exc}") from None
    validate_rule(rule)
    return rule


def _lexicon(suite: Suite) -> Lexicon:
    spec = suite.metrics.filler
    builtin = builtin_lexicon_raw()
    if spec.lexicon == "builtin":
        return parse_lexicon(builtin, "builtin lexicon")
    path = suite.resolve(spec.lexicon)
    try:
        raw = load_lexicon_file(path)
    except FileNotFoundError:
        raise HarnessError("lexicon file not found; expected a JSON lexicon", file=path) from None
    except OSError as exc:
        raise HarnessError(f"cannot read the lexicon file: {exc.strerror or exc}", file=path) from None
    except LimitError as exc:
        raise HarnessError(str(exc), file=path) from None
    except ValueError as exc:
        raise HarnessError(f"invalid lexicon JSON: {exc}", file=path) from None
    try:
        # The suite's own lexicon first: merging a malformed one would hide its errors (a string of phrases
        # would be split into characters).
        check_lexicon(raw, "lexicon", extending=spec.mode == "extend")
        return parse_lexicon(raw if spec.mode == "replace" else merge(builtin, raw), str(path))
    except ValueError as exc:
        raise HarnessError(str(exc).removeprefix(f"{path}: "), file=path) from None
