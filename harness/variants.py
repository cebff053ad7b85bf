"""The variants a suite runs, each a prompt arm × an adapter, resolved to what rendering and evaluation need.

Prompt arms:
- `none`: the user prompt alone (under the suite's base-prompt policy, harness/prompts.py);
- `system`: the suite's `system_prompt`;
- a name from `prompts:`: that system prompt;
- `{few_shot: k}`: k training examples rendered as prior user/assistant turns through the chat template,
  optionally after a system prompt (`{few_shot: 3, system: system}`).

Adapters: none (the base model), a name from `adapters:` (trained by this suite, or `external`).

**Few-shot policy.** The pool is the training set without every example whose prompt (whitespace folded,
case ignored) is also an eval prompt, so no shot answers an eval question. k examples are drawn from the pool
by `random.Random(seed)` (the arm's `seed`, default 0, recorded), then put back in training-file order.
Every eval example gets the same k shots: the variant is one fixed prompt, like a system prompt, and its
cost per request is measured the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from harness.errors import HarnessError
from harness.examples import Example, ExampleSet
from harness.suite import RESERVED_PROMPTS, FewShot, Suite, VariantSpec


@dataclass(frozen=True)
class Shot:
    id: str
    prompt: str
    response: str


@dataclass(frozen=True)
class Variant:
    name: str
    arm: str  # the prompt arm in words: "none", "system", a prompt name, "few-shot k=3"
    system: str | None  # the system prompt's text; None: no system message
    shots: tuple[Shot, ...]
    adapter: str | None  # a name from the suite's adapters; None: the base model
    base_prompt: str  # the template's default system turn: "no_system" or "template_default"

    def describe(self) -> dict:
        """Recorded in the manifest: everything that makes this variant's prompts what they are."""
        return {"name": self.name, "arm": self.arm, "system_prompt": self.system,
                "few_shot_ids": [shot.id for shot in self.shots], "adapter": self.adapter,
                "base_prompt": self.base_prompt}


def resolve(suite: Suite, train: ExampleSet, eval_set: ExampleSet) -> list[Variant]:
    """Every declared variant with its system prompt and shots drawn; assumes `problems` found none."""
    pool = few_shot_pool(train, eval_set)
    return [_resolve(spec, suite, pool) for spec in suite.variant_specs()]


def _resolve(spec: VariantSpec, suite: Suite, pool: list[Example]) -> Variant:
    arm, shots = spec.prompt, ()
    system_name = arm.system if isinstance(arm, FewShot) else arm
    if isinstance(arm, FewShot):
        shots = tuple(Shot(e.id, e.prompt, e.response) for e in draw(pool, arm.few_shot, arm.seed))
        words = f"few-shot k={arm.few_shot}" + (f" + {arm.system}" if arm.system else "")
    else:
        words = arm or "none"
    return Variant(name=spec.name, arm=words, system=system_text(suite, system_name), shots=shots,
                   adapter=spec.adapter, base_prompt=spec.base_prompt or suite.base_prompt)


def system_text(suite: Suite, name: str | None) -> str | None:
    if name in (None, "none"):
        return None
    return suite.system_prompt if name == "system" else suite.prompts[name]


def few_shot_pool(train: ExampleSet, eval_set: ExampleSet) -> list[Example]:
    """Training examples that may serve as shots: none whose prompt is also an eval prompt."""
    asked = {_folded(e.prompt) for e in eval_set.examples}
    return [e for e in train.examples if _folded(e.prompt) not in asked]


def draw(pool: list[Example], k: int, seed: int) -> list[Example]:
    """k examples of `pool` by a seeded draw, in the pool's order."""
    return [pool[i] for i in sorted(random.Random(seed).sample(range(len(pool)), k))]


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def problems(suite: Suite, train: ExampleSet | None, eval_set: ExampleSet | None) -> list[HarnessError]:
    """Every name a variant, comparison or prompt uses is declared once, and every few-shot k fits the pool."""
    errors: list[HarnessError] = []

    def error(message: str, *loc: str | int) -> None:
        errors.append(HarnessError(f"{field_path(loc)}: {message}", file=suite.path,
                                   where=suite.line_of(*loc)))

    for name in suite.prompts:
        if name in RESERVED_PROMPTS:
            error(f"{name!r} is reserved (none: no system prompt; system: the suite's system_prompt); "
                  "expected another name", "prompts", name)
    adapters = suite.adapter_settings()
    specs = suite.variant_specs()
    declared = suite.variants is not None
    pool = few_shot_pool(train, eval_set) if train is not None and eval_set is not None else None
    seen: set[str] = set()
    for index, spec in enumerate(specs):
        where = ("variants", index) if declared else ("adapters",)
        if spec.name in seen:
            error(f"duplicate variant name {spec.name!r}; expected each variant named once" if declared else
                  f"an adapter's default variant would repeat the name {spec.name!r}; expected another adapter "
                  "name, or declare `variants:`", *where, *(("name",) if declared else ()))
        if spec.name == "baseline":
            error("'baseline' is reserved (gates compare against the baseline run by it); expected another name",
                  *where, *(("name",) if declared else ()))
        seen.add(spec.name)
        arm = spec.prompt
        prompt_name = arm.system if isinstance(arm, FewShot) else arm
        if prompt_name not in (None, *RESERVED_PROMPTS) and prompt_name not in suite.prompts:
            named = f", or one of prompts: {', '.join(suite.prompts)}" if suite.prompts else " (no prompts: declared)"
            error(f"unknown prompt {prompt_name!r}; expected none, system{named}",
                  *where, "prompt", *(("system",) if isinstance(arm, FewShot) else ()))
        if spec.adapter is not None and spec.adapter not in adapters:
            error(f"unknown adapter {spec.adapter!r}; expected one of {', '.join(adapters)}", *where, "adapter")
        if isinstance(arm, FewShot) and pool is not None and arm.few_shot > len(pool):
            error(f"k = {arm.few_shot}, but the training set has {len(pool)} examples whose prompt is not an "
                  f"eval prompt; expected at most {len(pool)}", *where, "prompt", "few_shot")
    names = [spec.name for spec in specs]
    for index, pair in enumerate(suite.comparisons or []):
        for side, name in enumerate(pair):
            if name not in names:
                error(f"unknown variant {name!r}; expected one of {', '.join(names)}", "comparisons", index, side)
        if pair[0] == pair[1]:
            error("a variant compared with itself; expected two different variants", "comparisons", index)
    return errors


def field_path(loc: tuple) -> str:
    """A field's location as a suite writes it: ('variants', 2, 'prompt') -> variants[2].prompt."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1] += f"[{part}]"
        else:
            parts.append(str(part))
    return ".".join(parts)


def select(variants: list[Variant], names: list[str] | None) -> list[Variant]:
    """The variants `--variants` names, in the suite's order; all of them without the option."""
    if names is None:
        return variants
    known = [v.name for v in variants]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise HarnessError(f"--variants: unknown variant {unknown[0]!r}; expected names from {', '.join(known)}")
    if len(set(names)) != len(names):
        raise HarnessError("--variants: a variant is named twice; expected each once")
    return [v for v in variants if v.name in names]
