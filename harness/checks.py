"""Everything `harness validate` checks without loading a model: suite, data, rules, lexicon."""

from __future__ import annotations

import json
from dataclasses import dataclass

from harness.errors import HarnessError, InputErrors
from harness.examples import ExampleSet, load_examples
from harness.gates import GateError, metric_specs, parse_gate
from harness.metrics.custom import Scorer, load_scorer
from harness.metrics.filler import Lexicon, builtin_lexicon_raw, load_lexicon_file, merge, parse_lexicon
from harness.metrics.format_checks import RuleError, validate_rule
from harness.suite import Suite


@dataclass(frozen=True)
class Prepared:
    suite: Suite
    train: ExampleSet
    eval: ExampleSet
    rules: list[dict]
    lexicon: Lexicon
    custom: dict[str, Scorer]


def prepare(suite: Suite) -> Prepared:
    """Load and check all inputs; raises InputErrors listing every problem found."""
    errors: list[HarnessError] = []
    sets = {}
    for split in ("train", "eval"):
        try:
            sets[split] = load_examples(suite, split)
        except InputErrors as exc:
            errors.extend(exc.errors)
        except HarnessError as exc:
            errors.append(exc)
    rules = [rule.model_dump(exclude_none=True) for rule in suite.metrics.format]
    for index, rule in enumerate(rules):
        try:
            rules[index] = _checked(rule, suite)
        except RuleError as exc:
            errors.append(HarnessError(f"metrics.format[{index}]: {exc}", file=suite.path))
    for examples in sets.values():
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
        sets[examples.split] = examples.model_copy(update={"examples": checked})
    lexicon = None
    try:
        lexicon = _lexicon(suite)
    except HarnessError as exc:
        errors.append(exc)
    custom = {}
    for index, metric in enumerate(suite.metrics.custom):
        try:
            custom[metric.name] = load_scorer(metric, suite, index)
        except HarnessError as exc:
            errors.append(exc)
    specs = metric_specs([m.model_dump() for m in suite.metrics.custom])
    for index, text in enumerate(suite.gates):
        try:
            parse_gate(text, specs)
        except GateError as exc:
            errors.append(HarnessError(f"gates[{index}]: {exc}", file=suite.path))
    if errors:
        raise InputErrors(errors)
    return Prepared(suite, sets["train"], sets["eval"], rules, lexicon, custom)


def _checked(rule: dict, suite: Suite) -> dict:
    """The rule validated, with a JSON Schema named by path loaded inline (relative to the suite file)."""
    if rule.get("check") == "json_schema" and isinstance(rule.get("schema"), str):
        path = suite.resolve(rule["schema"])
        try:
            rule = {**rule, "schema": json.loads(path.read_text(encoding="utf-8"))}
        except FileNotFoundError:
            raise RuleError(f"schema file {path} not found") from None
        except ValueError as exc:
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
    except ValueError as exc:
        raise HarnessError(f"invalid lexicon JSON: {exc}", file=path) from None
    try:
        return parse_lexicon(raw if spec.mode == "replace" else merge(builtin, raw), str(path))
    except ValueError as exc:
        raise HarnessError(str(exc), file=path) from None
