"""`harness validate` on declared variants: each mistake is exit 2 and one line naming the field, before any
model loads; the README's variants example validates as written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from conftest import MINIMAL_SUITE, write_suite
from doc_snippets import VALIDATE, cli, covers, snippet
from safetensors.torch import save_file

VARIANTS_YAML = "```yaml prompts: # named system prompts, besides the suite's `system_prompt`"
ROWS = [{"prompt": f"What is {i} + {i}?", "response": f"It is {2 * i}."} for i in range(4)]


def fake_adapter(folder: Path, base: str, shapes: dict[str, tuple[int, int]] | None = None) -> Path:
    """A PEFT LoRA folder whose tensors have `shapes` (a module path -> (lora_A rows, lora_A cols))."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 2,
                                                            "base_model_name_or_path": base}))
    tensors = {}
    for module, (rows, cols) in (shapes or {"model.layers.0.self_attn.q_proj": (2, 64)}).items():
        tensors[f"base_model.model.{module}.lora_A.weight"] = torch.zeros(rows, cols)
        tensors[f"base_model.model.{module}.lora_B.weight"] = torch.zeros(64, rows)
    save_file(tensors, folder / "adapter_model.safetensors")
    return folder


def suite_with(folder: Path, extra: str, model: str | None = None) -> Path:
    body = MINIMAL_SUITE if model is None else MINIMAL_SUITE.replace("Qwen/Qwen2.5-0.5B-Instruct", model)
    folder.mkdir(parents=True, exist_ok=True)
    return write_suite(folder, body + extra, ROWS, ROWS[:2])


@covers("README.md", VARIANTS_YAML, how=VALIDATE)
def test_the_readme_variants_example_validates(tmp_path, capsys, no_model):
    text = snippet("README.md", VARIANTS_YAML)
    fake_adapter(tmp_path / "adapters" / "v3", "Qwen/Qwen2.5-0.5B-Instruct")
    suite = suite_with(tmp_path / "suite", text.replace("few_shot: 4", "few_shot: 2"))
    code, output = cli(["validate", str(suite)], capsys)
    assert code == 0, output
    code, output = cli(["validate", str(suite_with(tmp_path / "suite", text))], capsys)
    assert code == 2 and "variants[3].prompt.few_shot: k = 4" in output, output  # 2 train rows are eval prompts


BAD = {
    "duplicate variant": ("variants:\n  - {name: base}\n  - {name: base, prompt: system}\n",
                          r"variants\[1\]\.name: duplicate variant name 'base'"),
    "unknown prompt": ("variants:\n  - {name: base, prompt: strong}\n",
                       r"variants\[0\]\.prompt: unknown prompt 'strong'; expected none, system"),
    "unknown few-shot prompt": ("variants:\n  - {name: fs, prompt: {few_shot: 1, system: loud}}\n",
                                r"variants\[0\]\.prompt\.system: unknown prompt 'loud'"),
    "unknown adapter": ("variants:\n  - {name: tuned, adapter: r8}\n",
                        r"variants\[0\]\.adapter: unknown adapter 'r8'; expected one of sft"),
    "k too large": ("variants:\n  - {name: fs, prompt: {few_shot: 3}}\n",
                    r"variants\[0\]\.prompt\.few_shot: k = 3, but the training set has 2 examples"),
    "unknown comparison": ("comparisons: [[sft, weak]]\n", r"comparisons\[0\]\[1\]: unknown variant 'weak'"),
    "self comparison": ("comparisons: [[sft, sft]]\n", r"comparisons\[0\]: a variant compared with itself"),
    "reserved prompt": ("prompts: {system: Be loud.}\n", r"prompts\.system: 'system' is reserved"),
    "adapter name clash": ("adapters: {system: {}}\n", r"adapters: an adapter's default variant would repeat"),
    "bad name": ("variants:\n  - {name: Base}\n", r"variants\.0\.name: String should match pattern"),
    "gate on an undeclared variant": ("gates: ['tuned.words <= 3']\n", r"gates\[0\]: .*unknown variant 'tuned'"),
    "missing external": ("adapters: {shipped: {external: nowhere}}\n",
                         r"adapters\.shipped\.external: adapter folder .*nowhere not found"),
}


@pytest.mark.parametrize("extra, expected", BAD.values(), ids=BAD.keys())
def test_each_mistake_is_one_line_naming_the_field(tmp_path, capsys, no_model, extra, expected):
    code, output = cli(["validate", str(suite_with(tmp_path, extra))], capsys)
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert code == 2 and len(lines) == 1 and re.search(expected, lines[0]), output
    assert "suite.yaml:" in lines[0] and "Traceback" not in output


def test_an_adapter_for_another_base_model_is_refused(tmp_path, capsys, no_model):
    fake_adapter(tmp_path / "other", "meta-llama/Llama-3.2-1B-Instruct")
    code, output = cli(["validate", str(suite_with(tmp_path, "adapters: {sft: {external: other}}\n"))], capsys)
    assert code == 2 and "adapters.sft.external: trained on meta-llama/Llama-3.2-1B-Instruct, not the suite's" \
        in output, output


def test_an_adapter_whose_shapes_do_not_fit_the_model_is_refused(tmp_path, capsys, smoke_dir, no_model):
    """The smoke model as a local folder, so its config is here: q_proj takes 64 inputs, not 80."""
    fake_adapter(tmp_path / "wrong", "/elsewhere", {"model.layers.0.self_attn.q_proj": (2, 80)})
    fake_adapter(tmp_path / "right", "/elsewhere")
    fake_adapter(tmp_path / "alien", "/elsewhere", {"model.layers.0.mlp.gate_projection": (2, 64)})
    for name, expected in (("wrong", "has shape [2, 80], but model.layers.0.self_attn.q_proj has 64 inputs"),
                           ("alien", "which the suite's model does not have")):
        suite = suite_with(tmp_path / name / "suite", f"adapters: {{sft: {{external: ../../{name}}}}}\n",
                           model=str(smoke_dir))
        code, output = cli(["validate", str(suite)], capsys)
        assert code == 2 and expected in output, output
    suite = suite_with(tmp_path / "ok", "adapters: {sft: {external: ../right}}\n", model=str(smoke_dir))
    code, output = cli(["validate", str(suite)], capsys)
    assert code == 0, output
