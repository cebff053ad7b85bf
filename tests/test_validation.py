"""Held-out loss during training: the slice, the loss, overfitting, early stopping that keeps the best adapter."""

from __future__ import annotations

import pytest
import torch
from conftest import validated_snippet
from doc_snippets import VALIDATE, covers

from harness import validation
from harness.examples import Example, ExampleSet
from harness.models import load_model, resolve_model, resolve_numerics
from harness.prompts import PromptRenderer
from harness.suite import Training, Validation
from harness.training import Rows, _train, tokenize_training_set, training_rows
from harness.validation import fraction_of, held_out, held_out_loss, rising, slice_note


def _set(count: int) -> ExampleSet:
    return ExampleSet(split="train", source="memory", examples=[
        Example(id=str(i), prompt=f"Question {i}{' and more' * (i % 4)}?", response=f"Answer {i}.")
        for i in range(count)])


def test_the_slice_is_a_seeded_tenth_capped_and_never_tiny():
    settings = Validation()
    assert len(held_out(248, settings, 42)) == 25
    assert held_out(248, settings, 42) == held_out(248, settings, 42)
    assert held_out(248, settings, 42) != held_out(248, settings, 7)
    assert len(held_out(5_000, settings, 42)) == 64  # max_examples
    assert held_out(30, settings, 42) == []  # 3 rows: noise, so none
    assert "under 4 rows" in slice_note(30, 0, settings)
    off = Validation(fraction=0)
    assert held_out(100, off, 42) == [] and "fraction: 0" in slice_note(100, 0, off)
    assert slice_note(248, 25, settings) is None


def test_validation_rows_are_never_trained_on_and_fractions_are_nested(smoke_tokenizer):
    renderer = PromptRenderer(smoke_tokenizer, "S", "no_system")
    whole = training_rows(_set(80), renderer, smoke_tokenizer, Training())
    assert len(whole.held) == 8 and len(whole.fit) == 72
    fit_ids = {tuple(r["input_ids"]) for r in whole.fit}
    assert not fit_ids & {tuple(r["input_ids"]) for r in whole.held}
    quarter = training_rows(_set(80), renderer, smoke_tokenizer, Training(), fraction=0.25)
    half = training_rows(_set(80), renderer, smoke_tokenizer, Training(), fraction=0.5)
    assert (len(quarter.fit), len(half.fit)) == (18, 36)
    assert quarter.held == half.held == whole.held  # every fraction scored on the same slice
    ids = [{tuple(r["input_ids"]) for r in rows.fit} for rows in (quarter, half)]
    assert ids[0] < ids[1] < fit_ids
    assert fraction_of(list(range(10)), 0.01, 0) != []  # at least one row


def test_overfitting_is_loss_rising_patience_times_in_a_row():
    def curve(*losses):
        return [{"step": 10 * i, "loss": v} for i, v in enumerate(losses)]

    assert rising(curve(3, 2, 1.5, 1.6, 1.7, 1.8), 3) == {"from_step": 20, "flagged_step": 50}
    assert rising(curve(3, 2, 1.5, 1.6, 1.55, 1.7, 1.8), 3) is None  # a dip resets the count
    assert rising(curve(3, 2, 1.5, 1.5, 1.5), 1) is None  # flat is not rising
    assert validation.best(curve(3, 1, 1, 2))["step"] == 10


def test_held_out_loss_is_the_mean_over_label_tokens_whatever_the_batching(smoke_dir, smoke_tokenizer):
    renderer = PromptRenderer(smoke_tokenizer, "S", "no_system")
    rows = tokenize_training_set(_set(6), renderer, smoke_tokenizer, Training())
    model = load_model(resolve_model(str(smoke_dir)), resolve_numerics("float32", "none"))
    one_by_one = held_out_loss(model, rows, smoke_tokenizer.pad_token_id, 1, None)
    together = held_out_loss(model, rows, smoke_tokenizer.pad_token_id, 8, None)
    budgeted = held_out_loss(model, rows, smoke_tokenizer.pad_token_id, 8, 40)
    assert together == pytest.approx(one_by_one, rel=1e-5) and budgeted == pytest.approx(one_by_one, rel=1e-5)
    # The same number the model's own loss gives for one row (its mean over that row's label tokens).
    row = rows[0]
    with torch.no_grad():
        own = model(input_ids=torch.tensor([row["input_ids"]]), labels=torch.tensor([row["labels"]])).loss
    assert held_out_loss(model, rows[:1], smoke_tokenizer.pad_token_id, 1, None) == pytest.approx(float(own), rel=1e-5)


@pytest.mark.slow
def test_early_stopping_stops_where_loss_rises_and_keeps_the_best_adapter(smoke_dir, smoke_tokenizer, tmp_path,
                                                                         monkeypatch):
    """The loss is scripted (a random model's curve proves nothing): best at step 3, rising from there."""
    from safetensors.torch import load_file

    script = iter([5.0, 4.0, 3.0, 2.0, 2.5, 2.6, 2.7, 2.8, 2.9, 3.0, 3.1, 3.2])
    snapshots = {}

    def scripted(model, rows, pad_id, batch_rows, batch_tokens):
        snapshots[len(snapshots)] = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_B" in n}
        return next(script)

    monkeypatch.setattr(validation, "held_out_loss", scripted)
    renderer = PromptRenderer(smoke_tokenizer, "S", "no_system")
    settings = Training(max_steps=10, batch_size=2, learning_rate=5e-3, lora={"r": 4, "alpha": 8, "dropout": 0.0},
                        validation={"every_steps": 1, "patience": 3, "early_stopping": True})
    rows = training_rows(_set(60), renderer, smoke_tokenizer, settings)
    stats = _train(resolve_model(str(smoke_dir)), smoke_tokenizer, rows, settings,
                   resolve_numerics("float32", "none", "training"), tmp_path)
    record = stats["validation"]
    assert [p["step"] for p in record["curve"]] == list(range(7))  # step 0, then every step until stopped
    assert record["overfitting"] == {"from_step": 3, "flagged_step": 6}
    assert (record["stopped_at"], stats["steps"], record["best_step"], record["kept_step"]) == (6, 6, 3, 3)
    saved = load_file(tmp_path / "adapter_model.safetensors")
    best = {n.replace(".default", ""): v for n, v in snapshots[3].items()}
    key = next(k for k in saved if "lora_B" in k)
    match = next(n for n in best if n.endswith(key.removeprefix("base_model.model.")))
    torch.testing.assert_close(saved[key], best[match])
    assert not torch.equal(saved[key], {n.replace(".default", ""): v for n, v in snapshots[6].items()}[match])


def test_training_without_a_slice_says_why(smoke_tokenizer):
    renderer = PromptRenderer(smoke_tokenizer, "S", "no_system")
    rows = training_rows(_set(20), renderer, smoke_tokenizer, Training())
    assert rows.held == [] and len(rows.fit) == 20 and "under 4 rows" in rows.note
    assert isinstance(rows, Rows)


VALIDATION_YAML = "```yaml training: # held-out loss (defaults shown)"


@covers("docs/training.md", VALIDATION_YAML, how=VALIDATE)
def test_the_documented_validation_settings_are_the_defaults(tmp_path, capsys):
    assert validated_snippet(tmp_path, capsys, "docs/training.md", VALIDATION_YAML).training.validation == Validation()
