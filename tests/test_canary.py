"""The canary panel: general-text perplexity and factual QA, each adapter against the base model with the
same paired tests as the verdict, and both figures as gate subjects."""

from __future__ import annotations

import pytest
from doc_snippets import VALIDATE, covers, snippet
from factory import crafted_results

from harness.canary import (
    CanaryCost,
    CanaryItem,
    CanaryResult,
    CanaryScore,
    canary_result,
    contains,
    exact_match,
    normalise,
    passages,
    questions,
)
from harness.evaluation import VariantRun
from harness.gates import evaluate_gate, metric_specs, parse_gate
from harness.generation import Output
from harness.metrics.perplexity import ReferenceScore
from harness.report import render_report
from harness.suite import Suite
from harness.suite_panels import Canary
from harness.variants import Variant


def test_answers_match_after_squad_normalisation():
    assert normalise("The  Eiffel Tower!") == "eiffel tower"
    assert exact_match("Paris.", ["Paris"]) and exact_match("the Pacific Ocean", ["Pacific Ocean", "Pacific"])
    assert not exact_match("The capital of France is Paris.", ["Paris"])
    assert contains("The capital of France is Paris.", ["Paris"])
    assert not contains("Parisian food is good.", ["Paris"])  # whole words only
    assert exact_match("Thirty-six", ["36", "thirty-six"]) and not contains("1945 or so", ["194"])


def test_the_shipped_sets_are_large_varied_and_well_formed():
    texts, asked = passages(Canary()), questions(Canary())
    assert len(texts) >= 300 and len({p["text"] for p in texts}) == len(texts)
    assert len({p["domain"] for p in texts}) >= 15 and all(30 <= len(p["text"].split()) <= 130 for p in texts)
    assert len(asked) >= 100 and len({q["id"] for q in asked}) == len(asked)
    assert all(q["answers"] and all(a.strip() for a in q["answers"]) for q in asked)
    assert len(passages(Canary(passages=5))) == 5 and len(questions(Canary(questions=7))) == 7


def _variant(name: str, adapter: str | None) -> Variant:
    return Variant(name=name, arm="none", system=None, shots=(), adapter=adapter, base_prompt="no_system")


def _runs(extra_nll: float, n: int = 30) -> dict[str, VariantRun]:
    """Canary passes where sft's passages cost `extra_nll` nats per token more than base's, and sft answers
    every question right in one word where base answers in a sentence."""
    settings = Canary(passages=n, questions=n)
    answers = [q["answers"][0] for q in questions(settings)]
    runs = {}
    for name, extra in (("base", 0.0), ("sft", extra_nll)):
        scored = [ReferenceScore(nll=(2.0 + extra + 0.01 * (i % 3)) * 10, tokens=10, bytes=40) for i in range(n)]
        runs[f"canary/passages/{name}"] = VariantRun(["<s>"] * n, [1] * n, [], scored)
        replies = [a if name == "sft" else f"I think it is {a}." for a in answers]
        outputs = [Output(text=r, tokens=3, stopped=True, truncated=False) for r in replies]
        runs[f"canary/questions/{name}"] = VariantRun(["q"] * n, [5] * n, outputs, [])
    return runs


def _suite() -> Suite:
    return Suite.model_validate({"name": "c", "model": "m", "system_prompt": "s", "panels": {"canary": {
        "passages": 30, "questions": 30}}, "data": {"train": {"path": "t"}, "eval": {"path": "e"}}})


def test_each_adapter_is_compared_with_the_base_on_the_same_items():
    prompted = Variant(name="system", arm="system", system="Be brief.", shots=(), adapter=None,
                       base_prompt="no_system")
    result = canary_result(_suite(), "<s>", [_variant("sft", "sft"), prompted, _variant("base", None)], _runs(0.3))
    assert result.variants == ["base", "sft"]  # the variants with no prompt arm, the base model first
    values = result.values
    assert values["canary_nll"]["sft"] == pytest.approx(values["canary_nll"]["base"] + 0.3)
    assert values["canary_exact"]["sft"] == 1.0 and values["canary_contains"]["base"] == 1.0
    assert values["canary_exact"]["base"] == 0.0
    rows = {v.metric: v for v in result.verdict if v.a == "sft"}
    assert rows["canary_nll"].outcome == "loss" and rows["canary_exact"].outcome == "win"
    assert rows["canary_contains"].outcome == "tie" and rows["canary_nll"].family_size == 3  # the same facts


def _with_canary(extra_nll: float):
    results = crafted_results(10, lambda i, v: "w w")
    result = canary_result(_suite(), "<s>", [_variant("base", None), _variant("sft", "sft")], _runs(extra_nll))
    return results.model_copy(update={"canary": result})


@pytest.mark.parametrize(("extra", "passed"), [(0.01, True), (0.2, False)])
def test_the_documented_canary_gate_passes_within_the_margin_and_fails_beyond_it(extra, passed):
    specs = metric_specs([])
    gate = parse_gate("sft.canary_nll not worse than base within 0.05", specs, ["base", "system", "sft"])
    outcome = evaluate_gate(gate, _with_canary(extra), specs)
    assert outcome.passed is passed and outcome.measured == pytest.approx(extra)
    exact = evaluate_gate(parse_gate("sft.canary_exact >= 0.9", specs, ["sft"]), _with_canary(extra), specs)
    assert exact.passed and exact.measured == 1.0


def test_a_canary_gate_on_a_run_without_the_panel_fails_and_says_why():
    specs = metric_specs([])
    gate = parse_gate("sft.canary_nll not worse than base within 0.05", specs, ["base", "sft"])
    outcome = evaluate_gate(gate, crafted_results(10, lambda i, v: "w"), specs)
    assert not outcome.passed and "no canary panel" in outcome.detail


def test_the_report_has_a_canary_section_with_its_cost_and_source():
    html = render_report(_with_canary(0.01))
    assert 'id="canary"' in html and "written for this project" in html and "Cost: 4 extra passes" in html


def test_records_round_trip():
    item = CanaryItem(id="qa-1", kind="question", variants={"base": CanaryScore(exact=True, contains=True,
                                                                                text="Paris")})
    result = CanaryResult(document_start="<s>", variants=["base"], cost=CanaryCost(
        passes=1, generations=1, prompt_tokens=3, generated_tokens=1, scored_tokens=0), values={}, verdict=[],
        items=[item])
    assert CanaryResult.model_validate_json(result.model_dump_json()) == result


GATES = "``` sft.canary_nll not worse than base within 0.05"


@covers("docs/panels.md", GATES, how=VALIDATE)
def test_the_documented_canary_gates_parse_and_hold_when_the_adapter_costs_nothing():
    specs = metric_specs([])
    gates = [parse_gate(line, specs, ["base", "sft"]) for line in snippet("docs/panels.md", GATES).splitlines()]
    assert [g.metric for g in gates] == ["canary_nll", "canary_exact", "canary_contains"]
    assert all(evaluate_gate(g, _with_canary(0.0), specs).passed for g in gates)


def test_the_model_card_carries_the_canary_of_the_exported_adapter():
    from harness.export import model_card

    card = model_card(_with_canary(0.2), "sft")
    section = card[card.index("## Collateral damage (canary)"):card.index("## Suite and training")]
    assert "general text: no: base beat sft" in section and "written for this project" in section
    assert "## Collateral damage" not in model_card(crafted_results(10, lambda i, v: "w"), "sft")
