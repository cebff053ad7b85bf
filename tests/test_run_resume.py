"""A local-folder model through `harness run`, plain LoRA, and a run interrupted after training."""

from __future__ import annotations

import pytest
from conftest import ROOT

from harness.cli import main
from harness.results import read_results

pytestmark = pytest.mark.slow


def _suite(folder, model_dir, quantization: str):
    body = f"""\
name: resume
model: {model_dir}
system_prompt: Answer briefly.
data:
  train: {{path: {ROOT / 'suites/concise/train.jsonl'}, limit: 16}}
  eval: {{path: {ROOT / 'suites/concise/eval.jsonl'}, limit: 6}}
training: {{max_steps: 3, batch_size: 4, quantization: {quantization}, learning_rate: 1.0e-3}}
decoding: {{max_new_tokens: 4}}
"""
    path = folder / "suite.yaml"
    path.write_text(body)
    return path


def test_interrupted_run_keeps_the_adapter_and_the_rerun_reuses_it(tmp_path, smoke_dir, monkeypatch):
    suite = _suite(tmp_path, smoke_dir, "nf4")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("harness.run.evaluate_variants", interrupted)
    assert main(["run", str(suite), "--out", str(tmp_path / "first")]) == 130
    assert not (tmp_path / "first" / "results.json").exists()
    monkeypatch.undo()
    assert main(["run", str(suite), "--out", str(tmp_path / "second")]) == 0
    results = read_results(tmp_path / "second")
    assert results.manifest["adapter"]["reused"] is True
    assert results.smoke is True  # a local copy of the smoke model is still recognised as one


def test_plain_lora_without_quantization(tmp_path, smoke_dir):
    suite = _suite(tmp_path, smoke_dir, "none")
    assert main(["run", str(suite), "--out", str(tmp_path / "run")]) == 0
    results = read_results(tmp_path / "run")
    assert results.manifest["adapter"]["training"]["quantization"] == "none"
    assert results.manifest["numerics"]["quantization"] == "none"
    assert results.manifest["adapter"]["stats"]["steps"] == 3
    assert len(results.examples) == 6
