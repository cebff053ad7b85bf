"""Errors a user can cause. The CLI prints each as one line and exits 2, never with a traceback."""

from __future__ import annotations

from pathlib import Path


class HarnessError(Exception):
    """Bad input: names where (file, field or line) and what was expected."""

    def __init__(self, message: str, *, file: str | Path | None = None, where: str | None = None):
        self.file = str(file) if file is not None else None
        self.where = where
        self.message = message
        super().__init__(self.line())

    def line(self) -> str:
        location = ":".join(part for part in (self.file, self.where) if part)
        return f"{location}: {self.message}" if location else self.message


class InputErrors(HarnessError):
    """Several independent problems found in one pass (e.g. every bad row of a data file)."""

    def __init__(self, errors: list[HarnessError]):
        self.errors = errors
        super().__init__("\n".join(e.line() for e in errors))

    def lines(self) -> list[str]:
        return [e.line() for e in self.errors]
