"""Generation: explicit greedy decoding (nothing inherited), left-padded batches, stop reasons."""

from __future__ import annotations

import torch

from harness.generation import generate, stop_token_ids
from harness.prompts import PromptRenderer
from harness.suite import Decoding

QUESTIONS = ["What is the capital of France?", "Name a prime number.",
             "Summarise: the cat sat on the mat and then it slept for a very long time."]


def _greedy_by_hand(model, tokenizer, prompt: str, steps: int, stops: list[int]) -> list[int]:
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt").input_ids
    out = []
    with torch.inference_mode():
        for _ in range(steps):
            token = int(model(ids).logits[0, -1].argmax())
            if token in stops:
                break
            out.append(token)
            ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
    return out


def test_greedy_matches_a_hand_written_argmax_loop_despite_shipped_sampling_defaults(smoke_model, smoke_tokenizer):
    assert smoke_model.generation_config.do_sample is True  # shipped like Qwen2.5's
    assert smoke_model.generation_config.repetition_penalty == 1.1
    renderer = PromptRenderer(smoke_tokenizer, "Be brief.", "no_system")
    prompts = [renderer.render(q, system=False) for q in QUESTIONS]
    stops = stop_token_ids(smoke_tokenizer, smoke_model, renderer.facts.end_of_turn)
    decoding = Decoding(max_new_tokens=12, batch_size=3)
    outputs = generate(smoke_model, smoke_tokenizer, prompts, decoding, stops)
    for prompt, output in zip(prompts, outputs, strict=True):
        expected = _greedy_by_hand(smoke_model, smoke_tokenizer, prompt, 12, stops)
        assert output.text == smoke_tokenizer.decode(expected)
        assert output.tokens == len(expected)
    assert smoke_model.generation_config.do_sample is True  # restored afterwards


def test_batched_left_padding_gives_the_same_outputs_as_one_at_a_time(smoke_model, smoke_tokenizer):
    renderer = PromptRenderer(smoke_tokenizer, "Be brief.", "no_system")
    prompts = [renderer.render(q, system=True) for q in QUESTIONS]
    stops = stop_token_ids(smoke_tokenizer, smoke_model, renderer.facts.end_of_turn)
    batched = generate(smoke_model, smoke_tokenizer, prompts, Decoding(max_new_tokens=10, batch_size=3), stops)
    single = generate(smoke_model, smoke_tokenizer, prompts, Decoding(max_new_tokens=10, batch_size=1), stops)
    assert [o.text for o in batched] == [o.text for o in single]


def test_stop_reason_is_recorded(smoke_model, smoke_tokenizer):
    renderer = PromptRenderer(smoke_tokenizer, "Be brief.", "no_system")
    prompt = renderer.render(QUESTIONS[0], system=False)
    stops = stop_token_ids(smoke_tokenizer, smoke_model, renderer.facts.end_of_turn)
    [long] = generate(smoke_model, smoke_tokenizer, [prompt], Decoding(max_new_tokens=6), stops)
    assert long.truncated and not long.stopped and long.tokens == 6
    # Make the next token an end-of-turn for sure: every step then stops at once.
    first = _greedy_by_hand(smoke_model, smoke_tokenizer, prompt, 1, [])[0]
    [stopped] = generate(smoke_model, smoke_tokenizer, [prompt], Decoding(max_new_tokens=6), [first])
    assert stopped.stopped and not stopped.truncated and stopped.tokens == 0 and stopped.text == ""


def test_sampling_is_seeded(smoke_model, smoke_tokenizer):
    renderer = PromptRenderer(smoke_tokenizer, "Be brief.", "no_system")
    prompts = [renderer.render(q, system=False) for q in QUESTIONS]
    stops = stop_token_ids(smoke_tokenizer, smoke_model, renderer.facts.end_of_turn)
    decoding = Decoding(max_new_tokens=8, do_sample=True, temperature=1.0, seed=7)
    first = generate(smoke_model, smoke_tokenizer, prompts, decoding, stops)
    again = generate(smoke_model, smoke_tokenizer, prompts, decoding, stops)
    assert [o.text for o in first] == [o.text for o in again]


def test_rows_that_finish_are_replaced_and_results_match_one_at_a_time(smoke_model, smoke_tokenizer, monkeypatch):
    """Continuous batching: with a stop token that ends some answers early, waiting prompts take the freed
    rows; every answer still equals the one decoded alone, and equals model.generate's."""
    renderer = PromptRenderer(smoke_tokenizer, "Be brief.", "no_system")
    questions = QUESTIONS + ["Why is the sky blue?", "Write a haiku about rain.", "What is 2 + 2?", "Hello?"]
    prompts = [renderer.render(q, system=i % 2 == 0) for i, q in enumerate(questions)]
    first_tokens = {_greedy_by_hand(smoke_model, smoke_tokenizer, p, 3, [])[2] for p in prompts[:3]}
    stops = sorted(first_tokens)  # the third token of some answers: those rows end early
    decoding = Decoding(max_new_tokens=9, batch_size=3)
    done = []
    together = generate(smoke_model, smoke_tokenizer, prompts, decoding, stops, on_done=done.append)
    alone = generate(smoke_model, smoke_tokenizer, prompts, Decoding(max_new_tokens=9, batch_size=1), stops)
    assert [o.text for o in together] == [o.text for o in alone]
    assert sum(done) == len(prompts) and len(done) > 1
    assert {o.tokens for o in together} != {9}  # some rows really ended early
    monkeypatch.setattr("harness.generation._plain_cache", lambda model: False)
    batched = generate(smoke_model, smoke_tokenizer, prompts, decoding, stops)
    assert [o.text for o in batched] == [o.text for o in together]
