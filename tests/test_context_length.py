"""A prompt longer than the model's context is an error naming the example, found before any model work: by
`harness validate` where the model is on this machine, and at the start of `harness run` always."""

from __future__ import annotations

import pytest
from conftest import write_suite

from harness import training
from harness.cli import main

SHORT = {"prompt": "What is 2+2?", "response": "4."}
# The smoke model's context is 2,048 tokens; its tokenizer spends a token or more on each of these words.
LONG = {"id": "far-too-long", "prompt": " ".join(["elephant"] * 2500), "response": "Yes."}


def _suite(tmp_path, smoke_dir, eval_rows, train_rows=None, extra=""):
    body = (f"name: tiny\nmodel: {smoke_dir}\nsystem_prompt: Answer briefly.\n"
            f"data:\n  train: {{path: train.jsonl}}\n  eval: {{path: eval.jsonl}}\n{extra}")
    return write_suite(tmp_path, body, train_rows or [SHORT] * 4, eval_rows)


def test_validate_names_the_eval_example_that_does_not_fit(tmp_path, smoke_dir, capsys):
    path = _suite(tmp_path, smoke_dir, [SHORT, LONG])
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "eval.jsonl:example 'far-too-long'" in err and "over the model's context of 2048 tokens" in err
    assert "Traceback" not in err


def test_max_new_tokens_counts_against_the_context(tmp_path, smoke_dir, capsys):
    medium = {"id": "medium", "prompt": " ".join(["cat"] * 600), "response": "Yes."}
    path = _suite(tmp_path, smoke_dir, [medium], extra="decoding:\n  max_new_tokens: 1500\n")
    assert main(["validate", str(path)]) == 2
    assert "decoding.max_new_tokens = 1500" in capsys.readouterr().err
    path = _suite(tmp_path, smoke_dir, [medium], extra="decoding:\n  max_new_tokens: 64\n")
    assert main(["validate", str(path)]) == 0
    assert "every prompt fits" in capsys.readouterr().out


def test_a_training_row_over_the_context_is_named_when_max_length_lets_it_through(tmp_path, smoke_dir, capsys):
    path = _suite(tmp_path, smoke_dir, [SHORT], train_rows=[SHORT, LONG], extra="training:\n  max_length: 4096\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "train.jsonl:example 'far-too-long'" in err and "training.max_length at most 2048" in err
    path = _suite(tmp_path, smoke_dir, [SHORT], train_rows=[SHORT, LONG])  # max_length 1024 cuts the row
    assert main(["validate", str(path)]) == 0


def test_run_stops_before_training_on_a_prompt_that_does_not_fit(tmp_path, smoke_dir, capsys, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking the context")

    monkeypatch.setattr(training, "_train", no_training)
    path = _suite(tmp_path, smoke_dir, [SHORT, LONG])
    assert main(["run", str(path), "--smoke", "--out", str(tmp_path / "run")]) == 2
    assert "far-too-long" in capsys.readouterr().err and not (tmp_path / "run").exists()


@pytest.mark.parametrize("model", ["Qwen/Not-On-This-Machine", "missing.gguf"])
def test_validate_says_when_the_model_is_not_here_to_check_against(tmp_path, capsys, model):
    body = (f"name: tiny\nmodel: {model}\nsystem_prompt: Answer briefly.\n"
            "data:\n  train: {path: train.jsonl}\n  eval: {path: eval.jsonl}\n")
    path = write_suite(tmp_path, body, [SHORT], [SHORT])
    assert main(["validate", str(path)]) == 0
    assert "context length not checked" in capsys.readouterr().out
