"""Length family: how long an output is, in words, tokens, characters and sentences."""

from __future__ import annotations

import math
import re

from pydantic import BaseModel

from harness.metrics.sentences import sentence_spans, sentences

__all__ = ["LengthScores", "length_scores", "sentence_spans", "sentences", "words"]

WORD = re.compile(r"\w+")


class LengthScores(BaseModel):
    words: int
    tokens: int
    characters: int
    sentences: int
    truncated: bool
    log_ratio_to_reference: float | None  # log(words / reference words); None when either is 0


def words(text: str) -> int:
    return len(WORD.findall(text))


def length_scores(text: str, tokens: int, truncated: bool, reference: str) -> LengthScores:
    count, reference_count = words(text), words(reference)
    ratio = math.log(count / reference_count) if count and reference_count else None
    return LengthScores(words=count, tokens=tokens, characters=len(text), sentences=sentences(text),
                        truncated=truncated, log_ratio_to_reference=ratio)
