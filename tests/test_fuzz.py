"""Every command fed broken input: suites, data files and run folders, each broken by mutating a known-good
one with a seeded generator, so every machine and every CI run tries the same cases (change SEED in
tests/fuzz_cases.py locally to explore others). Whatever the case, the command exits 2 with `error:` lines
naming the broken file, never a traceback (nor the catch-all line for an error no check foresaw), and writes
nothing: no run folder, report, gate file, baseline, export or cache entry. The kinds covered are listed in
README.md, "What the fuzz test covers"; this file holds the tests and their cases, tests/fuzz_cases.py makes
the broken inputs.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT
from fuzz_cases import (
    CSV_ROWS,
    DATA_KINDS,
    DIR,
    GOOD_ROWS,
    GOOD_SUITE,
    PARQUET_COLUMNS,
    RUN_DAMAGE,
    TEXT_KINDS,
    TREE_KINDS,
    csv_bytes,
    damage_run,
    data_case,
    dump_yaml,
    folder_case,
    jsonl_bytes,
    parquet_bytes,
    suite_case,
)
from run_folders import saved_run, snapshot

from harness.cli import main

PER_KIND = 10  # cases of each kind; half as many for JSON, CSV and parquet data and for run folders
SUITE_CASES = [(kind, i) for kind in [*TREE_KINDS, *TEXT_KINDS, "a folder, not a file"] for i in range(PER_KIND)]
DATA_CASES = [(form, kind, i) for form, kinds in DATA_KINDS.items() for kind in kinds
              for i in range(PER_KIND if form == "jsonl" else PER_KIND // 2)]
# Commands read results.json, which holds the manifest: a folder without manifest.json is complete.
RUN_CASES = [(file, kind, i) for file in ("results.json", "manifest.json") for kind in RUN_DAMAGE
             for i in range(1 if kind in ("a folder", "missing") else PER_KIND // 2)
             if (file, kind) != ("manifest.json", "missing")]


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """Everything a command could write lands in tmp_path: the current folder (reports/, baselines/), the cache."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("HARNESS_BASELINES", raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    return saved_run(tmp_path_factory.mktemp("fuzz") / "run")


def _write(folder: Path, files: dict) -> None:
    for name, content in {"train.jsonl": jsonl_bytes(GOOD_ROWS), "eval.jsonl": jsonl_bytes(GOOD_ROWS), **files}.items():
        path = folder / name
        if path.is_file():
            path.unlink()
        if content is DIR:
            path.mkdir()
        else:
            path.write_bytes(content.encode() if isinstance(content, str) else content)


def _refused(argv: list, capsys, names: Path) -> list[str]:
    """Exit 2 and only `error:` lines naming the broken file (a run's stage headings aside)."""
    code = main([str(part) for part in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("==> ")]
    assert code == 2, (argv, err)
    assert lines and "Traceback" not in err, (argv, err)
    for line in lines:
        assert line.startswith("error: ") and str(names) in line, (argv, line)
        assert "--debug" not in line, (argv, line)  # the catch-all line for an error no check foresaw
    return lines


def _validate_then_run(root: Path, files: dict, names: str, capsys) -> None:
    _write(root, files)
    suite, before = root / "suite.yaml", snapshot(root)
    lines = _refused(["validate", suite], capsys, root / names)
    assert snapshot(root) == before
    # only what validate refuses goes to run, which must refuse it the same way, before any model work
    for out in (["--out", root / "out"], []):
        assert _refused(["run", suite, "--smoke", *out], capsys, root / names) == lines
        assert snapshot(root) == before


@pytest.mark.parametrize("kind, index", SUITE_CASES, ids=[f"{k}-{i}" for k, i in SUITE_CASES])
def test_a_broken_suite_is_refused_by_validate_and_run(workspace, capsys, kind, index):
    _validate_then_run(workspace, *suite_case(kind, index), capsys)


@pytest.mark.parametrize("form, kind, index", DATA_CASES, ids=[f"{f}-{k}-{i}" for f, k, i in DATA_CASES])
def test_broken_data_is_refused_by_validate_and_run(workspace, capsys, form, kind, index):
    _validate_then_run(workspace, *data_case(form, kind, index), capsys)


def _commands(good: Path, bad: Path, root: Path) -> list[list]:
    gate = ["--set-gate", "sft.words.mean <= 1"]
    return [["report", bad], ["report", bad, "--out", root / "report.html"],
            ["compare", good, bad], ["compare", bad, good, "--out", root / "compare.html"],
            ["check", bad, *gate],
            ["check", bad, *gate, "--junit", root / "j.xml", "--markdown", root / "s.md", "--json", root / "g.json"],
            ["check", good, "--baseline", bad, "--set-gate", "sft.words not worse than baseline within 1"],
            ["baseline", "save", bad, "--name", "fuzz"], ["export", bad, root / "exported"]]


@pytest.mark.parametrize("file, kind, index", RUN_CASES, ids=[f"{f}-{k}-{i}" for f, k, i in RUN_CASES])
def test_a_damaged_run_folder_is_refused_by_every_command(workspace, capsys, good_run, file, kind, index):
    good, bad = workspace / "good", workspace / "bad"
    shutil.copytree(good_run, good)
    shutil.copytree(good_run, bad)
    damage_run(bad, file, kind, index)
    before = snapshot(workspace)
    for argv in _commands(good, bad, workspace):
        _refused(argv, capsys, bad)
        assert snapshot(workspace) == before, argv


def test_the_known_good_inputs_pass_so_each_case_fails_by_its_damage(workspace, capsys, good_run):
    """Every case starts from inputs that every command accepts: what fails is what the case changed."""
    with_files = {name: content for name, content in folder_case(copy.deepcopy(GOOD_SUITE), 1)[0].items()
                  if content is not DIR}  # a lexicon and a JSON Schema file
    for text in (dump_yaml(GOOD_SUITE), dump_yaml(GOOD_SUITE, flow=True), with_files["suite.yaml"]):
        _write(workspace, {**with_files, "suite.yaml": text})
        assert main(["validate", "suite.yaml"]) == 0, capsys.readouterr().err
    goods = {"json": json.dumps(GOOD_ROWS), "csv": csv_bytes(CSV_ROWS), "parquet": parquet_bytes(PARQUET_COLUMNS)}
    for form, data in goods.items():
        tree = copy.deepcopy(GOOD_SUITE)
        tree["data"]["eval"]["path"] = f"eval.{form}"
        _write(workspace, {"suite.yaml": dump_yaml(tree), f"eval.{form}": data})
        assert main(["validate", "suite.yaml"]) == 0, capsys.readouterr().err
    for name in ("good", "other"):
        shutil.copytree(good_run, workspace / name)
    for argv in _commands(workspace / "good", workspace / "other", workspace):
        assert main([str(part) for part in argv]) in (0, 1), argv  # check: 1, as its gate fails


def test_the_readme_lists_what_this_file_covers():
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("### What the fuzz test covers")[1]
    section = section.split("\n## ")[0].lower()
    for name in [*DATA_KINDS, "results.json", "manifest.json", "validate", "run", "report", "compare", "check",
                 "check --baseline", "baseline save", "export", "alias", "duplicate key", "truncated", "utf-8"]:
        assert name in section, name
