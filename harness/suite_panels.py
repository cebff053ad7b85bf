"""The suite's `panels:` section: the seed's claims, each an opt-in measurement (harness/panels.py,
harness/canary.py; README, "Panels")."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from harness.suite_fields import NAME, Strict, not_blank, whole


class Persistence(Strict):
    """The eval prompts asked as turn N of a conversation of neutral exchanges (harness/panels.py)."""

    turns: Annotated[list[whole(1, 16)], Field(min_length=1, max_length=8)] = [1, 3, 6]


class Truncation(Strict):
    """The `turns`-deep conversation, left-truncated to each token budget as a serving stack does."""

    budgets: Annotated[list[whole(16, 131_072)], Field(min_length=1, max_length=8)] = [512, 256, 128]
    turns: whole(2, 16) = 6


class Sensitivity(Strict):
    """Each phrasing of the system prompt, on the base model and on each adapter."""

    prompts: Annotated[list[NAME], Field(min_length=2, max_length=16)]  # "system" or names from `prompts:`


class Canary(Strict):
    """What the adapter may have damaged: general-text perplexity and short factual QA (harness/canary.py)."""

    passages: whole(1, 100_000) | None = None  # the first N shipped passages; None: all
    questions: whole(1, 100_000) | None = None  # the first N shipped questions; None: all
    max_new_tokens: whole(1, 512) = 24


class Panels(Strict):
    """The seed's claims, each an opt-in measurement over the suite's variants (README, "Panels")."""

    persistence: Persistence | None = None
    truncation: Truncation | None = None
    sensitivity: Sensitivity | None = None
    canary: Canary | None = None
    # JSONL of {user, assistant} rows: the earlier turns of persistence and truncation; None: built in
    exchanges: Annotated[str, AfterValidator(not_blank)] | None = None

    def declared(self) -> list[str]:
        """The panels this suite runs, in their order here."""
        return [name for name in type(self).model_fields if name != "exchanges" and getattr(self, name) is not None]
