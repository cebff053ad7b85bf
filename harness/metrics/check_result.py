"""What every format check returns, and the error for a rule that cannot run."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class CheckResult(BaseModel):
    passed: bool
    value: Any = None
    reason: str


class RuleError(ValueError):
    """A rule whose check is unknown or whose parameters are wrong."""
