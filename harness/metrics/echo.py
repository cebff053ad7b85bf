"""A question said back: the answer's first sentence copied from a question of the prompt (or from a request, from
its verb on: "Draft an out-of-office for..." said back drafts nothing), or from any of its sentences when said back
as a question.

"We just adopted two goldfish, what size tank should we get?" repeated before the answer restates it; so does
"A good time to sell your house?" for "Is now a good time to sell my house?" (pronouns said back to the asker).
A sentence that only shares words with the question ("The capital of France is Paris.") is an answer, and so is
a short piece of a longer question ("A kilo of steel." for "Which is heavier, a kilo of steel or a kilo of
feathers?"): the echo must be a run of the question's words covering most of it. Said back as a question, it
answers nothing, so a run of half the words of any sentence of the prompt will do, or nearly all of them in
another order ("A cat or a rabbit for a small flat?" for "Rabbits or a cat for a small flat?"); a question that
adds a word ("What size is your flat?") or drops a "not" ("Is your cat eating?" for "My cat is not eating.")
asks something new.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass

import regex

from harness.metrics.lexicon import normalise

MIN_WORDS = 3
MIN_SHARE = 0.6  # of the question's words
ARTICLES = frozenset({"a", "an", "the"})
MIN_SHARE_ASKED = 0.5  # for an echo that is itself a question ("Mirrorless camera or just a good phone?"): no answer
MIN_SHARE_REORDERED = 0.8  # of a sentence said back in another order ("A cat or a rabbit?" for "Rabbits or a cat?")
NEGATION = frozenset({"not", "no", "never", "don't", "doesn't", "isn't", "aren't", "can't", "won't", "didn't"})
WORD = regex.compile(r"\w+(?:'\w+)?")
# A question: from a sentence break (or the start) to its question mark, "We're twins!!! What do we buy?".
# Anchored at the break, so a long stretch without one is scanned once, not from each of its characters.
QUESTION = regex.compile(r"(?:^|(?<=[.!?\n]))[^.!?\n]*\?")
SENTENCE = regex.compile(r"(?:^|(?<=[.!?\n]))[^.!?\n]+[.!?]*")
# A request: a sentence of the prompt that opens with a verb of asking ("Draft an out-of-office for...", "Please list
# five..."); said back whole, like a question, it restates ("Morning! Sun's out." said back is a greeting returned).
REQUEST_PLEASE = regex.compile(r"^please\s+", regex.IGNORECASE)
REQUEST = regex.compile(r"(?:please\s+)?(?:write|draft|compose|give|tell|list|explain|describe|summari[sz]e|translate|"
                        r"suggest|recommend|make|create|plan|name|help|find|compare|rewrite|convert|generate|outline)\b",
                        regex.IGNORECASE)
SAID_BACK = {"i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "i'm": "you're",
             "i've": "you've", "i'd": "you'd", "i'll": "you'll", "am": "are", "we": "you", "us": "you", "our": "your",
             "ours": "yours", "ourselves": "yourselves", "we're": "you're", "we've": "you've", "we'd": "you'd",
             "we'll": "you'll"}


def words(text: str) -> list[str]:
    return WORD.findall(normalise(text).lower())


@dataclass(frozen=True)
class Asked:
    """The words of the prompt's questions, its requests and all its sentences, each as written and as said
    back."""
    questions: tuple[tuple[str, ...], ...]
    requests: tuple[tuple[str, ...], ...]
    sentences: tuple[tuple[str, ...], ...]


@functools.lru_cache(maxsize=1024)  # one prompt is scored once per variant
def questions(prompt: str) -> Asked:
    """What the prompt asks: its questions and requests, and all its sentences (a request said back as a question,
    "A week of packed lunches for a fussy six-year-old?", restates it too), as asked and as said back to the
    asker."""
    # the instruction only: text pasted after it ("Make it shorter:\n...") is the material, not the request
    instruction = regex.split(r":\s|\n", prompt, maxsplit=1)[0]
    requests = [REQUEST_PLEASE.sub("", piece.strip()) for piece in SENTENCE.findall(instruction)
                if REQUEST.match(piece.strip())]
    return Asked(_both(QUESTION.findall(prompt)), _both(requests), _both(SENTENCE.findall(prompt)))


def _both(pieces: list[str]) -> tuple[tuple[str, ...], ...]:
    asked = [tuple(words(piece)) for piece in pieces]
    return tuple(asked + [tuple(SAID_BACK.get(word, word) for word in question) for question in asked])


def is_echo(sentence: str, asked: Asked) -> bool:
    """Whether all of `sentence` is a run of one question's words, covering most of that question (or of a
    request's, from its verb on); or, said back as a question, a run of half of any sentence of the prompt, or
    nearly all of it in another order."""
    said = tuple(words(sentence))
    if len(said) < MIN_WORDS:
        return False
    if sentence.rstrip().endswith("?"):
        if any(_run(said, piece) and len(said) >= MIN_SHARE_ASKED * len(piece) for piece in asked.sentences):
            return True
        bag = _bag(said)  # in another order, it must say back nearly all of the sentence, its negations too
        return sum(bag.values()) >= MIN_WORDS and any(
            not bag - _bag(piece) and sum(bag.values()) >= MIN_SHARE_REORDERED * sum(_bag(piece).values())
            and not (NEGATION & set(piece)) - set(said) for piece in asked.sentences)
    if any(len(said) >= MIN_SHARE * len(question) and _run(said, question) for question in asked.questions):
        return True
    # a request said back from its verb on: "I'm on jury service" for "Write an out-of-office saying I'm on jury
    # service" is the piece asked for, not the request
    said = said[1:] if said[0] == "please" else said
    return any(len(said) >= MIN_SHARE * len(request) and said[:1] == request[:1] and _run(said, request)
               for request in asked.requests)


def _run(said: tuple[str, ...], piece: tuple[str, ...]) -> bool:
    return any(piece[i:i + len(said)] == said for i in range(len(piece) - len(said) + 1))


def _bag(said: tuple[str, ...]) -> Counter:
    """The words, in any order, without articles, a plural as its singular: "a rabbit" is said back "rabbits"."""
    return Counter(word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
                   for word in said if word not in ARTICLES)
