"""The breakdown by task: each headline metric per `task` value and variant, each primary comparison within
each task, and the tasks where a primary comparison's winner flips (the seed's "drift across tasks": a
prompt or an adapter that wins overall but loses on one kind of request).

Tests within a task are exploration, not the verdict: each is a family of one (raw p, labelled so), and a
task with fewer than MIN_EXAMPLES examples gets descriptive figures only. A flip is read from the means: the
overall winner of a primary comparison is worse on this task's examples, by the metric's own direction;
`significant` says whether the task's own paired test also calls it.
"""

from __future__ import annotations

from pydantic import BaseModel

from harness.compare import BehaviourVerdict, Comparison, compare
from harness.metrics.registry import Metric, statistic

# Below this many paired examples a test says little (a Wilcoxon test cannot reach p < 0.05 under 6).
MIN_EXAMPLES = 8


class TaskFlip(BaseModel):
    a: str
    b: str
    metric: str
    overall: str  # "win" or "loss": A against B over every example
    delta: float  # A - B on this task's examples
    significant: bool  # the task's own test (raw p < 0.05, CI on the same side) calls the reversal


class TaskBreakdown(BaseModel):
    task: str
    n: int
    values: dict[str, dict[str, float | None]]  # headline metric -> variant -> its summary statistic
    comparisons: list[Comparison]  # primary pairs x headline metrics here; empty below MIN_EXAMPLES
    flips: list[TaskFlip]


def grouped(examples, label: str) -> list[tuple[str, list]]:
    """The examples by a label (`task`, `split`), in order of first appearance; none where no example has
    the label or every one has the same."""
    values = list(dict.fromkeys(getattr(e, label) for e in examples if getattr(e, label) is not None))
    if len(values) < 2:
        return []
    return [(value, [e for e in examples if getattr(e, label) == value]) for value in values]


def headline_values(subset, headline: list[Metric], names: list[str]) -> dict[str, dict[str, float | None]]:
    """Each headline metric's summary statistic per variant over `subset`."""
    return {m.key: {name: statistic(m.values([e.variants[name] for e in subset]), m.aggregate) for name in names}
            for m in headline}


def paired_of(subset, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], list[tuple]]:
    return {(a, b): [(e.variants[a], e.variants[b]) for e in subset] for a, b in pairs}


def by_task(examples, metrics: list[Metric], names: list[str], primary: list[tuple[str, str]],
            verdict: list[BehaviourVerdict]) -> list[TaskBreakdown]:
    """One breakdown per task value, in order of first appearance; none where no example names a task or
    every one names the same."""
    headline = [m for m in metrics if m.headline]
    found = []
    for task, subset in grouped(examples, "task"):
        values = headline_values(subset, headline, names)
        comparisons = []
        if len(subset) >= MIN_EXAMPLES:
            comparisons = compare(paired_of(subset, primary), headline, primary_pairs=())  # each a family of one
        found.append(TaskBreakdown(task=task, n=len(subset), values=values, comparisons=comparisons,
                                   flips=_flips(subset, headline, verdict, comparisons)))
    return found


def _flips(subset, metrics: list[Metric], verdict: list[BehaviourVerdict],
           comparisons: list[Comparison]) -> list[TaskFlip]:
    by_key = {m.key: m for m in metrics}
    flips = []
    for row in verdict:
        metric = by_key.get(row.metric)
        if metric is None or row.outcome == "tie":
            continue
        pairs = [(metric.value(e.variants[row.a]), metric.value(e.variants[row.b])) for e in subset]
        pairs = [(float(x), float(y)) for x, y in pairs if x is not None and y is not None]
        if not pairs:
            continue
        delta = sum(x - y for x, y in pairs) / len(pairs)
        advantage = -delta if metric.better == "lower" else delta  # A's, on this task, in the metric's direction
        if (row.outcome == "win" and advantage < 0) or (row.outcome == "loss" and advantage > 0):
            test = next((c for c in comparisons if (c.a, c.b, c.metric) == (row.a, row.b, row.metric)), None)
            reversed_outcome = "loss" if row.outcome == "win" else "win"
            flips.append(TaskFlip(a=row.a, b=row.b, metric=row.metric, overall=row.outcome, delta=delta,
                                  significant=test is not None and test.outcome == reversed_outcome))
    return flips


def flip_sentence(task: TaskBreakdown, flip: TaskFlip) -> str:
    """A flip in words, for the report and the console."""
    said = "beat" if flip.overall == "win" else "lost to"
    called = "significant in this task" if flip.significant else "not significant in this task alone"
    return (f"{task.task} ({task.n} examples): {flip.a} {said} {flip.b} on {flip.metric} overall, but here the "
            f"mean difference ({flip.a} - {flip.b}) is {flip.delta:+.3g}, the other way ({called})")
