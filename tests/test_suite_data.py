"""The shipped suites: enough examples, varied tasks, and no overlap between train and eval."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from harness.scorers import prepare
from harness.suite import load_suite


def _normalised(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


@pytest.mark.parametrize("name, train_min, eval_min", [("concise", 200, 60), ("json_output", 150, 50),
                                                       ("plain", 150, 50)])
def test_suite_sizes_and_no_overlap(name, train_min, eval_min):
    prepared = prepare(load_suite(ROOT / "suites" / f"{name}.yaml"))
    assert len(prepared.train.examples) >= train_min and len(prepared.eval.examples) >= eval_min
    train_prompts = {_normalised(e.prompt) for e in prepared.train.examples}
    assert not train_prompts & {_normalised(e.prompt) for e in prepared.eval.examples}
    train_answers = {_normalised(e.response) for e in prepared.train.examples}
    assert not train_answers & {_normalised(e.response) for e in prepared.eval.examples}


def test_concise_covers_varied_task_types():
    prepared = prepare(load_suite(ROOT / "suites" / "concise.yaml"))
    tasks = {e.task for e in prepared.train.examples} & {e.task for e in prepared.eval.examples}
    assert {"fact", "definition", "howto", "rewrite", "code", "summarise"} <= tasks
    assert load_suite(ROOT / "suites" / "concise.yaml").model == "smollm2-135m-instruct"  # the packaged real model


@pytest.mark.parametrize("name", ["concise", "json_output", "plain"])
def test_references_meet_their_own_suite_rules(name):
    from harness.metrics.filler import filler_scores
    from harness.metrics.format_checks import run_rules

    prepared = prepare(load_suite(ROOT / "suites" / f"{name}.yaml"))
    assert prepared.rules
    for example in prepared.eval.examples:
        failed = [c.reason for c in run_rules(example.response, prepared.rules + example.rules) if not c.passed]
        assert not failed, (example.id, failed)
        assert filler_scores(example.response, prepared.lexicon).any == 0, example.id
