"""Variants as a declared matrix: every kind of prompt arm and adapter in one suite on the smoke model, the
checks `harness validate` makes of them, and the command-line selection."""

from __future__ import annotations

import json

import pytest
from conftest import write_suite
from doc_snippets import RUN, covers

from harness.cli import main
from harness.results import read_results

pytestmark = pytest.mark.slow

TRAIN = [{"prompt": f"Question {i}: what is {i} plus {i}?", "response": f"{2 * i}."} for i in range(1, 13)]
EVAL = [{"id": f"e{i}", "prompt": f"What is {i} times two?", "response": f"{2 * i}."} for i in range(1, 7)]
# An eval prompt also in the training set: no few-shot draw may pick it.
TRAIN.append({"prompt": "What is 3 times two?", "response": "6."})

MATRIX = """\
name: matrix
model: smoke
system_prompt: Answer with the number only.
prompts:
  terse: Reply in as few words as you can.
data:
  train: {path: train.jsonl}
  eval: {path: eval.jsonl}
adapters:
  r8: {lora: {r: 8, alpha: 16}, max_steps: 12}
  r4: {lora: {r: 4, alpha: 8}, max_steps: 12}
  shipped: {external: exported}
variants:
  - {name: base}
  - {name: system, prompt: system}
  - {name: terse, prompt: terse}
  - {name: fewshot, prompt: {few_shot: 3, seed: 5}}
  - {name: r8, adapter: r8}
  - {name: r4, adapter: r4}
  - {name: shipped, adapter: shipped}
  - {name: shipped+system, adapter: shipped, prompt: system}
comparisons: [[r8, system], [shipped, system]]
decoding: {max_new_tokens: 8}
gates:
  - shipped.words.median <= 100
  - r8.words not worse than shipped within 100
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An adapter from an earlier run (the default grid's `sft`), exported as a PEFT folder."""
    folder = tmp_path_factory.mktemp("earlier")
    suite = write_suite(folder, MATRIX.split("prompts:")[0] + "data:\n  train: {path: train.jsonl}\n"
                        "  eval: {path: eval.jsonl}\ntraining: {max_steps: 12}\ndecoding: {max_new_tokens: 8}\n",
                        TRAIN, EVAL)
    assert main(["run", str(suite), "--smoke", "--variants", "sft", "--out", str(folder / "run")]) == 0
    assert main(["export", str(folder / "run"), str(folder / "adapter")]) == 0
    return folder / "adapter"


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, exported):
    folder = tmp_path_factory.mktemp("matrix")
    (folder / "exported").symlink_to(exported, target_is_directory=True)
    suite = write_suite(folder, MATRIX, TRAIN, EVAL)
    import harness.evaluation as evaluation

    loads = []
    real = evaluation.load_model
    evaluation.load_model = lambda *args: loads.append(args) or real(*args)
    try:
        assert main(["run", str(suite), "--smoke", "--out", str(folder / "run"), "--gate"]) == 0
    finally:
        evaluation.load_model = real
    return folder, suite, loads


def test_every_variant_kind_runs_from_one_base_load(matrix):
    folder, _, loads = matrix
    results = read_results(folder / "run")
    assert results.variants == ["base", "system", "terse", "fewshot", "r8", "r4", "shipped", "shipped+system"]
    assert len(loads) == 1  # one base model; r8, r4 and shipped loaded onto it as named adapters
    grid = {v.name: (v.arm, v.adapter) for v in results.variant_grid()}
    assert grid["fewshot"] == ("few-shot k=3", None) and grid["shipped+system"] == ("system", "shipped")
    manifest = json.loads((folder / "run" / "manifest.json").read_text())
    assert set(manifest["adapters"]) == {"r8", "r4", "shipped"}
    assert manifest["adapters"]["r8"]["training"]["lora"]["r"] == 8
    assert manifest["adapters"]["r4"]["training"]["lora"]["alpha"] == 8
    assert manifest["adapters"]["shipped"]["external"]["source"] == "exported"
    assert len(manifest["adapters"]["shipped"]["adapter_sha256"]) == 64
    assert manifest["adapters"]["r8"]["adapter_sha256"] != manifest["adapters"]["r4"]["adapter_sha256"]


def test_named_and_few_shot_prompts_render_through_the_template(matrix):
    folder, _, _ = matrix
    example = read_results(folder / "run").examples[0]
    assert "Reply in as few words as you can." in example.variants["terse"].prompt
    fewshot = example.variants["fewshot"].prompt
    manifest = json.loads((folder / "run" / "manifest.json").read_text())
    shots = next(v for v in manifest["variants"] if v["name"] == "fewshot")["few_shot_ids"]
    assert len(shots) == 3
    assert fewshot.count("<|im_start|>assistant") == 4  # three answered shots, then the generation prompt
    assert "What is 3 times two?" not in fewshot.split(example.prompt)[0]  # no eval question among the shots
    assert example.variants["fewshot"].prompt_tokens > example.variants["base"].prompt_tokens


def test_declared_comparisons_carry_the_verdict_and_gates_name_any_variant(matrix):
    folder, _, _ = matrix
    results = read_results(folder / "run")
    assert [tuple(p) for p in results.primary_pairs] == [("r8", "system"), ("shipped", "system")]
    assert {(v.a, v.b) for v in results.verdict} == {("r8", "system"), ("shipped", "system")}
    assert all(v.family_size == 6 for v in results.verdict)  # 2 pairs x 3 headline behaviours, one family
    pairs = {(c.a, c.b) for c in results.comparisons}
    assert len(pairs) == 8 * 7 // 2  # every pair once
    assert results.gate is not None and results.gate.passed and len(results.gate.gates) == 2
    html = (folder / "run" / "report.html").read_text()
    assert 'id="variant-grid"' in html and html.index('id="headline"') < html.index('id="variant-grid"')


def test_adding_a_variant_evaluates_only_that_variant(matrix):
    folder, suite, _ = matrix
    suite.write_text(suite.read_text().replace("comparisons:", "  - {name: terse+r4, adapter: r4, prompt: terse}\n"
                                               "comparisons:"))
    assert main(["run", str(suite), "--smoke", "--out", str(folder / "again")]) == 0
    evaluation = json.loads((folder / "again" / "manifest.json").read_text())["evaluation"]
    assert [name for name, record in evaluation.items() if not record["cached"]] == ["terse+r4"]


@covers("README.md", "harness run SUITE --adapter DIR", how=RUN)
def test_an_adapter_from_elsewhere_is_evaluated_without_training(tmp_path, exported, capsys):
    suite = write_suite(tmp_path, MATRIX.split("prompts:")[0] + "data:\n  train: {path: train.jsonl}\n"
                        "  eval: {path: eval.jsonl}\ndecoding: {max_new_tokens: 8}\n", TRAIN, EVAL)
    assert main(["run", str(suite), "--smoke", "--adapter", str(exported), "--limit", "4",
                 "--out", str(tmp_path / "run")]) == 0
    assert "nothing to train" in capsys.readouterr().err  # the console writes to stderr
    results = read_results(tmp_path / "run")
    assert results.variants == ["base", "system", "sft", "sft+system"] and len(results.examples) == 4
    assert results.selection.limit == 4
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["adapters"]["sft"]["external"]["source"] == str(exported.resolve())
    assert manifest["adapters"]["sft"]["stats"] == {}


@covers("README.md", "harness compare", how=RUN)
def test_a_selection_is_refused_by_compare_unless_it_matches(tmp_path, exported):
    suite = write_suite(tmp_path, MATRIX.split("prompts:")[0] + "data:\n  train: {path: train.jsonl}\n"
                        "  eval: {path: eval.jsonl}\ndecoding: {max_new_tokens: 8}\n", TRAIN, EVAL)
    common = ["run", str(suite), "--smoke", "--adapter", str(exported), "--variants", "system,sft"]
    assert main([*common, "--out", str(tmp_path / "a")]) == 0
    assert main([*common, "--limit", "3", "--out", str(tmp_path / "b")]) == 0
    assert read_results(tmp_path / "a").variants == ["system", "sft"]
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--variants", "sft"]) == 2
    gate = ["--set-gate", "sft.words not worse than baseline within 5"]
    assert main(["check", str(tmp_path / "b"), "--baseline", str(tmp_path / "a"), *gate]) == 2
    assert main(["check", str(tmp_path / "a"), "--baseline", str(tmp_path / "a"), *gate]) == 0


@covers("README.md", "harness export RUN DEST --adapter NAME", how=RUN)
def test_one_adapter_of_several_is_exported_by_name(matrix, tmp_path, capsys):
    folder, _, _ = matrix
    assert main(["export", str(folder / "run"), str(tmp_path / "r4"), "--adapter", "r4"]) == 0
    assert json.loads((tmp_path / "r4" / "adapter_config.json").read_text())["r"] == 4
    assert "adapter `r4`" in (tmp_path / "r4" / "README.md").read_text()
    assert main(["export", str(folder / "run"), str(tmp_path / "other"), "--adapter", "r9"]) == 2
    assert "this run has no adapter 'r9'; expected one of r8, r4, shipped" in capsys.readouterr().err
