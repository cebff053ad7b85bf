"""The real packaged model (SmolLM2-135M-Instruct, Q4_1 GGUF) on a slice of the concise suite: the behaviours
a random smoke model cannot show. Slow (about 3 minutes on 2 cores); CI runs it."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, requires_real_model

from harness.cli import main
from harness.results import read_results

pytestmark = [pytest.mark.slow, requires_real_model]

SLICE = """\
name: concise-slice
model: smollm2-135m-instruct
system_prompt: >-
  Answer in at most two sentences. Be direct: no greeting, no filler, no restating the question,
  no markdown. For code, reply with the code only.
data:
  train: {{path: {root}/suites/concise/train.jsonl}}
  eval: {{path: {root}/suites/concise/eval.jsonl, limit: 12}}
training: {{max_steps: 16, batch_size: 8, learning_rate: 2.0e-4, validation: {{every_steps: 8}}}}
decoding: {{max_new_tokens: 96, batch_size: 12}}
metrics:
  format:
    - {{check: words, at_most: 60}}
"""
TEMPLATE_TEXT = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "SmolLM, trained by Hugging Face")


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, real_model_source):
    folder = tmp_path_factory.mktemp("real")
    suite = folder / "suite.yaml"
    suite.write_text(SLICE.format(root=ROOT))
    assert main(["run", str(suite), "--out", str(folder / "run")]) == 0
    return folder / "run"


def test_default_system_prompt_is_found_and_cut_from_base(real_run):
    manifest = json.loads((real_run / "manifest.json").read_text())
    default = manifest["prompting"]["template_default_system_prompt"]
    assert "SmolLM" in default
    prompts = manifest["prompting"]["example"]
    assert default not in prompts["base"] and default not in prompts["sft"]
    assert prompts["base"].startswith("<|im_start|>user\n")
    assert manifest["model"]["gguf"]["quantization"] == "Q4_1"
    assert manifest["numerics"]["quantization"] == "none"  # auto on a CPU


def test_no_template_text_leaks_into_answers(real_run):
    for example in read_results(real_run).examples:
        for name, variant in example.variants.items():
            assert not any(t in variant.output.text for t in TEMPLATE_TEXT), (name, example.id)


def test_sft_learned_to_stop_and_fits_the_references_better(real_run):
    summary = read_results(real_run).summary
    assert summary["sft"].stop_rate >= summary["base"].stop_rate
    assert summary["sft"].perplexity < summary["base"].perplexity
