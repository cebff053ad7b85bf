"""Rendering each variant's prompt, and the reference answer after it, through the model's own chat template.

A variant's prompt is a system prompt (or none), optional few-shot turns, then the user prompt
(harness/variants.py says which; the default grid is `base`, `system`, `sft` and `sft+system`).

**The template's default system turn.** Many templates write a system turn when the conversation has none:
an identity line (Qwen2.5: "You are Qwen, created by Alibaba Cloud..."; SmolLM2: "You are a helpful AI
assistant named SmolLM...") that a system message replaces, or a header that stays whatever the system
message (Llama 3.x: "Cutting Knowledge Date: ... Today Date: ..."), or both. `detect_template` finds it by
rendering probe conversations, and `PromptRenderer` treats it as a whole, the same in every variant:

- `no_system` cuts it from every variant: `base` has no system turn, and `system` has a system turn that
  holds only the suite's prompt (Llama's date header is cut from it too).
- `template_default` keeps it in every variant: `base` is the template's own rendering, and `system` adds
  the suite's prompt after the default (Qwen: identity line, blank line, suite prompt).

Either way `system` minus `base` is the suite's prompt and the markup it needs, so the prompt tax counts
only it. A template that renders today's date gets a pinned date instead, recorded in `describe()`, so the
same suite gives the same prompts tomorrow.

**The answer as the template renders it.** `PromptRenderer.target` is the text the template writes for the
assistant turn after the generation prompt (Mistral's leading space, Llama's trimming), up to and including
the template's own end-of-turn token, so the model learns to stop. What a template writes after that token
(ChatML's newline, Phi-3's `<|endoftext|>` at the end of a conversation) is left out: generation stops at
the end-of-turn token, so the model never produces it. Training targets and scored references both use it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

from harness.errors import HarnessError

USER_PROBE = "HARNESS-USER-PROBE-7f3a"
SYSTEM_PROBE = "HARNESS-SYSTEM-PROBE-91c2"
REPLY_PROBE = "HARNESS-REPLY-PROBE-c4d1"
# The date Llama 3.1 hard-codes and Llama 3.2 falls back to; templates that render today's date get it.
PINNED_DATE = date(2024, 7, 26)
# Between the template's default system prompt and the suite's, under base_prompt: template_default.
DEFAULT_SEPARATOR = "\n\n"
STRFTIME_CALL = re.compile(r"""strftime_now\(\s*(['"])(.*?)\1\s*\)""")


@dataclass(frozen=True)
class SystemTurn:
    """The parts of a system turn, as the template writes it: lead + opener + header + content + closer."""

    lead: str  # text before the first turn (e.g. a BOS string), kept when the turn is cut
    opener: str  # '<|im_start|>system\n', '<|start_header_id|>system<|end_header_id|>\n\n'
    header: str  # what the template writes before any system message (Llama's date lines); often ''
    closer: str  # '<|im_end|>\n', '<|eot_id|>'


@dataclass(frozen=True)
class TemplateFacts:
    """What probing the chat template found."""

    default_system: str | None  # the whole default system turn's text (header + default prompt), or None
    default_prompt: str  # the part of it that a system message replaces (Qwen's identity line; '' for Llama)
    turn: SystemTurn | None  # how to cut the default turn; None where the harness cannot tell
    end_of_turn: str  # the token that closes an assistant turn
    variables: dict  # keyword arguments of every rendering: a pinned date (see template_variables)


def template_variables(tokenizer) -> dict:
    """Keyword arguments every rendering gets, so that a template that renders today's date renders a pinned one.

    Llama 3.x reads `date_string` when it is given. Other calls of `strftime_now` with a literal format are
    replaced by the pinned date in a copy of the template (transformers passes only strings to templates).
    """
    template = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else ""
    if "strftime_now" not in template and "date_string" not in template:
        return {}
    pinned = STRFTIME_CALL.sub(lambda call: json.dumps(PINNED_DATE.strftime(call.group(2))), template)
    return {"date_string": PINNED_DATE.strftime("%d %b %Y"), "chat_template": pinned}


def _render(tokenizer, messages: list[dict], variables: dict, generation_prompt: bool = True) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt,
                                         **variables)


def _messages(user: str | None, system: str | None = None, reply: str | None = None, shots=()) -> list[dict]:
    """A conversation: system message, few-shot turns (objects with .prompt and .response), user, reply.
    `user` None: the conversation before the final user turn."""
    turns = [{"role": "system", "content": system}] if system is not None else []
    for shot in shots:
        turns += [{"role": "user", "content": shot.prompt}, {"role": "assistant", "content": shot.response}]
    if user is None:
        return turns
    turns.append({"role": "user", "content": user})
    return turns + ([{"role": "assistant", "content": reply}] if reply is not None else [])


def detect_template(tokenizer) -> TemplateFacts:
    variables = template_variables(tokenizer)
    user_only = _render(tokenizer, _messages(USER_PROBE), variables)
    try:
        with_system = _render(tokenizer, _messages(USER_PROBE, SYSTEM_PROBE), variables)
    except Exception as exc:  # templates raise their own exception types for unsupported roles
        raise HarnessError(f"the model's chat template rejects a system message ({exc}); the system "
                           "variants need one", where="model") from None
    if SYSTEM_PROBE not in with_system:
        raise HarnessError("the model's chat template drops the system message; the system variants need one",
                           where="model")
    end_of_turn = end_of_turn_token(tokenizer, variables)
    at = with_system.index(SYSTEM_PROBE)
    before, after = with_system[:at], with_system[at + len(SYSTEM_PROBE):]
    injected = user_only.startswith(before) and user_only.endswith(after) and before.strip() != ""
    if not injected:
        return TemplateFacts(None, "", None, end_of_turn, variables)
    default_prompt = user_only[len(before): len(user_only) - len(after)]
    turn = _system_turn(tokenizer, before, after[: after.index(USER_PROBE)])
    header = turn.header if turn is not None else ""
    return TemplateFacts(header + default_prompt, default_prompt, turn, end_of_turn, variables)


def _system_turn(tokenizer, before: str, between: str) -> SystemTurn | None:
    """Split the system turn by analogy with the user turn: the same opening marker, role 'system'."""
    role_at = before.rfind("system")
    specials = [t for t in _special_strings(tokenizer) if t in before[:role_at]]
    marker = max(specials, key=lambda t: before.rfind(t, 0, role_at), default=None)
    if role_at < 0 or marker is None:
        return None
    marker_at = before.rfind(marker, 0, role_at)
    user_start = between.rfind(before[marker_at:role_at] + "user")
    if user_start < 0:
        return None
    opener = between[user_start:].replace("user", "system", 1)
    if not before.startswith(opener, marker_at):
        return None
    return SystemTurn(lead=before[:marker_at], opener=opener, header=before[marker_at + len(opener):],
                      closer=between[:user_start])


def _cannot_cut() -> HarnessError:
    return HarnessError("the chat template inserts a default system turn that the harness cannot cut out "
                        "automatically; set base_prompt: template_default to keep it", where="base_prompt")


def _special_strings(tokenizer) -> list[str]:
    added = [t.content for t in tokenizer.added_tokens_decoder.values()]
    return sorted(set(added) | set(tokenizer.all_special_tokens), key=len, reverse=True)


def end_of_turn_token(tokenizer, variables: dict | None = None) -> str:
    """The special token the template writes right after an assistant reply (else the EOS token)."""
    variables = variables if variables is not None else template_variables(tokenizer)
    rendered = _render(tokenizer, _messages(USER_PROBE, reply=REPLY_PROBE), variables, generation_prompt=False)
    suffix = rendered[rendered.index(REPLY_PROBE) + len(REPLY_PROBE):].lstrip(" ")
    token = next((t for t in _special_strings(tokenizer) if suffix.startswith(t)), None)
    if token is None:
        if tokenizer.eos_token is None:
            raise HarnessError("cannot find the end-of-turn token of the chat template", where="model")
        token = tokenizer.eos_token
    return token


class PromptRenderer:
    """Renders each variant's prompt and the reference after it; the same functions feed training and evaluation."""

    def __init__(self, tokenizer, system_prompt: str, base_prompt: str):
        self.tokenizer = tokenizer
        self.system_prompt = system_prompt
        self.base_prompt = base_prompt
        self.facts = detect_template(tokenizer)
        if self._cuts_default() and self.facts.turn is None:
            raise _cannot_cut()

    def _cuts_default(self) -> bool:
        return self.facts.default_system is not None and self.base_prompt == "no_system"

    def _render(self, messages: list[dict], generation_prompt: bool = True) -> str:
        return _render(self.tokenizer, messages, self.facts.variables, generation_prompt)

    def conversation(self, user: str | None, system: str | None = None, shots=(),
                     base_prompt: str | None = None) -> str:
        """The prompt for `user` after an optional system prompt and few-shot turns, ending in the generation
        prompt, with the template's default system turn kept or cut as `base_prompt` (default: the suite's) says.
        `user` None: the same conversation up to the final user turn, without it (see final_turn_start)."""
        facts, turn = self.facts, self.facts.turn
        ask = user is not None
        if facts.default_system is None:
            return self._render(_messages(user, system, shots=shots), ask)
        if (base_prompt or self.base_prompt) == "template_default":
            content = DEFAULT_SEPARATOR.join(p for p in (facts.default_prompt, system) if p)
            return self._render(_messages(user, content if system is not None else None, shots=shots), ask)
        if turn is None:
            raise _cannot_cut()
        if system is None:
            rendered = self._render(_messages(user, shots=shots), ask)
            return turn.lead + _after(rendered, turn.lead + turn.opener + facts.default_system + turn.closer)
        rendered = self._render(_messages(user, system, shots=shots), ask)
        return turn.lead + turn.opener + _after(rendered, turn.lead + turn.opener + turn.header)

    def final_turn_start(self, prompt: str, system: str | None, shots, base_prompt: str | None) -> int | None:
        """Where the final user turn (its opening marker included) starts in `prompt`, a conversation()
        rendering of that history; None where the template renders the history differently on its own (the
        final turn cannot then be told apart)."""
        if not shots and system is None:
            return None
        try:
            history = self.conversation(None, system, shots, base_prompt)
        except Exception:  # templates raise their own types for a conversation ending in an assistant turn
            return None
        # A template may close a conversation that ends on an assistant turn (Phi-3's <|endoftext|>): drop
        # trailing special tokens until the history is the prompt's beginning.
        specials = _special_strings(self.tokenizer)
        while not prompt.startswith(history):
            shorter = next((history[: -len(t)] for t in specials if history.endswith(t)), history.rstrip())
            if shorter == history:
                return None
            history = shorter
        return len(history) if len(history) < len(prompt) else None

    def render(self, user: str, system: bool) -> str:
        """The prompt with or without the suite's system prompt (the `base` and `system` arms)."""
        return self.conversation(user, self.system_prompt if system else None)

    def for_variant(self, variant, user: str) -> str:
        """The prompt of a harness.variants.Variant."""
        return self.conversation(user, variant.system, variant.shots, variant.base_prompt)

    def target(self, user: str, reply: str, example_id: str, end_of_turn: bool = True) -> str:
        """The reference `reply` as the template renders it after the generation prompt (see render_target)."""
        return render_target(self.tokenizer, user, reply, example_id, end_of_turn=self.facts.end_of_turn,
                             variables=self.facts.variables, include_end_of_turn=end_of_turn)

    def describe(self, variants=None) -> dict:
        """Recorded in the manifest: what the template does and how the harness handled it, with an example
        prompt of each variant (default: the prompt without and with the suite's system prompt)."""
        return {
            "template_default_system_prompt": self.facts.default_system,
            "base_prompt_policy": self.base_prompt,
            "end_of_turn": self.facts.end_of_turn,
            "pinned_date": self.facts.variables.get("date_string"),
            "example": ({v.name: self.for_variant(v, "{prompt}") for v in variants} if variants else
                        {"base": self.render("{prompt}", False), "system": self.render("{prompt}", True)}),
            "example_target": self.target("{prompt}", "{reference}", "example"),
        }


def render_target(tokenizer, user: str, reply: str, example_id: str, *, end_of_turn: str,
                  variables: dict | None = None, include_end_of_turn: bool = True) -> str:
    """The text the template writes for the assistant's `reply` after the generation prompt.

    The conversation with the reply is rendered and split at the generation prompt. The result is the same
    for every variant (the system prompt comes before it) and ends with the template's `end_of_turn` token
    (or, with `include_end_of_turn=False`, just before it).
    """
    variables = variables if variables is not None else template_variables(tokenizer)
    prompt = _render(tokenizer, _messages(user), variables)
    conversation = _render(tokenizer, _messages(user, reply=reply), variables, generation_prompt=False)
    if not conversation.startswith(prompt):
        raise HarnessError(f"example {example_id!r}: the chat template renders the conversation with the reference "
                           "answer so that it does not start with the prompt it renders for generation; the "
                           "answer's tokens cannot be cut out", where="model")
    suffix = conversation[len(prompt):]
    closing = suffix.rfind(end_of_turn)
    # A template that writes no end-of-turn token gets the one generation stops at (the EOS token).
    answer = suffix if closing < 0 else suffix[:closing]
    if reply.strip() and not answer.strip():
        raise HarnessError(f"example {example_id!r}: the chat template drops the reference answer when it renders "
                           "the conversation", where="model")
    return answer + end_of_turn if include_end_of_turn else answer


def _after(rendered: str, prefix: str) -> str:
    """`rendered` without `prefix`, which the template was found to write first."""
    if not rendered.startswith(prefix):
        raise _cannot_cut()
    return rendered[len(prefix):]


def model_context(folder) -> int | None:
    """The model's context length from its config.json (max_position_embeddings), None where it names none."""
    from pathlib import Path

    try:
        config = json.loads((Path(folder) / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    value = config.get("max_position_embeddings") if isinstance(config, dict) else None
    return value if isinstance(value, int) and value > 0 else None


def check_context(renderer: PromptRenderer, train, eval_set, context: int | None, max_new_tokens: int,
                  max_length: int, variants=None) -> None:
    """Every sequence the run will give the model fits its context, checked before any model work: each
    eval prompt (the longest of the variants' prompts: default, without and with the suite's system prompt)
    with decoding.max_new_tokens after it,
    each eval prompt with its reference answer (scored for perplexity), and each training row as
    training.max_length cuts it. Raises InputErrors naming every example that does not fit."""
    from harness.data_files import raise_all
    from harness.tokens import encode_pair

    if context is None:
        return
    tokenizer, errors = renderer.tokenizer, []

    def longest(example) -> tuple[int, str]:
        prompts = ([renderer.for_variant(v, example.prompt) for v in variants] if variants else
                   [renderer.render(example.prompt, system=system) for system in (False, True)])
        lengths = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
        return max(lengths), prompts[lengths.index(max(lengths))]

    for example in eval_set.examples:
        tokens, prompt = longest(example)
        if tokens + max_new_tokens > context:
            errors.append(HarnessError(
                f"its prompt is {tokens} tokens; with decoding.max_new_tokens = {max_new_tokens} that is "
                f"{tokens + max_new_tokens}, over the model's context of {context} tokens; expected a shorter "
                "prompt or fewer new tokens", file=eval_set.source, where=f"example {example.id!r}"))
            continue
        scored = len(encode_pair(tokenizer, prompt, renderer.target(example.prompt, example.response,
                                                                    example.id)).input_ids)
        if scored > context:
            errors.append(HarnessError(
                f"its prompt and reference answer are {scored} tokens, over the model's context of {context} "
                "tokens, so the reference cannot be scored; expected a shorter prompt or reference",
                file=eval_set.source, where=f"example {example.id!r}"))
    if max_length > context:  # rows are cut at max_length; only a longer one can overflow the context
        for example in train.examples:
            prompt = renderer.render(example.prompt, system=False)  # training renders the user prompt alone
            total = len(encode_pair(tokenizer, prompt, renderer.target(example.prompt, example.response,
                                                                       example.id)).input_ids)
            if min(total, max_length) > context:
                errors.append(HarnessError(
                    f"it is {total} tokens, and training.max_length ({max_length}) is over the model's context of "
                    f"{context} tokens; expected training.max_length at most {context}, or a shorter example",
                    file=train.source, where=f"example {example.id!r}"))
    raise_all(errors)
