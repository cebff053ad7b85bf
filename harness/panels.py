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

from harness.evaluation import Job
from harness.examples import ExampleSet
from harness.prompts import PromptRenderer, special_strings
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
                found.append(Condition("persistence", f"turn {n}", n, v.name,
                                       job(f"persistence/{n}/{v.name}", v, prompts)))
    if panels.truncation:
        depth = panels.truncation.turns
        for budget in panels.truncation.budgets:
            for v in variants:
                cut = [truncate(renderer, _at_turn(renderer, v, e.prompt, turns, depth), e.prompt, budget)
                       for e in eval_set.examples]
                kept = tuple(v.system in prompt for prompt in cut) if v.system else None
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


def _at_turn(renderer: PromptRenderer, variant: Variant, user: str, turns: list[Shot], n: int) -> str:
    """`user` as turn n: the variant's system prompt and shots, then n - 1 neutral exchanges."""
    return renderer.conversation(user, variant.system, (*variant.shots, *turns[: n - 1]), variant.base_prompt)


def truncate(renderer: PromptRenderer, prompt: str, user: str, budget: int) -> str:
    """`prompt` cut from the left to its last `budget` tokens, at a token boundary; never into the final
    user turn (its opening marker included), which is kept whole however long it is."""
    encoded = renderer.tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)
    offsets = encoded["offset_mapping"]
    if len(offsets) <= budget:
        return prompt
    start = offsets[len(offsets) - budget][0]
    content = prompt.rfind(user)
    turn = max((prompt.rfind(marker, 0, content) for marker in special_strings(renderer.tokenizer)), default=-1)
    final_turn = turn if turn >= 0 else content
    return prompt[min(start, final_turn):]
