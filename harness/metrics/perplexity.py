"""Perplexity family: how likely the reference answer is under each variant, given its own prompt.

Each pair is encoded whole and split at the prompt boundary; only reference tokens are scored (with the
end-of-turn token, or without it, the same way for every variant). Sequences are left-padded with
explicit position ids, so only the last tokens' logits are computed (`logits_to_keep`).
"""

from __future__ import annotations

import math

from pydantic import BaseModel

from harness.models import last_positions
from harness.tokens import EncodedPair, encode_pair


class ReferenceScore(BaseModel):
    nll: float  # summed negative log-likelihood (nats) of the scored tokens
    tokens: int
    bytes: int  # UTF-8 bytes of the reference text scored

    @property
    def mean_nll(self) -> float:
        return self.nll / self.tokens


class PerplexityScores(BaseModel):
    mean_nll: float
    perplexity: float
    tokens: int


def encode_references(tokenizer, prompts: list[str], references: list[str], suffix: str) -> list[EncodedPair]:
    return [encode_pair(tokenizer, prompt, reference + suffix) for prompt, reference in zip(prompts, references,
                                                                                           strict=True)]


def score_pairs(model, pairs: list[EncodedPair], pad_id: int, batch_size: int) -> list[float]:
    """Summed NLL of each pair's completion tokens."""
    import torch

    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].input_ids))
    nll = [0.0] * len(pairs)
    device = next(model.parameters()).device
    for start in range(0, len(order), batch_size):
        chunk = [pairs[i] for i in order[start:start + batch_size]]
        width = max(len(p.input_ids) for p in chunk)
        keep = max(len(p.completion_ids) for p in chunk) + 1
        ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, pair in enumerate(chunk):
            ids[row, width - len(pair.input_ids):] = torch.tensor(pair.input_ids)
            mask[row, width - len(pair.input_ids):] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device),
                           position_ids=positions.to(device),
                           logits_to_keep=last_positions(width, keep).to(device)).logits
            targets = ids[:, width - keep + 1:].to(device)
            for row, pair in enumerate(chunk):
                # One row at a time in float32: a whole batch of vocabulary-wide float32 log-probabilities
                # took over a GB on a 49k-token vocabulary. Position t predicts token t+1.
                count = len(pair.completion_ids)
                row_logits = logits[row, keep - 1 - count:-1].float()
                nll[order[start + row]] = float(torch.nn.functional.cross_entropy(
                    row_logits, targets[row, keep - 1 - count:], reduction="sum"))
    return nll


def summarise(scores: list[ReferenceScore]) -> dict:
    """Corpus figures, token-weighted: exp(sum NLL / sum tokens), and bits per byte."""
    total_nll = sum(s.nll for s in scores)
    total_tokens = sum(s.tokens for s in scores)
    total_bytes = sum(s.bytes for s in scores)
    return {
        "perplexity": math.exp(total_nll / total_tokens) if total_tokens else None,
        "mean_nll_per_token": total_nll / total_tokens if total_tokens else None,
        "bits_per_byte": total_nll / (math.log(2) * total_bytes) if total_bytes else None,
        "tokens": total_tokens,
    }
