"""Broken suites, class by class: `harness validate` answers each with exit 2 and one `error:` line that names
the file, the field (and its YAML line where there is one) and what was expected; never a traceback.

Each class is tried on several members, not only the audit's examples: every number field, unknown keys at
every level, duplicate keys in every YAML shape, every lexicon defect, every way custom code can fail to
load, every kind of unusable JSON Schema, every YAML resource bomb.
"""

from __future__ import annotations

import json
import time
import typing

import pytest
import yaml
from conftest import MINIMAL_SUITE, write_suite
from pydantic import BaseModel, ValidationError

from harness.cli import main
from harness.suite import Suite

ROWS = [{"prompt": "What is 2+2?", "response": "4."}]


def validate(tmp_path, capsys, body: str, files: dict[str, str | bytes] | None = None, *options: str):
    for name, content in (files or {}).items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    path = write_suite(tmp_path, body, ROWS, ROWS)
    code = main(["validate", str(path), *options])
    captured = capsys.readouterr()
    return path, code, captured.err.strip().splitlines()


def assert_one_line(path, code, lines, *fragments: str, file=None) -> str:
    """Exit 2, exactly one `error:` line, about `file` (default: the suite), holding every fragment."""
    assert code == 2, lines
    assert len(lines) == 1, lines
    [line] = lines
    named = str(file or path)
    assert line.startswith("error: ") and (named in line or path.name in line), line
    assert "Traceback" not in line and "--debug" not in line, line  # not the catch-all for unforeseen errors
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def nested(dotted: str, value: str) -> str:
    """YAML text setting one dotted field below the minimal suite (which ends on line 6)."""
    *parents, leaf = dotted.split(".")
    return "".join(f"{'  ' * depth}{key}:\n" for depth, key in enumerate(parents)) + \
        f"{'  ' * len(parents)}{leaf}: {value}\n"


# Numbers ------------------------------------------------------------------------------------------------------

OUT_OF_BOUNDS = [
    ("training.lora.r", ["0", "1025", "2.5", "true"]),
    ("training.lora.alpha", ["0", "4097"]),
    ("training.lora.dropout", ["-0.1", "1.0", ".nan"]),
    ("training.learning_rate", ["0", "-1.0e-4", "2.0", ".nan", ".inf"]),
    ("training.epochs", ["0", ".inf", "1001", ".nan", "true", "-1"]),
    ("training.max_steps", ["0", "1000001"]),
    ("training.batch_size", ["-1", "0", "4097"]),
    ("training.gradient_accumulation_steps", ["0", "1025"]),
    ("training.max_length", ["1", "31", "131073"]),
    ("training.warmup_ratio", ["-0.1", "1.0"]),
    ("training.weight_decay", ["-1", "2", ".nan"]),
    ("training.seed", ["-1", str(2**32), "1.5"]),
    ("decoding.max_new_tokens", ["0", "1e9", "1.0e+9", "32769", "-.inf"]),
    ("decoding.temperature", ["0", ".inf", "-1"]),
    ("decoding.top_p", ["0", "1.5"]),
    ("decoding.top_k", ["-1", "1000001"]),
    ("decoding.repetition_penalty", ["0", "11"]),
    ("decoding.batch_size", ["0", "1025"]),
    ("decoding.seed", ["-1", str(2**32), "false"]),
    ("metrics.perplexity.batch_size", ["0", "1025"]),
]


@pytest.mark.parametrize("field, value", [(f, v) for f, values in OUT_OF_BOUNDS for v in values])
def test_every_number_out_of_its_bounds_is_refused_with_its_line(tmp_path, capsys, field, value):
    path, code, lines = validate(tmp_path, capsys, MINIMAL_SUITE + nested(field, value))
    line_number = 6 + field.count(".") + 1
    assert_one_line(path, code, lines, f"suite.yaml:{line_number}: {field}: ")


@pytest.mark.parametrize("value", ["0", "-5", "1.0e+12"])
def test_a_data_limit_out_of_bounds_is_refused(tmp_path, capsys, value):
    body = MINIMAL_SUITE.replace("eval: {path: eval.jsonl}", f"eval: {{path: eval.jsonl, limit: {value}}}")
    assert_one_line(*validate(tmp_path, capsys, body), "suite.yaml:6: data.eval.limit: ")


def _number_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, type]]:
    """Every int or float field of the suite schema, nested models included, as (dotted name, type)."""
    found = []
    for name, info in model.model_fields.items():
        kinds = _leaf_types(info.annotation)
        models = [k for k in kinds if isinstance(k, type) and issubclass(k, BaseModel)]
        if models:
            found += _number_fields(models[0], f"{prefix}{name}.")
        elif kinds & {int, float}:
            found.append((prefix + name, float if float in kinds else int))
    return found


def _leaf_types(annotation) -> set:
    if typing.get_origin(annotation) is typing.Annotated:
        return _leaf_types(typing.get_args(annotation)[0])
    args = typing.get_args(annotation)
    # Lists and maps (variants, adapters) hold models checked under their own names (training.*, variants).
    if args and typing.get_origin(annotation) not in (list, dict):
        return set().union(*(_leaf_types(a) for a in args))
    return {annotation}


MINIMAL = yaml.safe_load(MINIMAL_SUITE)


def _with(dotted: str, value) -> dict:
    raw = json.loads(json.dumps(MINIMAL))
    tree = raw
    *parents, leaf = dotted.split(".")
    for key in parents:
        tree = tree.setdefault(key, {})
    tree[leaf] = value
    return raw


def test_the_walk_below_finds_the_number_fields():
    fields = dict(_number_fields(Suite))
    assert {"training.lora.r", "training.epochs", "decoding.seed", "data.eval.limit"} <= set(fields)
    assert len(fields) >= 20


@pytest.mark.parametrize("field, kind", _number_fields(Suite))
def test_every_number_field_of_the_schema_has_bounds_on_both_sides_and_refuses_nan_and_booleans(field, kind):
    """Guards fields added later: none may accept a huge, a negative, a NaN or a boolean value."""
    for value in (10**12, -(10**12), float("nan"), float("inf"), True):
        with pytest.raises(ValidationError) as caught:
            Suite.model_validate(_with(field, value))
        assert [".".join(map(str, e["loc"][:field.count(".") + 1])) for e in caught.value.errors()] == [field], value


# Unknown and duplicate keys -----------------------------------------------------------------------------------

@pytest.mark.parametrize("body, fragment", [
    (MINIMAL_SUITE + "colour: red\n", "suite.yaml:7: colour: unknown key; expected one of: name,"),
    (MINIMAL_SUITE + nested("training.lora.rank", "8"), "suite.yaml:9: training.lora.rank: unknown key"),
    (MINIMAL_SUITE + nested("training.epoch", "1"), "suite.yaml:8: training.epoch: unknown key"),
    (MINIMAL_SUITE + nested("decoding.max_tokens", "9"), "suite.yaml:8: decoding.max_tokens: unknown key"),
    (MINIMAL_SUITE + nested("metrics.filler.lexicn", "x"), "suite.yaml:9: metrics.filler.lexicn: unknown key"),
    (MINIMAL_SUITE + nested("metrics.perplexity.batch", "2"), "metrics.perplexity.batch: unknown key"),
    (MINIMAL_SUITE + "metrics:\n  custom:\n    - {name: x, callable: 'm:f', kinde: binary}\n",
     "suite.yaml:9: metrics.custom.0.kinde: unknown key"),
    (MINIMAL_SUITE.replace("{path: train.jsonl}", "{path: train.jsonl, fields: {promt: q}}"),
     "suite.yaml:5: data.train.fields.promt: unknown key"),
    (MINIMAL_SUITE + "metrics:\n  format:\n    - {check: words, at_most: 3, rule: 1}\n",
     "suite.yaml:9: metrics.format[0]: check 'words': unknown parameter(s) ['rule']"),
    (MINIMAL_SUITE + "metrics:\n  format:\n    - {chek: words}\n", "suite.yaml:9: metrics.format.0.check: required"),
])
def test_an_unknown_key_at_any_level_is_named_with_its_line(tmp_path, capsys, body, fragment):
    assert_one_line(*validate(tmp_path, capsys, body), fragment)


@pytest.mark.parametrize("body, fragment", [
    (MINIMAL_SUITE + "name: again\n", "suite.yaml:7: invalid YAML: duplicate key 'name' (first at line 1)"),
    (MINIMAL_SUITE + "training:\n  epochs: 1\n  epochs: 3\n", "suite.yaml:9: invalid YAML: duplicate key 'epochs'"),
    (MINIMAL_SUITE + "decoding: {seed: 1, seed: 2}\n", "suite.yaml:7: invalid YAML: duplicate key 'seed'"),
    (MINIMAL_SUITE + "metrics:\n  format:\n    - {check: words, at_most: 3, at_most: 300}\n",
     "suite.yaml:9: invalid YAML: duplicate key 'at_most'"),
    (MINIMAL_SUITE + "metrics:\n  format:\n    - check: words\n      check: regex\n",
     "suite.yaml:10: invalid YAML: duplicate key 'check' (first at line 9)"),
])
def test_a_duplicate_key_is_refused_naming_its_line(tmp_path, capsys, body, fragment):
    assert_one_line(*validate(tmp_path, capsys, body), fragment)


def test_merge_keys_are_not_duplicates(tmp_path, capsys):
    body = MINIMAL_SUITE + "x-base: &base {at_most: 60}\nmetrics:\n  format:\n    - {<<: *base, check: words}\n"
    path, code, lines = validate(tmp_path, capsys, body)
    assert "duplicate" not in "".join(lines) and "x-base: unknown key" in "".join(lines)


# YAML resource bounds -----------------------------------------------------------------------------------------

def _laughs(levels: int) -> str:
    text = "  - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for level in range(1, levels):
        text += f"  - &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]\n"
    return text


@pytest.mark.parametrize("body, fragment", [
    # a billion laughs inside a format rule: 9 levels of 10 aliases, 10^9 values once expanded
    (MINIMAL_SUITE + "x-laughs:\n" + _laughs(9) + "metrics:\n  format:\n    - {check: must_contain, value: *l8}\n",
     "expands to over 100,000 values"),
    (MINIMAL_SUITE + "metrics:\n  format:\n    - &loop {check: words, at_most: [*loop]}\n", "contains it"),
    (MINIMAL_SUITE + "x: &a 1\ny: [" + ", ".join(["*a"] * 101) + "]\n", "more than 100 aliases"),
    (MINIMAL_SUITE + "x: " + "[" * 200 + "]" * 200 + "\n", "nested over 64 levels deep"),
    (MINIMAL_SUITE + "".join(f"{'  ' * d}k{d}:\n" for d in range(80)) + "  " * 80 + "v: 1\n", "nested over 64"),
    (MINIMAL_SUITE + "# " + "x" * (1 << 20) + "\n", "suite file is over 1024 KiB"),
    (MINIMAL_SUITE + "---\nname: second\n", "invalid YAML: expected a single document"),
    (MINIMAL_SUITE + "decoding: [unclosed\n", "invalid YAML:"),
    (MINIMAL_SUITE + "x: !!python/object:os.system {}\n", "invalid YAML:"),
    ("- a list\n- not a mapping\n", "suite.yaml:1: expected a mapping of suite fields"),
    ("", "suite.yaml:1: expected a mapping of suite fields"),
])
def test_yaml_beyond_its_bounds_is_one_line_in_bounded_time(tmp_path, capsys, body, fragment):
    started = time.perf_counter()
    assert_one_line(*validate(tmp_path, capsys, body), fragment)
    assert time.perf_counter() - started < 10


def test_a_suite_that_is_not_utf8_or_not_a_file(tmp_path, capsys):
    path = write_suite(tmp_path, MINIMAL_SUITE, ROWS, ROWS)
    path.write_bytes(MINIMAL_SUITE.encode("utf-8") + b"description: caf\xe9\n")
    assert main(["validate", str(path)]) == 2
    assert_one_line(path, 2, capsys.readouterr().err.strip().splitlines(), "expected UTF-8 text")
    assert main(["validate", str(tmp_path)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == f"error: {tmp_path}: is a directory; expected a suite file"


# Format rules: types of their parameters, regexes, JSON Schemas -----------------------------------------------

SCHEMA_RULE = MINIMAL_SUITE + "metrics:\n  format:\n    - {check: json_schema, schema: schema.json}\n"


@pytest.mark.parametrize("rule, fragment", [
    ("{check: regex, pattern: a, negate: 'no'}", "parameter 'negate': expected true or false, got 'no'"),
    ("{check: starts_with, value: A, ignore_case: 1}", "parameter 'ignore_case': expected true or false"),
    ("{check: regex, pattern: '(?P<x'}", "invalid regex"),
    ("{check: words, at_most: -3}", "expected a whole number >= 0"),
    ("{check: words, at_most: .inf}", "expected a whole number >= 0"),
    ("{check: must_contain, value: ['ok', '']}", "expected a string or a list of strings"),
    ("{check: json_schema, schema: {type: object, requried: [a]}}", "unknown keyword 'requried'"),
    ("{check: json_schema, schema: {type: nonsense}}", "invalid JSON Schema"),
    ("{check: json_schema, schema: {type: string, pattern: '(unclosed'}}", "is not a 'regex'"),
    ("{check: json_schema, schema: {$ref: '#/$defs/missing'}}", "$ref '#/$defs/missing' cannot be resolved"),
    ("{check: json_schema, schema: {$ref: 'https://example.com/s.json'}}", "cannot be resolved"),
    ("{check: json_schema, schema: {$ref: '#'}}", "leads back to itself"),
    ("{check: json_schema, schema: {$defs: {a: {anyOf: [{$ref: '#/$defs/b'}]}, b: {$ref: '#/$defs/a'}}, "
     "properties: {x: {$ref: '#/$defs/a'}}}}", "leads back to itself"),
    ("{check: json_schema, schema: {dependencies: {a: [b]}}}", "unknown keyword 'dependencies'"),
    ("{check: json_schema, schema: {unevaluatedProperties: false, patternProperties: {'^a': {}}}}",
     "unevaluatedProperties together with patternProperties"),
    ("{check: json_schema, schema: 3}", "expected a JSON Schema object or a file path"),
])
def test_a_bad_rule_is_named_with_its_line(tmp_path, capsys, rule, fragment):
    body = MINIMAL_SUITE + f"metrics:\n  format:\n    - {{check: words, at_most: 9}}\n    - {rule}\n"
    assert_one_line(*validate(tmp_path, capsys, body), "suite.yaml:10: metrics.format[1]: ", fragment)


@pytest.mark.parametrize("content, fragment", [
    (None, "schema.json not found"),
    ("{not json", "is not valid JSON"),
    (b"\xff\xfe{}", "is not valid JSON"),
    ("[" * 5000 + "]" * 5000, "JSON nested 5000 levels deep"),
    (json.dumps({"description": "x" * (1 << 20)}), "JSON Schema file is over 1024 KiB"),
    ('{"$ref": "other.json"}', "cannot be resolved"),
])
def test_a_schema_file_that_cannot_be_used_is_named(tmp_path, capsys, content, fragment):
    files = {} if content is None else {"schema.json": content}
    assert_one_line(*validate(tmp_path, capsys, SCHEMA_RULE, files), "metrics.format[0]: ", fragment)


def test_a_schema_path_that_is_a_folder(tmp_path, capsys):
    (tmp_path / "schema.json").mkdir()
    assert_one_line(*validate(tmp_path, capsys, SCHEMA_RULE), "metrics.format[0]: ", "is a directory")


# Lexicons -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lexicon, mode, fragment", [
    ({"categories": {"opener": {"phrases": "hello there"}}}, "extend", "'phrases' must be a non-empty list"),
    ({"categories": {"jargon": {"phrases": "synergy"}}}, "replace", "'phrases' must be a non-empty list"),
    ({"categories": {"jargon": {"phrases": ["synergy", "   "]}}}, "extend", "phrase '   '; expected a string"),
    ({"categories": {"jargon": {"phrases": [""]}}}, "replace", "phrase ''"),
    ({"categories": {"jargon": {"phrases": ["!!"]}}}, "replace", "at least one letter or digit"),
    ({"categories": {"jargon": {"phrases": [3]}}}, "extend", "phrase 3"),
    ({"categories": {"jargon": {"phrases": []}}}, "extend", "'phrases' must be a non-empty list"),
    ({"categories": {"jargon": {"phrase": ["synergy"]}}}, "extend", "unknown key 'phrase'"),
    ({"categories": {"jargon": {"phrases": ["x"], "positon": "start"}}}, "extend", "unknown key 'positon'"),
    ({"categories": {"jargon": {"phrases": ["x"], "position": "begin"}}}, "replace", "position 'begin'"),
    ({"categories": {"opener": {"phrases": ["yo"], "position": "anywhere"}}}, "extend",
     "the built-in lexicon's is 'preamble'"),
    ({"categries": {}}, "extend", "unknown key 'categries'"),
    ({"categories": {}}, "replace", "expected 'categories'"),
    (["not", "an", "object"], "extend", "expected a JSON object"),
    ({"categories": {"jargon": {"phrases": ["x" * 201]}}}, "extend", "at most 200 characters"),
    ({"categories": {"jargon": {"phrases": ["w"] * 10_001}}}, "replace", "at most 10,000 are supported"),
])
def test_a_malformed_lexicon_is_refused_never_split_or_matched_everywhere(tmp_path, capsys, lexicon, mode, fragment):
    body = MINIMAL_SUITE + f"metrics:\n  filler: {{lexicon: lex.json, mode: {mode}}}\n"
    line = assert_one_line(*validate(tmp_path, capsys, body, {"lex.json": json.dumps(lexicon)}), fragment,
                           file=tmp_path / "lex.json")
    assert line.startswith(f"error: {tmp_path / 'lex.json'}: ")


@pytest.mark.parametrize("content, fragment", [
    ("{bad json", "invalid lexicon JSON"),
    (b"\xff{}", "invalid lexicon JSON"),
    ("[" * 3000 + "]" * 3000, "JSON nested 3000 levels deep"),
])
def test_a_lexicon_file_that_cannot_be_read(tmp_path, capsys, content, fragment):
    body = MINIMAL_SUITE + "metrics:\n  filler: {lexicon: lex.json}\n"
    assert_one_line(*validate(tmp_path, capsys, body, {"lex.json": content}), fragment, file=tmp_path / "lex.json")


# Custom metrics: Python code, loaded (and so run) at validate --------------------------------------------------

CUSTOM = MINIMAL_SUITE + "metrics:\n  custom:\n    - {name: m, callable: 'house:score'}\n"


@pytest.mark.parametrize("module, fragment", [
    ("def score(prediction, reference:\n    return 1\n", "cannot import 'house:score': SyntaxError"),
    ("import not_installed_anywhere\n", "cannot import 'house:score': ModuleNotFoundError"),
    ("raise RuntimeError('boom at import')\n", "RuntimeError: boom at import"),
    ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
    ("def other(p, r):\n    return 1\n", "cannot import 'house:score': AttributeError"),
    ("score = 3\n", "'house:score' is not callable"),
    ("def score(prediction):\n    return 1\n", "the metric raised TypeError"),
    ("def score(p, r):\n    return 1 / 0\n", "the metric raised ZeroDivisionError"),
    ("def score(p, r):\n    return 'high'\n", "the metric returned 'high'; expected a number"),
    ("def score(p, r):\n    return [1]\n", "expected a number"),
])
def test_custom_metric_code_that_cannot_load_or_run_is_one_line(tmp_path, capsys, module, fragment):
    module_name = f"house_{abs(hash(module)) % 10**8}"  # a fresh module each time: imports are cached per process
    body = CUSTOM.replace("house:", f"{module_name}:")
    line = assert_one_line(*validate(tmp_path, capsys, body, {f"{module_name}.py": module}),
                           "suite.yaml:9: metrics.custom[0]", fragment.replace("house:", f"{module_name}:"))
    assert "\n" not in line


@pytest.mark.parametrize("callable_", ["':score'", "'house:'", "'house'", "'ho use:score'", "'house:score()'"])
def test_a_malformed_callable_is_refused_before_any_import(tmp_path, capsys, callable_):
    body = CUSTOM.replace("'house:score'", callable_)
    assert_one_line(*validate(tmp_path, capsys, body), "metrics.custom.0: 'callable' must look like package.module")


def test_no_custom_code_refuses_before_importing(tmp_path, capsys):
    marker = tmp_path / "imported"
    module = f"open({str(marker)!r}, 'w').close()\ndef score(p, r):\n    return 1\n"
    body = CUSTOM.replace("house:", "house_marker:")
    path, code, lines = validate(tmp_path, capsys, body, {"house_marker.py": module}, "--no-custom-code")
    assert_one_line(path, code, lines, "suite.yaml:8: metrics.custom: this suite runs its own Python code",
                    "refused by --no-custom-code")
    assert not marker.exists()
    assert main(["validate", str(path)]) == 0  # without the option the same suite validates, and its code ran
    assert marker.exists()


def test_no_custom_code_accepts_a_suite_without_custom_metrics(tmp_path, capsys):
    path, code, lines = validate(tmp_path, capsys, MINIMAL_SUITE, None, "--no-custom-code")
    assert code == 0, lines


# At the start of `harness run`: the same checks, before any model work --------------------------------------

@pytest.mark.parametrize("extra, options, fragment", [
    (nested("training.lora.r", "0"), ["--smoke"], "training.lora.r: Input should be greater than or equal to 1"),
    (nested("training.batch_size", "-1"), ["--smoke"], "training.batch_size:"),
    (nested("training.learning_rate", ".nan"), ["--smoke"], "training.learning_rate:"),
    (nested("decoding.max_new_tokens", "0"), ["--profile", "quick"], "decoding.max_new_tokens:"),
    ("", ["--model", " "], "model: expected text, got an empty or blank string (got ' ') "
                           "(set by a command-line option: model)"),
    ("metrics:\n  custom:\n    - {name: m, callable: 'house:score'}\n", ["--no-custom-code"],
     "refused by --no-custom-code"),
])
def test_run_refuses_a_bad_suite_or_override_before_any_model_work(tmp_path, capsys, extra, options, fragment):
    path = write_suite(tmp_path, MINIMAL_SUITE + extra, ROWS, ROWS)
    out = tmp_path / "out"
    started = time.perf_counter()
    code = main(["run", str(path), "--out", str(out), *options])
    lines = capsys.readouterr().err.strip().splitlines()
    assert_one_line(path, code, lines, fragment)
    assert not out.exists()
    assert time.perf_counter() - started < 60  # no model was built or loaded


@pytest.mark.parametrize(("value", "fragment"), [
    ("[tone]", "unknown behaviour 'tone'; expected one of length, format, filler, fit"),
    ("[format, format]", "each behaviour may be named once"),
    ("[]", "verdict.behaviours"),
    ("format", "verdict.behaviours"),
])
def test_verdict_behaviours_must_name_known_behaviours_once(tmp_path, capsys, value, fragment):
    path, code, lines = validate(tmp_path, capsys, MINIMAL_SUITE + f"verdict:\n  behaviours: {value}\n")
    assert_one_line(path, code, lines, fragment)
