"""Format checks on plain text: counts, starts/ends, contains, regex, case, commas, markdown."""

from __future__ import annotations

import re

import regex

from harness.limits import REGEX_SECONDS, compile_regex, search
from harness.metrics.check_result import CheckResult, RuleError
from harness.metrics.length import words
from harness.metrics.sentences import sentences

BULLET = re.compile(r"^\s*[-*+•]\s+\S", re.MULTILINE)
# A numbered line alone is often prose ("...ended in\n1945. It was over."); two or more make a list.
NUMBERED = re.compile(r"^\s*\d+[.)]\s+\S", re.MULTILINE)
MARKDOWN = [
    ("a heading", re.compile(r"^\s{0,3}#{1,6}\s", re.MULTILINE)),
    # ** and * only: __ is as likely a Python dunder (__init__) as emphasis.
    ("bold or italic emphasis", re.compile(r"\*\*\S.*?\S?\*\*|(?<![\w*])\*(?!\s)[^*\n]+(?<!\s)\*(?![\w*])")),
    ("a code fence or inline code", re.compile(r"```|`[^`\n]+`")),
    ("a table", re.compile(r"^\s*\|.*\|\s*$", re.MULTILINE)),
    ("a link", re.compile(r"\[[^\]\n]+\]\([^)\s]+\)")),
]


def _number(params: dict, key: str) -> int:
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RuleError(f"parameter {key!r}: expected a whole number >= 0, got {value!r}")
    return value


def _relation(count: int, unit: str, params: dict) -> CheckResult:
    for key, holds, words_ in (("at_most", count.__le__, "at most {} allowed"),
                               ("at_least", count.__ge__, "at least {} required"),
                               ("exactly", count.__eq__, "exactly {} required")):
        if key in params:
            limit = _number(params, key)
            return CheckResult(passed=holds(limit), value=count,
                               reason=f"{count} {unit}, {words_.format(limit)}")
    raise RuleError("give exactly one of at_most, at_least, exactly")


def count_words(text: str, params: dict) -> CheckResult:
    return _relation(words(text), "words", params)


def count_sentences(text: str, params: dict) -> CheckResult:
    return _relation(sentences(text), "sentences", params)


def count_paragraphs(text: str, params: dict) -> CheckResult:
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return _relation(len(paragraphs), "paragraphs", params)


def list_items(text: str) -> int:
    numbered = len(NUMBERED.findall(text))
    return len(BULLET.findall(text)) + (numbered if numbered > 1 else 0)


def count_bullets(text: str, params: dict) -> CheckResult:
    return _relation(list_items(text), "bullets", params)


def count_sections(text: str, params: dict) -> CheckResult:
    marker = params.get("marker", "SECTION")
    if not isinstance(marker, str) or not marker:
        raise RuleError(f"parameter 'marker': expected a non-empty string, got {marker!r}")
    found = len(re.findall(rf"(?m)^\s*{re.escape(marker)}\s*\d+", text))
    return _relation(found, f"sections marked {marker!r}", params)


def _text_param(params: dict, key: str = "value") -> str:
    value = params[key]
    if not isinstance(value, str) or not value:
        raise RuleError(f"parameter {key!r}: expected a non-empty string, got {value!r}")
    return value


def _fold(text: str, params: dict) -> str:
    return text.lower() if params.get("ignore_case") else text


def starts_with(text: str, params: dict) -> CheckResult:
    prefix = _text_param(params)
    passed = _fold(text.lstrip(), params).startswith(_fold(prefix, params))
    return CheckResult(passed=passed, value=text.lstrip()[: len(prefix)],
                       reason=f"starts with {prefix!r}" if passed else
                       f"starts with {text.lstrip()[: len(prefix) + 10]!r}, expected {prefix!r}")


def ends_with(text: str, params: dict) -> CheckResult:
    suffix = _text_param(params)
    passed = _fold(text.rstrip(), params).endswith(_fold(suffix, params))
    return CheckResult(passed=passed, value=text.rstrip()[-len(suffix):],
                       reason=f"ends with {suffix!r}" if passed else
                       f"ends with {text.rstrip()[-(len(suffix) + 10):]!r}, expected {suffix!r}")


def _phrases(params: dict) -> list[str]:
    value = params["value"]
    phrases = [value] if isinstance(value, str) else value
    if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p for p in phrases):
        raise RuleError(f"parameter 'value': expected a string or a list of strings, got {value!r}")
    return phrases


def must_contain(text: str, params: dict) -> CheckResult:
    missing = [p for p in _phrases(params) if _fold(p, params) not in _fold(text, params)]
    return CheckResult(passed=not missing, value=missing,
                       reason=f"missing {', '.join(map(repr, missing))}" if missing else "contains every phrase")


MATCH_MODES = ("word", "substring")


def must_not_contain(text: str, params: dict) -> CheckResult:
    """Fails when a forbidden phrase occurs: as a whole word by default (forbidding "cat" does not fail
    "category"), anywhere with `match: substring`."""
    mode = params.get("match", "word")
    if mode not in MATCH_MODES:
        raise RuleError(f"parameter 'match': expected one of {', '.join(MATCH_MODES)}, got {mode!r}")
    if mode == "substring":
        present = [p for p in _phrases(params) if _fold(p, params) in _fold(text, params)]
    else:
        present = [p for p in _phrases(params) if _whole_word(p, bool(params.get("ignore_case"))).search(text)]
    return CheckResult(passed=not present, value=present,
                       reason=f"contains forbidden {', '.join(map(repr, present))}" if present
                       else "contains no forbidden phrase")


def _whole_word(phrase: str, ignore_case: bool) -> re.Pattern:
    # A boundary only where the phrase has a word character at that edge: "c++" is found in "c++ code".
    before = r"(?<!\w)" if re.match(r"\w", phrase) else ""
    after = r"(?!\w)" if re.search(r"\w$", phrase) else ""
    return re.compile(before + re.escape(phrase) + after, re.IGNORECASE if ignore_case else 0)


def _compile(params: dict) -> regex.Pattern:
    pattern = _text_param(params, "pattern")
    try:
        return compile_regex(pattern, bool(params.get("ignore_case")))
    except regex.error as exc:
        raise RuleError(f"invalid regex {pattern!r}: {exc}") from None


def regex_check(text: str, params: dict) -> CheckResult:
    """Passes when the pattern matches (with `negate: true`, when it matches nowhere)."""
    pattern = _compile(params)
    try:
        match = search(pattern, text.strip(), full=True) if params.get("full") else search(pattern, text)
    except TimeoutError:
        raise RuleError(f"regex {pattern.pattern!r} took over {REGEX_SECONDS}s on one output "
                        "(catastrophic backtracking?); simplify the pattern") from None
    shown = pattern.pattern
    if params.get("negate"):
        if match:
            return CheckResult(passed=False, value=match.group(0),
                               reason=f"contains {match.group(0)!r}, which {shown!r} forbids")
        return CheckResult(passed=True, reason=f"nothing matches forbidden {shown!r}")
    if match:
        return CheckResult(passed=True, value=match.group(0), reason=f"matches {shown!r}")
    return CheckResult(passed=False, reason=f"does not {'fully ' if params.get('full') else ''}match {shown!r}")


def lowercase(text: str, params: dict) -> CheckResult:
    """Passes when every cased letter is lower case and there is at least one (str.islower, as IFEval)."""
    upper = [c for c in text if c.isupper()]
    if upper:
        return CheckResult(passed=False, value=len(upper), reason=f"{len(upper)} uppercase letters, none allowed")
    if not text.islower():
        return CheckResult(passed=False, value=0, reason="no lowercase letters")
    return CheckResult(passed=True, value=0, reason="all lowercase")


def no_commas(text: str, params: dict) -> CheckResult:
    count = text.count(",")
    return CheckResult(passed=count == 0, value=count,
                       reason=f"{count} commas, none allowed" if count else "no commas")


def no_markdown(text: str, params: dict) -> CheckResult:
    found = [what for what, pattern in MARKDOWN if pattern.search(text)]
    if list_items(text):
        found.insert(1, "a bullet or numbered list")
    return CheckResult(passed=not found, value=found,
                       reason=f"uses markdown: {', '.join(found)}" if found else "plain text, no markdown")
