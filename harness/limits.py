"""Bounds on what a suite or an output can make the harness do: YAML size and alias expansion, regex time,
JSON nesting. Every limit is a named constant here, so the docs and the errors quote the same numbers.

A suite is untrusted text: a YAML alias bomb, a catastrophic regex or an answer nested a thousand deep must
end in one clear line (or one failed check), never in exhausted memory, a hang or a RecursionError.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import regex
import yaml

MAX_INPUT_BYTES = 1 << 20  # a suite, lexicon or JSON Schema file: 1 MiB is far beyond any real one
MAX_YAML_NODES = 100_000  # scalars, lists and mappings, counted with every alias expanded
MAX_YAML_DEPTH = 64  # nesting, with aliases expanded
MAX_YAML_ALIASES = 100
REGEX_SECONDS = 1.0  # per match of one user regex on one output
MAX_JSON_DEPTH = 64  # nesting of an answer that the JSON checks parse


class LimitError(ValueError):
    """Input beyond a bound, or malformed in a way the parser would not report clearly; `line` is 1-based."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def read_bounded(path: Path, what: str) -> str:
    """A UTF-8 text file of at most MAX_INPUT_BYTES. OSError and UnicodeDecodeError pass to the caller."""
    if path.is_dir():
        raise LimitError(f"is a directory; expected a {what} file")
    with path.open("rb") as handle:
        data = handle.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise LimitError(f"{what} file is over {MAX_INPUT_BYTES // 1024} KiB; expected a small text file")
    return data.decode("utf-8")


# YAML ---------------------------------------------------------------------------------------------------------


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, deep nesting and more than MAX_YAML_ALIASES aliases."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                mark = self.peek_event().start_mark
                raise LimitError(f"more than {MAX_YAML_ALIASES} aliases (*name); expected plain YAML",
                                 mark.line + 1)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise LimitError(f"nested over {MAX_YAML_DEPTH} levels deep", self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen: dict[str, int] = {}
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                line = key.start_mark.line + 1
                if key.value in seen:
                    raise LimitError(f"duplicate key {key.value!r} (first at line {seen[key.value]}); "
                                     "expected each key once", line)
                seen[key.value] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> tuple[object, yaml.Node | None]:
    """The document and its node tree (for line numbers). Raises LimitError or yaml.YAMLError."""
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_expansion(root)
        return loader.construct_document(root), root
    finally:
        loader.dispose()


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Size and depth of the tree with every alias expanded, without expanding it (a billion-laughs file
    is a few lines whose aliases expand to 10^9 nodes). Iterative, so a long chain of aliases cannot
    exhaust the stack; a node that contains itself is refused."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            children = _children(node)
            size[key] = 1 + sum(size[id(child)] for child in children)
            depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
            open_nodes.discard(key)
            line = node.start_mark.line + 1
            if size[key] > MAX_YAML_NODES:
                raise LimitError(f"expands to over {MAX_YAML_NODES:,} values (aliases counted in full)", line)
            if depth[key] > MAX_YAML_DEPTH:
                raise LimitError(f"nested over {MAX_YAML_DEPTH} levels deep (aliases expanded)", line)
            continue
        if key in size:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise LimitError("an alias refers to a value that contains it; expected a finite tree",
                                 node.start_mark.line + 1)
            if id(child) not in size:
                stack.append((child, False))


# Regexes ------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def compile_regex(pattern: str, ignore_case: bool = False) -> regex.Pattern:
    """A user's pattern, compiled by the `regex` package (which can stop a match); raises regex.error."""
    return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)


def search(pattern: regex.Pattern, text: str, *, full: bool = False) -> regex.Match | None:
    """One match, stopped after REGEX_SECONDS with TimeoutError (catastrophic backtracking)."""
    if full:
        return pattern.fullmatch(text, timeout=REGEX_SECONDS)
    return pattern.search(text, timeout=REGEX_SECONDS)


# JSON ---------------------------------------------------------------------------------------------------------

_JSON_TOKEN = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


def json_depth(text: str) -> int:
    """How deep the brackets of a JSON text nest, outside strings; linear, and no parser recursion."""
    depth = deepest = 0
    in_string = False
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token == '"':
            in_string = not in_string
        elif in_string or len(token) == 2:
            continue  # a bracket inside a string, or an escape
        elif token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def check_json_depth(text: str) -> None:
    """Raise LimitError when `text` nests deeper than MAX_JSON_DEPTH (json.loads would recurse into it)."""
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise LimitError(f"JSON nested {depth} levels deep; at most {MAX_JSON_DEPTH} are read")
