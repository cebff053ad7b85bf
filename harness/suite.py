"""The suite file: what to train, what to evaluate, and how. Loaded from YAML and validated.

Every field is declared here once; pydantic rejects unknown keys and wrong types, and `load_suite`
turns each problem into one line naming the file, the YAML line, the field and what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from harness.errors import HarnessError, InputErrors
from harness.files import sha256_json

Positive = Annotated[int, Field(gt=0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldMap(Strict):
    """Which source column holds each part of an example (defaults: auto-detected shapes)."""

    prompt: str | None = None
    input: str | None = None
    response: str | None = None
    id: str | None = None
    rules: str | None = None


class DataSource(Strict):
    """Local JSONL (`path`, relative to the suite file) or a `datasets` id with a split."""

    path: str | None = None
    dataset: str | None = None
    subset: str | None = None
    split: str | None = None
    fields: FieldMap = FieldMap()
    limit: Positive | None = None

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
    r: Positive = 16
    alpha: Positive = 32
    dropout: Probability = 0.05
    target_modules: Literal["all-linear"] | list[str] = "all-linear"


class Training(Strict):
    lora: Lora = Lora()
    learning_rate: Annotated[float, Field(gt=0)] = 2e-4
    epochs: Annotated[float, Field(gt=0)] = 2.0
    max_steps: Positive | None = None
    batch_size: Positive = 8
    gradient_accumulation_steps: Positive = 1
    max_length: Positive = 1024
    # auto: NF4 (QLoRA) on a GPU, none on a CPU where bitsandbytes only emulates NF4 (harness/models.py)
    quantization: Literal["auto", "nf4", "none"] = "auto"
    micro_batch_size: Positive | None = None  # rows per forward pass; None: the whole batch on a GPU, 2 on a CPU
    loss: Literal["completion", "full"] = "completion"
    warmup_ratio: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.03  # passed as a float warmup_steps (a ratio)
    lr_scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    weight_decay: Annotated[float, Field(ge=0)] = 0.0
    gradient_checkpointing: bool = False
    seed: int = 42

    @model_validator(mode="after")
    def _micro_batches_fill_a_batch(self) -> Training:
        if self.micro_batch_size is not None and self.batch_size % self.micro_batch_size:
            raise ValueError(f"micro_batch_size ({self.micro_batch_size}) must divide batch_size "
                             f"({self.batch_size}) so that every optimiser step sees batch_size rows")
        return self


class Decoding(Strict):
    """Every generation setting, set explicitly; nothing is inherited from the model's generation_config."""

    max_new_tokens: Positive = 256
    do_sample: bool = False
    temperature: Annotated[float, Field(gt=0)] = 1.0
    top_p: Annotated[float, Field(gt=0, le=1)] = 1.0
    top_k: Annotated[int, Field(ge=0)] = 0
    repetition_penalty: Annotated[float, Field(gt=0)] = 1.0
    batch_size: Positive = 16
    seed: int = 0


class FormatRule(Strict):
    """One format check; `check` names it in the registry, the other fields are its parameters."""

    model_config = ConfigDict(extra="allow", frozen=True)
    check: str
    name: str | None = None


class Filler(Strict):
    lexicon: str = "builtin"
    mode: Literal["extend", "replace"] = "extend"


class Perplexity(Strict):
    include_end_of_turn: bool = True
    batch_size: Positive = 8


class CustomMetric(Strict):
    """A reference-based metric from an `evaluate` module (local path) or a Python callable."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")]
    evaluate: str | None = None  # a local folder or .py file holding an evaluate module
    key: str | None = None  # which key of the module's compute() result (default: name)
    callable: str | None = None  # "package.module:function", called as f(prediction, reference)
    better: Literal["higher", "lower"] = "higher"
    kind: Literal["continuous", "binary"] = "continuous"

    @model_validator(mode="after")
    def _one_source(self) -> CustomMetric:
        if (self.evaluate is None) == (self.callable is None):
            raise ValueError("give exactly one of 'evaluate' (a local module path) or 'callable' (module:function)")
        if self.callable is not None and ":" not in self.callable:
            raise ValueError("'callable' must look like package.module:function")
        return self


class Metrics(Strict):
    format: list[FormatRule] = []
    filler: Filler = Filler()
    perplexity: Perplexity = Perplexity()
    custom: list[CustomMetric] = []


class Suite(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    model: Annotated[str, Field(min_length=1)]
    revision: str | None = None
    system_prompt: Annotated[str, Field(min_length=1)]
    base_prompt: Literal["no_system", "template_default"] = "no_system"
    precision: Literal["auto", "float32", "bfloat16"] = "auto"  # compute dtype of training and evaluation
    data: Data
    training: Training = Training()
    decoding: Decoding = Decoding()
    metrics: Metrics = Metrics()
    gates: list[str] = []  # see harness/gates.py for the grammar

    _path: Path = PrivateAttr(default=Path("suite.yaml"))

    @property
    def path(self) -> Path:
        return self._path

    def resolve(self, relative: str) -> Path:
        """A path written in the suite, taken relative to the suite file's folder."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else self._path.parent / candidate

    def content_hash(self) -> str:
        return sha256_json(self.model_dump(mode="json"))


def load_suite(path: str | Path, overrides: dict[str, Any] | None = None) -> Suite:
    """Read and validate a suite file. Raises InputErrors with one line per problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HarnessError("suite file not found", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HarnessError(f"cannot read suite file: {exc}", file=path) from None
    try:
        raw = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}" if mark else None
        raise HarnessError(f"invalid YAML: {getattr(exc, 'problem', exc)}", file=path, where=where) from None
    if not isinstance(raw, dict):
        raise HarnessError("expected a mapping of suite fields at the top level", file=path, where="1")
    for dotted, value in (overrides or {}).items():
        _set_dotted(raw, dotted, value)
    try:
        suite = Suite.model_validate(raw)
    except ValidationError as exc:
        raise InputErrors([_error_line(path, root, err) for err in exc.errors()]) from None
    suite._path = path.resolve()
    return suite


def _set_dotted(tree: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        tree = tree.setdefault(key, {})
    tree[leaf] = value


def _error_line(path: Path, root: yaml.Node | None, err: dict) -> HarnessError:
    loc = [part for part in err["loc"] if isinstance(part, int) or not _is_pydantic_tag(part)]
    field = ".".join(str(part) for part in loc) or "(top level)"
    line = _yaml_line(root, loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        message = f"{field}: unknown key; expected one of: {_allowed_keys(loc[:-1])}"
    elif kind == "missing":
        message = f"{field}: required field is missing"
    else:
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        message = f"{field}: {err['msg'].removeprefix('Value error, ')}{shown}"
    return HarnessError(message, file=path, where=str(line) if line else None)


def _is_pydantic_tag(part: str) -> bool:
    """pydantic inserts union-member tags such as "list[str]" into error locations; they are not fields."""
    return "[" in part


def _yaml_line(root: yaml.Node | None, loc: list) -> int | None:
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


def _allowed_keys(loc: list) -> str:
    model: Any = Suite
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        annotation = getattr(info, "annotation", None)
        args = getattr(annotation, "__args__", ()) or (annotation,)
        model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if model is None:
            return "(none)"
    return ", ".join(model.model_fields)
