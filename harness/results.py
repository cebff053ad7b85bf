"""The run's results as typed records: what results.json holds, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from harness.compare import BehaviourVerdict, Comparison
from harness.errors import HarnessError
from harness.files import write_text_atomic
from harness.gates import GateReport
from harness.generation import Output
from harness.scoring import PromptTax, Scores, VariantSummary

SCHEMA_VERSION = "1.2"  # 1.2: comparisons carry their family (primary/secondary), its size and a note


class VariantResult(BaseModel):
    prompt: str  # the exact rendered prompt this variant saw
    prompt_tokens: int
    output: Output
    scores: Scores


class ExampleResult(BaseModel):
    id: str
    task: str | None
    prompt: str
    reference: str
    variants: dict[str, VariantResult]


class Results(BaseModel):
    schema_version: str = SCHEMA_VERSION
    suite: str
    smoke: bool
    notice: str | None
    profile: str | None = None  # a named profile (e.g. "quick") that shrank the suite's settings
    profile_note: str | None = None  # what the profile changed, in words
    variants: list[str]
    summary: dict[str, VariantSummary]
    verdict: list[BehaviourVerdict]  # did SFT beat the system prompt, per behaviour
    comparisons: list[Comparison]  # every variant pair x metric; Holm within the primary family only
    prompt_tax: PromptTax
    examples: list[ExampleResult]
    manifest: dict
    stage_seconds: dict[str, float]
    gate: GateReport | None = None  # set by `harness check` / `harness run --gate`


def write_results(results: Results, run_dir: Path) -> Path:
    path = run_dir / "results.json"
    write_text_atomic(path, results.model_dump_json(indent=2) + "\n")
    return path


def read_results(run_dir: Path) -> Results:
    path = Path(run_dir) / "results.json"
    if not path.is_file():
        raise HarnessError("no results.json; expected a run folder written by `harness run`", file=run_dir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HarnessError(f"invalid JSON: {exc.msg}", file=path, where=str(exc.lineno)) from None
    if raw.get("schema_version", "").split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise HarnessError(f"schema_version {raw.get('schema_version')!r}; expected {SCHEMA_VERSION}", file=path)
    return Results.model_validate(raw)
