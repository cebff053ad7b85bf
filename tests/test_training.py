"""Training inputs: chat-template rendering, completion-only labels, end-of-turn learned, content keys."""

from __future__ import annotations

import copy

from harness.examples import Example, ExampleSet
from harness.models import resolve_model, resolve_numerics
from harness.prompts import PromptRenderer
from harness.suite import Training
from harness.training import IGNORE_INDEX, adapter_key, tokenize_training_set


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
    rows = tokenize_training_set(_set(("Hi?", "Hello.")), renderer, smoke_tokenizer, Training())
    copy_dir = tmp_path / "renamed-model"
    shutil.copytree(smoke_dir, copy_dir)
    original, renamed = resolve_model(str(smoke_dir)), resolve_model(str(copy_dir))
    cpu = resolve_numerics("float32", "none")
    key = adapter_key(original, rows, Training(), cpu)
    assert adapter_key(renamed, rows, Training(), cpu) == key
    changed = tokenize_training_set(_set(("Hi?", "Hello!")), renderer, smoke_tokenizer, Training())
    assert adapter_key(original, changed, Training(), cpu) != key
    assert adapter_key(original, rows, Training(learning_rate=1e-3), cpu) != key
    # Precision and micro-batching change what is trained, so they change the key.
    assert adapter_key(original, rows, Training(), resolve_numerics("bfloat16", "none")) != key
    assert adapter_key(original, rows, Training(micro_batch_size=4), cpu) != key
