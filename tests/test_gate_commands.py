"""`harness check` and baselines from saved runs: exit codes, JUnit, Markdown, JSON, refusals."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pytest
from conftest import MINIMAL_SUITE, write_suite
from factory import crafted_results, manifest
from markdown_it import MarkdownIt

from harness.cli import main
from harness.results import read_results, write_results


def _save(folder, gates=(), run_manifest=None, sft_words=3):
    folder.mkdir()
    settings = manifest()["suite"]["settings"] | {"gates": list(gates)}
    run_manifest = run_manifest or manifest()
    run_manifest["suite"]["settings"] = settings
    results = crafted_results(30, lambda i, v: " ".join(["w"] * (sft_words if v.startswith("sft") else 9)),
                              rules=[{"check": "words", "at_most": 5}], run_manifest=run_manifest)
    write_results(results, folder)
    return folder


@pytest.fixture(autouse=True)
def baselines_here(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_BASELINES", str(tmp_path / "baselines"))


def test_passing_gates_exit_0_and_write_every_output(tmp_path, capsys):
    run = _save(tmp_path / "run", gates=["sft.format_pass >= 0.95", "sft.words.median <= 0.5 * base.words.median"])
    assert main(["check", str(run)]) == 0
    out = capsys.readouterr().out
    assert "✅ all gates pass" in out and "| `sft.format_pass >= 0.95` | 1 | 0.95 |" in out
    assert json.loads((run / "gates.json").read_text())["passed"] is True
    assert read_results(run).gate.passed and "Gates:" in (run / "report.html").read_text()


def test_a_failing_gate_exits_1_with_junit_fields_ci_tools_read(tmp_path, capsys):
    run = _save(tmp_path / "run", gates=["sft.format_pass >= 0.95"])
    junit = tmp_path / "out" / "gates.xml"
    code = main(["check", str(run), "--set-gate", "sft.words.mean <= 2", "--set-gate",
                 "sft.format_pass not worse than system within 0.01", "--junit", str(junit)])
    assert code == 1
    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    assert root.tag == "testsuites" and suite.get("tests") == "3" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"sft.format_pass >= 0.95", "sft.words.mean <= 2",
                          "sft.format_pass not worse than system within 0.01"}
    failure = cases["sft.words.mean <= 2"].find("failure")
    assert failure.get("message") == "measured 3, bound 2, 95% CI –" and failure.get("type") == "gate.absolute"
    assert cases["sft.format_pass >= 0.95"].find("failure") is None
    paired = cases["sft.format_pass not worse than system within 0.01"].find("system-out").text
    assert "95% CI [+1, +1]" in paired
    assert "❌ 1 of 3 gates failed" in capsys.readouterr().out


def test_baseline_save_and_gate_against_it(tmp_path):
    old = _save(tmp_path / "old")
    assert main(["baseline", "save", str(old), "--name", "shipped-v1"]) == 0
    new = _save(tmp_path / "new", sft_words=4)
    assert main(["check", str(new), "--baseline", "shipped-v1", "--set-gate",
                 "sft.words not worse than baseline within 0.5"]) == 1
    assert main(["check", str(new), "--baseline", "shipped-v1", "--set-gate",
                 "sft.words not worse than baseline within 1.5"]) == 0
    assert read_results(new).gate.baseline == "shipped-v1"


@pytest.mark.parametrize("change, message", [
    ({"weights": "x" * 64}, "the base model differs"),
    ({"eval_hash": "f" * 64}, "the eval set differs"),
    ({"decoding": {"max_new_tokens": 7}}, "the decoding settings differ"),
])
def test_a_mismatched_baseline_is_refused_unless_forced(tmp_path, capsys, change, message):
    old = _save(tmp_path / "old")
    new = _save(tmp_path / "new", run_manifest=manifest(**change))
    gate = ["--set-gate", "sft.words not worse than baseline within 1"]
    assert main(["check", str(new), "--baseline", str(old), *gate]) == 2
    assert message in capsys.readouterr().err
    assert main(["check", str(new), "--baseline", str(old), *gate, "--force"]) == 0
    summary = (new / "gate-summary.md").read_text()
    assert "**Forced comparison:**" in summary and message in summary
    assert "Forced baseline comparison" in (new / "report.html").read_text()


def test_usage_errors_exit_2(tmp_path, capsys):
    run = _save(tmp_path / "run")
    assert main(["check", str(run)]) == 2  # no gates anywhere
    assert main(["check", str(run), "--set-gate", "sft.words not worse than baseline within 1"]) == 2
    assert main(["check", str(run), "--set-gate", "sft.words >= "]) == 2
    assert main(["check", str(run), "--baseline", "nope", "--set-gate", "sft.words <= 3"]) == 2
    err = capsys.readouterr().err
    assert "no gates to check" in err and "pass --set-gate EXPR" in err
    assert "pass --baseline" in err and "does not parse" in err
    assert "neither a run folder nor a saved baseline" in err


def _suite(folder, gates=()):
    rows = [{"prompt": "Q?", "response": "A."}]
    body = MINIMAL_SUITE + ("gates:\n" + "".join(f"  - {g}\n" for g in gates) if gates else "")
    return write_suite(folder, body, rows, rows)


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    """`harness run` without model work: it "writes" a saved run folder and returns it."""
    crafted = _save(tmp_path / "crafted", gates=["sft.format_pass >= 0.95"])
    calls = []

    def run(suite, out=None, **kwargs):
        calls.append(suite)
        shutil.copytree(crafted, out or tmp_path / "out", dirs_exist_ok=True)
        return out or tmp_path / "out"

    monkeypatch.setattr("harness.run.run", run)
    return calls


@pytest.mark.parametrize("options", [
    ["--set-gate", "sft.words.mean <= 2"],
    ["--baseline", "shipped", "--set-gate", "sft.words not worse than baseline within 0.5", "--set-gate",
     "sft.words.mean <= 2"],
    ["--junit", "{tmp}/ci/junit.xml", "--set-gate", "sft.words.mean <= 2"],
])
def test_a_gate_option_on_run_checks_the_gates(tmp_path, fake_run, options):
    """Without --gate, a gate option is not ignored: the failing gate still fails the command."""
    suite = _suite(tmp_path)
    main(["baseline", "save", str(_save(tmp_path / "old", sft_words=2)), "--name", "shipped"])
    argv = ["run", str(suite), "--out", str(tmp_path / "run"), *[o.format(tmp=tmp_path) for o in options]]
    assert main(argv) == 1
    assert fake_run and read_results(tmp_path / "run").gate.failed >= 1


@pytest.mark.parametrize("options", [["--gate"], ["--junit", "junit.xml"], ["--baseline", "nope", "--gate"]])
def test_run_with_gates_it_cannot_check_fails_before_any_model_work(tmp_path, fake_run, capsys, options):
    suite = _suite(tmp_path)
    assert main(["run", str(suite), *options]) == 2
    assert not fake_run
    err = capsys.readouterr().err
    assert "no gates to check" in err and "--set-gate" in err or "neither a run folder nor a saved baseline" in err


def test_run_gate_with_the_suites_gates_runs_then_checks(tmp_path, fake_run):
    suite = _suite(tmp_path, gates=["sft.format_pass >= 0.95"])
    assert main(["run", str(suite), "--gate", "--out", str(tmp_path / "run")]) == 0
    assert fake_run and (tmp_path / "run" / "junit.xml").is_file()


def _rendered(markdown: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


def test_text_from_suites_and_paths_cannot_inject_markdown_or_html_into_the_summary(tmp_path):
    old = _save(tmp_path / "old")
    hostile = tmp_path / "a`b` **bold** <img src=x onerror=alert(1)> |c"
    shutil.copytree(old, hostile)
    run = _save(tmp_path / "run")
    results = read_results(run)
    results.suite = "s <script>alert(1)</script> _em_ [link](http://x)"
    write_results(results, run)
    assert main(["check", str(run), "--baseline", str(hostile), "--set-gate",
                 "sft.words not worse than baseline within 0.5", "--set-gate", "sft.words.mean <= 2"]) == 1
    html = _rendered((run / "gate-summary.md").read_text())
    assert "<img" not in html and "<script" not in html and "<em>" not in html and "<a " not in html
    assert html.count("<strong>") == 1  # harness's own mark of the one failed gate, none from the text
    assert "<code>" + str(hostile).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; _em_ [link](http://x)" in html


def test_junit_carries_no_character_xml_cannot_hold(tmp_path):
    run = _save(tmp_path / "run")
    results = read_results(run)
    results.suite = "bell\x07 escape\x1b[31m nul\x00 form\x0c ok"
    write_results(results, run)
    assert main(["check", str(run), "--set-gate", "sft.words.mean <= 2"]) == 1
    suite = ET.parse(run / "junit.xml").getroot().find("testsuite")  # raises on a malformed file
    assert suite.get("name") == "harness gates: bell\ufffd escape\ufffd[31m nul\ufffd form\ufffd ok"
