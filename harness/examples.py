"""Examples: load the train and eval sets from local JSONL or a `datasets` id, in either common shape.

Shapes accepted per row: prompt/response, or instruction/input/output (input joined after a blank line).
A `fields` mapping in the suite names other columns. Every malformed row is reported with its line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from harness.errors import HarnessError, InputErrors
from harness.files import sha256_json
from harness.suite import DataSource, Suite

MAX_REPORTED_ROWS = 20


class Example(BaseModel):
    """One instruction and its reference answer, as the model's user turn sees it."""

    model_config = ConfigDict(frozen=True)
    id: str
    prompt: str
    response: str
    rules: list[dict[str, Any]] = []
    task: str | None = None


class ExampleSet(BaseModel):
    model_config = ConfigDict(frozen=True)
    split: str
    source: str
    examples: list[Example]

    @property
    def content_hash(self) -> str:
        """Keyed by the examples' content only, never by where they came from."""
        return sha256_json([e.model_dump(mode="json") for e in self.examples])


def load_examples(suite: Suite, split: str) -> ExampleSet:
    source: DataSource = getattr(suite.data, split)
    if source.path is not None:
        path = suite.resolve(source.path)
        rows = _read_jsonl(path)
        label = str(path)
    else:
        rows = _read_dataset(suite, source)
        label = f"{source.dataset}[{source.split}]"
    if source.limit is not None:
        rows = rows[: source.limit]
    examples = _to_examples(rows, source, split, label)
    if not examples:
        raise HarnessError("no examples; expected at least one row", file=label)
    return ExampleSet(split=split, source=label, examples=examples)


def _read_jsonl(path: Path) -> list[tuple[str, dict]]:
    """Rows with their location ('line N'); every unparsable line becomes its own error line."""
    if not path.is_file():
        raise HarnessError("data file not found; expected a JSONL file (one JSON object per line)", file=path)
    rows, errors = [], []
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                errors.append(HarnessError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=path,
                                           where=str(number)))
                continue
            if not isinstance(row, dict):
                errors.append(HarnessError(f"expected a JSON object, got {type(row).__name__}", file=path,
                                           where=str(number)))
                continue
            rows.append((str(number), row))
    _raise_all(errors)
    return rows


def _read_dataset(suite: Suite, source: DataSource) -> list[tuple[str, dict]]:
    import datasets

    local = suite.resolve(source.dataset)
    name = str(local) if local.exists() else source.dataset
    try:
        loaded = datasets.load_dataset(name, source.subset, split=source.split)
    except Exception as exc:  # datasets raises many types; all mean "cannot load this source"
        raise HarnessError(f"cannot load dataset {source.dataset!r} split {source.split!r}: {exc}",
                           file=suite.path, where=f"data ({source.dataset})") from None
    return [(f"row {index}", dict(row)) for index, row in enumerate(loaded)]


def _to_examples(rows: list[tuple[str, dict]], source: DataSource, split: str, label: str) -> list[Example]:
    examples, errors, seen = [], [], {}
    for where, row in rows:
        try:
            example = _row_to_example(row, source, default_id=f"{split}-{len(examples) + len(errors) + 1:05d}")
        except ValueError as exc:
            errors.append(HarnessError(str(exc), file=label, where=where))
            continue
        if example.id in seen:
            errors.append(HarnessError(f"duplicate id {example.id!r} (first at {seen[example.id]})",
                                       file=label, where=where))
            continue
        seen[example.id] = where
        examples.append(example)
    _raise_all(errors)
    return examples


def _row_to_example(row: dict, source: DataSource, default_id: str) -> Example:
    fields = source.fields
    if fields.prompt or fields.response:
        prompt_key, response_key, input_key = fields.prompt or "prompt", fields.response or "response", fields.input
    elif "prompt" in row or "response" in row:
        prompt_key, response_key, input_key = "prompt", "response", None
    elif "instruction" in row or "output" in row:
        prompt_key, response_key, input_key = "instruction", "output", "input"
    else:
        raise ValueError(f"expected keys 'prompt' and 'response', or 'instruction' and 'output'; "
                         f"got {sorted(row)}")
    prompt = _text(row, prompt_key, required=True)
    extra = _text(row, input_key, required=False) if input_key else ""
    response = _text(row, response_key, required=True)
    rules = row.get(fields.rules or "rules") or []
    if not isinstance(rules, list) or not all(isinstance(rule, dict) and "check" in rule for rule in rules):
        raise ValueError("field 'rules': expected a list of objects, each with a 'check' key")
    raw_id = row.get(fields.id or "id")
    task = row.get("task")
    return Example(
        id=str(raw_id) if raw_id is not None else default_id,
        prompt=f"{prompt}\n\n{extra}" if extra.strip() else prompt,
        response=response,
        rules=rules,
        task=str(task) if task is not None else None,
    )


def _text(row: dict, key: str, required: bool) -> str:
    value = row.get(key)
    if value is None or value == "":
        if required:
            raise ValueError(f"field {key!r} is missing or empty; expected a non-empty string")
        return ""
    if not isinstance(value, str):
        raise ValueError(f"field {key!r}: expected a string, got {type(value).__name__}")
    return value


def _raise_all(errors: list[HarnessError]) -> None:
    if errors:
        shown = errors[:MAX_REPORTED_ROWS]
        if len(errors) > len(shown):
            shown.append(HarnessError(f"... and {len(errors) - len(shown)} more rows with errors"))
        raise InputErrors(shown)
