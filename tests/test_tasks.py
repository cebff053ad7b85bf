"""The breakdown by task: headline metrics per task and variant, primary comparisons within each task, and
the tasks where the overall winner does worse (the seed's drift across tasks)."""

from __future__ import annotations

from factory import crafted_results

from harness.report import render_report
from harness.tasks import MIN_EXAMPLES


def _task(i: int) -> str:
    return "a" if i < 16 else "b" if i < 24 else "c"


def _words(i: int, variant: str) -> str:
    """sft is 6 words shorter than system on task a and c, 2 words longer on task b."""
    short, long = (5, 3) if _task(i) == "b" else (2, 8)
    return " ".join(["w"] * (short if variant.startswith("sft") else long))


def test_a_winner_that_does_worse_on_one_task_is_flagged_there_only():
    results = crafted_results(27, _words, task=_task)
    overall = next(v for v in results.verdict if v.metric == "words")
    assert (overall.a, overall.b, overall.outcome) == ("sft", "system", "win")
    tasks = {t.task: t for t in results.tasks}
    assert [(t.task, t.n) for t in results.tasks] == [("a", 16), ("b", 8), ("c", 3)]
    assert tasks["a"].flips == [] and tasks["c"].flips == []
    (flip,) = tasks["b"].flips
    assert (flip.a, flip.b, flip.metric, flip.overall, flip.delta) == ("sft", "system", "words", "win", 2.0)
    assert flip.significant  # all 8 examples the other way: the task's own test calls it
    html = render_report(results)
    assert 'id="tasks"' in html and "b (8 examples): sft beat system on words overall" in html


def test_a_task_below_the_minimum_gets_figures_and_no_test():
    tasks = {t.task: t for t in crafted_results(27, _words, task=_task).tasks}
    assert tasks["c"].n < MIN_EXAMPLES <= tasks["b"].n
    assert tasks["c"].comparisons == [] and tasks["c"].values["words"] == {
        "base": 8.0, "system": 8.0, "sft": 2.0, "sft+system": 2.0}
    assert {(c.a, c.b) for c in tasks["b"].comparisons} == {("sft", "system")}
    assert all(c.family_size == 1 for c in tasks["b"].comparisons)  # exploration: raw p


def test_one_task_or_none_gives_no_breakdown():
    assert crafted_results(12, _words).tasks == []
