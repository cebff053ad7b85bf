"""The metric registry: each metric declared once, and every consumer (comparisons, gates, the summary rows of
the console, report and model card) reading it."""

from __future__ import annotations

from conftest import ROOT
from doc_snippets import FILES, covers, snippet
from factory import crafted_results

from harness.compare import specs_for
from harness.gates import evaluate_gate, metric_specs, parse_gate
from harness.metrics.registry import CORPUS, METRICS, statistic, summary_rows
from harness.report import render_report

NAMES = ["base", "system", "sft", "sft+system"]


def test_each_metric_is_declared_once_and_each_behaviour_has_one_headline():
    keys = [m.key for m in METRICS] + [m.key for m in CORPUS]
    assert len(keys) == len(set(keys))
    headlines = [m.behaviour for m in METRICS if m.headline]
    assert sorted(headlines) == sorted(set(headlines)) == ["filler", "fit", "format", "length"]
    assert all(m.test == ("mid-p McNemar" if m.kind == "binary" else "Wilcoxon signed-rank") for m in METRICS)


def _results():
    return crafted_results(10, lambda i, v: "One. Two. Three." if v == "base" else "One.",
                           rules=[{"check": "words", "at_most": 2}])


def test_a_declared_metric_reaches_comparisons_gates_and_every_summary():
    """`sentences` is one line of the registry (docs/metrics.md shows the diff); nothing else names it."""
    results = _results()
    compared = {(c.a, c.b, c.metric) for c in results.comparisons}
    assert ("sft", "base", "sentences") in compared
    gate = parse_gate("sft.sentences.median <= 0.5 * base.sentences.median", metric_specs([]), NAMES)
    outcome = evaluate_gate(gate, results, metric_specs([]))
    assert outcome.passed and outcome.measured == 1 and outcome.bound == 1.5
    rows = dict(summary_rows(results))
    assert rows["sentences per answer, median"] == ["3.0", "1.0", "1.0", "1.0"]
    assert "sentences per answer, median" in render_report(results)


def test_summary_rows_show_rates_as_percentages_and_the_corpus_perplexity():
    rows = dict(summary_rows(_results()))
    assert rows["all format checks pass (strict)"] == ["0.0%", "100.0%", "100.0%", "100.0%"]
    assert rows["words per answer, median"] == ["3.0", "1.0", "1.0", "1.0"]
    assert rows["reference perplexity"][0] == "2.72"  # e ** 1.0: the crafted NLL is 1 nat per token


def test_only_metrics_declared_compared_are_tested_between_variants():
    compared = {m.key for m in specs_for({})}
    assert "stopped" not in compared and "stopped" in metric_specs([])  # a gate may use it; no paired row
    assert {m.key for m in METRICS if m.compared} == compared


def test_one_p90_serves_summaries_and_gates():
    values = [float(v) for v in range(1, 11)]
    assert statistic(values, "p90") == 9.1 and statistic([4.0], "p90") == 4.0 and statistic([], "mean") is None


ADDITION = "```diff --- a/harness/metrics/registry.py"


@covers("docs/metrics.md", ADDITION, how=FILES)
def test_the_documented_addition_is_in_the_registry_as_shown():
    added = [line[1:] for line in snippet("docs/metrics.md", ADDITION).splitlines()
             if line.startswith("+") and not line.startswith("+++")]
    assert added and "\n".join(added) in (ROOT / "harness" / "metrics" / "registry.py").read_text()
