"""The prompting panels' conversations: the eval prompt as turn N after neutral exchanges, the system prompt
said once at the start, left truncation to a token budget that never cuts the question; and the checks
`harness validate` makes of the panels' settings."""

from __future__ import annotations

import pytest
from conftest import snippet_suite, write_suite
from doc_snippets import VALIDATE, cli, covers, snippet

from harness.cli import main
from harness.examples import Example, ExampleSet
from harness.panel_checks import exchanges
from harness.panels import conditions, truncate
from harness.prompts import PromptRenderer
from harness.suite import Suite
from harness.variants import Variant

SYSTEM = "Answer in one short sentence."
QUESTION = "What is the boiling point of water at sea level?"


def _suite(panels: dict, prompts: dict | None = None) -> Suite:
    return Suite.model_validate({"name": "p", "model": "m", "system_prompt": SYSTEM, "prompts": prompts or {},
                                 "data": {"train": {"path": "t.jsonl"}, "eval": {"path": "e.jsonl"}},
                                 "panels": panels})


def _variant(name: str, system: str | None, adapter: str | None = None) -> Variant:
    return Variant(name=name, arm="system" if system else "none", system=system, shots=(), adapter=adapter,
                   base_prompt="no_system")


EVAL = ExampleSet(split="eval", source="e", examples=[Example(id=f"e{i}", prompt=f"{QUESTION} ({i})",
                                                              response="100 degrees C.") for i in range(3)])


@pytest.fixture(scope="module")
def renderer(smoke_tokenizer):
    return PromptRenderer(smoke_tokenizer, SYSTEM, "no_system")


def test_the_eval_prompt_comes_as_turn_n_with_the_system_prompt_once_at_the_start(renderer):
    suite = _suite({"persistence": {"turns": [1, 3]}})
    turns = exchanges(suite)
    found = conditions(suite, renderer, [_variant("system", SYSTEM)], EVAL, ["t"] * 3, turns)
    first, third = (c.job.prompts[0] for c in found)
    assert [c.setting for c in found] == ["turn 1", "turn 3"]
    assert first == renderer.render(EVAL.examples[0].prompt, system=True)  # turn 1 is the variant itself
    assert third.count(SYSTEM) == 1 and third.index(SYSTEM) < third.index(turns[0].prompt)
    assert third.index(turns[0].response) < third.index(turns[1].prompt) < third.index(QUESTION)
    assert turns[2].prompt not in third  # turn 3: two exchanges before it


def test_truncation_keeps_the_last_tokens_so_the_system_prompt_falls_out_but_never_the_question(renderer):
    suite = _suite({"truncation": {"turns": 4, "budgets": [4096, 96, 16]}})
    found = conditions(suite, renderer, [_variant("system", SYSTEM)], EVAL, ["t"] * 3, exchanges(suite))
    whole, cut, tiny = (c.job.prompts[0] for c in found)
    length = lambda text: len(renderer.tokenizer(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    assert SYSTEM in whole and whole.endswith(cut) and SYSTEM not in cut
    assert length(cut) <= 96 < length(whole)
    assert [c.system_kept for c in found] == [(True,) * 3, (False,) * 3, (False,) * 3]
    # A budget shorter than the last turn keeps that turn whole, its opening marker included.
    assert tiny == renderer.render(EVAL.examples[0].prompt, system=False) and length(tiny) > 16
    start = renderer.final_turn_start(whole, SYSTEM, exchanges(suite)[:3], "no_system")
    assert whole[start:] == tiny and truncate(renderer.tokenizer, whole, start, 10**6) == whole


def test_sensitivity_runs_each_phrasing_on_the_base_model_and_each_adapter(renderer):
    suite = _suite({"sensitivity": {"prompts": ["system", "weak"]}}, prompts={"weak": "Be brief."})
    variants = [_variant("base", None), _variant("sft", None, adapter="sft")]
    found = conditions(suite, renderer, variants, EVAL, ["t"] * 3, [])
    assert [(c.setting, c.variant, c.job.variant.adapter) for c in found] == [
        ("system", "base", None), ("system", "sft", "sft"), ("weak", "base", None), ("weak", "sft", "sft")]
    assert "Be brief." in found[2].job.prompts[0] and SYSTEM in found[1].job.prompts[0]


@pytest.mark.parametrize(("panels", "prompts", "expected"), [
    ({"sensitivity": {"prompts": ["system", "strict"]}}, "", "panels.sensitivity.prompts[1]: unknown prompt "
                                                            "'strict'; expected system or names from prompts:"),
    ({"persistence": {"turns": [1, 12]}}, "", "panels.persistence: turn 12 needs 11 earlier exchanges; the "
                                              "exchanges file has 8"),
    ({"exchanges": "turns.jsonl", "persistence": {"turns": [2]}}, "", "turns.jsonl:2: expected an object with "
                                                                      "exactly 'user' and 'assistant'"),
    ({"canary": {}}, "variants: [{name: system, prompt: system}, {name: sft, adapter: sft}]\n",
     "panels.canary: needs a variant of the base model with no prompt arm"),
])
def test_validate_names_each_bad_panel_setting(tmp_path, capsys, panels, prompts, expected):
    import yaml

    (tmp_path / "turns.jsonl").write_text('{"user": "hi", "assistant": "hello"}\n{"user": "hi"}\n')
    body = ("name: p\nmodel: m\nsystem_prompt: Be brief.\ndata:\n  train: {path: train.jsonl}\n"
            "  eval: {path: eval.jsonl}\n" + prompts + yaml.safe_dump({"panels": panels}))
    rows = [{"prompt": f"q{i}", "response": "a"} for i in range(3)]
    suite = write_suite(tmp_path, body, rows, rows)
    assert main(["validate", str(suite)]) == 2
    assert expected in capsys.readouterr().err


TRAIN = [{"task": "double", "prompt": f"Question {i}: what is {i} plus {i}?", "response": f"{2 * i}."}
         for i in range(1, 13)]
EVAL_ROWS = ([{"id": f"d{i}", "task": "double", "prompt": f"What is {i} times two?", "response": f"{2 * i}."}
              for i in range(1, 9)] +
             [{"id": f"s{i}", "task": "square", "prompt": f"What is {i} squared?", "response": f"{i * i}."}
              for i in range(1, 9)])
PANELS = """\
name: panels
model: smoke
system_prompt: Answer with the number only.
prompts:
  weak: Be brief.
data:
  train: {path: train.jsonl}
  eval: {path: eval.jsonl}
training: {max_steps: 12}
decoding: {max_new_tokens: 8}
panels:
  persistence: {turns: [1, 2]}
  truncation: {turns: 3, budgets: [4096, 48]}
  sensitivity: {prompts: [system, weak]}
  canary: {passages: 12, questions: 12, max_new_tokens: 6}
"""


@pytest.mark.slow
def test_every_panel_runs_end_to_end_on_the_smoke_model(tmp_path, capsys):
    import json

    from harness.results import read_results

    suite = write_suite(tmp_path, PANELS, TRAIN, EVAL_ROWS)
    assert main(["run", str(suite), "--smoke", "--out", str(tmp_path / "run")]) == 0
    results = read_results(tmp_path / "run")
    assert [(s.split, s.n, s.automatic) for s in results.splits] == [("in_distribution", 8, 0), ("shifted", 8, 8)]
    panels = {p.panel: p for p in results.panels}
    assert list(panels) == ["persistence", "truncation", "sensitivity"]
    assert [(p.setting, p.variant) for p in panels["persistence"].points][:2] == [("turn 1", "base"),
                                                                                 ("turn 1", "system")]
    # Turn 1 is the variants themselves: only turn 2 costs passes.
    assert panels["persistence"].cost.passes == 4 and panels["persistence"].cost.generations == 64
    cut = {(p.setting, p.variant): p for p in panels["truncation"].points}
    assert cut[("4096 tokens", "system")].system_kept == 1.0 and cut[("48 tokens", "system")].system_kept == 0.0
    # Whole (4096), the 3-turn conversation is new for each variant; cut to 48 tokens, base and system see
    # the same text, and so do sft and sft+system: one pass serves both.
    assert panels["truncation"].cost.passes == 4 + 2
    assert {s.model for s in panels["sensitivity"].spreads} == {"base", "sft"}
    assert set(panels["sensitivity"].verdicts) == {"system", "weak"}
    assert results.canary.variants == ["base", "sft"] and len(results.canary.items) == 24
    lines = (tmp_path / "run" / "panels.jsonl").read_text().splitlines()
    assert {json.loads(line)["pass"].split("/")[0] for line in lines} >= {"persistence", "truncation", "canary"}
    html = (tmp_path / "run" / "report.html").read_text()
    for section in ("shift", "persistence", "truncation", "sensitivity", "canary"):
        assert f'id="{section}"' in html
    gate = ["check", str(tmp_path / "run"), "--set-gate", "sft.canary_nll not worse than base within 100"]
    assert main(gate) == 0
    # A subset the canary cannot compare runs without it (validate refuses such a suite as declared).
    assert main(["run", str(suite), "--smoke", "--variants", "system,sft", "--out", str(tmp_path / "x")]) == 0
    subset = read_results(tmp_path / "x")
    assert subset.canary is None and subset.manifest.settings()["panels"]["canary"] is None


PANELS_YAML = "```yaml prompts: # phrasings for the sensitivity panel, weak ones included"


@covers("docs/panels.md", PANELS_YAML, how=VALIDATE)
def test_the_documented_panels_validate(tmp_path, capsys):
    code, output = cli(["validate", str(snippet_suite(tmp_path, snippet("docs/panels.md", PANELS_YAML)))], capsys)
    assert code == 0, output
    assert "panels: persistence, truncation, sensitivity, canary" in output


def test_the_panels_option_takes_only_declared_panels(tmp_path, capsys):
    suite = write_suite(tmp_path, PANELS, TRAIN, EVAL_ROWS)
    code, output = cli(["run", str(suite), "--smoke", "--panels", "shift", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and not (tmp_path / "r").exists()
    assert ("--panels shift: expected none, or names from the suite's panels (persistence, truncation, "
            "sensitivity, canary)") in output
