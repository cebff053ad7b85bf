"""The building blocks of the suite's fields: bounded numbers, non-blank text, names, and the strict base
every section of a suite is (unknown keys refused, values frozen). harness/suite.py declares the suite with
them; harness/suite_panels.py the panels."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _not_a_bool(value: Any) -> Any:
    if isinstance(value, bool):  # pydantic would read true as 1
        raise ValueError("expected a number, not true or false")
    return value


def whole(low: int, high: int) -> Any:
    """An int field bounded on both sides: every number a suite sets has a sane range (README, "Suites")."""
    return Annotated[int, BeforeValidator(_not_a_bool), Field(ge=low, le=high)]


def real(*, gt: float | None = None, ge: float | None = None, lt: float | None = None,
         le: float | None = None) -> Any:
    """A finite float field (no .nan, no .inf) bounded on both sides."""
    return Annotated[float, BeforeValidator(_not_a_bool), Field(gt=gt, ge=ge, lt=lt, le=le, allow_inf_nan=False)]


def not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("expected text, got an empty or blank string")
    return text


SEED = whole(0, 2**32 - 1)  # numpy's seed range
BATCH = whole(1, 4096)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# A variant, prompt or adapter name: what gates and reports write (`r8+system.words.median <= 40`).
NAME = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_+-]*$", max_length=48)]
ADAPTER_NAME = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_+-]*$", max_length=40)]  # X+system stays a NAME
