"""The canary panel: did the adapter damage what the model already did well?

Two sets ship with the harness (harness/data/canary/, written for this project, Apache-2.0 like the code):
- general text: varied passages (encyclopedic, news, fiction, dialogue, recipes, letters, documentation and
  more), each scored as plain text after one start-of-document token; the figure is its mean NLL per token;
- factual QA: short questions with one short answer and its accepted forms, asked through the chat template
  with a fixed instruction to reply with the answer alone; scored by exact match after SQuAD's
  normalisation (lowercase, no punctuation, no articles, whitespace folded), with "contains" (the answer
  appears as whole words) beside it, which a wordier but right answer still passes.

It runs on the variants that add nothing to the prompt (prompt arm `none`): the base model and each
adapter alone. Each adapter is compared with the base on the same passages and questions by the same
paired tests as the verdict, Holm-adjusted within the panel. Both figures are gate subjects:
`sft.canary_nll not worse than base within 0.05`.
"""

from __future__ import annotations

import json
import re
import string
from importlib import resources

from pydantic import BaseModel

from harness.compare import BehaviourVerdict, compare, verdict
from harness.evaluation import Job, VariantRun
from harness.metrics.registry import CANARY, statistic
from harness.panel_checks import canary_variants
from harness.suite import Suite
from harness.suite_panels import Canary
from harness.variants import Variant

CLAIM = ("SFT should not cost what the model already did well: general-text perplexity and factual QA accuracy, "
         "each adapter against the base model on the same items.")
INSTRUCTION = "Reply with just the answer."
SOURCE = ("harness/data/canary: passages.jsonl and qa.jsonl, written for this project; Apache-2.0, the "
          "harness's own licence")


class CanaryScore(BaseModel):
    nll: float | None = None  # a passage: mean NLL per token
    exact: bool | None = None  # a question: exact match after normalisation
    contains: bool | None = None  # a question: an accepted answer appears in the reply as whole words
    text: str | None = None  # a question: the reply


class CanaryItem(BaseModel):
    id: str
    kind: str  # "passage" or "question"
    variants: dict[str, CanaryScore]


class CanaryCost(BaseModel):
    passes: int
    generations: int
    prompt_tokens: int
    generated_tokens: int
    scored_tokens: int


class CanaryResult(BaseModel):
    claim: str = CLAIM
    source: str = SOURCE
    document_start: str  # the token each passage is scored after
    instruction: str = INSTRUCTION
    variants: list[str]  # base first, then each adapter
    cost: CanaryCost
    values: dict[str, dict[str, float | None]]  # metric -> variant -> mean (a rate for exact match)
    verdict: list[BehaviourVerdict]  # each adapter against the base, Holm-adjusted within the panel
    items: list[CanaryItem]


def _rows(name: str) -> list[dict]:
    text = resources.files("harness").joinpath("data", "canary", name).read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def passages(settings: Canary) -> list[dict]:
    return _rows("passages.jsonl")[: settings.passages]


def questions(settings: Canary) -> list[dict]:
    return _rows("qa.jsonl")[: settings.questions]


# The document separator of GPT-2's vocabulary, kept by Qwen2.5 and SmolLM2 (whose BOS is a chat marker).
END_OF_TEXT = "<|endoftext|>"


def document_start(tokenizer) -> str:
    """The token each passage is scored after, as after a document boundary in pre-training: <|endoftext|>
    where the vocabulary has it, else the BOS token, else the EOS token."""
    if END_OF_TEXT in tokenizer.get_vocab():
        return END_OF_TEXT
    return tokenizer.bos_token or tokenizer.eos_token


def jobs(suite: Suite, renderer, variants: list[Variant]) -> list[Job]:
    """For each canary variant: its passages scored (no generation), and its answers to the questions."""
    settings = suite.panels.canary
    texts = [row["text"] for row in passages(settings)]
    start = document_start(renderer.tokenizer)
    decoding = suite.decoding.model_copy(update={"max_new_tokens": settings.max_new_tokens, "do_sample": False})
    asked = [f"{row['question']} {INSTRUCTION}" for row in questions(settings)]
    found = []
    for v in canary_variants(variants):
        found.append(Job(f"canary/passages/{v.name}", v, [start] * len(texts), texts, generate=False))
        found.append(Job(f"canary/questions/{v.name}", v, [renderer.for_variant(v, q) for q in asked], None,
                         decoding=decoding))
    return found


def normalise(text: str) -> str:
    """SQuAD's answer normalisation: lowercase, punctuation and articles removed, whitespace folded."""
    text = "".join(ch for ch in text.lower() if ch not in string.punctuation)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def exact_match(reply: str, answers: list[str]) -> bool:
    return normalise(reply) in {normalise(a) for a in answers}


def contains(reply: str, answers: list[str]) -> bool:
    padded = f" {normalise(reply)} "
    return any(f" {normalise(a)} " in padded for a in answers if normalise(a))


def canary_result(suite: Suite, start: str, variants: list[Variant], runs: dict[str, VariantRun]) -> CanaryResult:
    """The panel's scores, values and comparisons from its jobs' runs (`start`: see document_start)."""
    settings, chosen = suite.panels.canary, canary_variants(variants)
    names = [v.name for v in chosen]
    items = [CanaryItem(id=row["id"], kind="passage", variants={
        v: CanaryScore(nll=runs[f"canary/passages/{v}"].references[i].mean_nll) for v in names})
        for i, row in enumerate(passages(settings))]
    for i, row in enumerate(questions(settings)):
        replies = {v: runs[f"canary/questions/{v}"].outputs[i].text for v in names}
        items.append(CanaryItem(id=row["id"], kind="question", variants={
            v: CanaryScore(exact=exact_match(reply, row["answers"]), contains=contains(reply, row["answers"]),
                           text=reply) for v, reply in replies.items()}))
    values = {m.key: {v: statistic(m.values([item.variants[v] for item in items]), "mean") for v in names}
              for m in CANARY}
    base = names[0]
    paired = {(v, base): [(item.variants[v], item.variants[base]) for item in items] for v in names[1:]}
    own = [runs[f"canary/{kind}/{v}"] for v in names for kind in ("passages", "questions")]
    cost = CanaryCost(passes=len(own), generations=sum(len(r.outputs) for r in own),
                      prompt_tokens=sum(sum(r.prompt_tokens) for r in own if r.outputs),
                      generated_tokens=sum(o.tokens for r in own for o in r.outputs),
                      scored_tokens=sum(s.tokens for r in own for s in r.references))
    return CanaryResult(document_start=start, variants=names, cost=cost, values=values,
                        verdict=verdict(compare(paired, list(CANARY), primary_pairs=tuple(paired))), items=items)
