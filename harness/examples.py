"""Examples: turn the train and eval rows (local files or a `datasets` id) into typed examples.

Three row shapes: prompt/response; instruction/input/output (input joined after a blank line); and
TRL-style `messages` (one user turn, then one assistant turn). A `fields` mapping in the suite names other
columns. Rows of a local file may hold only the keys of their shape plus `id`, `task`, `split` and `rules`, so that a
typo (`rule`, `respnse`) is an error rather than data silently dropped; a `datasets` source may carry other
columns, which are ignored. Every problem names the file, the line or row, and the field.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from harness.data_files import Row, local_kind, one_line, raise_all, read_rows, without_nulls
from harness.errors import HarnessError
from harness.files import sha256_json
from harness.suite import DataSource, FieldMap, Suite

# A sanity bound on one text while loading; whether a prompt fits the model's context is checked later,
# against the model, and no model this harness targets comes near this many characters.
MAX_TEXT_CHARS = 1_000_000
ROLES = ("system", "user", "assistant")


class Example(BaseModel):
    """One instruction and its reference answer, as the model's user turn sees it."""

    model_config = ConfigDict(frozen=True)
    id: str
    prompt: str
    response: str
    rules: list[dict[str, Any]] = []
    task: str | None = None
    split: str | None = None  # a named eval split (e.g. shifted); None: marked by harness/splits.py


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
    """The split's examples; raises HarnessError / InputErrors naming every bad row."""
    source: DataSource = getattr(suite.data, split)
    if source.path is not None:
        if source.subset is not None:
            raise HarnessError(f"data.{split}.subset: applies only to a 'dataset:' source; a local 'path:' has "
                               "no subsets", file=suite.path)
        path = suite.resolve(source.path)
        json_columns = frozenset({source.fields.rules or "rules", "messages"})
        rows, label, strict = read_rows(path, source.split, json_columns), str(path), True
    else:
        rows, label, strict = _read_dataset(suite, source, split), f"{source.dataset}[{source.split}]", False
    if not rows:
        raise HarnessError("no rows; expected at least one example", file=label)
    if source.limit is not None:
        rows = rows[: source.limit]
    examples = _to_examples(rows, source, split, label, strict)
    return ExampleSet(split=split, source=label, examples=examples)


def _read_dataset(suite: Suite, source: DataSource, split: str) -> list[Row]:
    import datasets

    local = suite.resolve(source.dataset)
    kind = local_kind(local)
    if kind in ("file", "save_to_disk"):
        what = "a single file" if kind == "file" else "a save_to_disk folder"
        raise HarnessError(f"data.{split}.dataset: {source.dataset!r} is {what}; give it as 'path:' ('dataset:' "
                           "takes a hub id or a folder of data files)", file=suite.path)
    name = str(local) if kind else source.dataset
    try:
        loaded = datasets.load_dataset(name, source.subset, split=source.split)
    except Exception as exc:  # datasets raises many types; all mean "cannot load this source"
        raise HarnessError(f"cannot load dataset {source.dataset!r} split {source.split!r}: {one_line(exc)}",
                           file=suite.path, where=f"data ({source.dataset})") from None
    return [(f"row {index}", without_nulls(dict(row))) for index, row in enumerate(loaded)]


def _to_examples(rows: list[Row], source: DataSource, split: str, label: str, strict: bool) -> list[Example]:
    examples, errors, seen = [], [], {}
    for where, row in rows:
        try:
            example = _row_to_example(row, source.fields, strict,
                                      default_id=f"{split}-{len(examples) + len(errors) + 1:05d}")
        except ValueError as exc:
            errors.append(HarnessError(str(exc), file=label, where=where))
            continue
        if example.id in seen:
            errors.append(HarnessError(f"duplicate id {example.id!r} (first at {seen[example.id]})",
                                       file=label, where=where))
            continue
        seen[example.id] = where
        examples.append(example)
    raise_all(errors)
    return examples


@dataclass(frozen=True)
class _Shape:
    """Which keys of a row hold the prompt, an optional input and the response; or a `messages` list."""

    prompt: str = ""
    response: str = ""
    input: str | None = None
    messages: str | None = None

    def key_names(self) -> list[str]:
        return [key for key in (self.messages, self.prompt, self.input, self.response) if key]


PROMPT_RESPONSE = _Shape(prompt="prompt", response="response")
INSTRUCTION = _Shape(prompt="instruction", input="input", response="output")
MESSAGES = _Shape(messages="messages")
SHAPES = (MESSAGES, PROMPT_RESPONSE, INSTRUCTION)
SHAPES_EXPECTED = "expected keys 'prompt' and 'response', or 'instruction' and 'output', or 'messages'"


def _shape(row: dict, fields: FieldMap) -> _Shape:
    if fields.prompt or fields.response:
        return _Shape(prompt=fields.prompt or "prompt", response=fields.response or "response", input=fields.input)
    # the shape with most of its keys in the row (ties: the order below), so that a stray key is named as such
    shape = max(SHAPES, key=lambda candidate: sum(key in row for key in candidate.key_names()))
    if any(key in row for key in shape.key_names()):
        return shape
    known = [key for candidate in SHAPES for key in candidate.key_names()]
    raise ValueError(f"{SHAPES_EXPECTED}; got {sorted(row)}{_did_you_mean(sorted(row), known)}")


def _row_to_example(row: dict, fields: FieldMap, strict: bool, default_id: str) -> Example:
    shape = _shape(row, fields)
    id_key, rules_key, split_key = fields.id or "id", fields.rules or "rules", fields.split or "split"
    if strict:
        _refuse_unknown_keys(row, shape.key_names() + [id_key, "task", rules_key, split_key])
    if shape.messages:
        prompt, response = _from_messages(row[shape.messages])
    else:
        prompt = _text(row, shape.prompt, required=True)
        extra = _text(row, shape.input, required=False) if shape.input else ""
        prompt = f"{prompt}\n\n{extra}" if extra.strip() else prompt
        response = _text(row, shape.response, required=True)
    task, split = _label(row, "task"), _label(row, split_key)
    return Example(id=_example_id(row.get(id_key), id_key, default_id), prompt=prompt, response=response,
                   rules=_rules(row.get(rules_key), rules_key), task=task, split=split)


def _label(row: dict, key: str) -> str | None:
    """A row's `task` or `split`: a name, or absent."""
    value = row.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError(f"field {key!r}: expected a non-empty string, got {value!r}")
    return value


def _refuse_unknown_keys(row: dict, allowed: list[str]) -> None:
    unknown = [key for key in row if key not in allowed]
    if unknown:
        names = ", ".join(repr(key) for key in unknown)
        raise ValueError(f"unknown key{'s' if len(unknown) > 1 else ''} {names}{_did_you_mean(unknown, allowed)}; "
                         f"expected only: {', '.join(allowed)}")


def _did_you_mean(keys: list[str], known: list[str]) -> str:
    close = [match[0] for key in keys if (match := difflib.get_close_matches(str(key), known, n=1))]
    return f" (did you mean {', '.join(repr(name) for name in close)}?)" if close else ""


def _text(row: dict, key: str, required: bool, name: str | None = None) -> str:
    name = name or f"field {key!r}"
    value = row.get(key)
    if value is None or value == "":
        if required:
            raise ValueError(f"{name} is missing or empty; expected a non-empty string")
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected a string, got {type(value).__name__}")
    if required and not value.strip():
        raise ValueError(f"{name} is blank (whitespace only); expected a non-empty string")
    if len(value) > MAX_TEXT_CHARS:
        raise ValueError(f"{name}: {len(value):,} characters; expected at most {MAX_TEXT_CHARS:,}")
    return value


def _example_id(value: Any, key: str, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"field {key!r}: expected a string or an integer, got {type(value).__name__}")
    if not str(value).strip():
        raise ValueError(f"field {key!r} is blank; expected a non-empty id, or leave the key out")
    return str(value)


def _rules(value: Any, key: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(rule, dict) and "check" in rule for rule in value):
        raise ValueError(f"field {key!r}: expected a list of objects, each with a 'check' key")
    return value


def _from_messages(value: Any) -> tuple[str, str]:
    """A TRL-style conversation as (prompt, reference answer): exactly one user turn, then one assistant turn.

    An example holds one prompt and its answer, so a longer conversation cannot be mapped without dropping
    the turns the last question depends on; and the system prompt is the suite's, the thing being compared.
    """
    if not isinstance(value, list) or not value:
        raise ValueError("field 'messages': expected a non-empty list of {role, content} objects")
    for index, turn in enumerate(value):
        if not isinstance(turn, dict):
            raise ValueError(f"messages[{index}]: expected an object with 'role' and 'content', "
                             f"got {type(turn).__name__}")
        if set(turn) - {"role", "content"}:
            raise ValueError(f"messages[{index}]: unknown keys {sorted(set(turn) - {'role', 'content'})}; "
                             "expected only 'role' and 'content'")
        if turn.get("role") not in ROLES:
            raise ValueError(f"messages[{index}].role: expected one of {', '.join(ROLES)}, got {turn.get('role')!r}")
    roles = [turn["role"] for turn in value]
    if "system" in roles:
        raise ValueError(f"messages[{roles.index('system')}]: a system turn is not accepted in data; the suite's "
                         "system_prompt is what the system variants add, so remove it from the rows")
    if roles != ["user", "assistant"]:
        raise ValueError(f"messages: turns {', '.join(roles)}; expected exactly one user turn, then one assistant "
                         "turn (an example is one prompt and its reference answer; multi-turn conversations "
                         "cannot be mapped)")
    return (_text(value[0], "content", required=True, name="messages[0].content"),
            _text(value[1], "content", required=True, name="messages[1].content"))
