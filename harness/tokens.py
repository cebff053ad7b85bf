"""Prompt + completion encoding shared by training and perplexity scoring.

The pair is encoded whole and split at the prompt's character boundary (offsets), so the completion's
tokens are exactly those the model sees after the prompt in one sequence.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EncodedPair:
    input_ids: list[int]
    prompt_length: int  # tokens [0, prompt_length) are the prompt; the rest is the completion

    @property
    def completion_ids(self) -> list[int]:
        return self.input_ids[self.prompt_length:]


def encode_pair(tokenizer, prompt: str, completion: str) -> EncodedPair:
    encoded = tokenizer(prompt + completion, add_special_tokens=False, return_offsets_mapping=True)
    boundary = len(prompt)
    # The first token that reaches past the prompt starts the completion (a token straddling the
    # boundary counts as completion, so every completion character is scored).
    prompt_length = next(
        (i for i, (_, end) in enumerate(encoded["offset_mapping"]) if end > boundary),
        len(encoded["input_ids"]),
    )
    return EncodedPair(list(encoded["input_ids"]), prompt_length)


def encode_prompts(tokenizer, prompts: list[str]) -> list[list[int]]:
    return [list(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
