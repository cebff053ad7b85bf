"""Distribution shift: the eval examples in named splits, each with its own summary and verdict, side by side.

The seed says SFT "does not handle distribution shift". An example's split is the one its row names
(`split: shifted`), else `shifted` when its task is one no training example has (the adapter never saw that
kind of request), else `in_distribution`. Each split gets the run's primary comparisons × headline metrics
as a Holm family of its own: the verdict asked again on those examples only. A split with fewer than
MIN_EXAMPLES examples gets descriptive figures only.
"""

from __future__ import annotations

from pydantic import BaseModel

from harness.compare import BehaviourVerdict, compare, verdict
from harness.metrics.registry import Metric
from harness.tasks import MIN_EXAMPLES, grouped, headline_values, paired_of

IN_DISTRIBUTION, SHIFTED = "in_distribution", "shifted"


def split_of(example, train_tasks: set[str]) -> tuple[str, bool]:
    """An eval example's split, and whether it was marked automatically (its task absent from training)."""
    if example.split is not None:
        return example.split, False
    if example.task is not None and train_tasks and example.task not in train_tasks:
        return SHIFTED, True
    return IN_DISTRIBUTION, False


class SplitBreakdown(BaseModel):
    split: str
    n: int
    automatic: int  # examples marked shifted because their task is absent from the training set
    tasks: list[str]  # the task values in this split, in order of first appearance
    values: dict[str, dict[str, float | None]]  # headline metric -> variant -> its summary statistic
    verdict: list[BehaviourVerdict]  # the primary comparisons on this split's examples; empty below MIN_EXAMPLES


def by_split(examples, metrics: list[Metric], names: list[str], primary: list[tuple[str, str]],
             behaviours: list[str] | None, automatic: set[str]) -> list[SplitBreakdown]:
    """One breakdown per split, in order of first appearance; none when every example is in one split.
    `automatic` holds the ids of examples marked shifted by their task."""
    headline = [m for m in metrics if m.headline]
    found = []
    for split, subset in grouped(examples, "split"):
        values = headline_values(subset, headline, names)
        rows = []
        if len(subset) >= MIN_EXAMPLES and primary:
            rows = verdict(compare(paired_of(subset, primary), headline, primary_pairs=tuple(primary),
                                   behaviours=behaviours))
        found.append(SplitBreakdown(split=split, n=len(subset), automatic=sum(e.id in automatic for e in subset),
                                    tasks=list(dict.fromkeys(e.task for e in subset if e.task is not None)),
                                    values=values, verdict=rows))
    return found
