"""The filler lexicon as data: its JSON shape, validation, a suite's extension, and its phrases compiled.

The built-in lexicon is harness/data/filler_lexicon.json, versioned. Phrases are lowercase, with straight
apostrophes, matched case-insensitively on word boundaries; a phrase may hold slots ([words], [clause]). Each
category declares the position where its phrases count (harness/metrics/filler.py applies them).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import regex

from harness.limits import check_json_depth, read_bounded

POSITIONS = ("start", "preamble", "first_sentence", "last_sentence", "anywhere")
LEXICON_KEYS = ("name", "version", "description", "categories")
CATEGORY_KEYS = ("position", "description", "phrases")
MAX_PHRASES = 10_000  # over all categories
MAX_PHRASE_CHARS = 200
# Slots a phrase may hold, for formulas a list of phrases cannot: "i'm a [words] ai" holds "I'm a curious and
# empathetic AI" and "I'm a no-nonsense AI", never "I'm a big fan of AI" (no article, preposition or pronoun
# in the slot); "i'm so glad you're [clause]" holds the rest of its clause, up to a comma or a sentence's end.
SLOT_WORD = (r"(?!(?:a|an|the|of|about|for|with|in|on|at|to|from|by|like|than|as|my|your|his|her|their|our|"
             r"this|that|these|those|it|is|are|was|not|you|me|i)\b)\w[\w'-]*")
# A slot stops at any clause break (a comma, a dash, an ellipsis, a quote or a bracket) and ends on a word.
CLAUSE_CHAR = r"[^.!?\n,;:\u2026\u2014\u2013\"()\[\]]"
SLOTS = {"[words]": rf"{SLOT_WORD}(?:\s+{SLOT_WORD}){{0,2}}",
         "[clause]": rf"\w(?:{CLAUSE_CHAR}{{0,119}}(?<=\w))?"}
MAX_SLOTS = 2  # per phrase, never side by side, and never without a word of its own
PHRASE_END = ""  # in the tree of a category's phrases: a phrase ends at this word
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u02bc": "'"})


@dataclass(frozen=True)
class Category:
    name: str
    position: str
    phrases: tuple[str, ...]
    pattern: regex.Pattern
    fixed: frozenset[str]  # the phrases without slots, as matched text reads once lowered and spaced singly

    def is_set_formula(self, text: str) -> bool:
        """Whether `text` (a match) is one of the category's phrases without slots, not a slot filled."""
        return _spaced(text) in self.fixed


@dataclass(frozen=True)
class Lexicon:
    name: str
    version: str
    categories: tuple[Category, ...]



def normalise(text: str) -> str:
    """Curly quotes folded to straight ones, one character for one, so match offsets point into the original
    text (case is handled by the patterns: str.lower() can change a string's length, e.g. 'İ')."""
    return text.translate(QUOTES)


def _compile(phrases: list[str]) -> regex.Pattern:
    """One pattern for all phrases, as a tree of their words: phrases that start alike share the attempt
    ("a [clause] sounds like a wonderful [words]" and 70 others fill their slot once at each "a", not 71
    times). Where several phrases match at one place, the branch holding the longest phrase is tried first,
    and a phrase that ends where a longer one goes on gives way to it."""
    tree: dict = {}
    for phrase in {normalise(p).strip().lower() for p in phrases}:
        node = tree
        for token in phrase.split():
            node = node.setdefault(token, {})
        node[PHRASE_END] = len(phrase)
    return regex.compile(rf"(?<!\w)(?:{_branches(tree)})(?![\w'])", regex.IGNORECASE)


def _branches(node: dict) -> str:
    tokens = sorted((t for t in node if t != PHRASE_END), key=lambda t: (_longest(node[t]), t), reverse=True)
    return "|".join(_piece(token) + _rest(node[token]) for token in tokens)


def _rest(node: dict) -> str:
    if set(node) == {PHRASE_END}:
        return ""
    return rf"(?:\s+(?:{_branches(node)})){'?' if PHRASE_END in node else ''}"


def _longest(node: dict) -> int:
    return max(child if token == PHRASE_END else _longest(child) for token, child in node.items())


def _fixed(phrases: list[str]) -> frozenset[str]:
    return frozenset(_spaced(normalise(p)) for p in phrases if not any(slot in p.lower() for slot in SLOTS))


def _spaced(text: str) -> str:
    return " ".join(text.lower().split())


def _piece(token: str) -> str:
    """One word of a phrase as a pattern: a slot (with any punctuation after it, "[clause],"), or the word."""
    slot = next((name for name in SLOTS if token.startswith(name)), None)
    return SLOTS[slot] + regex.escape(token[len(slot):]) if slot else regex.escape(token)


def check_lexicon(raw: object, origin: str, *, extending: bool = False) -> None:
    """Raise ValueError unless `raw` has the lexicon's shape: known keys, each category a list of phrases
    that are strings with a letter or digit (a string is not split into characters; a blank phrase would
    match everywhere). A lexicon that extends the built-in one may leave out a known category's position."""
    if not isinstance(raw, dict):
        raise ValueError(f"{origin}: expected a JSON object with 'categories'")
    _known_keys(raw, LEXICON_KEYS, origin)
    categories = raw.get("categories")
    if not isinstance(categories, dict) or not categories:
        raise ValueError(f"{origin}: expected 'categories', an object of category name -> {{position, phrases}}")
    total = 0
    for name, spec in categories.items():
        where = f"{origin}: category {name!r}"
        if not isinstance(spec, dict):
            raise ValueError(f"{where}: expected an object with 'phrases' and 'position'")
        _known_keys(spec, CATEGORY_KEYS, where)
        position = spec.get("position", None if extending else "anywhere")
        if position is not None and position not in POSITIONS:
            raise ValueError(f"{where}: position {position!r}; expected one of {', '.join(POSITIONS)}")
        phrases = spec.get("phrases")
        if not isinstance(phrases, list) or not phrases:
            raise ValueError(f"{where}: 'phrases' must be a non-empty list of strings, got {type(phrases).__name__}")
        for phrase in phrases:
            if not isinstance(phrase, str) or not re.search(r"\w", phrase) or len(phrase) > MAX_PHRASE_CHARS:
                raise ValueError(f"{where}: phrase {phrase!r}; expected a string of at most {MAX_PHRASE_CHARS} "
                                 "characters with at least one letter or digit")
            _check_slots(phrase, where)
        total += len(phrases)
    if total > MAX_PHRASES:
        raise ValueError(f"{origin}: {total:,} phrases; at most {MAX_PHRASES:,} are supported")


def _check_slots(phrase: str, where: str) -> None:
    """A slot alone, or two side by side, would match nearly anything and can backtrack badly."""
    slotted = [token.startswith(tuple(SLOTS)) for token in phrase.lower().split()]
    if sum(slotted) > MAX_SLOTS or all(slotted) or any(a and b for a, b in zip(slotted, slotted[1:], strict=False)):
        raise ValueError(f"{where}: phrase {phrase!r}; a phrase holds at most {MAX_SLOTS} slots ({', '.join(SLOTS)}), "
                         "never two side by side, and at least one word of its own")


def _known_keys(mapping: dict, allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; expected one of: {', '.join(allowed)}")


def parse_lexicon(raw: dict, origin: str) -> Lexicon:
    """Build a Lexicon from its JSON form; ValueError names what is wrong."""
    check_lexicon(raw, origin)
    categories = tuple(Category(name, spec.get("position", "anywhere"), tuple(spec["phrases"]),
                                _compile(spec["phrases"]), _fixed(spec["phrases"]))
                       for name, spec in raw["categories"].items())
    return Lexicon(str(raw.get("name", origin)), str(raw.get("version", "unversioned")), categories)


def builtin_lexicon_raw() -> dict:
    return json.loads(resources.files("harness").joinpath("data/filler_lexicon.json").read_text("utf-8"))


def merge(base: dict, extra: dict) -> dict:
    """The suite's lexicon added to the built-in one, category by category."""
    merged = json.loads(json.dumps(base))
    for name, spec in extra.get("categories", {}).items():
        target = merged["categories"].setdefault(name, {"position": spec.get("position", "anywhere"),
                                                       "phrases": []})
        if spec.get("position", target["position"]) != target["position"]:
            raise ValueError(f"category {name!r}: position {spec['position']!r}, but the built-in lexicon's is "
                             f"{target['position']!r}; leave it out, or use mode: replace")
        target["phrases"] = list(dict.fromkeys(target["phrases"] + list(spec.get("phrases", []))))
    merged["version"] = f"{base.get('version')}+{extra.get('name', 'suite')}-{extra.get('version', '0')}"
    return merged


def load_lexicon_file(path: Path) -> dict:
    """The JSON of a lexicon file, size- and depth-bounded; raises OSError or ValueError (LimitError too)."""
    text = read_bounded(path, "lexicon")
    check_json_depth(text)
    return json.loads(text)
