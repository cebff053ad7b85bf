"""Text made safe for Markdown: what a suite, a gate or a model wrote shows as text, never as markup.

The gate summary and the model card carry user text (suite names, gate expressions, system prompts,
model names). Each goes through one of these, chosen by where it lands: running text, a code span, or a
fenced block.
"""

from __future__ import annotations

import re

# Characters that start Markdown or HTML constructs anywhere in a line; a backslash makes each literal
# (CommonMark lets any ASCII punctuation be escaped). `&` too, so "&lt;" shows as typed.
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&!])")


def text(value: object) -> str:
    """Running text on one line: markup characters escaped, line breaks folded into spaces."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).splitlines()))


def code_span(value: object, cell: bool = False) -> str:
    """A code span that no backtick inside the text can close early; in a table `cell`, `|` is escaped."""
    body = " ".join(str(value).splitlines())
    body = body.replace("|", "\\|") if cell else body
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", body)), default=0) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
    return f"{ticks}{pad}{body}{pad}{ticks}"


def fenced(value: object, language: str = "") -> str:
    """A fenced block longer than any backtick run in the text, so the text cannot end it."""
    body = str(value)
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", body)), default=0) + 1)
    return f"{fence}{language}\n{body}\n{fence}"
