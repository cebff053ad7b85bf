"""Reference perplexity against an independent computation in plain torch, to 1e-5."""

from __future__ import annotations

import math

import torch

from harness.metrics.perplexity import ReferenceScore, encode_references, score_pairs, summarise
from harness.prompts import PromptRenderer

CASES = [("What is the capital of France?", "Paris."),
         ("Explain photosynthesis briefly.", "Plants turn light, water and carbon dioxide into sugar and oxygen."),
         ("Rewrite formally: gonna be late", "I will be late.")]


def _independent_nll(model, tokenizer, prompt: str, completion: str) -> tuple[float, int]:
    prompt_ids = tokenizer(prompt, add_special_tokens=False).input_ids
    completion_ids = tokenizer(completion, add_special_tokens=False).input_ids
    ids = torch.tensor([prompt_ids + completion_ids])
    with torch.no_grad():
        logits = model(ids).logits[0].double()
    logprobs = torch.log_softmax(logits, dim=-1)
    total = 0.0
    for offset, token in enumerate(completion_ids):
        total -= float(logprobs[len(prompt_ids) + offset - 1, token])
    return total, len(completion_ids)


def test_batched_scores_match_plain_torch(smoke_model, smoke_tokenizer):
    renderer = PromptRenderer(smoke_tokenizer, "Be brief.", "no_system")
    for system in (False, True):
        prompts = [renderer.render(q, system=system) for q, _ in CASES]
        pairs = encode_references(smoke_tokenizer, prompts, [a for _, a in CASES], "<|im_end|>")
        nll = score_pairs(smoke_model, pairs, smoke_tokenizer.pad_token_id, batch_size=3)
        for (question, answer), prompt, got, pair in zip(CASES, prompts, nll, pairs, strict=True):
            expected, count = _independent_nll(smoke_model, smoke_tokenizer, prompt, answer + "<|im_end|>")
            assert len(pair.completion_ids) == count
            assert abs(got - expected) / count < 1e-5, question


def test_scored_tokens_are_identical_across_variant_prompts(smoke_tokenizer):
    renderer = PromptRenderer(smoke_tokenizer, "Be brief.", "no_system")
    answers = [a for _, a in CASES]
    base = encode_references(smoke_tokenizer, [renderer.render(q, False) for q, _ in CASES], answers, "<|im_end|>")
    system = encode_references(smoke_tokenizer, [renderer.render(q, True) for q, _ in CASES], answers, "<|im_end|>")
    assert [p.completion_ids for p in base] == [p.completion_ids for p in system]


def test_corpus_perplexity_is_token_weighted():
    scores = [ReferenceScore(nll=2.0, tokens=1, bytes=4), ReferenceScore(nll=3.0, tokens=3, bytes=8)]
    corpus = summarise(scores)
    assert math.isclose(corpus["perplexity"], math.exp(5.0 / 4))
    assert math.isclose(corpus["bits_per_byte"], 5.0 / (math.log(2) * 12))
