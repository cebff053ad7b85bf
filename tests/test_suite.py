"""Suite files: a valid suite loads with defaults; every kind of bad input is one line, exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import MINIMAL_SUITE, ROOT, write_suite

from harness.cli import main
from harness.errors import InputErrors
from harness.run import PROFILES, SMOKE_OVERRIDES
from harness.suite import load_suite

ROWS = [{"prompt": "What is 2+2?", "response": "4."}, {"instruction": "Name a colour.", "output": "Red."}]


def test_valid_suite_gets_good_defaults(tmp_path):
    suite = load_suite(write_suite(tmp_path, MINIMAL_SUITE, ROWS, ROWS))
    assert suite.training.lora.target_modules == "all-linear"
    assert suite.training.quantization == "auto" and suite.precision == "auto"
    assert suite.training.loss == "completion"
    assert suite.decoding.do_sample is False
    assert suite.resolve("train.jsonl") == tmp_path / "train.jsonl"


def test_the_shipped_suites_validate(capsys):
    for name in ("concise",):
        assert main(["validate", str(ROOT / "suites" / f"{name}.yaml")]) == 0
    assert "ok:" in capsys.readouterr().out


@pytest.mark.parametrize("body, expected", [
    (MINIMAL_SUITE + "colour: red\n", ["suite.yaml:7: colour: unknown key; expected one of: name,"]),
    (MINIMAL_SUITE + "training:\n  lora: {r: many}\n",
     ["suite.yaml:8: training.lora.r: Input should be a valid integer"]),
    (MINIMAL_SUITE + "decoding:\n  max_new_tokens: 0\n",
     ["suite.yaml:8: decoding.max_new_tokens: Input should be greater than or equal to 1 (got 0)"]),
    (MINIMAL_SUITE.replace("system_prompt: Answer briefly.\n", ""), ["system_prompt: required field is missing"]),
    (MINIMAL_SUITE + "training:\n  quantization: int3\n",
     ["training.quantization: Input should be 'auto', 'nf4' or 'none'"]),
    (MINIMAL_SUITE + "training:\n  epochs: 2\n  max_length: 8\n  seed: -1\n",
     ["suite.yaml:9: training.max_length: Input should be greater than or equal to 32 (got 8)",
      "suite.yaml:10: training.seed: Input should be greater than or equal to 0 (got -1)"]),
    (MINIMAL_SUITE + "precision: fp8\n", ["precision: Input should be 'auto', 'float32' or 'bfloat16'"]),
])
def test_each_bad_field_is_one_line_with_file_line_and_expectation(tmp_path, capsys, body, expected):
    path = write_suite(tmp_path, body, ROWS, ROWS)
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == len(expected)
    for line, text in zip(lines, expected, strict=True):
        assert line.startswith(f"error: {path.parent}/") and text in line


def test_missing_data_file_names_it(tmp_path, capsys):
    path = write_suite(tmp_path, MINIMAL_SUITE, ROWS, None)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'eval.jsonl'}: data file not found; expected a JSONL file "
                   "(one JSON object per line)"]


def test_malformed_jsonl_rows_each_give_a_line_with_their_number(tmp_path, capsys):
    path = write_suite(tmp_path, MINIMAL_SUITE, ROWS, ROWS)
    (tmp_path / "train.jsonl").write_text(
        '{"prompt": "ok", "response": "fine"}\n'
        '{"prompt": "broken", "response": }\n'
        '["not", "an", "object"]\n'
        '{"prompt": "no answer"}\n'
        '{"prompt": 3, "response": "x"}\n', encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    train = tmp_path / "train.jsonl"
    assert err[0].startswith(f"error: {train}:2: invalid JSON: Expecting value")
    assert err[1] == f"error: {train}:3: expected a JSON object, got list"
    assert len(err) == 2  # rows that do not parse stop the file before field checks


def test_rows_with_bad_fields_each_give_a_line(tmp_path, capsys):
    path = write_suite(tmp_path, MINIMAL_SUITE, ROWS, ROWS)
    (tmp_path / "train.jsonl").write_text(
        '{"prompt": "ok", "response": "fine"}\n'
        '{"prompt": "no answer"}\n'
        '{"prompt": 3, "response": "x"}\n'
        '{"question": "q", "answer": "a"}\n', encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    train = tmp_path / "train.jsonl"
    assert err[:2] == [
        f"error: {train}:2: field 'response' is missing or empty; expected a non-empty string",
        f"error: {train}:3: field 'prompt': expected a string, got int",
    ]
    assert err[2].startswith(f"error: {train}:4: expected keys 'prompt' and 'response', or 'instruction' and 'output'")
    assert err[2].endswith("got ['answer', 'question']") and len(err) == 3


def test_bad_format_rule_is_caught_at_validate(tmp_path, capsys):
    body = MINIMAL_SUITE + "metrics:\n  format:\n    - {check: regex, pattern: '(unclosed'}\n    - {check: shouty}\n"
    path = write_suite(tmp_path, body, ROWS, ROWS)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "metrics.format[0]: invalid regex '(unclosed'" in err
    assert "metrics.format[1]: unknown check 'shouty'; expected one of:" in err


def test_errors_collect_from_every_source_at_once(tmp_path):
    body = MINIMAL_SUITE.replace("eval.jsonl}", "missing.jsonl}")
    path = write_suite(tmp_path, body, [{"prompt": "x"}], ROWS)
    with pytest.raises(InputErrors) as caught:
        from harness.scorers import prepare

        prepare(load_suite(path))
    assert len(caught.value.errors) == 2


def test_cli_prints_no_traceback(tmp_path):
    path = write_suite(tmp_path, MINIMAL_SUITE + "bogus: 1\n", ROWS, ROWS)
    done = subprocess.run([sys.executable, "-m", "harness", "validate", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1


def test_missing_suite_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: suite file not found" in capsys.readouterr().err


def test_invalid_yaml_names_the_line(tmp_path, capsys):
    path = write_suite(tmp_path, MINIMAL_SUITE + "decoding: [unclosed\n", ROWS, ROWS)
    assert main(["validate", str(path)]) == 2
    assert "suite.yaml:" in capsys.readouterr().err


def test_overrides_are_validated_like_the_file_and_cannot_hide_its_bad_values(tmp_path):
    """--smoke replaces training.lora and the step counts; the file's own values are still checked first."""
    bad = write_suite(tmp_path, MINIMAL_SUITE + "training:\n  lora: {r: 0}\n  batch_size: -1\n"
                      "  learning_rate: .nan\n", ROWS, ROWS)
    with pytest.raises(InputErrors) as caught:
        load_suite(bad, SMOKE_OVERRIDES)
    assert [line.split(": ", 2)[1] for line in caught.value.lines()] == [
        "training.lora.r", "training.learning_rate", "training.batch_size"]
    good = load_suite(write_suite(tmp_path, MINIMAL_SUITE, ROWS, ROWS), {**SMOKE_OVERRIDES,
                                                                         **PROFILES["quick"]["overrides"]})
    assert good.training.max_steps is None and good.training.epochs == 1 and good.data.eval.limit == 24
    assert good.training.lora.dropout == 0.0 and good.decoding.max_new_tokens == 128


@pytest.mark.parametrize("overrides, expected", [
    ({"decoding.max_new_tokens": 0}, "decoding.max_new_tokens: Input should be greater than or equal to 1 (got 0) "
                                     "(set by a command-line option: decoding.max_new_tokens)"),
    ({"training.lora": {"r": 0}}, "training.lora.r: Input should be greater than or equal to 1 (got 0) "
                                  "(set by a command-line option: training.lora)"),
    ({"training.epochs": float("nan")}, "training.epochs: Input should be"),
    ({"training.epoch": 1}, "training.epoch: unknown key"),
    ({"model.name": "x"}, "model: Input should be a valid string"),
    ({"model": ""}, "model: expected text, got an empty or blank string"),
])
def test_a_bad_override_is_one_line_naming_the_option(tmp_path, overrides, expected):
    suite = load_suite(write_suite(tmp_path, MINIMAL_SUITE, ROWS, ROWS))
    with pytest.raises(InputErrors) as caught:
        suite.with_overrides(overrides)
    [line] = caught.value.lines()
    assert line.startswith(f"{suite.path}: ") and expected in line


def test_overrides_keep_the_path_and_lines_of_the_file(tmp_path):
    suite = load_suite(write_suite(tmp_path, MINIMAL_SUITE + "gates: [sft.words <= 3]\n", ROWS, ROWS))
    copy = suite.with_overrides({"decoding.seed": 7})
    assert copy.decoding.seed == 7 and suite.decoding.seed == 0
    assert copy.path == suite.path and copy.line_of("gates", 0) == "7"
    assert suite.with_overrides({}) is suite
