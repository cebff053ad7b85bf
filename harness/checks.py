"""Everything `harness validate` checks without loading a model: suite, data, rules, lexicon."""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import HarnessError, InputErrors
from harness.examples import ExampleSet, load_examples
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
    rules = [rule.model_dump() for rule in suite.metrics.format]
    for index, rule in enumerate(rules):
        try:
            validate_rule({k: v for k, v in rule.items() if v is not None or k == "check"})
        except RuleError as exc:
            errors.append(HarnessError(f"metrics.format[{index}]: {exc}", file=suite.path))
    for examples in sets.values():
        for example in examples.examples:
            for index, rule in enumerate(example.rules):
                try:
                    validate_rule(rule)
                except RuleError as exc:
                    errors.append(HarnessError(f"rules[{index}]: {exc}", file=examples.source,
                                               where=f"example {example.id}"))
    lexicon = None
    try:
        lexicon = _lexicon(suite)
    except HarnessError as exc:
        errors.append(exc)
    if errors:
        raise InputErrors(errors)
    rules = [{k: v for k, v in rule.items() if v is not None} for rule in rules]
    return Prepared(suite, sets["train"], sets["eval"], rules, lexicon)


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
