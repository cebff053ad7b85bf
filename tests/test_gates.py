"""Gates: parsing, absolute / relative / paired / baseline gates on crafted results, and the boundary."""

from __future__ import annotations

import numpy as np
import pytest
from factory import crafted_results

from harness.gates import GateError, evaluate_gate, evaluate_gates, merge_gates, metric_specs, parse_gate

SPECS = metric_specs([])
NAMES = ["base", "system", "sft", "sft+system"]  # the default grid


def _results(n=40, sft_words=3, base_words=10, sft_filler=0):
    def text(i, v):
        if v.startswith("sft"):
            return ("Certainly! " if i < sft_filler else "") + " ".join(["w"] * sft_words)
        return " ".join(["w"] * base_words)
    return crafted_results(n, text, rules=[{"check": "words", "at_most": 5}])


@pytest.mark.parametrize("text, kind", [
    ("sft.format_pass >= 0.95", "absolute"),
    ("sft.filler_any <= 0.02", "absolute"),
    ("sft.words.median <= 0.7 * base.words.median", "relative"),
    ("sft.words.p90 < base.words.p90 - 2", "relative"),
    ("sft.format_pass not worse than system within 0.02", "paired"),
    ("sft+system.reference_nll not worse than baseline within 0.1", "baseline"),
    ("sft.perplexity <= 1.1 * system.perplexity", "relative"),
])
def test_gates_parse(text, kind):
    assert parse_gate(text, SPECS, NAMES).kind == kind


@pytest.mark.parametrize("text, message", [
    ("sft.format_pass => 0.95", "does not parse"),
    ("sft.format_pas >= 0.95", "unknown metric 'format_pas'"),
    ("sfx.format_pass >= 0.95", "unknown variant 'sfx'"),
    ("sft.format_pass not worse than systems within 0.1", "unknown variant 'systems'"),
    ("sft.perplexity not worse than system within 0.1", "perplexity is a corpus figure"),
    ("sft.format_pass not worse than system", "needs 'within MARGIN' with a margin above 0"),
    ("sft.format_pass not worse than system within -0.1", "needs 'within MARGIN' with a margin above 0"),
    ("__import__('os').system('x') >= 1", "does not parse"),
])
def test_bad_gates_are_rejected(text, message):
    with pytest.raises(GateError, match=message.replace("(", "\\(").replace(")", "\\)")):
        parse_gate(text, SPECS, NAMES)


def test_bad_gate_fails_at_validate(tmp_path, capsys):
    from conftest import MINIMAL_SUITE, write_suite

    from harness.cli import main

    rows = [{"prompt": "p", "response": "r"}]
    path = write_suite(tmp_path, MINIMAL_SUITE + "gates:\n  - sft.format_pass >= 0.9\n  - sft.nonsense >= 1\n",
                       rows, rows)
    assert main(["validate", str(path)]) == 2
    assert "gates[1]: 'sft.nonsense >= 1': unknown metric 'nonsense'" in capsys.readouterr().err


def test_absolute_and_relative_gates_pass_and_fail():
    results = _results(sft_words=3, base_words=10, sft_filler=4)
    gates = {g.gate: g for g in evaluate_gates([parse_gate(t, SPECS, NAMES) for t in (
        "sft.format_pass >= 0.95", "base.format_pass >= 0.95", "sft.filler_any <= 0.05", "sft.filler_any <= 0.1",
        "sft.words.median <= 0.7 * base.words.median", "sft.words.median <= 0.2 * base.words.median",
    )], results, SPECS).gates}
    assert gates["sft.format_pass >= 0.95"].passed and not gates["base.format_pass >= 0.95"].passed
    assert gates["sft.filler_any <= 0.1"].measured == 0.1 and gates["sft.filler_any <= 0.1"].passed
    assert not gates["sft.filler_any <= 0.05"].passed
    assert gates["sft.words.median <= 0.7 * base.words.median"].bound == pytest.approx(7.0)
    assert not gates["sft.words.median <= 0.2 * base.words.median"].passed


def test_paired_not_worse_than_system():
    results = _results(sft_words=3, base_words=10)
    gate = parse_gate("sft.format_pass not worse than system within 0.02", SPECS, NAMES)
    better = evaluate_gate(gate, results, SPECS)
    assert better.passed and better.ci_low > 0
    worse = evaluate_gate(parse_gate("system.format_pass not worse than sft within 0.02", SPECS, NAMES), results, SPECS)
    assert not worse.passed and worse.ci_high < 0


def _with_nll(offset: float):
    rng = np.random.default_rng(5)
    base = rng.integers(16, 48, 50) / 16  # dyadic values: the arithmetic below is exact
    return crafted_results(50, lambda i, v: "x", nll=lambda i, v: float(base[i]) + (offset if v == "sft" else 0))


@pytest.mark.parametrize("margin, passed", [(0.0625, False), (0.0626, True)])
def test_baseline_non_inferiority_at_the_boundary(margin, passed):
    """Every example gets exactly 1/16 nat worse: the CI is [1/16, 1/16], and a lower-is-better metric passes
    only when the upper bound is strictly below the margin."""
    baseline, new = _with_nll(0.0), _with_nll(0.0625)
    gate = parse_gate(f"sft.reference_nll not worse than baseline within {margin}", SPECS, NAMES)
    result = evaluate_gate(gate, new, SPECS, baseline)
    assert result.ci_low == result.ci_high == 0.0625
    assert result.passed is passed


def test_baseline_gate_without_a_baseline_fails():
    gate = parse_gate("sft.reference_nll not worse than baseline within 0.1", SPECS, NAMES)
    result = evaluate_gate(gate, _with_nll(0.0), SPECS, None)
    assert not result.passed and "no baseline" in result.detail


def test_cli_gates_replace_suite_gates_on_the_same_subject():
    merged = merge_gates(["sft.format_pass >= 0.95", "sft.filler_any <= 0.02"],
                         ["sft.format_pass >= 0.99", "sft.truncated <= 0.01"], SPECS, NAMES)
    assert [g.text for g in merged] == ["sft.format_pass >= 0.99", "sft.filler_any <= 0.02", "sft.truncated <= 0.01"]


def test_no_gate_is_silently_dropped():
    suite = ["sft.words >= 2", "sft.words <= 200", "sft.words.median <= 0.7 * base.words.median",
             "sft.words.median <= 0.9 * system.words.median", "sft.words >= 2"]
    merged = merge_gates(suite, ["sft.words <= 100"], SPECS, NAMES)
    assert [g.text for g in merged] == ["sft.words >= 2", "sft.words <= 100",
                                        "sft.words.median <= 0.7 * base.words.median",
                                        "sft.words.median <= 0.9 * system.words.median", "sft.words >= 2"]


def test_identical_results_are_not_worse_within_any_margin():
    results = _results()
    gate = parse_gate("sft.format_pass not worse than sft+system within 0.001", SPECS, NAMES)
    assert evaluate_gate(gate, results, SPECS).passed


@pytest.mark.parametrize("margin, passed", [(1.0, False), (1.01, True)])
def test_higher_is_better_boundary_uses_the_lower_bound(margin, passed):
    """Every sft answer now fails its format check: each paired difference is -1, so the CI is [-1, -1]."""
    baseline = crafted_results(8, lambda i, v: "w", rules=[{"check": "words", "at_most": 1}])
    new = crafted_results(8, lambda i, v: "w w" if v == "sft" else "w", rules=[{"check": "words", "at_most": 1}])
    result = evaluate_gate(parse_gate(f"sft.format_pass not worse than baseline within {margin}", SPECS, NAMES), new,
                           SPECS, baseline)
    assert result.ci_low == result.ci_high == -1.0
    assert result.passed is passed


def test_the_concise_gates_fail_an_all_empty_variant():
    """Saying nothing must not pass: with every sft answer empty, the format gates fail, and the summary
    reports the empty answers."""
    from conftest import ROOT

    from harness.suite import load_suite

    suite = load_suite(ROOT / "suites" / "concise.yaml")
    results = crafted_results(40, lambda i, v: "" if v.startswith("sft") else "A short answer.",
                              rules=[r.model_dump(exclude_none=True) for r in suite.metrics.format])
    assert results.summary["sft"].empty_rate == 1.0 and results.summary["system"].empty_rate == 0.0
    report = evaluate_gates([parse_gate(g, SPECS, NAMES) for g in suite.gates], results, SPECS)
    assert not report.passed
    failed = {g.gate for g in report.gates if not g.passed}
    assert {"sft.format_pass >= 0.95", "sft.format_pass not worse than system within 0.02"} <= failed
