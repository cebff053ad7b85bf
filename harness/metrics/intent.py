"""What the user's message asks of the assistant, as the filler detector needs to know it: a piece of writing
("Draft a note for my neighbour"), something about the assistant itself ("Who at the company can read this?"),
only thanks or praise for its help ("ty v helpful"), or anything else.

The same words are filler or not by what was asked: "I'm here to help with any question" opens an answer to a
question about tax, and is the reply itself to "When should I use you?"; "Dear Sam, I hope this finds you well"
greets the user unasked, and is the letter asked for. The rules of harness/metrics/asked.py read the message
word by word and miss many ways of asking ("Something short for Mum's card", "Brilliant, the cover letter got me
an interview!"). This is a multinomial logistic regression over the message's words, word pairs, first and last
words and the rules' own reading, trained on 7,598 messages labelled by intent (tests/data/prompt_intents.jsonl)
by bench/filler/train_intent.py; its weights are harness/data/prompt_intent.json. docs/metrics.md gives its
accuracy on sets it was not trained on.
"""

from __future__ import annotations

import functools
import json
import math
import re
from importlib import resources

from harness.metrics.asked import addresses_assistant, asks_for_writing, only_social
from harness.metrics.lexicon import normalise

INTENTS = ("other", "writing", "about_assistant", "social")
# The model overrules the rules only this sure (bench/filler/train_intent.py --held-out chose it on sets 19 and 20).
CONFIDENT = 0.6
TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[?!]")


def rule_intent(prompt: str) -> str:
    """The rules' reading (harness/metrics/asked.py), one intent in the order a message is read by."""
    if asks_for_writing(prompt):
        return "writing"
    if addresses_assistant(prompt):
        return "about_assistant"
    return "social" if only_social(prompt) else "other"


def features(prompt: str) -> list[str]:
    """The names of the features a message has: its words, adjacent word pairs, first word or two, last word,
    length (in steps of five words), and the rules' reading."""
    words = TOKEN.findall(normalise(prompt).lower())
    found = {f"w:{w}" for w in words} | {f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False)}
    if words:
        found |= {f"f:{words[0]}", f"l:{words[-1]}", f"f2:{' '.join(words[:2])}"}
    found |= {f"len:{min(len(words) // 5, 6)}", f"rx:{rule_intent(prompt)}"}
    return sorted(found)


@functools.lru_cache(maxsize=1)
def model() -> dict:
    return json.loads(resources.files("harness").joinpath("data/prompt_intent.json").read_text("utf-8"))


def probabilities(prompt: str, weights: dict | None = None) -> dict[str, float]:
    """Each intent's probability for `prompt`, by the shipped model or `weights` (one of the same shape)."""
    weights = weights or model()
    scores = list(weights["bias"])
    for name in features(prompt):
        row = weights["weights"].get(name)
        if row:
            scores = [s + w for s, w in zip(scores, row, strict=True)]
    top = max(scores)
    exp = [math.exp(s - top) for s in scores]
    return {intent: e / sum(exp) for intent, e in zip(weights["intents"], exp, strict=True)}


def read_intent(prompt: str, weights: dict | None = None) -> str:
    """What `prompt` asks for: "writing", "about_assistant", "social" or "other". The model's reading where it is
    confident of one of the first three, else the rules': on messages like neither's training ("Can you check my
    maths homework?"), the model is the likelier to take a service asked for as a question about the assistant."""
    chances = probabilities(prompt, weights)
    best = max(chances, key=chances.__getitem__)
    return best if best != "other" and chances[best] >= CONFIDENT else rule_intent(prompt)


@functools.lru_cache(maxsize=1024)  # one prompt is scored once per variant
def prompt_intent(prompt: str) -> str:
    """read_intent by the shipped model."""
    return read_intent(prompt)
