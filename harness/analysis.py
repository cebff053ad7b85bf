"""The analysis stage: generations in, results out. Scores every output, summarises each variant, runs the
paired comparisons and reads the verdict from the primary ones. No model and no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.canary import canary_result
from harness.compare import compare_variants, specs_for, verdict
from harness.data_size import DataSizeResult, Fraction, TrainedFraction, curves
from harness.evaluation import VariantRun
from harness.metrics.perplexity import summarise
from harness.metrics.registry import metrics_for
from harness.panel_results import PanelResult, panel_results
from harness.panels import Condition
from harness.precision import QuantisationCheck
from harness.results import ExampleResult, Manifest, Results, Selection, VariantInfo, VariantResult
from harness.scorers import Prepared
from harness.scoring import PromptTax, Scores, VariantSummary, prompt_tax, score_output, summarise_variant
from harness.smoke import SMOKE_NOTICE
from harness.splits import by_split, split_of
from harness.tasks import by_task
from harness.variants import Variant


@dataclass(frozen=True)
class PanelRuns:
    """The panels' passes, for the analysis: the prompting panels' conditions, and every panel pass by job name."""

    conditions: list[Condition]
    runs: dict[str, VariantRun]
    document_start: str = ""  # the canary's (harness/canary.py)
    quantisation: QuantisationCheck | None = None  # NF4 against the unquantised base (harness/precision.py)
    fractions: list[Fraction] = field(default_factory=list)  # the data-size curve's passes (harness/data_size.py)
    adapters: dict = field(default_factory=dict)  # every adapter loaded, by name: the suite's and the smaller ones


def _scores(prepared: Prepared, run: VariantRun) -> list[Scores]:
    return [score_output(example, run.outputs[i], prepared.rules, prepared.lexicon, run.references[i],
                         {metric: scorer(run.outputs[i].text, example.response)
                          for metric, scorer in prepared.custom.items()})
            for i, example in enumerate(prepared.eval.examples)]


def build_results(prepared: Prepared, variants: list[Variant], runs: dict[str, VariantRun], smoke: bool,
                  manifest: Manifest | dict, stages: dict[str, float], selection: Selection | None = None,
                  panels: PanelRuns | None = None) -> Results:
    examples = prepared.eval.examples
    per_variant = {name: _scores(prepared, run) for name, run in runs.items()}
    train_tasks = {e.task for e in prepared.train.examples if e.task is not None}
    splits = [split_of(e, train_tasks) for e in examples]
    summary = {name: summarise_variant(runs[name].outputs, scores, summarise(runs[name].references),
                                       runs[name].prompt_tokens)
               for name, scores in per_variant.items()}
    records = [
        ExampleResult(id=example.id, task=example.task, split=splits[i][0], prompt=example.prompt,
                      reference=example.response,
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
    metrics = metrics_for(settings)
    automatic = {e.id for e, (_, auto) in zip(examples, splits, strict=True) if auto}
    results = Results(suite=suite.name, smoke=smoke, notice=SMOKE_NOTICE if smoke else None, variants=names,
                   grid=[VariantInfo(name=v.name, arm=v.arm, adapter=v.adapter) for v in variants],
                   primary_pairs=primary, selection=selection or Selection(), summary=summary,
                   verdict=found, comparisons=comparisons,
                   tasks=by_task(records, metrics, names, primary, found),
                   splits=by_split(records, metrics, names, primary, suite.verdict.behaviours, automatic),
                   prompt_tax=_prompt_tax(variants, primary, summary), examples=records, manifest=manifest,
                   stage_seconds=stages)
    if panels is not None:
        results.panels = _panel_results(prepared, variants, runs, panels, metrics, primary)
        if suite.panels.canary is not None:
            results.canary = canary_result(suite, panels.document_start, variants, panels.runs)
        results.quantisation = panels.quantisation
        results.data_size = _data_size(prepared, variants, runs, panels, metrics)
    return results


def _results(prepared: Prepared, run: VariantRun) -> list[VariantResult]:
    """A pass's answers scored like a variant's, one per eval example."""
    return [VariantResult(prompt=prompt, prompt_tokens=tokens, output=output, scores=scores)
            for prompt, tokens, output, scores in zip(run.prompts, run.prompt_tokens, run.outputs,
                                                      _scores(prepared, run), strict=True)]


def _data_size(prepared: Prepared, variants: list[Variant], runs: dict[str, VariantRun], panels: PanelRuns,
               metrics) -> DataSizeResult | None:
    """Each adapter's curve over its training fractions (1: the adapter itself) against the prompting variants."""
    if not panels.fractions:
        return None
    headline = [m for m in metrics if m.in_verdict(prepared.suite.verdict.behaviours)]  # at the verdict's level
    prompting = {v.name: _results(prepared, runs[v.name]) for v in variants if v.adapter is None}
    found, trained = [], []
    for adapter in dict.fromkeys(f.adapter for f in panels.fractions):
        mine = [f for f in panels.fractions if f.adapter == adapter]
        sizes = [(f.fraction, _trained_on(panels.adapters[f.loaded_as]), _results(prepared, panels.runs[f.job.name]))
                 for f in mine]
        sizes.append((1.0, _trained_on(panels.adapters[adapter]), _results(prepared, runs[mine[0].variant])))
        found += curves(adapter, sizes, prompting, headline)
        for fraction, name in [(f.fraction, f.loaded_as) for f in mine] + [(1.0, adapter)]:
            record = panels.adapters[name]
            stats = record.manifest.get("stats") or {}
            trained.append(TrainedFraction(adapter=adapter, fraction=fraction, examples=_trained_on(record),
                                           key=record.key, reused=record.reused, seconds=stats.get("seconds"),
                                           steps=stats.get("steps"),
                                           best_validation_loss=(stats.get("validation") or {}).get("best_loss")))
    return DataSizeResult(adapters=trained, curves=found)


def _trained_on(adapter) -> int:
    data = adapter.manifest.get("data") or {}
    return int(data.get("trained_on", data.get("train_examples", 0)))


def _panel_results(prepared: Prepared, variants: list[Variant], runs: dict[str, VariantRun], panels: PanelRuns,
                   metrics, primary: list[tuple[str, str]]) -> list[PanelResult]:
    """Each prompting panel's conditions scored like variants, then summarised and tested."""
    scored = {condition.job.name: _results(prepared, panels.runs[condition.job.name])
              for condition in panels.conditions}
    adapters = {v.name: v.adapter for v in variants}
    return panel_results(panels.conditions, panels.runs, scored,
                         {name: (adapters[name], run) for name, run in runs.items()}, metrics, primary,
                         prepared.suite.verdict.behaviours)


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
