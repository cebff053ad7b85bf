"""`harness run suites/concise.yaml --smoke`, end to end, and what SFT really did on the smoke model."""

from __future__ import annotations

import json
import os
import re

import pytest
from conftest import ROOT

from harness.cli import main
from harness.results import SCHEMA_VERSION, read_results

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """The first run in a cache of this module's own: other tests' smoke runs of the same suite would
    otherwise have cached its evaluations already."""
    previous = os.environ.get("HARNESS_CACHE")
    os.environ["HARNESS_CACHE"] = str(tmp_path_factory.mktemp("end-to-end-cache"))
    out = tmp_path_factory.mktemp("runs") / "first"
    try:
        suite = str(ROOT / "suites" / "concise.yaml")
        assert main(["run", suite, "--smoke", "--panels", "none", "--out", str(out)]) == 0
        yield out
    finally:
        if previous is None:
            os.environ.pop("HARNESS_CACHE", None)
        else:
            os.environ["HARNESS_CACHE"] = previous


def test_run_folder_has_everything(first_run):
    for name in ("results.json", "generations.jsonl", "manifest.json", "report.html"):
        assert (first_run / name).is_file(), name
    results = read_results(first_run)
    assert results.schema_version == SCHEMA_VERSION
    assert results.variants == ["base", "system", "sft", "sft+system"]
    assert len(results.examples) == 117
    generations = (first_run / "generations.jsonl").read_text().splitlines()
    assert len(generations) == 4 * 117 and all(json.loads(line)["smoke_model"] for line in generations)
    assert "randomly initialised" in json.loads((first_run / "manifest.json").read_text())["notice"]
    assert not list(first_run.glob(".*.tmp"))
    # --panels none: the suite's panels are off, and the manifest says so.
    assert results.panels == [] and results.canary is None and not (first_run / "panels.jsonl").exists()
    assert set(results.manifest.settings()["panels"].values()) == {None}


def test_sft_learned_on_the_smoke_model(first_run):
    summary = read_results(first_run).summary
    assert summary["sft"].perplexity < summary["base"].perplexity
    assert summary["sft"].stop_rate > summary["base"].stop_rate
    assert summary["sft+system"].perplexity < summary["system"].perplexity


def test_manifest_records_identity_and_prompts(first_run):
    manifest = json.loads((first_run / "manifest.json").read_text())
    assert manifest["model"]["smoke"] is True and len(manifest["model"]["weights_sha256"]) == 64
    assert manifest["prompting"]["template_default_system_prompt"] == "You are a smoke-test assistant."
    assert "smoke-test" not in manifest["prompting"]["example"]["base"]
    assert manifest["adapter"]["training"]["quantization"] == "auto"
    assert manifest["numerics"]["quantization"] == "none" and manifest["numerics"]["device"] == "cpu"
    # Each stage records its own numerics; on a CPU, auto trains in float32 whatever evaluation uses.
    trained, evaluated = manifest["adapter"]["numerics"], manifest["numerics"]
    assert trained["quantization"] == evaluated["quantization"] and trained["device"] == evaluated["device"]
    assert trained["compute_dtype"] == "torch.float32" and any("for training" in n for n in trained["notes"])
    assert any("for evaluation" in n for n in evaluated["notes"])
    stats = manifest["adapter"]["stats"]
    assert stats["steps"] > 0 and stats["loss_curve"] and stats["trainable_parameters"] > 0
    assert stats["real_token_fraction"] > 0.6  # dynamic padding, length-grouped batches
    held = stats["validation"]  # a tenth of concise's 248 training rows, scored from step 0
    assert held["examples"] == 25 and held["curve"][0]["step"] == 0 and len(held["curve"]) >= 10
    assert manifest["adapter"]["data"]["held_out"] == 25 and manifest["adapter"]["data"]["trained_on"] == 223
    assert set(manifest["libraries"]) >= {"torch", "transformers", "peft", "trl", "bitsandbytes"}
    results = read_results(first_run)
    example = results.examples[0]
    assert example.variants["base"].prompt.startswith("<|im_start|>user\n")
    assert example.variants["system"].prompt.startswith("<|im_start|>system\nAnswer in at most two sentences.")


def test_adapter_is_saved_in_peft_format_with_its_manifest(first_run):
    from pathlib import Path

    folder = Path(read_results(first_run).manifest.adapter.folder)
    assert (folder / "adapter_config.json").is_file() and (folder / "adapter_model.safetensors").is_file()
    manifest = json.loads((folder / "harness_manifest.json").read_text())
    assert {"base_model", "data", "training", "libraries", "adapter_sha256"} <= set(manifest)
    assert len(manifest["data"]["train_sha256"]) == 64


def test_report_is_self_contained_and_says_smoke(first_run):
    html = (first_run / "report.html").read_text()
    assert "randomly initialised" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script src" not in html and "<link" not in html


def test_rerun_reuses_the_adapter_and_reproduces_every_number(first_run, tmp_path, monkeypatch):
    def no_model_work(*args, **kwargs):
        raise AssertionError("a re-run with nothing changed must not load a model")

    monkeypatch.setattr("harness.evaluation.load_model", no_model_work)
    monkeypatch.setattr("harness.training.load_model", no_model_work)
    code = main(["run", str(ROOT / "suites" / "concise.yaml"), "--smoke", "--panels", "none", "--out", str(tmp_path),
                 "--gate"])
    # A random model may pass or fail the suite's gates; the exit code must say which (0 pass, 1 fail).
    assert (tmp_path / "junit.xml").is_file() and code == (0 if read_results(tmp_path).gate.passed else 1)
    assert "**Smoke run.**" in (tmp_path / "gate-summary.md").read_text()
    again, first = read_results(tmp_path), read_results(first_run)
    assert again.manifest.adapter.reused is True
    assert all(v.cached for v in again.manifest.evaluation.values())
    assert not any(v.cached for v in first.manifest.evaluation.values())
    assert again.manifest.adapter.key == first.manifest.adapter.key
    for a, b in zip(again.examples, first.examples, strict=True):
        for name in again.variants:
            assert a.variants[name].output == b.variants[name].output
            assert a.variants[name].scores.perplexity == b.variants[name].scores.perplexity


def test_results_carry_the_verdict_comparisons_and_prompt_tax(first_run):
    import jsonschema

    raw = json.loads((first_run / "results.json").read_text())
    jsonschema.validate(raw, json.loads((ROOT / "docs" / "results.schema.json").read_text()))
    results = read_results(first_run)
    behaviours = {v.behaviour: v for v in results.verdict}
    assert set(behaviours) == {"length"}  # concise declares the behaviour its adapter is for
    rows = {(c.a, c.b, c.metric): c for c in results.comparisons}
    fit = rows[("sft", "system", "reference_nll")]  # measured and shown, outside the verdict's family
    assert fit.family == "secondary" and fit.family_size == 1 and fit.p_adjusted == fit.stats.p_value
    assert fit.outcome == "win"  # the adapter fits the references better than the system prompt
    assert rows[("sft", "system", "words")].family == "primary" and rows[("sft", "system", "words")].family_size == 1
    assert {(c.a, c.b) for c in results.comparisons} >= {("sft", "system"), ("sft", "base"), ("system", "base")}
    assert all(0 <= c.p_adjusted <= 1 and c.p_adjusted >= c.stats.p_value for c in results.comparisons)
    assert results.prompt_tax.extra_tokens_per_request > 0
    assert results.summary["sft"].format.prompt_strict is not None


def test_exported_adapter_reloads_with_peft_and_gives_the_same_outputs(first_run, tmp_path):
    from peft import PeftModel

    from harness.generation import generate, stop_token_ids
    from harness.models import load_model, load_tokenizer, resolve_model, resolve_numerics
    from harness.suite import Decoding

    dest = tmp_path / "adapter"
    assert main(["export", str(first_run), str(dest)]) == 0
    card = (dest / "README.md").read_text()
    assert "library_name: peft" in card and "Did SFT beat the system prompt?" in card and "Smoke model" in card
    results = read_results(first_run)
    source = resolve_model("unused", smoke=True)
    ran = results.manifest.numerics  # the same precision and quantisation the run evaluated in
    numerics = resolve_numerics(ran["compute_dtype"].removeprefix("torch."), ran["quantization"])
    model = PeftModel.from_pretrained(load_model(source, numerics), dest)
    tokenizer = load_tokenizer(source)
    prompts = [e.variants["sft"].prompt for e in results.examples]
    stops = stop_token_ids(tokenizer, model, "<|im_end|>")
    outputs = generate(model, tokenizer, prompts, Decoding(**results.manifest.decoding), stops)
    assert [o.text for o in outputs] == [e.variants["sft"].output.text for e in results.examples]
