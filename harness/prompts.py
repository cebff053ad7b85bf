"""Rendering each variant's prompt through the model's own chat template.

Variants: `base` (user prompt only), `system` (suite system prompt + user), `sft` (adapter, user only),
`sft+system` (adapter, both). Some templates insert a default system prompt when the conversation has
none (Qwen2.5: "You are Qwen, created by Alibaba Cloud..."). `detect_template` finds that by rendering
probe conversations, and `PromptRenderer` handles it as the suite says: `no_system` cuts the injected
system turn out, `template_default` keeps it. Either way the exact rendered prompts are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import HarnessError

USER_PROBE = "HARNESS-USER-PROBE-7f3a"
SYSTEM_PROBE = "HARNESS-SYSTEM-PROBE-91c2"
REPLY_PROBE = "HARNESS-REPLY-PROBE-c4d1"


@dataclass(frozen=True)
class Variant:
    name: str
    adapter: bool
    system: bool


VARIANTS = (
    Variant("base", adapter=False, system=False),
    Variant("system", adapter=False, system=True),
    Variant("sft", adapter=True, system=False),
    Variant("sft+system", adapter=True, system=True),
)
VARIANT_NAMES = tuple(v.name for v in VARIANTS)


@dataclass(frozen=True)
class TemplateFacts:
    """What probing the chat template found."""

    default_system: str | None  # the injected system prompt, or None when the template adds none
    system_turn_end: int  # offset in a user-only rendering where the user turn starts (if injected)
    lead: str  # text before the first turn (e.g. a BOS string) kept when the system turn is cut
    end_of_turn: str  # the token that closes an assistant turn


def _render(tokenizer, messages: list[dict], generation_prompt: bool = True) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def detect_template(tokenizer) -> TemplateFacts:
    user_only = _render(tokenizer, [{"role": "user", "content": USER_PROBE}])
    try:
        with_system = _render(tokenizer, [{"role": "system", "content": SYSTEM_PROBE},
                                          {"role": "user", "content": USER_PROBE}])
    except Exception as exc:  # templates raise their own exception types for unsupported roles
        raise HarnessError(f"the model's chat template rejects a system message ({exc}); the system "
                           "variants need one", where="model") from None
    if SYSTEM_PROBE not in with_system:
        raise HarnessError("the model's chat template drops the system message; the system variants need one",
                           where="model")
    at = with_system.index(SYSTEM_PROBE)
    before, after = with_system[:at], with_system[at + len(SYSTEM_PROBE):]
    end_of_turn = _end_of_turn(tokenizer)
    injected = user_only.startswith(before) and user_only.endswith(after) and before.strip() != ""
    if not injected:
        return TemplateFacts(None, 0, "", end_of_turn)
    default = user_only[len(before): len(user_only) - len(after)]
    between = after[: after.index(USER_PROBE)]
    lead, user_start = _user_turn_start(tokenizer, before, between)
    return TemplateFacts(default, len(before) + len(default) + user_start, lead, end_of_turn)


def _user_turn_start(tokenizer, before_system: str, between: str) -> tuple[str, int]:
    """Where the user turn begins after the system turn: the same turn-opening marker, role 'user'."""
    role_at = before_system.rfind("system")
    specials = [t for t in _special_strings(tokenizer) if t in before_system[:role_at]]
    opener = max(specials, key=lambda t: before_system.rfind(t, 0, role_at), default=None)
    if role_at < 0 or opener is None:
        raise _cannot_strip()
    opener_at = before_system.rfind(opener, 0, role_at)
    marker = before_system[opener_at:role_at] + "user"
    user_start = between.rfind(marker)
    if user_start < 0:
        raise _cannot_strip()
    return before_system[:opener_at], user_start


def _cannot_strip() -> HarnessError:
    return HarnessError("the chat template inserts a default system prompt that the harness cannot cut out "
                        "automatically; set base_prompt: template_default to keep it", where="base_prompt")


def _special_strings(tokenizer) -> list[str]:
    added = [t.content for t in tokenizer.added_tokens_decoder.values()]
    return sorted(set(added) | set(tokenizer.all_special_tokens), key=len, reverse=True)


def _end_of_turn(tokenizer) -> str:
    """The special token the template writes right after an assistant reply."""
    rendered = _render(tokenizer, [{"role": "user", "content": USER_PROBE},
                                   {"role": "assistant", "content": REPLY_PROBE}], generation_prompt=False)
    suffix = rendered[rendered.index(REPLY_PROBE) + len(REPLY_PROBE):].lstrip(" ")
    token = next((t for t in _special_strings(tokenizer) if suffix.startswith(t)), None)
    if token is None:
        if tokenizer.eos_token is None:
            raise HarnessError("cannot find the end-of-turn token of the chat template", where="model")
        token = tokenizer.eos_token
    return token


class PromptRenderer:
    """Renders user prompts for each variant; the same function feeds training and evaluation."""

    def __init__(self, tokenizer, system_prompt: str, base_prompt: str):
        self.tokenizer = tokenizer
        self.system_prompt = system_prompt
        self.base_prompt = base_prompt
        self.facts = detect_template(tokenizer)

    def render(self, user: str, system: bool) -> str:
        if system:
            return _render(self.tokenizer, [{"role": "system", "content": self.system_prompt},
                                            {"role": "user", "content": user}])
        rendered = _render(self.tokenizer, [{"role": "user", "content": user}])
        if self.facts.default_system is None or self.base_prompt == "template_default":
            return rendered
        return self.facts.lead + rendered[self.facts.system_turn_end:]

    def for_variant(self, variant: Variant, user: str) -> str:
        return self.render(user, variant.system)

    def describe(self) -> dict:
        """Recorded in the manifest: what the template does and how the harness handled it."""
        return {
            "template_default_system_prompt": self.facts.default_system,
            "base_prompt_policy": self.base_prompt,
            "end_of_turn": self.facts.end_of_turn,
            "example": {v.name: self.for_variant(v, "{prompt}") for v in VARIANTS},
        }
