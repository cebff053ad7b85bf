"""Reading a suite file: YAML within limits, and each validation error as one line naming the file, the YAML
line, the field and what was expected (the schema is harness/suite.py)."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from harness.errors import HarnessError
from harness.limits import LimitError, load_yaml, read_bounded


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        text = read_bounded(path, "suite")
    except FileNotFoundError:
        raise HarnessError("suite file not found", file=path) from None
    except LimitError as exc:
        raise HarnessError(str(exc), file=path) from None
    except UnicodeDecodeError as exc:
        raise HarnessError(f"cannot read suite file: {exc}; expected UTF-8 text", file=path) from None
    except OSError as exc:
        raise HarnessError(f"cannot read suite file: {exc.strerror or exc}", file=path) from None
    try:
        return load_yaml(text)
    except LimitError as exc:
        raise HarnessError(f"invalid YAML: {exc}", file=path, where=str(exc.line) if exc.line else None) from None
    except yaml.reader.ReaderError as exc:  # a control character; its message would span two lines
        raise HarnessError(f"invalid YAML: character #x{exc.character:04x} ({exc.reason}); expected "
                           "printable text", file=path, where=str(text.count("\n", 0, exc.position) + 1)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}" if mark else None
        said = " ".join(filter(None, (getattr(exc, "context", None), getattr(exc, "problem", None)))) or str(exc)
        raise HarnessError(f"invalid YAML: {said}", file=path, where=where) from None


def error_line(path: Path, root: yaml.Node | None, err: dict, model: type[BaseModel],
               overrides: dict[str, Any] | None = None) -> HarnessError:
    """One validation error of `model` as one line: the file, the YAML line, the field, what was expected."""
    tagged = list(err["loc"])
    loc = [part for part in tagged if isinstance(part, int) or not _is_pydantic_tag(part)]
    field = ".".join(str(part) for part in loc) or "(top level)"
    overridden = next((key for key in overrides or {}
                       if field == key or field.startswith(key + ".") or key.startswith(field + ".")), None)
    line = None if overridden else yaml_line(root, loc)  # an overridden value is not on any line of the file
    kind = err["type"]
    if kind == "extra_forbidden":
        message = f"{field}: unknown key; expected one of: {allowed_keys(model, tagged[:-1])}"
    elif kind == "missing":
        message = f"{field}: required field is missing"
    else:
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {_short(repr(got))})"
        message = f"{field}: {err['msg'].removeprefix('Value error, ')}{shown}"
    if overrides:
        message += f" (set by a command-line option: {overridden})" if overridden else \
            " (with the command-line options applied)"
    return HarnessError(message, file=path, where=str(line) if line else None)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit - 15]}... ({len(text):,} characters)"


def _is_pydantic_tag(part: str) -> bool:
    """pydantic inserts union-member tags such as "list[str]" into error locations; they are not fields."""
    return "[" in part


def yaml_line(root: yaml.Node | None, loc: list) -> int | None:
    """The line of the deepest YAML node that the error location reaches."""
    node, line = root, (root.start_mark.line + 1 if root else None)
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def allowed_keys(model: type[BaseModel], loc: list) -> str:
    """The keys a mapping at `loc` may hold: walks the schema through nested models, lists, maps (a map's
    key is a name, skipped) and unions (the member that has the next field)."""
    candidates, skip_key = [model], False
    for part in loc:
        if isinstance(part, int):
            continue
        if skip_key:
            skip_key = False
            continue
        if _is_pydantic_tag(part):  # a union's member, named in brackets (harness/suite.py)
            candidates = [m for m in candidates if f"[{m.__name__}]" in part] or candidates
            continue
        infos = [m.model_fields[part] for m in candidates if part in m.model_fields]
        if not infos:
            return "(none)"
        candidates = _models(infos[0].annotation)
        skip_key = _is_map(infos[0].annotation)
        if not candidates:
            return "(none)"
    return ", ".join(candidates[0].model_fields)


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation can hold, through Annotated, unions, lists and map values."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        return _models(args[0])
    if typing.get_origin(annotation) is dict:
        return _models(args[1])
    return [model for arg in args for model in _models(arg)]


def _is_map(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        return _is_map(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) is dict:
        return True
    return any(_is_map(arg) for arg in typing.get_args(annotation) if arg is not type(None))
