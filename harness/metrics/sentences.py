"""Sentence boundaries: where one sentence of an answer ends and the next begins.

Prose is split by pysbd (the "Golden Rules" segmenter: abbreviations such as "Mr." and "e.g.", initials,
decimals, ellipses, quotes). Around it, three rules of our own, for how chat answers are laid out:
- a line break ends a sentence (a heading, a list item or a line of a table is a unit a reader counts),
  unless the line has no end punctuation and the next one starts in lower case or with a number of three
  or more digits ("...ended in\n1945. It was over." is two);
- a fenced code block is one sentence, and URLs, e-mail addresses and inline code are opaque (their dots
  and question marks end nothing);
- a run of "!" or "?", or a closing quote after . ! ?, followed by a capital ends a sentence ("Wow!!!
  That was fast." is two), so does a word pysbd takes for an abbreviation before the pronoun "I" ("Call me.
  I will answer." is two), and a few abbreviations pysbd splits at ("approx. 3 MB", "2 lbs. and", "a B.Sc.
  in") do not: all are cases pysbd gets wrong.
The labelled hard cases in tests/data/sentence_cases.jsonl pin this behaviour down.
"""

from __future__ import annotations

import functools
import re

import pysbd

# Text whose punctuation ends no sentence. Masked with a letter of the same length so offsets still hold.
OPAQUE = re.compile(r"`[^`\n]+`|\b(?:https?://|www\.)\S+[\w/]|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|"
                    r"\b(?:[\w-]+\.)+(?:com|org|net|io|dev|edu|gov|js|py|txt|yaml|json|html|md)\b")
FENCE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
LINE = re.compile(r"[^\n]+")
REPEATED_END = re.compile(r"(?:[!?]{2,}[\"')\]]*|[.!?][\"'])\s+(?=[\"'(\[]?[A-Z])")
# pysbd reads a lower-case word of its abbreviation list ("me", "is", "ill", "ok", "may") before "I" as an
# abbreviation and an initial: "Call me. I will answer." is two sentences when "I" is the pronoun, a verb or "'m"
# after it; not after a reference abbreviation ("See sec. I of the report") nor before "of" ("vol. I of the series").
PRONOUN_AFTER_WORD = re.compile(r"(?<![\w.])(?!(?:sec|secs|vol|vols|ch|pt|pts|no|nos|fig|figs|art|app|para|chap|"
                                r"part|book)\.)[a-z]{2,5}\.\s+(?=I(?:'[a-z]{1,2}\b|\s+(?!(?:of|and|or|to|in|on|at|the|a|"
                                r"an|for|with|from|by)\b)[a-z]))")
# Abbreviations that continue a sentence when a number or a lower-case word follows them.
CONTINUING = re.compile(r"(?:\b(?:approx|ca?|vol|nos?|fig|figs|ch|sec|pp?|ext|est|lbs?|tbsp|tsp|oz|ft|co|ltd)"
                        r"|\b(?:[A-Za-z]{1,3}\.){1,}[A-Za-z]{1,3})\.$", re.IGNORECASE)
CONTINUES_LINE = re.compile(r"[^\n.!?:;]\n(?=[ \t]*(?:[a-z]|\d{3,}))")
SEGMENTER = pysbd.Segmenter(language="en", clean=False, char_span=True)
CHUNK = 4000  # pysbd slows down faster than linearly on long lines; longer lines go in chunks cut at ". "


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans (start, end) of the sentences of `text`, without surrounding whitespace."""
    return list(_spans(text))


def sentences(text: str) -> int:
    """How many sentences `text` has (0 for empty or whitespace-only text)."""
    return len(_spans(text))


@functools.lru_cache(maxsize=4096)  # every answer is split for length, sentence checks and filler positions
def _spans(text: str) -> tuple[tuple[int, int], ...]:
    masked = OPAQUE.sub(lambda m: "x" * len(m.group(0)), text)
    fences = [m.span() for m in FENCE.finditer(masked)]
    masked = FENCE.sub(lambda m: re.sub(r"\S", "x", m.group(0)), masked)  # keep the lines; they join below
    masked = CONTINUES_LINE.sub(lambda m: m.group(0)[0] + " ", masked)  # a wrapped line is one line
    spans = [_trim(text, start, end) for start, end in fences]
    for line in LINE.finditer(masked):
        if any(start <= line.start() < end for start, end in fences):
            continue
        for chunk_start, chunk in _chunks(line.start(), line.group(0)):
            for piece_start, piece_end in _prose(chunk):
                spans.append(_trim(text, chunk_start + piece_start, chunk_start + piece_end))
    return tuple(sorted(span for span in spans if span[0] < span[1]))


def _chunks(offset: int, line: str) -> list[tuple[int, str]]:
    chunks = []
    while len(line) > CHUNK:
        cut = max(line.rfind(". ", 0, CHUNK), line.rfind("! ", 0, CHUNK), line.rfind("? ", 0, CHUNK))
        cut = cut + 2 if cut > 0 else (line.rfind(" ", 0, CHUNK) + 1 or CHUNK)
        chunks.append((offset, line[:cut]))
        offset, line = offset + cut, line[cut:]
    return chunks + [(offset, line)]


def _prose(line: str) -> list[tuple[int, int]]:
    """Sentences of one line: pysbd's, split after repeated ! or ? and before a pronoun "I" pysbd read as an
    initial, joined after continuing abbreviations."""
    pieces: list[tuple[int, int]] = []
    for sentence in SEGMENTER.segment(line):
        cursor = sentence.start
        ends = sorted({m.end() for pattern in (REPEATED_END, PRONOUN_AFTER_WORD)
                       for m in pattern.finditer(line, sentence.start, sentence.end)})
        for end in ends:
            pieces.append((cursor, end))
            cursor = end
        pieces.append((cursor, sentence.end))
    joined: list[tuple[int, int]] = []
    for start, end in pieces:
        piece = line[start:end].lstrip()
        if joined and (not re.search(r"\w", piece) or _continues(line[joined[-1][0]:joined[-1][1]], piece)):
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def _continues(previous: str, piece: str) -> bool:
    previous = previous.rstrip()
    if previous.endswith(("...", "\u2026")) or re.search(r"\.\.$", previous):
        return piece[:1].islower() or piece[:1].isdigit()
    if re.match(r"(?:Ltd|Inc|LLC|Corp|GmbH)\b", piece):  # "Smith & Co. Ltd."
        return True
    return bool(CONTINUING.search(previous)) and (piece[:1].islower() or piece[:1].isdigit())


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
