"""Damaged run folders, full disks and bugs: one line naming the file, exit 2, never a traceback or exit 1."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest
from run_folders import saved_run, snapshot

from harness.cli import main

FAILING_GATE = "sft.words.mean <= 1"


@pytest.fixture(scope="module")
def crafted_run(tmp_path_factory) -> Path:
    return saved_run(tmp_path_factory.mktemp("crafted") / "run")


def _valid(crafted_run: Path) -> dict:
    return json.loads((crafted_run / "results.json").read_text())


def _without_sft_output(raw: dict) -> dict:
    del raw["examples"][3]["variants"]["sft"]
    return raw


def _manifest_suite_is_a_list(raw: dict) -> dict:
    raw["manifest"]["suite"] = ["not", "an", "object"]
    return raw


def _summary_of_wrong_type(raw: dict) -> dict:
    raw["summary"]["sft"]["words"] = "many"
    return raw


DAMAGE = {
    "not utf-8": b"\xff\xfe\x00garbage",
    "garbage": b"{not json at all",
    "empty": b"",
    "array": b"[]",
    "string": b'"results"',
    "numeric version": b'{"schema_version": 1}',
    "future version": b'{"schema_version": "9.0"}',
    "fields missing": b'{"schema_version": "1.1", "suite": "x"}',
    "nested deep": b"[" * 100_000 + b"]" * 100_000,
    "an example without an sft output": _without_sft_output,
    "manifest.suite a list": _manifest_suite_is_a_list,
    "summary of the wrong type": _summary_of_wrong_type,
    "results.json a folder": None,
    "results.json missing": "missing",
}

COMMANDS = {
    "report": ["report", "{bad}"],
    "check": ["check", "{bad}", "--set-gate", FAILING_GATE],
    "compare new": ["compare", "{good}", "{bad}"],
    "compare old": ["compare", "{bad}", "{good}"],
    "export": ["export", "{bad}", "{root}/exported"],
    "baseline save": ["baseline", "save", "{bad}", "--name", "v1"],
    "check --baseline": ["check", "{good}", "--baseline", "{bad}", "--set-gate",
                         "sft.words not worse than baseline within 1"],
}


def _damage(folder: Path, crafted_run: Path, how) -> None:
    results = folder / "results.json"
    if how is None:
        results.unlink()
        results.mkdir()
    elif how == "missing":
        results.unlink()
    elif callable(how):
        results.write_text(json.dumps(how(_valid(crafted_run))))
    else:
        results.write_bytes(how)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_run_folder_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys, crafted_run, command,
                                                          damage):
    monkeypatch.setenv("HARNESS_BASELINES", str(tmp_path / "baselines"))
    good, bad = tmp_path / "good", tmp_path / "bad"
    shutil.copytree(crafted_run, good)
    shutil.copytree(crafted_run, bad)
    _damage(bad, crafted_run, DAMAGE[damage])
    before = snapshot(tmp_path)
    argv = [part.format(good=good, bad=bad, root=tmp_path) for part in COMMANDS[command]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert str(bad) in err  # names the file (or, where it is missing, the folder)
    assert snapshot(tmp_path) == before


def test_an_unexpected_error_is_one_line_exit_2_and_debug_shows_the_traceback(tmp_path, monkeypatch, capsys,
                                                                              crafted_run):
    def broken(results):
        raise RuntimeError("something no check foresaw\nsecond line")

    monkeypatch.setattr("harness.runs.render_report", broken)
    assert main(["report", str(crafted_run), "--out", str(tmp_path / "r.html")]) == 2
    line = "error: RuntimeError: something no check foresaw second line (re-run with --debug for the traceback)\n"
    assert capsys.readouterr().err == line
    assert main(["report", str(crafted_run), "--out", str(tmp_path / "r.html"), "--debug"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and "RuntimeError: something no check foresaw" in err and err.endswith(line)


def test_a_full_disk_is_one_line_exit_2_even_when_a_gate_fails(tmp_path, monkeypatch, capsys, crafted_run):
    run = tmp_path / "run"
    shutil.copytree(crafted_run, run)

    def disk_full(path, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("harness.runs.write_text_atomic", disk_full)
    assert main(["check", str(run), "--set-gate", FAILING_GATE]) == 2  # never 1: that means "a gate failed"
    assert capsys.readouterr().err == f"error: {run / 'junit.xml'}: No space left on device\n"
