"""Length family: how long an output is, in words, tokens, characters and sentences."""

from __future__ import annotations

import math
import re

from pydantic import BaseModel

WORD = re.compile(r"\w+")
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)")


class LengthScores(BaseModel):
    words: int
    tokens: int
    characters: int
    sentences: int
    truncated: bool
    log_ratio_to_reference: float | None  # log(words / reference words); None when either is 0


def words(text: str) -> int:
    return len(WORD.findall(text))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of sentences: split after . ! ? and at blank lines or list items."""
    spans, start = [], 0
    for match in SENTENCE_END.finditer(text):
        if text[start:match.start()].strip():
            spans.append((start, match.start()))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def sentences(text: str) -> int:
    return len(sentence_spans(text))


def length_scores(text: str, tokens: int, truncated: bool, reference: str) -> LengthScores:
    count, reference_count = words(text), words(reference)
    ratio = math.log(count / reference_count) if count and reference_count else None
    return LengthScores(words=count, tokens=tokens, characters=len(text), sentences=sentences(text),
                        truncated=truncated, log_ratio_to_reference=ratio)
