"""The prompting panels: what the seed claims prompting cannot do, each measured as more passes of the model
over the eval prompts, for the suite's variants. Each condition is an evaluation job (harness/evaluation.py),
cached like a variant; harness/panel_results.py scores them.

- **persistence** asks each eval prompt as turn N of a conversation (N in `turns`): N - 1 neutral exchanges
  (built in, or the suite's `panels.exchanges`) come first. A variant's system prompt appears once, at the
  start, then its few-shot turns, then the exchanges. Claim: prompting cannot hold rules without restating
  them each call.
- **truncation** takes the `turns`-deep conversation and keeps only its last B tokens for each budget B,
  as a serving stack with a context limit does (vLLM's `truncate_prompt_tokens`), so the system prompt falls
  out first. The final user turn is never cut. Claim: prompting cannot survive context truncation.
- **sensitivity** runs each phrasing of the system prompt in `prompts` (the suite's `system` or names from
  `prompts:`, weak ones included) on the base model and on each adapter. Claims: prompting cannot enforce
  consistency across prompts; SFT improves adherence under weak prompts.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import HarnessError
from harness.evaluation import Job
from harness.examples import ExampleSet
from harness.prompts import PromptRenderer
from harness.suite import Suite
from harness.variants import Shot, Variant, system_text


@dataclass(frozen=True)
class Condition:
    """One panel setting applied to one variant: a job, and where it sits on the panel's curve."""

    panel: str  # persistence, truncation or sensitivity
    setting: str  # "turn 3", "256 tokens", a prompt's name
    x: float | None  # turns or budget; None for sensitivity
    variant: str  # the variant it applies to; for sensitivity, the model: "base" or an adapter's name
    job: Job
    system_kept: tuple[bool, ...] | None = None  # truncation: whether each prompt still holds the system prompt


def conditions(suite: Suite, renderer: PromptRenderer, variants: list[Variant], eval_set: ExampleSet,
               targets: list[str], turns: list[Shot]) -> list[Condition]:
    """Every condition of the suite's prompting panels over the chosen variants, as jobs."""
    panels, found = suite.panels, []
    texts = [e.response for e in eval_set.examples]

    def job(name: str, variant: Variant, prompts: list[str]) -> Job:
        return Job(name, variant, prompts, targets, texts=texts)

    if panels.persistence:
        for n in panels.persistence.turns:
            for v in variants:
                prompts = [_at_turn(renderer, v, e.prompt, turns, n) for e in eval_set.examples]
                _check_system_first(suite, v, prompts[0], turns[: n - 1], "persistence")
                found.append(Condition("persistence", f"turn {n}", n, v.name,
                                       job(f"persistence/{n}/{v.name}", v, prompts)))
    if panels.truncation:
        depth = panels.truncation.turns
        # The whole conversation and where its last turn starts, per variant and example: the same at every budget.
        wholes = {v.name: _whole_conversations(suite, renderer, v, eval_set, turns[: depth - 1]) for v in variants}
        for budget in panels.truncation.budgets:
            for v in variants:
                cut = [truncate(renderer.tokenizer, whole, start, budget) for whole, start in wholes[v.name]]
                kept = tuple(v.system.strip() in prompt for prompt in cut) if v.system else None
                found.append(Condition("truncation", f"{budget} tokens", budget, v.name,
                                       job(f"truncation/{budget}/{v.name}", v, cut), kept))
    if panels.sensitivity:
        models = [None, *dict.fromkeys(v.adapter for v in variants if v.adapter)]
        for name in panels.sensitivity.prompts:
            for adapter in models:
                v = Variant(name=f"{adapter}+{name}" if adapter else name, arm=name, system=system_text(suite, name),
                            shots=(), adapter=adapter, base_prompt=suite.base_prompt)
                prompts = [renderer.for_variant(v, e.prompt) for e in eval_set.examples]
                found.append(Condition("sensitivity", name, None, adapter or "base",
                                       job(f"sensitivity/{name}/{adapter or 'base'}", v, prompts)))
    return found


def _whole_conversations(suite: Suite, renderer: PromptRenderer, v: Variant, eval_set: ExampleSet,
                         earlier: list[Shot]) -> list[tuple[str, int]]:
    """Each eval prompt after `earlier` exchanges, with where its last user turn starts."""
    found = []
    for index, e in enumerate(eval_set.examples):
        whole = renderer.conversation(e.prompt, v.system, (*v.shots, *earlier), v.base_prompt)
        if index == 0:
            _check_system_first(suite, v, whole, earlier, "truncation")
        start = renderer.final_turn_start(whole, v.system, (*v.shots, *earlier), v.base_prompt)
        if start is None:
            raise HarnessError("panels.truncation: the chat template renders the conversation before the last user "
                               "turn differently from the start of the whole conversation, so the last turn cannot "
                               "be kept whole; expected a template that renders turns one after another (or no "
                               "truncation panel for this model)", file=suite.path,
                               where=suite.line_of("panels", "truncation"))
        found.append((whole, start))
    return found


def pass_key(job: Job) -> tuple:
    """What makes two jobs one pass of the model: the adapter and the prompts."""
    return job.variant.adapter, tuple(job.prompts)


def new_passes(conditions: list[Condition], seen: set) -> list[Condition]:
    """The conditions whose pass is neither in `seen` (the variants', earlier panels') nor earlier in the list,
    each pass once; `seen` grows by them. A panel's cost is these."""
    fresh = []
    for condition in conditions:
        if (key := pass_key(condition.job)) not in seen:
            seen.add(key)
            fresh.append(condition)
    return fresh


def _at_turn(renderer: PromptRenderer, variant: Variant, user: str, turns: list[Shot], n: int) -> str:
    """`user` as turn n: the variant's system prompt and shots, then n - 1 neutral exchanges."""
    return renderer.conversation(user, variant.system, (*variant.shots, *turns[: n - 1]), variant.base_prompt)


def _check_system_first(suite: Suite, variant: Variant, prompt: str, exchanges: list[Shot], panel: str) -> None:
    """The system prompt must come before the earlier turns: a template that writes it into the last user turn
    (Mistral's) restates it each call, which is not what these panels test."""
    if not variant.system or not exchanges:
        return
    if not -1 < prompt.find(variant.system.strip()) < prompt.find(exchanges[0].prompt.strip()):
        raise HarnessError(f"panels.{panel}: the model's chat template does not put the system prompt at the start "
                           "of the conversation (it writes it into a later user turn), so this panel would not test "
                           "a prompt said once; expected a template with a system turn first", file=suite.path,
                           where=suite.line_of("panels", panel))


def truncate(tokenizer, prompt: str, final_turn: int, budget: int) -> str:
    """`prompt` cut from the left to at most `budget` tokens, at a token boundary, but never after
    `final_turn` (where the last user turn starts): that turn is kept whole however long it is."""
    offsets = tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    if len(offsets) <= budget:
        return prompt
    index = len(offsets) - budget
    start = min(offsets[index][0], final_turn)
    # Cut text can tokenise longer than the tokens it came from (a word loses its leading space): step on.
    while start < final_turn and len(tokenizer(prompt[start:], add_special_tokens=False)["input_ids"]) > budget:
        index += 1
        start = min(offsets[index][0], final_turn)
    return prompt[start:]
