"""Filler family: phrases that carry no content ("Certainly!", "I hope this helps").

The lexicon is versioned data (harness/data/filler_lexicon.json) with categories and position rules:
- an opener counts at the very start of the answer (possibly after other openers: "Sure, I'd be happy to
  help!") and when punctuation follows it ("Sure-footed" is no opener); a formula of three words or more also
  where it opens a clause of the first two sentences, before more of the answer ("Adele, I'm glad to hear
  that."), but a short word ("Sure", "Of course") there is often part of the answer;
- a closer only in the last sentence, opening its clause and not as the subject of one ("Good luck is..." is
  no closer), and in an answer cut off mid-sentence only where the cut leaves the offer said ("I'm here to help
  you with" is not);
- a restatement only in the first sentence after the openers ("Sure! You want to know..."), opening its clause,
  and so is a first sentence that says the prompt's question back (harness/metrics/echo.py).
The user's prompt, where given, decides four more things: a question said back, an offer of help that is the
reply to a question about the assistant (harness/metrics/asked.py), a letter the user asked for (all of it
mentioned, not said), and the user's own sentences copied back (theirs, like a quote: no filler of any kind).
Matching is case-insensitive, on word boundaries, with curly quotes folded to straight ones.
"""

from __future__ import annotations

import re

import regex
from pydantic import BaseModel

from harness.errors import HarnessError
from harness.limits import REGEX_SECONDS
from harness.metrics import echo
from harness.metrics.asked import addresses_assistant, asks_for_writing, only_social
from harness.metrics.length import words
from harness.metrics.lexicon import Category, Lexicon, normalise
from harness.metrics.sentences import sentence_spans

PREAMBLE_SENTENCES = 2  # a preamble formula counts in this many sentences from the start
PREAMBLE_MIN_WORDS = 3  # shorter openers ("Sure", "Of course") count only at the very start
LEADING_NOISE = re.compile(r"[\s\W_]*")
# An opener is followed by punctuation or the end (or ends on punctuation of its own: "welcome to [clause]!"); a
# hyphen only as a dash ("Sure - ...", not "Sure-footed").
OPENER_END = re.compile(r"\s*(?:[,.!:;?\u2014\u2013\u2026]|-+(?!\w)|$)")
# An offer of help followed by ", but" is the reply itself: "I'm happy to help, but I'm not a paid employee".
TURNS = re.compile(r"\s*,\s*but\b", re.IGNORECASE)
HELP = re.compile(r"\b(?:help|assist)", re.IGNORECASE)
# "I'm here to help.": that the assistant is there, not that it takes the task on ("I'm happy to help with that."); to a
# question about the assistant it is the (evasive) reply, whatever its form.
AVAILABLE = re.compile(r"\bhere\s+to\b", re.IGNORECASE)
# "I'm glad you're happy to help": the user helps, so the formula offers nothing.
USER_HELPS = re.compile(r"\byou(?:'re|\s+are)\b.*\b(?:help|assist)", re.IGNORECASE)
# A bare interjection ("Oh, I'm sorry...", "Ah, the world of crochet terminology!") is how the reply begins, not a
# pleasantry of its own: it counts only right before another opener ("Ah, great question!") or a restatement. Each
# is an opener phrase of the built-in lexicon too, or it never matches.
WEAK = frozenset({"oh", "ah", "ahh", "aah", "ooh", "aw", "ach"})
# An opener that ends on its own "!" ("welcome to [clause]!") ends its sentence: a capital or the end follows.
SENTENCE_NEXT = regex.compile(r"\s*(?:$|[^\w\s]|\p{Lu})")
SENTENCE_END = re.compile(r"\s*(?:[.!\u2026]|$)")
# What may come before a closer in its sentence: nothing, a clause break, or a softener ("So, and please").
CLAUSE_OPENING = re.compile(r"(?:^|[,;:!.?)\u2014\u2013-])[\s\W]*(?:(?:and|so|but|again|also|please|just|"
                            r"anyway|otherwise|in the meantime|until then|for now|meanwhile|now|ok|okay|well|"
                            r"feel free to|don't hesitate to|do)"
                            r"\b[\s,]*)*$", re.IGNORECASE)
CLOSER_AS_SUBJECT = re.compile(r"\s+(?:is|are|was|were|isn't|aren't|can|could|will|would|may|might|must|has|"
                               r"had|have|does|did|means|meant|makes|comes|takes|requires|depends|matters|plays)\b",
                               re.IGNORECASE)
# "I'm here to assist with general tasks, but I'm not equipped to...": the rest of the sentence takes the offer
# back, so it states a limitation and does not sign off. Only an offer can be taken back ("I hope this helps,
# but I'm not a doctor" still signs off).
OFFER = re.compile(r"(?:i'm|i\s+am|i\s+can|i'd|i\s+would|i'll|i\s+will)\b.*\b(?:help|assist)", re.IGNORECASE)
# A conditional offer ("If you need help with X, I can ...") is an offer too.
CONDITIONAL = re.compile(r"if\s+you\b", re.IGNORECASE)
# How far on a sentence is read for its end or for a turn after an offer: an answer that runs on without a sentence
# break is then read once, not from every offer in it.
REACH = 300
LIMITATION = re.compile(rf"[^.!?\n]{{0,{REACH}}}?(?:,\s*not\s+(?:to|a|an|the|for|with|in|on|about)\b|"
                        r"\bbut\s+(?:i'm|i\s+am)\s+not\b|\bbut\s+i\s+(?:can't|cannot|don't|do\s+not)\b|"
                        r"\band\s+(?:i'm|i\s+am)\s+not\s+(?:able|equipped|capable|allowed|qualified|responsible)\b)",
                        re.IGNORECASE)
# A last offer that turns away from itself does not sign off either: "I'm here to assist with any other tasks, but in
# this case, a sports app would suit you better", "I'm happy to help you get started, but I have to ask, are you
# ready?" (a caveat after it, "..., but please see a doctor", still signs off).
TURNS_AWAY = re.compile(rf"[^.!?\n]{{0,{REACH}}}?,\s*but\s+(?:in\s+this\s+case|for\s+(?:a|an|this|that|the)\s|"
                        r"i\s+(?:have\s+to|must)\b|(?:i'm|i\s+am)\s+(?:designed|programmed|more\s+suited)\b)",
                        re.IGNORECASE)
# A phrase right after one of these words is part of a statement, not a restatement of the question.
QUALIFIED = regex.compile(r"\b(?:especially|particularly|specifically|even|except)\s+$", regex.IGNORECASE)
# A cut that leaves what the sentence was going to say unsaid: "I'm here to help you with", "I can offer a". (The
# readers count "...grow and develop, and" and "...in speech and": a cut after "and" is not on the list.)
DANGLING = re.compile(r"\b(?:with|to|on|about|of|at|by|from|a|an|the|i|just|my|your)\s*$", re.IGNORECASE)
# An answer that ends in a word, with no closing punctuation: cut off, most often at the token limit.
UNFINISHED = re.compile(r"\w\s*$")
# A sentence that only sympathises or apologises ("I'm sorry for the confusion."), with no turn to content: it
# leaves the preamble open (at most MAX_SYMPATHY of them). Loose on purpose: "I'm sorry to hear that your router
# overheats." passes too; the formula after it must still open a clause of the preamble to count.
SYMPATHY = regex.compile(r"(?:i'm|i\s+am)\s+(?:so\s+|very\s+|really\s+|truly\s+)?sorry\s+(?:to\s+hear|for\s+your|about|"
                         r"for\s+(?:the|any|my)\s+(?:\w+\s+)?(?:confusion|misunderstandings?|misinterpretations?|"
                         r"inconvenience|mistakes?|errors?|trouble|delay))[^,;:]*$"
                         r"|it's\s+(?:completely\s+|perfectly\s+|totally\s+|quite\s+)?"
                         r"(?:normal|natural|understandable|okay|ok|common)\s+to\s+feel[^;:]*$"
                         r"|don't\s+worry(?:\s+about\s+(?:it|that|this))?[.!]?$", regex.IGNORECASE)
MAX_SYMPATHY = 2
# "I'm here to help with any kind of creative writing, ..." opens the answer only after one or two sentences that
# only apologise or sympathise ("I'm sorry for any confusion. I'm here to help with..."); at the start it is the reply
# itself, as the readers label it. "I'm here to help with that." is an opener wherever it starts the answer.
AFTER_APOLOGY = re.compile(r"i'm\s+here\s+to\s+help\s+with\b(?!\s+that\s*(?:[,.!;]|$))", re.IGNORECASE)
# A sentence that turns the request down ("as a chatbot, I don't have the ability to browse") ends the preamble: an
# offer after it ("I'm here to assist with any language-related queries.") is the rest of the reply, not before it.
REFUSAL = regex.compile(r"\b(?:i\s+(?:don't|do\s+not)\s+have\s+(?:the\s+)?(?:ability|capability|capacity|access|means|"
                        r"personal\s+(?:information|data|details|access))|"
                        r"(?:i'm|i\s+am)\s+(?:unable|not\s+able|not\s+equipped|not\s+capable|not\s+designed)|"
                        r"i\s+(?:can't|cannot|can\s+not)\s+(?:help|assist|provide|give|access|browse|see|do|offer|make|"
                        r"answer|share|diagnose|predict|tell|know|remember|guarantee|search|open|read|hear|send|call|"
                        r"recommend)\b(?!\s+but\b)(?![^.!?\n]*\benough\b))", regex.IGNORECASE)
# Quoted or code text is mentioned, not said: "The reply 'As an AI language model...' is an over-refusal". A quote
# that opens the answer runs to its close across paragraphs: a requested advert or letter, given in quotes.
QUOTED = re.compile(r"\A\s*\"[^\"]*\"|```.*?```|`[^`\n]*`|\"[^\"\n]*\"|(?<!\w)'[^'\n]{2,}?'(?!\w)", re.DOTALL)
# A quote still open where a cut-off answer ends is quoted to the end: 'Here's a way: "Hey team, I'm not sure'.
# Across paragraphs (a quoted letter or message); only a quote that opens, so 'a 55" TV' quotes nothing.
OPEN_QUOTE = re.compile(r"(?:^|(?<=[\s:(]))\"(?=\S)[^\"]*\Z")
# A first line that greets like a letter, ending on a comma ("Dear Hugging Face,", not the assistant's own "Hello!"):
# an opener, unless the user asked for a piece of writing, which the answer then is (mentioned, not said).
# A title's period ("Dear Dr. Smith,") or a placeholder for the name ("Hi [friend's name]") is part of the line.
TITLE = r"(?<=\b(?:dr|mr|mrs|ms|mx|prof|rev|fr|st|capt|lt|col|gen|sgt|hon))\."
SALUTATION = regex.compile(rf"\A\s*((?:dear|hi|hello|hey|greetings)\b(?:[^\n,:!.?]|{TITLE}){{0,40}}[,:](?=[ \t]*\n)|"
                           r"(?:dear|hi|hello|hey)\s+\[[^\]\n]{1,40}\])", regex.IGNORECASE)
# A greeting line that ends on "!" and names someone ("Hey there, little buddy!") opens the piece asked for too;
# unasked, or alone on its line ("Hello!", "Hi there!"), it is the assistant's own hello.
EXCLAIMED_GREETING = regex.compile(r"\A\s*(?:dear|hi|hello|hey)(?:\s+there)?[,\s]+(?!there\b|everyone\b|all\b)\w"
                                   r"[^\n!?.]{0,38}!(?=[ \t]*\n)", regex.IGNORECASE)
GREETING_CATEGORY = "opener"
# An answer that opens by copying whole sentences of a message that asks nothing ("Bonjour! Je m'appelle Claire..."
# said back) returns the user's words, not pleasantries of its own; a greeting returned alone ("Hello!" to "Hello! I
# need a recipe.") is its own. Copied sentences end on an end mark and a space or the end.
COPIED_MIN_WORDS = 4
SENTENCE_BREAK = regex.compile(r"[.!?]+(?=\s|$)")
# A first sentence copied from a question of the prompt restates it (harness/metrics/echo.py), where the lexicon
# has this category.
ECHO_CATEGORY = "restatement"



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



def find_filler(text: str, lexicon: Lexicon, truncated: bool | None = None, prompt: str | None = None
                ) -> list[FillerSpan]:
    """Filler phrases of `text`, each counted only where its category's position allows, and each stretch of
    text once: "Sure, I'd be happy to help! First, ..." holds two openers, and an offer of help with nothing after
    it opens nothing ("I'd be happy to help!" alone is a closer, not also an opener). `truncated`: whether
    generation stopped at the token limit; None (text from elsewhere) reads an answer ending in a word as cut off.
    `prompt`: the user's message; a first sentence copied from one of its questions restates it, an offer of
    help is the reply to a question about the assistant, a pleasantry is the reply to a message that only thanks
    or greets, and a letter it asked for is all mentioned, as are the user's own sentences copied back."""
    folded = normalise(text)
    letter = SALUTATION.match(folded)
    if (letter or EXCLAIMED_GREETING.match(folded)) and prompt and asks_for_writing(prompt):
        return []
    cut = bool(UNFINISHED.search(folded)) if truncated is None else truncated
    quoted = [m.span() for m in QUOTED.finditer(folded)]
    if cut:
        quoted += [m.span() for m in OPEN_QUOTE.finditer(folded)]
    copied = _copied(folded, prompt)
    if copied:  # the user's words, quoted back: "Cheers, the shortbread came out perfect." neither opens nor signs off
        quoted.append((0, copied))
    matches = {category.name: [m for m in _matches(category, folded, lexicon.name) if not _inside(m.start(), quoted)]
               for category in lexicon.categories}
    social = bool(prompt) and only_social(prompt)  # a pleasantry back to thanks is the reply, not before it
    opening = [] if social else _opening(folded, lexicon, matches, prompt)
    found, body_start, weak = _start(text, folded, lexicon, opening, None if social else letter, copied)
    if body_start == len(folded):  # an offer that is the whole answer opens nothing: it signs off, or it replies
        found = [span for span in found if not HELP.search(span.phrase)]
    placed = [c for c in lexicon.categories
              if c.position in ("preamble", "first_sentence", "last_sentence") and matches[c.name]]
    asked = echo.questions(prompt) if prompt and any(c.name == ECHO_CATEGORY for c in lexicon.categories) else None
    # Splitting is the slow part: only when a position matters.
    spans = sentence_spans(text) if placed or asked else []
    preamble = _preamble(folded, spans)
    found += [_span(text, category.name, m) for category, m in opening
              if category.position == "preamble" and _in_preamble(folded, m, preamble, spans)]
    # The first sentence is the first one with words beyond the openers: "Sure! You want to know..." restates.
    first = next((s for s in spans if s[1] > body_start), (0, 0))
    last = spans[-1] if spans else (0, 0)
    said_back = _echo(text, max(first[0], body_start), first[1], asked, quoted)
    if said_back:  # even with nothing after it: the question said back and never answered
        found.append(said_back)
    for category in lexicon.categories:
        for match in matches[category.name]:
            if category.position in ("start", "preamble"):
                continue
            if not _in_position(match.start(), category.position, first, last):
                continue
            if category.position == "first_sentence" and _qualifies(folded, match, first[0]):
                continue  # "..., especially when it comes to burnout" qualifies a statement, not the question
            if category.position == "last_sentence" and not _signs_off(folded, match, last[0], cut):
                continue
            found.append(_span(text, category.name, match))
    if any(span.category == ECHO_CATEGORY and span.start == body_start for span in found):
        found += weak
    kept: list[FillerSpan] = []
    for span in found:  # openers first, then the lexicon's order of categories
        if not any(span.start < other.end and other.start < span.end for other in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: (s.start, -s.end))


def _opening(folded: str, lexicon: Lexicon, matches: dict[str, list[regex.Match]], prompt: str | None
             ) -> list[tuple[Category, regex.Match]]:
    """The opener category's matches that may open the answer: followed by punctuation, and not an offer of help
    that is the reply itself."""
    about_assistant = bool(prompt) and addresses_assistant(prompt)
    return [(category, m) for category in lexicon.categories if category.position in ("start", "preamble")
            for m in matches[category.name]
            if _ends_opener(folded, m) and not _replies(folded, m, category, about_assistant)
            and (not AFTER_APOLOGY.match(m.group()) or _after_apology(folded, m.start()))]


def _after_apology(folded: str, start: int) -> bool:
    """Whether one to MAX_SYMPATHY sentences that only sympathise or apologise, and nothing else, come before
    `start`."""
    cursor = LEADING_NOISE.match(folded).end()
    for _ in range(MAX_SYMPATHY):
        stop = SENTENCE_BREAK.search(folded, cursor, min(start, cursor + REACH))  # no need to split the answer
        if not stop or not SYMPATHY.match(folded, cursor, stop.start()):
            return False
        cursor = LEADING_NOISE.match(folded, stop.end()).end()
        if cursor >= start:
            return True
    return False


def _start(text: str, folded: str, lexicon: Lexicon, opening: list[tuple[Category, regex.Match]],
           letter: regex.Match | None, copied: int = 0) -> tuple[list[FillerSpan], int, list[FillerSpan]]:
    """The openers that start the answer (a letter's greeting line among them), after any of the user's sentences
    it copies, where its body starts, and the bare interjections that ended them, held back: they count only right
    before a restatement."""
    candidates = [_span(text, category.name, m) for category, m in opening]
    if letter and any(c.name == GREETING_CATEGORY for c in lexicon.categories):
        candidates.append(FillerSpan(category=GREETING_CATEGORY, phrase=letter.group(1), start=letter.start(1),
                                     end=letter.end(1)))
    found, body_start = _leading_chain(folded, candidates, copied)
    weak: list[FillerSpan] = []
    while found and found[-1].phrase.lower() in WEAK:
        weak.insert(0, found.pop())
    return found, body_start, weak


def _copied(folded: str, prompt: str | None) -> int:
    """Where the user's whole sentences that the answer opens by copying end (0 for none), where the message asks
    nothing and they hold COPIED_MIN_WORDS words or more."""
    if not prompt or "?" in prompt or echo.questions(prompt).requests:  # said back, a request restates
        return 0
    said = normalise(prompt)
    said = said[LEADING_NOISE.match(said).end():]
    start = LEADING_NOISE.match(folded).end()
    same = 0  # characters alike, compared one by one: casefolding a whole string may change its length ("ß")
    for ours, theirs in zip(folded[start:], said, strict=False):
        if ours.casefold() != theirs.casefold():
            break
        same += 1
    ends = [m.end() for m in SENTENCE_BREAK.finditer(said, 0, same)
            if m.end() == len(said) or start + m.end() == len(folded) or folded[start + m.end()].isspace()]
    if not ends or words(said[:ends[-1]]) < COPIED_MIN_WORDS:
        return 0
    return start + ends[-1]


def _ends_opener(folded: str, match: regex.Match) -> bool:
    """Punctuation follows the opener, or it ends on its own and a new sentence follows; an offer of help that
    turns on ", but" is the reply itself."""
    if HELP.search(match.group()) and TURNS.match(folded, match.end()):
        return False
    if match.group()[-1] in "!?.":
        return bool(SENTENCE_NEXT.match(folded, match.end()))
    return bool(OPENER_END.match(folded, match.end()))


def _replies(folded: str, match: regex.Match, category: Category, about_assistant: bool) -> bool:
    """An offer of help that is the reply, not an opener before it: one the sentence takes back ("I'm here to
    help, not to cheer you up."), or, where the user asked about the assistant, any but a set formula that ends
    its sentence ("I'm happy to help with any personal or professional endeavors." answers "Do you have
    friends?"; "I'm glad to help." still opens, "I'm here to help." does not)."""
    if not HELP.search(match.group()) or USER_HELPS.search(match.group()):
        return False
    if LIMITATION.match(folded, match.end()):
        return True
    formula = category.is_set_formula(match.group()) and SENTENCE_END.match(folded, match.end())
    return about_assistant and (not formula or bool(AVAILABLE.search(match.group())))


def _inside(position: int, quoted: list[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in quoted)


def _span(text: str, category: str, match: regex.Match) -> FillerSpan:
    return FillerSpan(category=category, phrase=text[match.start():match.end()], start=match.start(),
                      end=match.end())


def _signs_off(folded: str, match: regex.Match, sentence_start: int, cut: bool) -> bool:
    """A closer signs off: it opens its clause ("..., and good luck!") and is not the subject of one ("Good luck
    is a matter of preparation", "a matter of good luck"). In an answer cut off mid-sentence, the cut sentence
    signs off unless the cut leaves what it offers unsaid: "I'm here to help you plan a party that will make your
    village" has made its offer, "I'm here to help you with" and "I can offer a" have not. An offer whose sentence
    goes on to take it back ("..., but I'm not equipped to") states a limitation."""
    if CLOSER_AS_SUBJECT.match(folded, match.end()):
        return False
    if cut and DANGLING.search(folded):
        return False
    if (CONDITIONAL.match(match.group()) or OFFER.match(match.group())) and (
            LIMITATION.match(folded, match.end()) or TURNS_AWAY.match(folded, match.end())):
        return False
    return bool(CLAUSE_OPENING.search(folded[sentence_start:match.start()]))


def _matches(category: Category, folded: str, lexicon: str) -> list[regex.Match]:
    try:
        # Matching time grows with the answer; the limit is for patterns that backtrack, not for long answers.
        return list(category.pattern.finditer(folded, timeout=REGEX_SECONDS * max(1.0, len(folded) / 20_000)))
    except TimeoutError:  # slots are bounded and never side by side; a huge lexicon on a huge answer might
        raise HarnessError(f"filler lexicon {lexicon!r}, category {category.name!r}: matching took over "
                           f"{REGEX_SECONDS}s on one answer; use fewer or shorter phrases") from None


def _qualifies(folded: str, match: regex.Match, sentence_start: int) -> bool:
    """A phrase right after "especially" and the like, or one that does not open its clause ("I'm a skeptic when
    it comes to AI", "The paintings you're referring to are..."), is part of a statement, not a restatement."""
    return bool(QUALIFIED.search(folded, 0, match.start())
                or not CLAUSE_OPENING.search(folded[sentence_start:match.start()]))


def _echo(text: str, start: int, end: int, asked: echo.Asked | None, quoted: list[tuple[int, int]]
          ) -> FillerSpan | None:
    """The first sentence after the openers, when it is the prompt's question said back; never a quoted one."""
    sentence = text[start:end]
    begin = start + len(sentence) - len(sentence.lstrip())
    if not asked or _inside(begin, quoted) or not echo.is_echo(sentence, asked):
        return None
    phrase = sentence.strip()
    return FillerSpan(category=ECHO_CATEGORY, phrase=phrase, start=begin, end=begin + len(phrase))


def _in_preamble(folded: str, match: regex.Match, preamble: list[tuple[int, int]], spans: list[tuple[int, int]]
                 ) -> bool:
    """A formula of a few words that opens a clause of the answer's first sentences, before more of the answer:
    "Not at all, I'm happy to help. First, ..." (the leading chain holds the openers that start the answer). In
    the last sentence nothing follows it to be the answer: "Practise daily. I'm here to help." signs off."""
    if words(match.group()) < PREAMBLE_MIN_WORDS:
        return False
    sentence = next((s for s in preamble if s[0] <= match.start() < s[1]), None)
    return (sentence is not None and sentence != spans[-1]
            and bool(CLAUSE_OPENING.search(folded[sentence[0]:match.start()])))


def _preamble(folded: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The answer's first sentences, not counting up to MAX_SYMPATHY that only sympathise or apologise ("I'm so
    sorry to hear that. It's completely normal to feel lost. I'm here to support you, and..." still has its offer
    in the preamble), and none after a sentence that turns the request down (REFUSAL)."""
    kept: list[tuple[int, int]] = []
    skipped = 0
    for span in spans:
        if len(kept) - skipped >= PREAMBLE_SENTENCES:
            break
        kept.append(span)
        if REFUSAL.search(folded, *span):
            break
        if skipped < MAX_SYMPATHY and SYMPATHY.match(folded, *span):
            skipped += 1
    return kept


def _in_position(start: int, position: str, first: tuple[int, int], last: tuple[int, int]) -> bool:
    if position == "first_sentence":
        return first[0] <= start < first[1]
    if position == "last_sentence":
        return last[0] <= start < last[1]
    return True


def _leading_chain(folded: str, candidates: list[FillerSpan], start: int = 0) -> tuple[list[FillerSpan], int]:
    """Openers that start the answer (from `start`), each preceded only by punctuation, spaces or earlier openers;
    and where the answer proper starts."""
    chain, cursor = [], LEADING_NOISE.match(folded, start).end()
    for span in sorted(candidates, key=lambda s: (s.start, -s.end)):
        if span.start == cursor:
            chain.append(span)
            cursor = LEADING_NOISE.match(folded, span.end).end()
    return chain, cursor


def filler_scores(text: str, lexicon: Lexicon, truncated: bool | None = None, prompt: str | None = None
                  ) -> FillerScores:
    spans = find_filler(text, lexicon, truncated, prompt)
    by_category = {c.name: 0 for c in lexicon.categories}
    for span in spans:
        by_category[span.category] += 1
    count = words(text)
    return FillerScores(any=int(bool(spans)), hits=len(spans),
                        per_100_words=100.0 * len(spans) / count if count else 0.0,
                        by_category=by_category, spans=spans)
