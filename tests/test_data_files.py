"""Local data files: every supported format gives the same examples; every bad file is one clear line."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from conftest import MINIMAL_SUITE, write_suite

from harness import data_files
from harness.cli import main
from harness.errors import HarnessError, InputErrors
from harness.examples import Example, load_examples
from harness.suite import load_suite

ROWS = [
    {"id": "a", "task": "fact", "prompt": "What is 2+2?", "response": "4.",
     "rules": [{"check": "words", "at_most": 3}]},
    {"id": "b", "instruction": "Summarise.", "input": "A long text.", "output": "Short.",
     "rules": [{"check": "regex", "pattern": "x", "negate": True}]},
    {"id": "c", "messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}]},
    {"id": "007", "prompt": "NA", "response": "True"},  # CSV type inference would turn these into 7, null, true
]
EXPECTED = [
    Example(id="a", task="fact", prompt="What is 2+2?", response="4.", rules=[{"check": "words", "at_most": 3}]),
    Example(id="b", prompt="Summarise.\n\nA long text.", response="Short.",
            rules=[{"check": "regex", "pattern": "x", "negate": True}]),
    Example(id="c", prompt="Hi?", response="Hello."),
    Example(id="007", prompt="NA", response="True"),
]
GOOD = [{"prompt": "p", "response": "r"}]


def _columns(rows: list[dict]) -> dict[str, list]:
    """Column-wise, every key in every row (None where a row lacks it): Dataset.from_list keeps only the
    first row's keys."""
    keys = list(dict.fromkeys(key for row in rows for key in row))
    return {key: [row.get(key) for row in rows] for key in keys}


def _write_csv(path: Path, rows: list[dict]) -> None:
    columns = list(_columns(rows))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in row.items()})


def _dataset(rows: list[dict]):
    import datasets

    return datasets.Dataset.from_dict(_columns(rows))


WRITERS = {
    "data.jsonl": lambda path: path.write_text("".join(json.dumps(r) + "\n" for r in ROWS)),
    "data.json": lambda path: path.write_text(json.dumps(ROWS, indent=2)),
    "lines.json": lambda path: path.write_text("".join(json.dumps(r) + "\n" for r in ROWS)),
    "data.csv": lambda path: _write_csv(path, ROWS),
    "data.parquet": lambda path: _dataset(ROWS).to_parquet(str(path)),
    "saved": lambda path: _dataset(ROWS).save_to_disk(str(path)),
}


def _suite(tmp_path: Path, eval_source: str):
    body = MINIMAL_SUITE.replace("eval: {path: eval.jsonl}", f"eval: {eval_source}")
    return load_suite(write_suite(tmp_path, body, GOOD, None))


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_format_gives_the_same_examples(tmp_path, name):
    WRITERS[name](tmp_path / name)
    examples = load_examples(_suite(tmp_path, f"{{path: {name}}}"), "eval")
    assert examples.examples == EXPECTED
    assert examples.source == str(tmp_path / name)


def test_a_saved_dataset_dict_needs_its_split(tmp_path):
    import datasets

    datasets.DatasetDict(train=_dataset(GOOD), eval=_dataset(ROWS)).save_to_disk(str(tmp_path / "saved"))
    assert load_examples(_suite(tmp_path, "{path: saved, split: eval}"), "eval").examples == EXPECTED
    with pytest.raises(HarnessError, match=r"saved: a DatasetDict with the splits eval, train; add 'split: NAME'"):
        load_examples(_suite(tmp_path, "{path: saved}"), "eval")
    with pytest.raises(HarnessError, match=r"saved: no split 'dev'; expected one of: eval, train"):
        load_examples(_suite(tmp_path, "{path: saved, split: dev}"), "eval")


def test_messages_rows_in_parquet(tmp_path):
    rows = [{"messages": [{"role": "user", "content": f"Q{i}?"}, {"role": "assistant", "content": f"A{i}."}]}
            for i in range(3)]
    _dataset(rows).to_parquet(str(tmp_path / "chat.parquet"))
    examples = load_examples(_suite(tmp_path, "{path: chat.parquet}"), "eval").examples
    assert [(e.id, e.prompt, e.response) for e in examples] == [(f"eval-{i + 1:05d}", f"Q{i}?", f"A{i}.")
                                                                 for i in range(3)]


def _bytes(content: bytes):
    return lambda path: path.write_bytes(content)


def _folder(path: Path) -> None:
    path.mkdir()
    (path / "train.jsonl").write_text(json.dumps(GOOD[0]))


def _damaged_save(path: Path) -> None:
    _dataset(GOOD).save_to_disk(str(path))
    (path / "state.json").write_text("{")


def _dataset_dict(path: Path) -> None:
    import datasets

    datasets.DatasetDict(train=_dataset(GOOD), test=_dataset(GOOD)).save_to_disk(str(path))


DEEP = b'{"prompt": "p", "response": "r", "rules": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"

# (file name, how to make it, where the error points ("" for the whole file), what the line must say)
BAD_FILES = {
    "jsonl_not_utf8": ("d.jsonl", _bytes(b'{"prompt": "ok", "response": "r"}\n{"prompt": "caf\xe9"}\n'), "2",
                       ["not UTF-8 (byte 0xe9", "expected UTF-8 text"]),
    "jsonl_invalid": ("d.jsonl", _bytes(b'{"prompt": "p", "response": }\n'), "1", ["invalid JSON: Expecting value"]),
    "jsonl_not_object": ("d.jsonl", _bytes(b'"just text"\n'), "1", ["expected a JSON object, got str"]),
    "jsonl_array_row": ("d.jsonl", _bytes(b'["p", "r"]\n'), "1", ["expected a JSON object, got list"]),
    "jsonl_duplicate_key": ("d.jsonl", _bytes(b'{"prompt": "a", "prompt": "b", "response": "r"}\n'), "1",
                            ["duplicate key 'prompt'; expected each key once"]),
    "jsonl_nan": ("d.jsonl", _bytes(b'{"prompt": "p", "response": NaN}\n'), "1", ["NaN is not a JSON number"]),
    "jsonl_deep": ("d.jsonl", _bytes(DEEP), "1", ["nested 100001 levels deep", "at most 64"]),
    "jsonl_empty": ("d.jsonl", _bytes(b""), "", ["no rows; expected at least one example"]),
    "jsonl_blank_lines": ("d.jsonl", _bytes(b"\n  \n\n"), "", ["no rows; expected at least one example"]),
    "json_not_utf8": ("d.json", _bytes(b'[{"prompt": "a", "response": "b"},\n {"prompt": "\xff"}]'), "2",
                      ["not UTF-8 (byte 0xff)"]),
    "json_item_not_object": ("d.json", _bytes(b'[{"prompt": "a", "response": "b"}, 3]'), "row 1",
                             ["expected a JSON object, got int"]),
    "json_invalid": ("d.json", _bytes(b'[\n{"prompt": '), "2", ["invalid JSON"]),
    "json_one_object": ("d.json", _bytes(b'{\n  "rows": []\n}\n'), "",
                        ["holds one JSON object (keys: rows); expected an array of row objects, or one object "
                         "per line"]),
    "json_bad_line": ("d.json", _bytes(b'{"prompt": "p", "response": "r"}\n{"prompt": \n'), "2",
                      ["invalid JSON", "a .json file holds an array of row objects, or one object per line"]),
    "json_empty_array": ("d.json", _bytes(b"[]"), "", ["no rows"]),
    "csv_not_utf8": ("d.csv", _bytes(b"prompt,response\nok,fine\ncaf\xe9,r\n"), "3", ["not UTF-8 (byte 0xe9"]),
    "csv_extra_cell": ("d.csv", _bytes(b"prompt,response\na,b,c\n"), "2", ["3 cells; expected 2"]),
    "csv_duplicate_column": ("d.csv", _bytes(b"prompt,prompt,response\na,b,c\n"), "1",
                             ["duplicate column 'prompt'"]),
    "csv_bad_rules_json": ("d.csv", _bytes(b'prompt,response,rules\na,b,"[{"\n'), "2",
                           ["column 'rules': invalid JSON", "expected JSON text in this column"]),
    "csv_header_only": ("d.csv", _bytes(b"prompt,response\n"), "", ["no rows"]),
    "csv_empty": ("d.csv", _bytes(b""), "", ["no rows"]),
    "parquet_damaged": ("d.parquet", _bytes(b"PAR1 this is not parquet"), "",
                        ["not a readable parquet file", "expected a parquet file"]),
    "unknown_extension": ("d.txt", _bytes(b"prompt\n"), "",
                          ["unsupported data file type '.txt'", "expected a .jsonl, .json, .csv or .parquet file"]),
    "plain_folder": ("d.jsonl", _folder, "", ["is a folder without state.json", "save_to_disk"]),
    "damaged_save_to_disk": ("saved", _damaged_save, "", ["cannot load this save_to_disk folder"]),
    "dataset_dict_no_split": ("saved", _dataset_dict, "", ["splits test, train; add 'split: NAME'"]),
    "fifo": ("pipe.jsonl", lambda path: os.mkfifo(path), "", ["not a regular file"]),
    "missing_parquet": ("nope.parquet", lambda path: None, "", ["data file not found; expected a parquet file"]),
}


def _eval_error_lines(tmp_path: Path, name: str, make) -> list[str]:
    make(tmp_path / name)
    with pytest.raises(HarnessError) as caught:
        load_examples(_suite(tmp_path, f"{{path: {name}}}"), "eval")
    error = caught.value
    return error.lines() if isinstance(error, InputErrors) else [error.line()]


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_each_bad_file_is_one_line_naming_file_place_and_expectation(tmp_path, case):
    name, make, where, expected = BAD_FILES[case]
    lines = _eval_error_lines(tmp_path, name, make)
    assert len(lines) == 1, lines
    prefix = f"{tmp_path / name}:{where}: " if where else f"{tmp_path / name}: "
    assert lines[0].startswith(prefix), lines[0]
    assert "\n" not in lines[0]
    for text in expected:
        assert text in lines[0]


def test_a_path_through_a_file_is_refused(tmp_path):
    (tmp_path / "d.jsonl").write_text(json.dumps(GOOD[0]))
    lines = _eval_error_lines(tmp_path, "d.jsonl/rows.jsonl", lambda path: None)
    assert lines == [f"{tmp_path / 'd.jsonl/rows.jsonl'}: cannot read data path (Not a directory); expected a "
                     "JSONL file (one JSON object per line)"]


@pytest.mark.parametrize("source, expected", [
    ("{path: e.jsonl, subset: en}", "data.eval.subset: applies only to a 'dataset:' source"),
    ("{path: e.jsonl, split: test}", "e.jsonl: 'split: test' applies only to a save_to_disk DatasetDict folder"),
    ("{dataset: e.jsonl, split: test}", "data.eval.dataset: 'e.jsonl' is a single file; give it as 'path:'"),
    ("{dataset: saved, split: train}", "data.eval.dataset: 'saved' is a save_to_disk folder; give it as 'path:'"),
])
def test_a_source_of_the_wrong_kind_is_refused(tmp_path, source, expected):
    (tmp_path / "e.jsonl").write_text(json.dumps(GOOD[0]))
    _dataset(GOOD).save_to_disk(str(tmp_path / "saved"))
    with pytest.raises(HarnessError) as caught:
        load_examples(_suite(tmp_path, source), "eval")
    assert expected in caught.value.line() and "\n" not in caught.value.line()


def test_an_over_long_line_is_skipped_without_being_held(tmp_path, monkeypatch):
    monkeypatch.setattr(data_files, "MAX_LINE_BYTES", 1 << 20)
    path = tmp_path / "d.jsonl"
    with open(path, "wb") as handle:
        handle.write(b'{"prompt": "' + b"a" * (12 << 20) + b'", "response": "r"}\n')
        handle.write(b'{"prompt": "second", "response": "r"}\n{"prompt": 3, "response": "r"}\n')
    tracemalloc.start()
    try:
        with pytest.raises(InputErrors) as caught:
            data_files.read_rows(path, None, frozenset())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.lines() == [f"{path}:1: line longer than 1,048,576 bytes; expected at most that per row"]
    assert peak < 4 << 20  # the 12 MiB line was never read whole


def test_a_column_misnamed_in_every_row_is_reported_once(tmp_path):
    rows = [{"prompt": f"p{i}", "response": "r", "rule": []} for i in range(50)]
    _dataset(rows).to_parquet(str(tmp_path / "d.parquet"))
    lines = _eval_error_lines(tmp_path, "d.parquet", lambda path: None)
    assert lines == [f"{tmp_path / 'd.parquet'}:row 0: unknown key 'rule' (did you mean 'rules'?); expected only: "
                     "prompt, response, id, task, rules, split (and 49 more rows like it)"]


@pytest.mark.parametrize("name, make", [
    ("d.jsonl", _bytes(b'{"prompt": "caf\xe9", "response": "r"}\n')),
    ("d.jsonl", _folder),
    ("d.csv", _bytes(b"")),
    ("d.jsonl", _bytes(b'{"prompt": "p", "response": "r", "rule": []}\n{"prompt": "p", "respnse": "r"}\n')),
])
def test_validate_exits_2_with_one_line_per_problem(tmp_path, capsys, name, make):
    make(tmp_path / name)
    body = MINIMAL_SUITE.replace("eval: {path: eval.jsonl}", f"eval: {{path: {name}}}")
    assert main(["validate", str(write_suite(tmp_path, body, GOOD, None))]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines and all(line.startswith(f"error: {tmp_path / name}:") for line in lines), lines
    assert captured.out == ""


def test_validate_accepts_the_new_formats(tmp_path, capsys):
    WRITERS["data.parquet"](tmp_path / "data.parquet")
    WRITERS["data.csv"](tmp_path / "data.csv")
    body = MINIMAL_SUITE.replace("train: {path: train.jsonl}", "train: {path: data.csv}").replace(
        "eval: {path: eval.jsonl}", "eval: {path: data.parquet}")
    assert main(["validate", str(write_suite(tmp_path, body))]) == 0
    assert "4 train and 4 eval examples" in capsys.readouterr().out


def test_the_command_line_prints_no_traceback_for_non_utf8_data(tmp_path):
    (tmp_path / "eval.jsonl").write_bytes(b'{"prompt": "\xff\xfe", "response": "r"}\n')
    path = write_suite(tmp_path, MINIMAL_SUITE, GOOD, None)
    done = subprocess.run([sys.executable, "-m", "harness", "validate", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == f"error: {tmp_path / 'eval.jsonl'}:1: not UTF-8 (byte 0xff at byte 13 of the line); " \
                          "expected UTF-8 text\n"
