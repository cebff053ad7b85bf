"""The suite file: what to train, what to evaluate, and how. Loaded from YAML and validated.

Every field is declared here once; pydantic rejects unknown keys and wrong types, and `load_suite`
turns each problem into one line naming the file, the YAML line, the field and what was expected.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from harness.errors import HarnessError, InputErrors
from harness.files import sha256_json
from harness.suite_fields import ADAPTER_NAME, BATCH, NAME, SEED, Strict, not_blank, real, whole
from harness.suite_file import error_line, read_yaml, yaml_line
from harness.suite_panels import Panels


class FieldMap(Strict):
    """Which source column holds each part of an example (defaults: auto-detected shapes)."""

    prompt: str | None = None
    input: str | None = None
    response: str | None = None
    id: str | None = None
    rules: str | None = None
    split: str | None = None  # an eval row's named split, e.g. shifted (harness/splits.py)


class DataSource(Strict):
    """Local JSONL (`path`, relative to the suite file) or a `datasets` id with a split."""

    path: str | None = None
    dataset: str | None = None
    subset: str | None = None
    split: str | None = None
    fields: FieldMap = FieldMap()
    limit: whole(1, 10_000_000) | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DataSource:
        if (self.path is None) == (self.dataset is None):
            raise ValueError("give exactly one of 'path' (a JSONL file) or 'dataset' (a datasets id)")
        if self.dataset is not None and self.split is None:
            raise ValueError("'dataset' needs a 'split', e.g. split: train")
        return self


class Data(Strict):
    train: DataSource
    eval: DataSource


class Lora(Strict):
    r: whole(1, 1024) = 16
    alpha: whole(1, 4096) = 32
    dropout: real(ge=0.0, lt=1.0) = 0.05
    target_modules: Literal["all-linear"] | Annotated[list[Annotated[str, Field(min_length=1)]],
                                                      Field(min_length=1)] = "all-linear"


class Validation(Strict):
    """Held-out loss during training (harness/validation.py): a seeded slice of the training rows, never
    trained on, scored every `every_steps` steps."""

    fraction: real(ge=0.0, le=0.5) = 0.1  # of the training rows; 0: no validation
    max_examples: whole(4, 100_000) = 64
    every_steps: whole(1, 1_000_000) | None = None  # None: about 10 evaluations over the training
    patience: whole(1, 100) = 3  # evaluations in a row, each above the one before, that flag overfitting
    early_stopping: bool = False  # stop where overfitting is flagged, and keep the best evaluation's adapter


def _fractions(value: list[float] | None) -> list[float] | None:
    if value is not None and len(set(value)) != len(value):
        raise ValueError("each fraction may be named once")
    return sorted(value) if value is not None else None


class Training(Strict):
    lora: Lora = Lora()
    learning_rate: real(gt=0.0, le=1.0) = 2e-4
    epochs: real(gt=0.0, le=1000.0) = 2.0
    max_steps: whole(1, 1_000_000) | None = None
    batch_size: BATCH = 8
    gradient_accumulation_steps: whole(1, 1024) = 1
    max_length: whole(32, 131_072) = 1024  # tokens; a chat template alone takes about 20
    # auto: NF4 (QLoRA) on a GPU, none on a CPU where bitsandbytes only emulates NF4 (harness/models.py)
    quantization: Literal["auto", "nf4", "none"] = "auto"
    # padded tokens (rows x longest row) per forward pass; None: the whole batch on a GPU,
    # 160 on a CPU (training.CPU_MICRO_BATCH_TOKENS)
    micro_batch_tokens: whole(1, 2**24) | None = None
    loss: Literal["completion", "full"] = "completion"
    warmup_ratio: real(ge=0.0, lt=1.0) = 0.03  # passed as a float warmup_steps (a ratio)
    lr_scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    weight_decay: real(ge=0.0, le=1.0) = 0.0
    gradient_checkpointing: bool = False
    seed: SEED = 42
    validation: Validation = Validation()
    # One more adapter per fraction below 1 of the training rows, for the data-size curve (harness/data_size.py)
    data_fractions: Annotated[list[real(gt=0.0, le=1.0)], Field(min_length=1, max_length=8),
                              AfterValidator(_fractions)] | None = None


class Decoding(Strict):
    """Every generation setting, set explicitly; nothing is inherited from the model's generation_config."""

    max_new_tokens: whole(1, 32_768) = 256
    do_sample: bool = False
    temperature: real(gt=0.0, le=100.0) = 1.0
    top_p: real(gt=0.0, le=1.0) = 1.0
    top_k: whole(0, 1_000_000) = 0
    repetition_penalty: real(gt=0.0, le=10.0) = 1.0
    batch_size: whole(1, 1024) = 16
    seed: SEED = 0
    # transformers: the harness's own continuous batching; vllm: one vLLM engine for every variant, LoRA
    # adapters as LoRARequests (harness/vllm_engine.py; an optional extra that needs a GPU)
    backend: Literal["transformers", "vllm"] = "transformers"

    def key(self) -> dict:
        """The settings as cache keys read them: the default backend is left out, so entries made before
        there was a choice of backend stay valid."""
        return self.model_dump(mode="json", exclude={"backend"} if self.backend == "transformers" else None)


class Evaluation(Strict):
    # full: every variant on the unquantised base, in `precision`, as an adapter ships (a bf16 server, a merged
    # model); training: on the base as training held it (NF4 under QLoRA), which measures training, not shipping
    precision: Literal["full", "training"] = "full"


class FormatRule(Strict):
    """One format check; `check` names it in the registry, the other fields are its parameters."""

    model_config = ConfigDict(extra="allow", frozen=True)
    check: str
    name: Annotated[str, Field(min_length=1)] | None = None


class Filler(Strict):
    lexicon: str = "builtin"
    mode: Literal["extend", "replace"] = "extend"


class Perplexity(Strict):
    include_end_of_turn: bool = True
    batch_size: whole(1, 1024) = 8


CALLABLE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


class CustomMetric(Strict):
    """A reference-based metric from an `evaluate` module (local path) or a Python callable."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")]
    evaluate: Annotated[str, Field(min_length=1)] | None = None  # a local folder or .py file holding an evaluate module
    key: str | None = None  # which key of the module's compute() result (default: name)
    callable: str | None = None  # "package.module:function", called as f(prediction, reference)
    better: Literal["higher", "lower"] = "higher"
    kind: Literal["continuous", "binary"] = "continuous"

    @model_validator(mode="after")
    def _one_source(self) -> CustomMetric:
        if (self.evaluate is None) == (self.callable is None):
            raise ValueError("give exactly one of 'evaluate' (a local module path) or 'callable' (module:function)")
        if self.callable is not None and not CALLABLE.fullmatch(self.callable):
            raise ValueError(f"'callable' must look like package.module:function, got {self.callable!r}")
        return self


class Metrics(Strict):
    format: list[FormatRule] = []
    filler: Filler = Filler()
    perplexity: Perplexity = Perplexity()
    custom: list[CustomMetric] = []


class Verdict(Strict):
    # The behaviours the verdict tests (each by its headline metric, sft against system), Holm-adjusted
    # together. None: every headline behaviour (length, format, filler, fit and each custom metric). Naming
    # only the behaviour the adapter is for keeps the test's power (docs/metrics.md).
    behaviours: Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]],
                          Field(min_length=1, max_length=64)] | None = None

    @field_validator("behaviours")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("each behaviour may be named once")
        return value


RESERVED_PROMPTS = ("none", "system")  # prompt arms every suite has: no system prompt, the suite's


class FewShot(Strict):
    """A few-shot prompt arm: k training examples as prior user/assistant turns (harness/variants.py)."""

    few_shot: whole(1, 64)
    seed: SEED = 0  # which k: a seeded draw from the training examples not in the eval set
    system: str | None = None  # also a system prompt: "system" (the suite's) or a name from `prompts:`


class ExternalAdapter(Strict):
    """A PEFT LoRA adapter trained elsewhere: a folder (relative to the suite file) or a hub id."""

    external: Annotated[str, AfterValidator(not_blank)]
    revision: str | None = None  # for a hub id


# Unions say which member a value is meant to be, so an error names that member's fields only. The tags
# carry the member's class name in brackets: harness/suite_file.py reads them, and leaves them out of paths.
def _adapter_kind(value: Any) -> str:
    external = isinstance(value, dict) and "external" in value or isinstance(value, ExternalAdapter)
    return "adapter[ExternalAdapter]" if external else "adapter[Training]"


def _prompt_kind(value: Any) -> str:
    return "prompt[FewShot]" if isinstance(value, dict | FewShot) else "prompt[str]"


# An adapter trained by the suite (the fields of `training:` it changes) or one trained elsewhere.
AdapterEntry = Annotated[Annotated[ExternalAdapter, Tag("adapter[ExternalAdapter]")] | Annotated[
    Training, Tag("adapter[Training]")], Discriminator(_adapter_kind)]
# A prompt arm: none, system or a name from `prompts:` (a string), or few-shot.
PromptArm = Annotated[Annotated[Annotated[str, Field(min_length=1)], Tag("prompt[str]")] | Annotated[
    FewShot, Tag("prompt[FewShot]")], Discriminator(_prompt_kind)]


class VariantSpec(Strict):
    """One cell of the variant grid: a prompt arm × an adapter."""

    name: NAME
    # None or "none": the user prompt only; "system": the suite's system prompt; a name from `prompts:`;
    # or {few_shot: k}
    prompt: PromptArm | None = None
    adapter: str | None = None  # None: the base model; a name from `adapters:`
    base_prompt: Literal["no_system", "template_default"] | None = None  # None: the suite's policy


class Suite(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=100)]
    description: str = ""
    model: Annotated[str, AfterValidator(not_blank)]
    revision: str | None = None
    system_prompt: Annotated[str, AfterValidator(not_blank)]
    base_prompt: Literal["no_system", "template_default"] = "no_system"
    precision: Literal["auto", "float32", "bfloat16"] = "auto"  # compute dtype of training and evaluation
    data: Data
    training: Training = Training()
    decoding: Decoding = Decoding()
    evaluation: Evaluation = Evaluation()
    metrics: Metrics = Metrics()
    verdict: Verdict = Verdict()
    gates: list[str] = []  # see harness/gates.py for the grammar
    prompts: dict[NAME, Annotated[str, AfterValidator(not_blank)]] = {}  # named system prompts
    # None: one adapter, `sft`, trained with `training:` as it stands
    adapters: Annotated[dict[ADAPTER_NAME, AdapterEntry], Field(min_length=1, max_length=16)] | None = None
    # None: base and system, then for each adapter X: X and X+system (harness/variants.py)
    variants: Annotated[list[VariantSpec], Field(min_length=1, max_length=32)] | None = None
    # The verdict's pairs (A against B); None: each adapter's user-only variant against `system`
    comparisons: Annotated[list[tuple[NAME, NAME]], Field(min_length=1, max_length=16)] | None = None
    panels: Panels = Panels()

    _path: Path = PrivateAttr(default=Path("suite.yaml"))
    _root: Any = PrivateAttr(default=None)  # the YAML node tree, for the line numbers of later errors

    @property
    def path(self) -> Path:
        return self._path

    def line_of(self, *loc: str | int) -> str | None:
        """The YAML line of a field, e.g. line_of("metrics", "format", 2), for errors found after loading."""
        line = yaml_line(self._root, list(loc)) if self._root is not None else None
        return str(line) if line else None

    def with_overrides(self, overrides: dict[str, Any]) -> Suite:
        """This suite with dotted fields replaced (`{"training.epochs": 1}`), validated again exactly like the
        file's own fields: an override (--smoke, --profile, --model) can neither hide a bad value in the file
        (that was refused when the file was loaded) nor bring in one of its own."""
        if not overrides:
            return self
        raw = self.model_dump(exclude_unset=True)  # an adapter entry keeps only the fields it sets
        for dotted, value in overrides.items():
            _set_dotted(raw, dotted, value)
        try:
            suite = Suite.model_validate(raw)
        except ValidationError as exc:
            errors = [error_line(self._path, self._root, err, Suite, overrides) for err in exc.errors()]
            raise InputErrors(errors) from None
        suite._path, suite._root = self._path, self._root
        return suite

    def resolve(self, relative: str) -> Path:
        """A path written in the suite, taken relative to the suite file's folder."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else self._path.parent / candidate

    def content_hash(self) -> str:
        return sha256_json(self.model_dump(mode="json"))

    def adapter_settings(self) -> dict[str, Training | ExternalAdapter]:
        """Each adapter by name: an external one as given, a trained one as `training:` with the fields its
        entry sets replaced (`r8: {lora: {r: 8}}` keeps the suite's alpha, epochs and the rest)."""
        if self.adapters is None:
            return {"sft": self.training}
        return {name: entry if isinstance(entry, ExternalAdapter) else _overlay(self.training, entry)
                for name, entry in self.adapters.items()}

    def variant_specs(self) -> list[VariantSpec]:
        """The variants as declared, or the default grid: base, system, then X and X+system per adapter."""
        if self.variants is not None:
            return list(self.variants)
        specs = [VariantSpec(name="base"), VariantSpec(name="system", prompt="system")]
        for adapter in self.adapter_settings():
            specs += [VariantSpec(name=adapter, adapter=adapter),
                      VariantSpec(name=f"{adapter}+system", prompt="system", adapter=adapter)]
        return specs

    def primary_pairs(self) -> list[tuple[str, str]]:
        """The verdict's comparisons, A against B: as declared, or each user-only adapter variant against
        the system-prompted base (today's question: sft vs system)."""
        if self.comparisons is not None:
            return [tuple(pair) for pair in self.comparisons]
        specs = self.variant_specs()
        system = next((v.name for v in specs if v.prompt == "system" and v.adapter is None), None)
        if system is None:
            return []
        return [(v.name, system) for v in specs if v.adapter is not None and v.prompt in (None, "none")]


def _overlay(base: Training, entry: Training) -> Training:
    """`base` with the fields `entry` set replaced, nested models field by field."""
    def merge(into: dict, changes: dict) -> dict:
        return {**into, **{key: merge(into[key], value) if isinstance(value, dict) and isinstance(into.get(key), dict)
                           else value for key, value in changes.items()}}

    return Training.model_validate(merge(base.model_dump(), entry.model_dump(exclude_unset=True)))


def load_suite(path: str | Path, overrides: dict[str, Any] | None = None) -> Suite:
    """Read and validate a suite file, then apply `overrides` (see Suite.with_overrides). Raises InputErrors
    with one line per problem; the file's own values are validated before any override replaces them."""
    path = Path(path)
    raw, root = read_yaml(path)
    if not isinstance(raw, dict):
        raise HarnessError("expected a mapping of suite fields at the top level", file=path, where="1")
    try:
        suite = Suite.model_validate(raw)
    except ValidationError as exc:
        raise InputErrors([error_line(path, root, err, Suite) for err in exc.errors()]) from None
    suite._path, suite._root = path.resolve(), root
    return suite.with_overrides(overrides or {})


def _set_dotted(tree: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        if not isinstance(tree.get(key), dict):
            tree[key] = {}  # a scalar here (or nothing yet): validation names the field
        tree = tree[key]
    tree[leaf] = value
