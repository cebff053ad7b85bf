"""The run's results as typed records: what results.json holds (gate outcomes included), written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from harness.compare import BehaviourVerdict, Comparison
from harness.errors import HarnessError
from harness.files import write_text_atomic
from harness.generation import Output
from harness.scoring import PromptTax, Scores, VariantSummary

# 1.2: comparisons carry their family (primary/secondary), its size and a note. 1.3: the variant grid, the
# primary pairs, the command-line selection; verdict rows name their pair.
SCHEMA_VERSION = "1.3"
LEGACY_GRID = {"base": ("none", None), "system": ("system", None), "sft": ("none", "sft"),
               "sft+system": ("system", "sft")}


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


class VariantInfo(BaseModel):
    """A variant's place in the grid: its prompt arm and its adapter."""

    name: str
    arm: str  # "none", "system", a prompt name, "few-shot k=3"
    adapter: str | None  # None: the base model


class Selection(BaseModel):
    """What the command line narrowed: results compare (and gate against a baseline) only where these match."""

    variants: list[str] | None = None  # --variants; None: every variant of the suite
    limit: int | None = None  # --limit: the first N eval examples; None: all


class GateResult(BaseModel):
    gate: str
    kind: Literal["absolute", "relative", "paired", "baseline"]
    passed: bool
    measured: float | None
    bound: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    detail: str


class GateReport(BaseModel):
    passed: bool
    failed: int
    gates: list[GateResult]
    baseline: str | None = None
    forced: str | None = None


class Results(BaseModel):
    schema_version: str = SCHEMA_VERSION
    suite: str
    smoke: bool
    notice: str | None
    profile: str | None = None  # a named profile (e.g. "quick") that shrank the suite's settings
    profile_note: str | None = None  # what the profile changed, in words
    variants: list[str]
    grid: list[VariantInfo] | None = None  # None: a run before schema 1.3 (base, system, sft, sft+system)
    primary_pairs: list[tuple[str, str]] = [("sft", "system")]  # the verdict's comparisons, A against B
    selection: Selection = Selection()
    summary: dict[str, VariantSummary]
    verdict: list[BehaviourVerdict]  # per primary comparison and behaviour: did A beat B
    comparisons: list[Comparison]  # every variant pair x metric; Holm within the primary family only
    prompt_tax: PromptTax | None  # None where no variant pair measures it
    examples: list[ExampleResult]
    manifest: dict
    stage_seconds: dict[str, float]
    gate: GateReport | None = None  # set by `harness check` / `harness run --gate`


    def variant_grid(self) -> list[VariantInfo]:
        if self.grid is not None:
            return self.grid
        return [VariantInfo(name=n, arm=LEGACY_GRID.get(n, (n, None))[0], adapter=LEGACY_GRID.get(n, (n, None))[1])
                for n in self.variants]


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
