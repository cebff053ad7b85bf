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
