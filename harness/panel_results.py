"""The prompting panels' results: each condition's answers scored like a variant's, summarised per setting
and variant, and tested where the seed's claim is a comparison. No model and no I/O.

- persistence and truncation: at each setting, the run's primary comparisons (e.g. sft against system) as a
  Holm family of their own, on the same examples: does the adapter's lead hold when the prompt is far back,
  or cut off?
- sensitivity: for each phrasing P and adapter A, A+P against P (does the adapter add adherence under this
  prompt?), and the spread of each headline metric across phrasings, per model.

Each panel's cost counts only the passes it adds: a condition whose prompts and adapter equal a variant's
(e.g. persistence at turn 1), or an earlier panel's (truncation to a budget the whole conversation fits in,
persistence at that turn), reuses those answers.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

from pydantic import BaseModel

from harness.compare import BehaviourVerdict, compare, verdict
from harness.metrics.registry import Metric, statistic
from harness.panels import new_passes
from harness.tasks import MIN_EXAMPLES

if TYPE_CHECKING:  # records of the stages before; this module only reads them
    from harness.evaluation import VariantRun
    from harness.panels import Condition
    from harness.results import VariantResult

CLAIMS = {
    "persistence": "Prompting cannot hold rules without restating them each call: adherence is measured with "
                   "the eval prompt asked as turn N of a conversation, the system prompt said once at the start.",
    "truncation": "Prompting cannot survive context truncation: the deepest conversation is cut from the left "
                  "to a token budget, as a serving stack does, so the system prompt falls out first.",
    "sensitivity": "Prompting cannot enforce consistency across prompts, and SFT improves adherence under weak "
                   "prompts: each phrasing of the system prompt runs on the base model and on each adapter.",
}




class PanelPoint(BaseModel):
    setting: str  # "turn 3", "256 tokens", a prompt's name
    x: float | None  # turns or budget; None for sensitivity
    variant: str  # the variant; for sensitivity, the model ("base" or an adapter)
    n: int
    values: dict[str, float | None]  # headline metric -> its summary statistic
    prompt_tokens: float  # mean per prompt
    system_kept: float | None = None  # truncation: share of prompts still holding the whole system prompt


class PanelCost(BaseModel):
    passes: int  # passes over the eval prompts this panel adds (conditions equal to a variant are free)
    generations: int
    prompt_tokens: int
    generated_tokens: int


class Spread(BaseModel):
    """One headline metric across the phrasings of the system prompt, on one model."""

    model: str
    metric: str
    values: dict[str, float | None]  # phrasing -> summary statistic
    low: float | None
    high: float | None
    range: float | None
    worst: str | None  # the phrasing with the worst value, by the metric's direction; None: all equal


class PanelResult(BaseModel):
    panel: str
    claim: str
    cost: PanelCost
    points: list[PanelPoint]
    verdicts: dict[str, list[BehaviourVerdict]] = {}  # setting -> its comparisons (empty below MIN_EXAMPLES)
    spreads: list[Spread] = []


def panel_results(conditions: list[Condition], runs: dict[str, VariantRun], scored: dict[str, list[VariantResult]],
                  variant_runs: dict[str, tuple[str | None, VariantRun]], metrics: list[Metric],
                  primary: list[tuple[str, str]], behaviours: list[str] | None) -> list[PanelResult]:
    """`scored` holds each condition's results by job name; `variant_runs` each variant's adapter and run,
    to tell which conditions cost a pass."""
    headline = [m for m in metrics if m.headline]
    # Each variant's pass (as panels.pass_key reads it); grows panel by panel.
    paid = {(adapter, tuple(run.prompts)) for adapter, run in variant_runs.values()}
    found = []
    for panel in dict.fromkeys(c.panel for c in conditions):
        mine = [c for c in conditions if c.panel == panel]
        points = [_point(c, runs[c.job.name], scored[c.job.name], headline) for c in mine]
        result = PanelResult(panel=panel, claim=CLAIMS[panel], cost=_cost(mine, runs, paid), points=points)
        if panel == "sensitivity":
            result.spreads = _spreads(points, headline)
            result.verdicts = _adapter_gains(mine, scored, headline, behaviours)
        else:
            result.verdicts = _at_each_setting(mine, scored, headline, primary, behaviours)
        found.append(result)
    return found


def _point(condition: Condition, run: VariantRun, results: list[VariantResult], headline: list[Metric]) -> PanelPoint:
    kept = condition.system_kept
    return PanelPoint(setting=condition.setting, x=condition.x, variant=condition.variant, n=len(results),
                      values={m.key: statistic(m.values(results), m.aggregate) for m in headline},
                      prompt_tokens=statistics.fmean(run.prompt_tokens) if run.prompt_tokens else 0.0,
                      system_kept=sum(kept) / len(kept) if kept else None)


def _cost(conditions: list[Condition], runs: dict[str, VariantRun], seen: set) -> PanelCost:
    """The passes these conditions add to those `seen` (the variants', and earlier panels'), which it extends."""
    fresh = [runs[c.job.name] for c in new_passes(conditions, seen)]
    return PanelCost(passes=len(fresh), generations=sum(len(r.outputs) for r in fresh),
                     prompt_tokens=sum(sum(r.prompt_tokens) for r in fresh),
                     generated_tokens=sum(o.tokens for r in fresh for o in r.outputs))


def _family(paired: dict[tuple[str, str], list[tuple]], headline: list[Metric],
            behaviours: list[str] | None) -> list[BehaviourVerdict]:
    n = min((len(rows) for rows in paired.values()), default=0)
    if not paired or n < MIN_EXAMPLES:
        return []
    return verdict(compare(paired, headline, primary_pairs=tuple(paired), behaviours=behaviours))


def _at_each_setting(conditions: list[Condition], scored: dict[str, list[VariantResult]], headline: list[Metric],
                     primary: list[tuple[str, str]], behaviours: list[str] | None) -> dict[str, list[BehaviourVerdict]]:
    verdicts = {}
    for setting in dict.fromkeys(c.setting for c in conditions):
        by_variant = {c.variant: scored[c.job.name] for c in conditions if c.setting == setting}
        paired = {(a, b): list(zip(by_variant[a], by_variant[b], strict=True)) for a, b in primary
                  if a in by_variant and b in by_variant}
        verdicts[setting] = _family(paired, headline, behaviours)
    return verdicts


def _adapter_gains(conditions: list[Condition], scored: dict[str, list[VariantResult]], headline: list[Metric],
                   behaviours: list[str] | None) -> dict[str, list[BehaviourVerdict]]:
    """Per phrasing: each adapter under that prompt against the base model under it."""
    verdicts = {}
    for setting in dict.fromkeys(c.setting for c in conditions):
        here = {c.variant: c for c in conditions if c.setting == setting}
        base = here.get("base")
        if base is None:
            continue
        paired = {(c.job.name.split("/")[-1] + "+" + setting, setting):
                  list(zip(scored[c.job.name], scored[base.job.name], strict=True))
                  for model, c in here.items() if model != "base"}
        verdicts[setting] = _family(paired, headline, behaviours)
    return verdicts


def _spreads(points: list[PanelPoint], headline: list[Metric]) -> list[Spread]:
    spreads = []
    for model in dict.fromkeys(p.variant for p in points):
        mine = [p for p in points if p.variant == model]
        for metric in headline:
            values = {p.setting: p.values.get(metric.key) for p in mine}
            known = {k: v for k, v in values.items() if v is not None}
            if not known:
                spreads.append(Spread(model=model, metric=metric.key, values=values, low=None, high=None,
                                      range=None, worst=None))
                continue
            pick = max if metric.better == "lower" else min
            low, high = min(known.values()), max(known.values())
            spreads.append(Spread(model=model, metric=metric.key, values=values, low=low, high=high,
                                  range=high - low, worst=pick(known, key=known.get) if high > low else None))
    return spreads
