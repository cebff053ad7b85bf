"""`harness export`: the model card shows names, prompts and answers as text: no Markdown, HTML or YAML from
a suite or a model passes into it."""

from __future__ import annotations

import json

import yaml
from factory import manifest
from markdown_it import MarkdownIt
from run_folders import saved_run

from harness.cli import main
from harness.results import read_results, write_results

MODEL = 'acme/tiny"\nlicense: stolen\n`x` <img src=x onerror=alert(1)>'
SYSTEM_PROMPT = "Be brief.\n# Not a heading\n<script>alert(1)</script> **not bold** ```\n~~~"


def _card(tmp_path) -> tuple[dict, str]:
    run_manifest = manifest()
    run_manifest["model"]["name"] = MODEL
    run_manifest["suite"]["settings"] = run_manifest["suite"]["settings"] | {"system_prompt": SYSTEM_PROMPT}
    run = saved_run(tmp_path / "run", run_manifest=run_manifest)
    results = read_results(run)
    results.suite = "s <b>x</b> _em_"
    results.verdict[0].answer = "Yes <iframe src=//x></iframe> [click](http://x)"
    write_results(results, run)
    assert main(["export", str(run), str(tmp_path / "adapter")]) == 0
    text = (tmp_path / "adapter" / "README.md").read_text()
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


def test_the_model_card_opens_its_verdict_with_one_sentence(tmp_path):
    _, body = _card(tmp_path)
    section = body[body.index("## Did SFT beat the system prompt?"):]
    first = section.split("\n\n")[1]
    assert first.startswith("**") and "primary comparison" in first and "Holm-adjusted" in first


def test_the_model_card_front_matter_is_yaml_that_names_the_model_exactly(tmp_path):
    front, _ = _card(tmp_path)
    assert front["base_model"] == MODEL and "license" not in front
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == MODEL


def test_no_html_or_markdown_from_a_suite_or_a_model_passes_into_the_model_card(tmp_path):
    _, body = _card(tmp_path)
    assert "\n| empty answers | 0.0% |" in body  # every metric row on a line of its own
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    tokens = [t for block in parser.parse(body) for t in [block, *(block.children or [])]]
    assert not [t.content for t in tokens if t.type in ("html_block", "html_inline")]
    assert [t.tag for t in tokens if t.type == "heading_open"].count("h1") == 1  # the card's own title only
    assert not [t for t in tokens if t.type in ("em_open", "link_open", "image")]
    html = parser.render(body)
    assert "Be brief. # Not a heading &lt;script&gt;alert(1)&lt;/script&gt; **not bold**" in html
    assert "Yes &lt;iframe src=//x&gt;&lt;/iframe&gt; [click](http://x)" in html
    assert "s &lt;b&gt;x&lt;/b&gt; _em_ adapter" in html
    code = [t.content for t in tokens if t.type == "fence"]
    assert 'from_pretrained("acme/tiny\\"\\nlicense: stolen' in code[0]  # a Python string, not code
    assert json.loads(code[-1])["model"]["name"] == MODEL  # the manifest block holds the manifest whole


def test_export_merge_writes_a_full_precision_merged_model_checked_against_the_adapter(tmp_path):
    import re

    import torch
    from conftest import write_suite
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.smoke import smoke_model_dir

    train = [{"prompt": f"Question {i}: what is {i} plus {i}?", "response": f"{2 * i}."} for i in range(1, 13)]
    rows = [{"id": f"e{i}", "prompt": f"What is {i} times two?", "response": f"{2 * i}."} for i in range(1, 7)]
    suite = write_suite(tmp_path, "name: m\nmodel: smoke\nsystem_prompt: Be brief.\ndata:\n  train: {path: train.jsonl}"
                        "\n  eval: {path: eval.jsonl}\ntraining: {max_steps: 12}\ndecoding: {max_new_tokens: 8}\n",
                        train, rows)
    assert main(["run", str(suite), "--smoke", "--variants", "sft,sft+system", "--out", str(tmp_path / "run")]) == 0
    assert main(["export", str(tmp_path / "run"), str(tmp_path / "out"), "--merge"]) == 0
    card = (tmp_path / "out" / "README.md").read_text()
    found = re.search(r"adapter-on-base answers for (\d+) of (\d+)", card)
    assert found and int(found[2]) == 6 and int(found[1]) >= 5, card  # greedy, float32 both: near-ties aside
    assert "eval prompts of the `sft` variant" in card
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "out" / "merged")
    base = AutoModelForCausalLM.from_pretrained(smoke_model_dir())
    assert merged.dtype == torch.float32 and not hasattr(merged, "peft_config")
    name = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(merged.state_dict()[name], base.state_dict()[name])  # B·A added in
    assert AutoTokenizer.from_pretrained(tmp_path / "out" / "merged").chat_template
    assert (tmp_path / "out" / "merged" / "model.safetensors").is_file()


def test_the_card_shows_the_prompt_as_evaluated_and_warns_where_the_template_would_add_its_default(tmp_path):
    from harness.export import model_card

    run = saved_run(tmp_path / "run")
    results = read_results(run)
    card = model_card(results, "sft")
    assert "```text\n[user] {prompt}\n```" in card and "renders the same prompt" in card
    results.manifest.prompting |= {"template_default_system_prompt": "You are Qwen.", "base_prompt_policy": "no_system"}
    card = model_card(results, "sft")
    assert 'writes its default system turn ("You are Qwen.")' in card and "tokenize the prompt above as text" in card
