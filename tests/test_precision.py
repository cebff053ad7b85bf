"""Evaluation precision as a recorded choice, and the check of how far NF4 moves the base model."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, snippet_suite
from doc_snippets import VALIDATE, cli, covers, snippet

from harness.cli import main
from harness.evaluation import VariantRun
from harness.generation import Output
from harness.metrics.perplexity import ReferenceScore
from harness.models import resolve_numerics
from harness.precision import check_result, nf4_adapters, variant_numerics
from harness.results import read_results
from harness.suite import Suite
from harness.variants import Variant


def _suite(**fields) -> Suite:
    return Suite.model_validate({"name": "p", "model": "m", "system_prompt": "Be brief.",
                                 "data": {"train": {"path": "t.jsonl"}, "eval": {"path": "e.jsonl"}}, **fields})


def test_full_precision_is_the_default_and_training_follows_each_adapter():
    suite = _suite(training={"quantization": "nf4"}, adapters={"q": {}, "plain": {"quantization": "none"}})
    assert suite.evaluation.precision == "full"
    assert {variant_numerics(suite, a).quantization for a in (None, "q", "plain")} == {"none"}
    held = suite.with_overrides({"evaluation.precision": "training"})
    assert [variant_numerics(held, a).quantization for a in (None, "q", "plain")] == ["nf4", "nf4", "none"]


def test_the_check_runs_only_for_adapters_trained_on_nf4():
    suite = _suite(training={"quantization": "nf4"}, adapters={"q": {}, "plain": {"quantization": "none"}})

    def variant(adapter):
        return Variant(name=adapter or "base", arm="none", system=None, shots=(), adapter=adapter,
                       base_prompt="no_system")

    assert nf4_adapters(suite, [variant(None), variant("q"), variant("plain")]) == ["q"]
    assert nf4_adapters(suite, [variant(None), variant("plain")]) == []


def _run(texts, nll_per_token):
    return VariantRun(prompts=["p"] * len(texts), prompt_tokens=[3] * len(texts),
                      outputs=[Output(text=t, tokens=2, stopped=True, truncated=False) for t in texts],
                      references=[ReferenceScore(nll=nll_per_token * 10, tokens=10, bytes=40) for _ in texts])


LONG = "one two three four five six seven eight nine ten"


def test_the_check_reports_the_nll_ratio_per_token_and_same_openings_and_warns_past_thresholds():
    numerics = resolve_numerics("bfloat16", "none")
    # Answers that open alike count even where they end differently; short ones must be identical.
    nf4 = [LONG + " eleven", LONG + " twelve", "short answer", "short", "x"]
    full = [LONG + " thirteen", LONG, "short answer", "short answer", "y"]
    close = check_result({"quantisation/nf4": _run(nf4, 2.04), "quantisation/full": _run(full, 2.0)}, numerics,
                         greedy=True)
    assert close.nll_ratio == pytest.approx(1.02) and close.opening_agreement == 0.6 and close.agreement == 0.2
    assert close.warnings == []
    far = check_result({"quantisation/nf4": _run(["a", "y", "z", "w"], 2.4),
                        "quantisation/full": _run(["a", "b", "c", "x"], 2.0)}, numerics, greedy=True)
    assert far.nll_ratio == pytest.approx(1.2) and far.opening_agreement == 0.25
    assert len(far.warnings) == 2 and "20.0% per token" in far.warnings[0] and "same 10 words" in far.warnings[1]
    sampled = check_result({"quantisation/nf4": _run(["a", "y"], 2.0), "quantisation/full": _run(["a", "b"], 2.0)},
                           numerics, greedy=False)
    assert sampled.warnings == []  # sampled answers differ by chance: no warning on agreement


def _suite_file(folder, precision: str, model):
    body = f"""\
name: precision
model: {model}
system_prompt: Answer briefly.
data:
  train: {{path: {ROOT / 'suites/concise/train.jsonl'}, limit: 16}}
  eval: {{path: {ROOT / 'suites/concise/eval.jsonl'}, limit: 6}}
training: {{max_steps: 2, batch_size: 4, quantization: nf4, learning_rate: 1.0e-3}}
decoding: {{max_new_tokens: 4}}
evaluation: {{precision: {precision}}}
"""
    path = folder / f"{precision}.yaml"
    path.write_text(body)
    return path


@pytest.mark.slow
def test_an_nf4_adapter_is_evaluated_as_it_ships_and_the_check_is_reported(tmp_path, smoke_dir):
    assert main(["run", str(_suite_file(tmp_path, "full", smoke_dir)), "--out", str(tmp_path / "full")]) == 0
    results = read_results(tmp_path / "full")
    manifest = results.manifest
    assert manifest.evaluation_precision == "full" and manifest.adapter.numerics["quantization"] == "nf4"
    assert {r.numerics["quantization"] for r in manifest.evaluation.values()} == {"none"}
    check = results.quantisation
    assert check.n == 6 and check.nll_ratio > 0 and 0 <= check.agreement <= check.opening_agreement <= 1
    html = (tmp_path / "full" / "report.html").read_text()
    assert 'id="quantisation"' in html and "base unquantised" in html and "evaluation.precision: full" in html
    assert main(["export", str(tmp_path / "full"), str(tmp_path / "card")]) == 0
    card = (tmp_path / "card" / "README.md").read_text()
    assert "base unquantised" in card and "Quantisation check" in card
    dtype = manifest.evaluation["sft"].numerics["compute_dtype"].removeprefix("torch.")
    assert f'dtype="{dtype}")' in card and f"evaluated on the unquantised base in {dtype}, as loaded above" in card

    assert main(["run", str(_suite_file(tmp_path, "training", smoke_dir)), "--out", str(tmp_path / "held")]) == 0
    held = read_results(tmp_path / "held")
    assert held.manifest.adapter.reused  # the same adapter: only how it is evaluated changed
    assert {r.numerics["quantization"] for r in held.manifest.evaluation.values()} == {"nf4"}
    # The base variant is the check's pass at its own precision: the same prompts, the same answers.
    for run, base_at in ((tmp_path / "full", "quantisation/full"), (tmp_path / "held", "quantisation/nf4")):
        passes = [json.loads(line) for line in (run / "panels.jsonl").read_text().splitlines()]
        assert [p["text"] for p in passes if p["pass"] == base_at] == [
            e.variants["base"].output.text for e in read_results(run).examples]


PRECISION_YAML = "```yaml evaluation:"


@covers("docs/training.md", PRECISION_YAML, how=VALIDATE)
def test_the_documented_precision_setting_validates(tmp_path, capsys):
    text = snippet("docs/training.md", PRECISION_YAML)
    code, output = cli(["validate", str(snippet_suite(tmp_path, text))], capsys)
    assert code == 0, output
    code, output = cli(["validate", str(snippet_suite(tmp_path, text.replace("precision: full", "precision: nf4")))],
                       capsys)
    assert code == 2 and "evaluation.precision" in output and "'full' or 'training'" in output
