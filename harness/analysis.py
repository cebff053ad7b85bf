"""The analysis stage: generations in, results out. Scores every output, summarises each variant, runs the
paired comparisons and reads the verdict from the primary ones. No model and no I/O."""

from __future__ import annotations

from harness.compare import compare_variants, specs_for, verdict
from harness.evaluation import VariantRun
from harness.metrics.perplexity import summarise
from harness.metrics.registry import metrics_for
from harness.results import ExampleResult, Manifest, Results, Selection, VariantInfo, VariantResult
from harness.scorers import Prepared
from harness.scoring import PromptTax, VariantSummary, prompt_tax, score_output, summarise_variant
from harness.smoke import SMOKE_NOTICE
from harness.tasks import by_task
from harness.variants import Variant


def build_results(prepared: Prepared, variants: list[Variant], runs: dict[str, VariantRun], smoke: bool,
                  manifest: Manifest | dict, stages: dict[str, float], selection: Selection | None = None) -> Results:
    examples = prepared.eval.examples
    per_variant = {
        name: [score_output(example, run.outputs[i], prepared.rules, prepared.lexicon, run.references[i],
                            {metric: scorer(run.outputs[i].text, example.response)
                             for metric, scorer in prepared.custom.items()})
               for i, example in enumerate(examples)]
        for name, run in runs.items()
    }
    summary = {name: summarise_variant(runs[name].outputs, scores, summarise(runs[name].references),
                                       runs[name].prompt_tokens)
               for name, scores in per_variant.items()}
    records = [
        ExampleResult(id=example.id, task=example.task, prompt=example.prompt, reference=example.response,
                      variants={name: VariantResult(prompt=runs[name].prompts[i],
                                                    prompt_tokens=runs[name].prompt_tokens[i],
                                                    output=runs[name].outputs[i], scores=per_variant[name][i])
                                for name in runs})
        for i, example in enumerate(examples)
    ]
    suite = prepared.suite
    names = [v.name for v in variants]
    primary = [pair for pair in suite.primary_pairs() if pair[0] in names and pair[1] in names]
    settings = suite.model_dump(mode="json")
    comparisons = compare_variants(records, specs_for(settings), names, primary, suite.verdict.behaviours)
    found = verdict(comparisons)
    return Results(suite=suite.name, smoke=smoke, notice=SMOKE_NOTICE if smoke else None, variants=names,
                   grid=[VariantInfo(name=v.name, arm=v.arm, adapter=v.adapter) for v in variants],
                   primary_pairs=primary, selection=selection or Selection(), summary=summary,
                   verdict=found, comparisons=comparisons,
                   tasks=by_task(records, metrics_for(settings), names, primary, found),
                   prompt_tax=_prompt_tax(variants, primary, summary), examples=records, manifest=manifest,
                   stage_seconds=stages)


def _prompt_tax(variants: list[Variant], primary: list[tuple[str, str]],
                summary: dict[str, VariantSummary]) -> PromptTax | None:
    """What the prompting side of the first primary comparison costs per request against the user prompt
    alone (the base model's `none` arm); None where the run has no such pair."""
    plain = next((v for v in variants if v.arm == "none" and v.adapter is None), None)
    by_name = {v.name: v for v in variants}
    prompted = next((by_name[b] for _, b in primary if by_name[b].adapter is None and by_name[b].arm != "none"),
                    next((v for v in variants if v.adapter is None and v.arm != "none"), None))
    if plain is None or prompted is None:
        return None
    return prompt_tax(summary[plain.name].prompt_tokens, summary[prompted.name].prompt_tokens,
                      "the system prompt" if prompted.arm == "system" else f"the {prompted.name} prompt")
