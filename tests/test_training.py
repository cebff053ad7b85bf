"""Training inputs: chat-template rendering, completion-only labels, end-of-turn learned, content keys."""

from __future__ import annotations

import copy

import pytest
import torch

from harness.examples import Example, ExampleSet
from harness.models import resolve_model, resolve_numerics
from harness.prompts import PromptRenderer
from harness.suite import Training
from harness.training import IGNORE_INDEX, Rows, _train, adapter_key, split_batch, tokenize_training_set, training_rows


def _set(*pairs):
    return ExampleSet(split="train", source="memory", examples=[
        Example(id=str(i), prompt=p, response=r) for i, (p, r) in enumerate(pairs)])


def test_labels_cover_the_response_and_the_end_of_turn_only(smoke_tokenizer):
    renderer = PromptRenderer(smoke_tokenizer, "S", "no_system")
    rows = tokenize_training_set(_set(("What is two plus two?", "Four.")), renderer, smoke_tokenizer, Training())
    ids, labels = rows[0]["input_ids"], rows[0]["labels"]
    scored = [t for t in labels if t != IGNORE_INDEX]
    assert smoke_tokenizer.decode(scored) == "Four.<|im_end|>"
    assert labels[-1] == smoke_tokenizer.convert_tokens_to_ids("<|im_end|>")
    prompt_part = smoke_tokenizer.decode(ids[: labels.index(scored[0])])
    assert prompt_part == "<|im_start|>user\nWhat is two plus two?<|im_end|>\n<|im_start|>assistant\n"


def test_end_of_turn_stays_in_labels_when_pad_equals_eos(smoke_tokenizer):
    tokenizer = copy.deepcopy(smoke_tokenizer)
    tokenizer.pad_token = tokenizer.eos_token  # the tutorial setup that un-teaches stopping
    renderer = PromptRenderer(tokenizer, "S", "no_system")
    rows = tokenize_training_set(_set(("Hi?", "Hello.")), renderer, tokenizer, Training())
    assert rows[0]["labels"][-1] == tokenizer.pad_token_id == tokenizer.eos_token_id


def test_full_sequence_loss_is_an_option(smoke_tokenizer):
    renderer = PromptRenderer(smoke_tokenizer, "S", "no_system")
    rows = tokenize_training_set(_set(("Hi?", "Hello.")), renderer, smoke_tokenizer, Training(loss="full"))
    assert rows[0]["labels"] == rows[0]["input_ids"]


def test_sequences_are_not_padded_and_are_cut_at_max_length(smoke_tokenizer):
    renderer = PromptRenderer(smoke_tokenizer, "S", "no_system")
    rows = tokenize_training_set(_set(("Hi?", "Hello."), ("A much longer question " * 40, "Yes.")), renderer,
                                 smoke_tokenizer, Training(max_length=64))
    assert len(rows[0]["input_ids"]) < 30  # no padding to a fixed length
    assert len(rows[1]["input_ids"]) == len(rows[1]["labels"]) == 64


def test_adapter_key_follows_content_not_names(smoke_dir, smoke_tokenizer, tmp_path):
    import shutil

    renderer = PromptRenderer(smoke_tokenizer, "S", "no_system")
    rows = training_rows(_set(("Hi?", "Hello.")), renderer, smoke_tokenizer, Training())
    copy_dir = tmp_path / "renamed-model"
    shutil.copytree(smoke_dir, copy_dir)
    original, renamed = resolve_model(str(smoke_dir)), resolve_model(str(copy_dir))
    cpu = resolve_numerics("float32", "none")
    key = adapter_key(original, rows, Training(), cpu)
    assert adapter_key(renamed, rows, Training(), cpu) == key
    changed = training_rows(_set(("Hi?", "Hello!")), renderer, smoke_tokenizer, Training())
    assert adapter_key(original, changed, Training(), cpu) != key
    assert adapter_key(original, rows, Training(learning_rate=1e-3), cpu) != key
    # Precision and micro-batching change what is trained, so they change the key.
    assert adapter_key(original, rows, Training(), resolve_numerics("bfloat16", "none")) != key
    assert adapter_key(original, rows, Training(micro_batch_tokens=64), cpu) != key
    # The fractions name other adapters; this one is the same adapter with or without them.
    assert adapter_key(original, rows, Training(data_fractions=[0.5, 1.0]), cpu) == key
    assert adapter_key(original, Rows(rows.fit, rows.fit, 1.0, None), Training(), cpu) != key  # what it is validated on


def _batch(lengths, width=None):
    width = width or max(lengths)
    mask = torch.tensor([[1] * n + [0] * (width - n) for n in lengths])
    ids = torch.arange(len(lengths) * width).reshape(len(lengths), width) * mask
    return {"input_ids": ids, "attention_mask": mask, "labels": ids.masked_fill(mask == 0, IGNORE_INDEX)}


def test_a_batch_is_cut_by_its_token_budget_longest_rows_first():
    batch = _batch([10, 40, 12, 38, 11, 9])
    pieces = split_batch(batch, 80)
    # 40 and 38 fill a piece of 2 x 40; the four short rows fit 4 x 12 = 48 tokens.
    assert [p["input_ids"].shape for p in pieces] == [(2, 40), (4, 12)]
    assert all(p["input_ids"].shape[0] * p["input_ids"].shape[1] <= 80 for p in pieces)
    kept = sorted(tuple(row[row != 0].tolist()) for p in pieces for row in p["input_ids"] * p["attention_mask"])
    assert kept == sorted(tuple(row[row != 0].tolist()) for row in batch["input_ids"] * batch["attention_mask"])
    assert split_batch(batch, None) == [batch]


def test_a_row_longer_than_the_budget_goes_alone():
    pieces = split_batch(_batch([50, 30, 20]), 32)
    assert [p["input_ids"].shape for p in pieces] == [(1, 50), (1, 30), (1, 20)]


@pytest.mark.slow
def test_cutting_batches_by_tokens_does_not_change_what_is_learned(smoke_dir, smoke_tokenizer, tmp_path):
    """The loss of each piece is its share of the whole batch's mean, so one pass and four passes take the
    same gradient step (dropout off, so both see the same function)."""
    from safetensors.torch import load_file

    renderer = PromptRenderer(smoke_tokenizer, "S", "no_system")
    pairs = [(f"Question number {i}{' with more words' * (i % 3)}?", f"Answer {i}." * (1 + i % 2)) for i in range(8)]
    source, numerics = resolve_model(str(smoke_dir)), resolve_numerics("float32", "none", "training")
    weights, passes = [], []
    for budget in (10_000, 24):  # a whole batch in one pass, and cut into pieces
        settings = Training(max_steps=2, batch_size=8, micro_batch_tokens=budget,
                            lora={"r": 4, "alpha": 8, "dropout": 0.0})
        rows = Rows(tokenize_training_set(_set(*pairs), renderer, smoke_tokenizer, settings), [], 1.0, None)
        stats = _train(source, smoke_tokenizer, rows, settings, numerics, tmp_path / str(budget))
        weights.append(load_file(tmp_path / str(budget) / "adapter_model.safetensors"))
        passes.append(stats["forward_passes"])
    assert passes[0] == 2 and passes[1] > 4  # the budget really cut each batch
    one_pass, pieces = weights
    assert one_pass.keys() == pieces.keys()
    for name in one_pass:
        torch.testing.assert_close(pieces[name], one_pass[name], rtol=1e-4, atol=1e-6)
