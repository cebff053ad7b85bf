"""Distribution shift: eval examples in named splits, marked shifted automatically where their task is absent
from the training set, each split with its own verdict, side by side in the report."""

from __future__ import annotations

from factory import crafted_results

from harness.examples import Example
from harness.report import render_report
from harness.splits import IN_DISTRIBUTION, SHIFTED, split_of
from harness.tasks import MIN_EXAMPLES


def _example(task: str | None = None, split: str | None = None) -> Example:
    return Example(id="x", prompt="p", response="r", task=task, split=split)


def test_a_row_names_its_split_else_its_task_decides():
    trained = {"fact", "howto"}
    assert split_of(_example("fact"), trained) == (IN_DISTRIBUTION, False)
    assert split_of(_example("math"), trained) == (SHIFTED, True)
    assert split_of(_example("math", split="held_out"), trained) == ("held_out", False)
    assert split_of(_example("fact", split="shifted"), trained) == (SHIFTED, False)  # the row's word wins
    assert split_of(_example(None), trained) == (IN_DISTRIBUTION, False)
    assert split_of(_example("math"), set()) == (IN_DISTRIBUTION, False)  # a training set without tasks


def _task(i: int) -> str:
    return "seen" if i < 20 else "unseen"


def _words(i: int, variant: str) -> str:
    """sft answers 6 words shorter than system on the trained task, 4 words longer on the unseen one."""
    short, long = (2, 8) if _task(i) == "seen" else (7, 3)
    return " ".join(["w"] * (short if variant.startswith("sft") else long))


def test_each_split_gets_its_own_verdict_and_the_report_shows_them_side_by_side():
    results = crafted_results(32, _words, task=_task)
    assert [(s.split, s.n, s.automatic, s.tasks) for s in results.splits] == [
        (IN_DISTRIBUTION, 20, 0, ["seen"]), (SHIFTED, 12, 12, ["unseen"])]
    inside, shifted = ({v.metric: v for v in s.verdict} for s in results.splits)
    assert (inside["words"].outcome, shifted["words"].outcome) == ("win", "loss")
    assert shifted["words"].delta == 4.0 and shifted["words"].family_size == len(shifted)  # a family per split
    assert results.splits[1].values["words"] == {"base": 3.0, "system": 3.0, "sft": 7.0, "sft+system": 7.0}
    assert [e.split for e in results.examples[18:22]] == [IN_DISTRIBUTION] * 2 + [SHIFTED] * 2
    html = render_report(results)
    assert 'id="shift"' in html and "shifted (12) · sft" in html and "12 marked shifted" in html


def test_a_small_split_gets_figures_and_no_verdict_and_one_split_gets_no_breakdown():
    results = crafted_results(24, lambda i, v: "w w" if v.startswith("sft") else "w w w w", task=lambda i: "seen",
                              split=lambda i: "held_out" if i >= 24 - (MIN_EXAMPLES - 1) else None)
    small = results.splits[1]
    assert (small.split, small.n, small.verdict) == ("held_out", MIN_EXAMPLES - 1, [])
    assert small.values["words"]["sft"] == 2.0
    assert crafted_results(12, _words, task=lambda i: "seen").splits == []
