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


MINIMAL_SUITE = """\
name: tiny
model: Qwen/Qwen2.5-0.5B-Instruct
system_prompt: Answer briefly.
data:
  train: {path: train.jsonl}
  eval: {path: eval.jsonl}
"""
