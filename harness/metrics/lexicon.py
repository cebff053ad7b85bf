"""The filler lexicon as data: its JSON shape, validation, a suite's extension, and its phrases compiled.

The built-in lexicon is harness/data/filler_lexicon.json, versioned. Phrases are lowercase, with straight
apostrophes, matched case-insensitively on word boundaries; a phrase may hold slots ([words], [clause]). Each
category declares the position where its phrases count (harness/metrics/filler.py applies them).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import regex

from harness.limits import check_json_depth, read_bounded

POSITIONS = ("start", "preamble", "first_sentence", "last_sentence", "anywhere")
LEXICON_KEYS = ("name", "version", "description", "categories", "measured")
# How well the lexicon finds filler, measured on labelled answers it was not revised on (the built-in one states
# its figures; a suite's extension drops them, since it changes what is found).
MEASURED_KEYS = ("on", "answers", "categories")
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
    sha256: str = ""  # of the categories' positions and phrases: two lexicons alike in name may differ
    # {"on": what, "answers": n, "categories": {name: {"precision", "recall"}}}; a dict, so left out of the hash
    measured: dict | None = field(default=None, hash=False)

    def describe(self) -> dict:
        """The manifest's record: which lexicon found the filler, and how well it was measured to find it."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256,
                **({"measured": self.measured} if self.measured else {})}



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


GOAL = {"precision": 0.95, "recall": 0.90}  # issue 9's goal for each category, on answers not revised on


def accuracy_note(record: dict | None) -> str | None:
    """One sentence for a report: which lexicon found the filler and how well it was measured to find it, naming
    the categories below the goal, whose rates are rougher; None for a run from before lexicons were recorded."""
    if not record:
        return None
    said = f"Filler is found by the lexicon {record.get('name')} {record.get('version')}"
    measured = record.get("measured")
    if not measured and "sha256" not in record:  # a run from before 1.7, which recorded no accuracy
        return f"{said}."
    if not measured:
        return f"{said}; its accuracy has not been measured (a suite's own lexicon, or the built-in one extended)."
    figures = measured["categories"]
    pairs = ", ".join(f"{name} {100 * f['precision']:.0f}% / {100 * f['recall']:.0f}%" for name, f in figures.items())
    rough = [name for name, f in figures.items() if f["precision"] < GOAL["precision"] or f["recall"] < GOAL["recall"]]
    caveat = "" if not rough else (
        f" Below {100 * GOAL['precision']:.0f}% precision or {100 * GOAL['recall']:.0f}% recall, the "
        f"{', '.join(rough)} rates are rough: compare them between variants, not as exact counts.")
    on = f"{measured['answers']:,} answers ({measured['on']})"
    return f"{said}, measured on {on}: precision / recall {pairs}.{caveat}"


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
    if "measured" in raw:
        _check_measured(raw["measured"], set(categories), f"{origin}: measured")


def _check_measured(measured: object, categories: set[str], where: str) -> None:
    if not isinstance(measured, dict) or set(measured) != set(MEASURED_KEYS):
        raise ValueError(f"{where}: expected an object with exactly {', '.join(MEASURED_KEYS)}")
    if not isinstance(measured["on"], str) or not measured["on"].strip():
        raise ValueError(f"{where}: 'on' must say what the figures were measured on")
    if not isinstance(measured["answers"], int) or isinstance(measured["answers"], bool) or measured["answers"] < 1:
        raise ValueError(f"{where}: 'answers' must be a positive whole number")
    figures = measured["categories"]
    if not isinstance(figures, dict) or not figures or not set(figures) <= categories:
        raise ValueError(f"{where}: 'categories' must map some of the lexicon's categories to their figures")
    for name, pair in figures.items():
        if (not isinstance(pair, dict) or set(pair) != {"precision", "recall"}
                or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= 1
                           for v in pair.values())):
            raise ValueError(f"{where}: category {name!r}: expected precision and recall, each from 0 to 1")


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
    content = {name: [spec.get("position", "anywhere"), sorted(spec["phrases"])]
               for name, spec in raw["categories"].items()}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()
    return Lexicon(str(raw.get("name", origin)), str(raw.get("version", "unversioned")), categories, digest,
                   raw.get("measured"))


def builtin_lexicon_raw() -> dict:
    return json.loads(resources.files("harness").joinpath("data/filler_lexicon.json").read_text("utf-8"))


def merge(base: dict, extra: dict) -> dict:
    """The suite's lexicon added to the built-in one, category by category."""
    merged = json.loads(json.dumps(base))
    merged.pop("measured", None)  # measured on the built-in phrases alone
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
