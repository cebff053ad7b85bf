"""Filler family: phrases that carry no content ("Certainly!", "I hope this helps").

The lexicon is versioned data (harness/data/filler_lexicon.json) with categories and position rules:
an opener counts only at the very start of the answer (possibly after other openers:
"Sure, I'd be happy to help!"), a closer only in the last sentence. Matching is case-insensitive,
on word boundaries, with curly quotes folded to straight ones.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import BaseModel

from harness.metrics.length import sentence_spans, words

POSITIONS = ("start", "first_sentence", "last_sentence", "anywhere")
LEADING_NOISE = re.compile(r"[\s\W_]*")
OPENER_END = re.compile(r"\s*(?:[,.!:;?\u2014\u2013-]|$)")
# Quoted or code text is mentioned, not said: "The reply 'As an AI language model...' is an over-refusal".
QUOTED = re.compile(r"```.*?```|`[^`\n]*`|\"[^\"\n]*\"|(?<!\w)'[^'\n]{2,}?'(?!\w)", re.DOTALL)
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u02bc": "'"})


@dataclass(frozen=True)
class Category:
    name: str
    position: str
    phrases: tuple[str, ...]
    pattern: re.Pattern


@dataclass(frozen=True)
class Lexicon:
    name: str
    version: str
    categories: tuple[Category, ...]


class FillerSpan(BaseModel):
    category: str
    phrase: str
    start: int
    end: int


class FillerScores(BaseModel):
    any: int  # 1 when the output has at least one filler phrase
    hits: int
    per_100_words: float
    by_category: dict[str, int]
    spans: list[FillerSpan]


def normalise(text: str) -> str:
    """Curly quotes folded to straight ones, one character for one, so match offsets point into the original
    text (case is handled by the patterns: str.lower() can change a string's length, e.g. 'İ')."""
    return text.translate(QUOTES)


def _compile(phrases: list[str]) -> re.Pattern:
    ordered = sorted({normalise(p).strip().lower() for p in phrases if p.strip()}, key=len, reverse=True)
    body = "|".join(r"\s+".join(map(re.escape, phrase.split())) for phrase in ordered)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


def parse_lexicon(raw: dict, origin: str) -> Lexicon:
    """Build a Lexicon from its JSON form; ValueError names what is wrong."""
    categories = []
    for name, spec in (raw.get("categories") or {}).items():
        position = spec.get("position", "anywhere")
        if position not in POSITIONS:
            raise ValueError(f"{origin}: category {name!r}: position {position!r}; expected one of {POSITIONS}")
        phrases = spec.get("phrases")
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) for p in phrases):
            raise ValueError(f"{origin}: category {name!r}: expected a non-empty list of phrases")
        categories.append(Category(name, position, tuple(phrases), _compile(phrases)))
    if not categories:
        raise ValueError(f"{origin}: expected 'categories' with at least one category")
    return Lexicon(str(raw.get("name", origin)), str(raw.get("version", "unversioned")), tuple(categories))


def builtin_lexicon_raw() -> dict:
    return json.loads(resources.files("harness").joinpath("data/filler_lexicon.json").read_text("utf-8"))


def merge(base: dict, extra: dict) -> dict:
    """The suite's lexicon added to the built-in one, category by category."""
    merged = json.loads(json.dumps(base))
    for name, spec in extra.get("categories", {}).items():
        target = merged["categories"].setdefault(name, {"position": spec.get("position", "anywhere"),
                                                       "phrases": []})
        target["phrases"] = list(dict.fromkeys(target["phrases"] + list(spec.get("phrases", []))))
    merged["version"] = f"{base.get('version')}+{extra.get('name', 'suite')}-{extra.get('version', '0')}"
    return merged


def load_lexicon_file(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def find_filler(text: str, lexicon: Lexicon) -> list[FillerSpan]:
    folded = normalise(text)
    spans = sentence_spans(text)
    first = spans[0] if spans else (0, 0)
    last = spans[-1] if spans else (0, 0)
    found, leading = [], []
    quoted = [m.span() for m in QUOTED.finditer(folded)]
    for category in lexicon.categories:
        for match in category.pattern.finditer(folded):
            if any(start <= match.start() < end for start, end in quoted):
                continue
            span = FillerSpan(category=category.name, phrase=text[match.start():match.end()], start=match.start(),
                              end=match.end())
            if category.position == "start":
                if OPENER_END.match(folded, match.end()):
                    leading.append(span)
            elif _in_position(span.start, category.position, first, last):
                found.append(span)
    return sorted(found + _leading_chain(folded, leading), key=lambda s: (s.start, -s.end))


def _in_position(start: int, position: str, first: tuple[int, int], last: tuple[int, int]) -> bool:
    if position == "first_sentence":
        return first[0] <= start < first[1]
    if position == "last_sentence":
        return last[0] <= start < last[1]
    return True


def _leading_chain(folded: str, candidates: list[FillerSpan]) -> list[FillerSpan]:
    """Openers that start the answer, each preceded only by punctuation, spaces or earlier openers."""
    chain, cursor = [], LEADING_NOISE.match(folded).end()
    for span in sorted(candidates, key=lambda s: (s.start, -s.end)):
        if span.start == cursor:
            chain.append(span)
            cursor = LEADING_NOISE.match(folded, span.end).end()
    return chain


def filler_scores(text: str, lexicon: Lexicon) -> FillerScores:
    spans = find_filler(text, lexicon)
    by_category = {c.name: 0 for c in lexicon.categories}
    for span in spans:
        by_category[span.category] += 1
    count = words(text)
    return FillerScores(any=int(bool(spans)), hits=len(spans),
                        per_100_words=100.0 * len(spans) / count if count else 0.0,
                        by_category=by_category, spans=spans)
