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

    monkeypatch.setattr("harness.run.evaluate_jobs", interrupted)
    assert main(["run", str(suite), "--out", str(tmp_path / "first")]) == 130
    assert not (tmp_path / "first" / "results.json").exists()
    monkeypatch.undo()
    assert main(["run", str(suite), "--out", str(tmp_path / "second")]) == 0
    results = read_results(tmp_path / "second")
    assert results.manifest.adapter.reused is True
    assert results.smoke is True  # a local copy of the smoke model is still recognised as one


def test_plain_lora_without_quantization(tmp_path, smoke_dir):
    suite = _suite(tmp_path, smoke_dir, "none")
    assert main(["run", str(suite), "--out", str(tmp_path / "run")]) == 0
    results = read_results(tmp_path / "run")
    assert results.manifest.adapter.training["quantization"] == "none"
    assert results.manifest.numerics["quantization"] == "none"
    assert results.manifest.adapter.stats["steps"] == 3
    assert len(results.examples) == 6


def test_model_override_and_quick_profile_are_recorded(tmp_path, smoke_dir):
    """--model replaces the suite's model (here a hub id that does not exist offline) and is recorded;
    --profile quick shrinks the run and says so in results.json, the manifest and the report."""
    suite = _suite(tmp_path, "nobody/not-on-this-machine", "none")
    out = tmp_path / "run"
    assert main(["run", str(suite), "--model", str(smoke_dir), "--profile", "quick", "--out", str(out)]) == 0
    results = read_results(out)
    assert results.manifest.model.name == str(smoke_dir)
    assert results.manifest.suite.settings["model"] == str(smoke_dir)
    assert results.profile == "quick" and "Quick profile" in results.profile_note
    assert results.manifest.profile["overrides"]["decoding.max_new_tokens"] == 128
    assert results.manifest.adapter.training["epochs"] == 1
    assert "Quick profile" in (out / "report.html").read_text()


def test_unknown_profile_is_a_usage_error(tmp_path, smoke_dir, capsys):
    suite = _suite(tmp_path, smoke_dir, "none")
    assert main(["run", str(suite), "--profile", "huge"]) == 2
    assert "invalid choice: 'huge'" in capsys.readouterr().err
