"""Batched generation with left padding, every decoding setting explicit.

The model's own generation_config (Qwen2.5 ships sampling with temperature 0.7 and a repetition
penalty) is replaced for the duration of the call, so nothing is inherited from it.
"""

from __future__ import annotations

from contextlib import contextmanager

from pydantic import BaseModel

from harness.suite import Decoding


class Output(BaseModel):
    """One variant's answer to one example."""

    text: str
    tokens: int  # generated tokens, end-of-turn excluded
    stopped: bool  # ended on an end-of-turn token
    truncated: bool  # hit max_new_tokens without end-of-turn


def generation_config(decoding: Decoding, stop_ids: list[int], pad_id: int):
    from transformers import GenerationConfig

    sampling = {"temperature": decoding.temperature, "top_p": decoding.top_p, "top_k": decoding.top_k} \
        if decoding.do_sample else {"temperature": None, "top_p": None, "top_k": None}
    return GenerationConfig(
        max_new_tokens=decoding.max_new_tokens, min_new_tokens=0, do_sample=decoding.do_sample,
        num_beams=1, repetition_penalty=decoding.repetition_penalty, no_repeat_ngram_size=0,
        length_penalty=1.0, eos_token_id=stop_ids, pad_token_id=pad_id, bos_token_id=None,
        forced_bos_token_id=None, forced_eos_token_id=None, suppress_tokens=None, begin_suppress_tokens=None,
        bad_words_ids=None, renormalize_logits=False, **sampling,
    )


@contextmanager
def _only(model, config):
    """Swap the model's generation_config for ours so no field can fall back to the shipped one."""
    target = model.get_base_model() if hasattr(model, "get_base_model") else model
    shipped = target.generation_config
    target.generation_config = config
    try:
        yield
    finally:
        target.generation_config = shipped


def generate(model, tokenizer, prompts: list[str], decoding: Decoding, stop_ids: list[int],
             on_batch=None) -> list[Output]:
    import torch

    config = generation_config(decoding, stop_ids, tokenizer.pad_token_id)
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    outputs: list[Output | None] = [None] * len(prompts)
    device = next(model.parameters()).device
    torch.manual_seed(decoding.seed)
    with _only(model, config), torch.inference_mode():
        for start in range(0, len(order), decoding.batch_size):
            batch = [encoded[i] for i in order[start:start + decoding.batch_size]]
            width = max(map(len, batch))
            ids = torch.tensor([[tokenizer.pad_token_id] * (width - len(b)) + b for b in batch], device=device)
            mask = torch.tensor([[0] * (width - len(b)) + [1] * len(b) for b in batch], device=device)
            generated = model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
            for row, index in enumerate(order[start:start + decoding.batch_size]):
                outputs[index] = _to_output(generated[row, width:].tolist(), tokenizer, stop_ids,
                                            decoding.max_new_tokens)
            if on_batch:
                on_batch(len(batch))
    return outputs


def _to_output(new_ids: list[int], tokenizer, stop_ids: list[int], max_new_tokens: int) -> Output:
    stop_at = next((i for i, t in enumerate(new_ids) if t in stop_ids), None)
    kept = new_ids if stop_at is None else new_ids[:stop_at]
    return Output(
        text=tokenizer.decode(kept, skip_special_tokens=False),
        tokens=len(kept),
        stopped=stop_at is not None,
        truncated=stop_at is None and len(new_ids) >= max_new_tokens,
    )


def stop_token_ids(tokenizer, model, end_of_turn: str) -> list[int]:
    """End-of-turn of the template, plus the eos ids the model and tokenizer declare."""
    ids = [tokenizer.convert_tokens_to_ids(end_of_turn)]
    declared = model.generation_config.eos_token_id
    ids += declared if isinstance(declared, list) else [declared] if declared is not None else []
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return list(dict.fromkeys(i for i in ids if i is not None))
