"""The run's results as typed records: what results.json holds (gate outcomes included), written atomically."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from harness.canary import CanaryResult
from harness.compare import BehaviourVerdict, Comparison
from harness.data_size import DataSizeResult
from harness.errors import HarnessError
from harness.files import write_text_atomic
from harness.generation import Output
from harness.panel_results import PanelResult
from harness.precision import QuantisationCheck
from harness.scoring import PromptTax, Scores, VariantSummary
from harness.splits import SplitBreakdown
from harness.tasks import TaskBreakdown

# 1.2: comparisons carry their family (primary/secondary), its size and a note. 1.3: the variant grid, the
# primary pairs, the command-line selection; verdict rows name their pair; the manifest is a typed record.
# 1.4: the breakdown by task. 1.5: the splits (distribution shift), the prompting panels and the canary.
# 1.6: each variant's precision, the quantisation check, held-out loss in the adapters' stats, the data-size curve.
# 1.7: the filler lexicon's record holds its phrases' sha256 and, for the built-in one, its measured accuracy.
SCHEMA_VERSION = "1.7"
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
    split: str | None = None  # in_distribution, shifted or the row's own (harness/splits.py); None before 1.5
    prompt: str
    reference: str
    variants: dict[str, VariantResult]


class VariantInfo(BaseModel):
    """A variant's place in the grid: its prompt arm and its adapter."""

    name: str
    arm: str  # "none", "system", a prompt name, "few-shot k=3"
    adapter: str | None  # None: the base model


@dataclass(frozen=True)
class Grid:
    """The variants as a table: prompt arms down, adapters across; a cell names its variant, or is absent."""

    arms: list[str]
    adapters: list[str]  # "base model" for variants without an adapter
    cells: dict[tuple[str, str], str]


def grid_of(variants: list[VariantInfo]) -> Grid:
    """The grid the report and the console show."""
    arms = list(dict.fromkeys(v.arm for v in variants))
    adapters = list(dict.fromkeys(v.adapter or "base model" for v in variants))
    return Grid(arms, adapters, {(v.arm, v.adapter or "base model"): v.name for v in variants})


class Selection(BaseModel):
    """What the command line narrowed: results compare (and gate against a baseline) only where these match."""

    variants: list[str] | None = None  # --variants; None: every variant of the suite
    limit: int | None = None  # --limit: the first N eval examples; None: all


class Record(BaseModel):
    """A manifest section: its fields are known; an unknown one is a damaged (or foreign) run folder."""

    model_config = ConfigDict(extra="forbid")


class SuiteRecord(Record):
    name: str
    file: str
    sha256: str
    settings: dict[str, Any]  # the suite as validated, every field with its value (harness/suite.py)


class ModelRecord(Record):
    name: str  # what the suite or --model named: a hub id, a folder, a GGUF alias or the smoke id
    revision: str | None
    weights_sha256: str
    tokenizer_sha256: str
    smoke: bool
    gguf: dict[str, Any] | None = None  # the GGUF file it was converted from: path, sha256, quantization


class ExternalRecord(Record):
    source: str  # the folder or hub id as given
    revision: str | None = None
    folder: str  # where it was read from


class AdapterRecord(Record):
    """One adapter of the run: trained by the suite (training settings and stats) or trained elsewhere."""

    key: str
    folder: str
    reused: bool
    adapter_sha256: str  # every adapter_* file, by name and bytes: part of every cache key that uses it
    stats: dict[str, Any] | None = None  # steps, loss curves, tokens per second ({} for an external adapter)
    data: dict[str, Any] | None = None  # the rows it learned from: trained_on, held_out, fraction (1.6)
    training: dict[str, Any] | None = None  # the training settings it was trained with (None: external)
    numerics: dict[str, Any] | None = None
    external: ExternalRecord | None = None


class VariantRecord(Record):
    name: str
    arm: str
    system_prompt: str | None
    few_shot_ids: list[str]
    adapter: str | None
    base_prompt: str


class DataRecord(Record):
    train_sha256: str
    eval_sha256: str
    train_examples: int
    eval_examples: int


class EvaluationRecord(Record):
    cached: bool
    generation_seconds: float
    generated_tokens: int
    scoring_seconds: float
    numerics: dict[str, Any] | None = None  # how the base was held: device, compute dtype, quantisation (1.6)


class Manifest(Record):
    """What ran, recorded whole: results compare only where these agree (harness.compare)."""

    suite: SuiteRecord
    model: ModelRecord
    adapter: AdapterRecord | None = None  # the first of `adapters` (runs before 1.3: the only one)
    adapters: dict[str, AdapterRecord] = {}
    variants: list[VariantRecord] = []
    selection: Selection = Selection()
    data: DataRecord
    decoding: dict[str, Any]  # harness/suite.py's Decoding, every field
    numerics: dict[str, Any] | None = None  # device, compute dtype, base quantisation, and why
    profile: dict[str, Any] | None = None
    evaluation_precision: str | None = None  # evaluation.precision: full or training (None: before 1.6)
    evaluation: dict[str, EvaluationRecord] = {}
    prompting: dict[str, Any]  # the template's default system turn, the policy, each variant's rendered prompt
    lexicon: dict[str, Any]
    libraries: dict[str, str]
    hardware: dict[str, Any]
    notice: str | None = None
    created: str

    def settings(self) -> dict[str, Any]:
        return self.suite.settings

    def run_adapters(self) -> dict[str, AdapterRecord]:
        """The run's adapters by name (one, `sft`, in runs before schema 1.3)."""
        return self.adapters or ({"sft": self.adapter} if self.adapter else {})


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
    tasks: list[TaskBreakdown] = []  # per `task` value: headline metrics, primary comparisons, flips
    splits: list[SplitBreakdown] = []  # per split (in_distribution, shifted): headline metrics and verdict
    panels: list[PanelResult] = []  # persistence, truncation, sensitivity (harness/panel_results.py)
    canary: CanaryResult | None = None  # the collateral-damage panel (harness/canary.py)
    quantisation: QuantisationCheck | None = None  # NF4 against the unquantised base (harness/precision.py)
    data_size: DataSizeResult | None = None  # the data-size curve (harness/data_size.py)
    examples: list[ExampleResult]
    manifest: Manifest
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
