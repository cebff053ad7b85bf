"""Which model, and how it is loaded: a hub id, a local folder, a GGUF file (or a packaged alias for one), or
the built-in smoke model.

Hub ids are resolved to a local snapshot first (so the exact commit is known and hashed), then every
load goes through `from_pretrained` on that folder. Identity is recorded by content: a hash of the
weight files, plus the hub revision when there is one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from harness import gguf
from harness.errors import HarnessError
from harness.files import cache_root, sha256_files, sha256_json, write_json_atomic
from harness.processes import current
from harness.smoke import SMOKE_ID, is_smoke, smoke_model_dir

WEIGHT_PATTERNS = ("*.safetensors", "*.bin")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json")


@dataclass(frozen=True)
class ModelSource:
    """A model resolved to a local folder, with the facts that identify it."""

    name: str  # what the user asked for (hub id, folder, or the smoke id)
    folder: Path
    revision: str | None
    weights_hash: str
    tokenizer_hash: str
    config_hash: str  # config.json and generation_config.json (its eos ids become stop tokens)
    smoke: bool
    gguf: dict | None = None  # the GGUF file the folder was converted from, its hash and quantisation

    def identity(self) -> dict:
        return {"name": self.name, "revision": self.revision, "weights_sha256": self.weights_hash,
                "tokenizer_sha256": self.tokenizer_hash, "smoke": self.smoke,
                **({"gguf": self.gguf} if self.gguf else {})}


def resolve_model(name: str, revision: str | None = None, *, suite_dir: Path | None = None,
                  smoke: bool = False, announce=print) -> ModelSource:
    converted = None
    if smoke:
        folder, name, revision = smoke_model_dir(), SMOKE_ID, None
    elif (local := _local_folder(name, suite_dir)) is not None:
        folder = local
    elif gguf.is_gguf_name(name):
        folder, converted = gguf.converted_folder(gguf.locate(name, suite_dir), announce, _weights_hash)
    else:
        folder = _hub_snapshot(name, revision)
        revision = folder.name  # the snapshot folder is named by the exact commit
    weights = _weights(folder)
    if not (folder / "config.json").exists() or not weights:
        raise HarnessError(f"model folder {folder} has no config.json or weight files; expected a folder "
                           "saved by save_pretrained", where="model")
    tokenizer_files = [folder / f for f in TOKENIZER_FILES if (folder / f).exists()]
    config_files = [folder / f for f in ("config.json", "generation_config.json") if (folder / f).exists()]
    return ModelSource(
        name=name, folder=folder, revision=revision,
        weights_hash=_cached_weights_hash(weights, folder), tokenizer_hash=sha256_files(tokenizer_files, folder),
        config_hash=sha256_files(config_files, folder), smoke=is_smoke(folder), gguf=converted,
    )


def _weights(folder: Path) -> list[Path]:
    return [p for pattern in WEIGHT_PATTERNS for p in folder.glob(pattern)]


def _weights_hash(folder: Path) -> str:
    return _cached_weights_hash(_weights(folder), folder)


def _local_folder(name: str, suite_dir: Path | None) -> Path | None:
    for candidate in (Path(name).expanduser(), (suite_dir / name) if suite_dir else None):
        if candidate is not None and candidate.is_dir():
            return candidate.resolve()
    return None


def _hub_snapshot(repo_id: str, revision: str | None) -> Path:
    """Download (or find in the local HF cache, offline) the snapshot of a hub model."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(
            repo_id=repo_id, revision=revision,
            allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.tiktoken"],
        ))
    except Exception as exc:  # hub errors come in many types; each means "this model cannot be had"
        raise HarnessError(f"cannot load model {repo_id!r} (revision {revision or 'main'}): {exc}. "
                           "Expected a local folder or a hub id reachable or cached", where="model") from None


def _cached_weights_hash(weights: list[Path], folder: Path) -> str:
    """Hashing GBs of weights takes seconds, so the hash is remembered per folder. The memo is trusted only
    while every file keeps its device, inode, size, mtime and ctime (which no tool sets back) and the same
    bytes at its start, middle and end (files.sampled_sha256); otherwise the files are hashed again."""
    import re

    from harness.files import sampled_sha256

    files = sorted(weights)
    fingerprint = {
        "stat": [[p.name, s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns] for p in files
                 for s in [p.stat()]],
        "sampled": [sampled_sha256(p) for p in files],
    }
    memo = cache_root() / "weight-hashes" / f"{sha256_json(str(folder))[:24]}.json"
    try:
        recorded = json.loads(memo.read_bytes())
    except (OSError, ValueError, RecursionError):  # none yet, or damaged: hash again
        recorded = None
    if (isinstance(recorded, dict) and recorded.get("fingerprint") == fingerprint
            and re.fullmatch(r"[0-9a-f]{64}", str(recorded.get("sha256")))):
        return recorded["sha256"]
    digest = sha256_files(files, folder)
    write_json_atomic(memo, {"folder": str(folder), "fingerprint": fingerprint, "sha256": digest})
    return digest


def weights_hash(folder: Path) -> str | None:
    """The hash of a model folder's weights (memoised by fingerprint); None where it has no weight files, as
    a folder found for its config and tokenizer only may not."""
    weights = _weights(folder)
    return _cached_weights_hash(weights, folder) if weights else None


def available_folder(name: str, revision: str | None, suite_dir: Path | None) -> Path | None:
    """The model's folder where this machine has it already (a local folder, a GGUF file converted before,
    or the Hugging Face cache), found without converting or downloading anything; None otherwise."""
    if (local := _local_folder(name, suite_dir)) is not None:
        return local
    if gguf.is_gguf_name(name):
        try:
            return gguf.existing_folder(gguf.locate(name, suite_dir))
        except HarnessError:
            return None
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=name, revision=revision, local_files_only=True,
                                      allow_patterns=["*.json", "*.jinja", "*.model", "*.txt", "*.tiktoken"]))
    except Exception:  # not cached, or not a hub id: the run resolves it and says what is wrong
        return None


def load_tokenizer(source: ModelSource):
    return tokenizer_at(source.folder, source.name)


def tokenizer_at(folder: Path, name: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.chat_template is None:
        raise HarnessError(f"model {name} has no chat template; expected an instruct model", where="model")
    if tokenizer.pad_token is None:
        # A pad id is only a filler for padded positions; labels are never masked by it.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


@dataclass(frozen=True)
class Numerics:
    """Where and in what precision the model runs, as resolved for this machine: part of every cache key,
    recorded in the manifest, since results depend on it."""

    device: str  # "cuda" or "cpu"
    dtype: str  # compute dtype of the stage it was resolved for: "bfloat16" or "float32"
    quantization: str  # the base model's storage during training and evaluation: "nf4" or "none"
    notes: tuple[str, ...] = ()  # why "auto" resolved as it did

    def key(self) -> dict:
        return {"device": self.device, "compute_dtype": f"torch.{self.dtype}", "quantization": self.quantization}

    def describe(self) -> dict:
        return {**self.key(), "notes": list(self.notes)}

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype)


def resolve_numerics(precision: str, quantization: str, stage: str = "evaluation") -> Numerics:
    """`auto` picks what is fast and faithful here, per stage ("training" or "evaluation"): NF4 and bf16 on a
    GPU. On a CPU: no NF4, which bitsandbytes only emulates there (slower than float32 and no smaller at these
    model sizes); evaluation in bf16 only where the CPU multiplies bf16 natively (AMX or AVX512-BF16); training
    in float32, where bf16 autocast measured slower than float32 and its heap grew step by step (see
    bench/RESULTS.md)."""
    where = device()
    notes = []
    if precision == "auto":
        native = _native_bf16(where)
        precision = "bfloat16" if native and (where == "cuda" or stage == "evaluation") else "float32"
        why = ("native bf16" if precision == "bfloat16" else
               "bf16 autocast trains slower than float32" if native else "no native bf16")
        notes.append(f"precision auto: {precision} for {stage} ({why} on this "
                     f"{'GPU' if where == 'cuda' else 'CPU'})")
    if quantization == "auto":
        quantization = "nf4" if where == "cuda" else "none"
        notes.append("quantization auto: " + ("nf4 (QLoRA) on the GPU" if quantization == "nf4" else
                                              "none on the CPU, where NF4 is emulated: plain LoRA on the full base"))
    return Numerics(where, precision, quantization, tuple(notes))


def _native_bf16(where: str) -> bool:
    import torch

    if where == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())
    except AttributeError:  # older torch: no probe, so no claim of native bf16
        return False


def load_model(source: ModelSource, numerics: Numerics):
    """The base model, NF4 4-bit (double quant) for QLoRA or unquantised, in the resolved compute dtype."""
    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    dtype = numerics.torch_dtype
    # Under FSDP (accelerate launch with an FSDP config) the launcher places the shards, and it shards float
    # tensors only: NF4 weights are then stored in the compute dtype (bitsandbytes' FSDP-QLoRA guide).
    fsdp = os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true"
    # Under several processes, each on its own GPU (LOCAL_RANK); on a CPU they share it.
    place = numerics.device if numerics.device == "cpu" else f"cuda:{current().local_rank}"
    kwargs: dict = {"dtype": dtype, **({} if fsdp else {"device_map": {"": place}})}
    if numerics.quantization == "nf4":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype, bnb_4bit_quant_storage=dtype if fsdp else torch.uint8,
        )
    model = AutoModelForCausalLM.from_pretrained(source.folder, **kwargs)
    model.eval()
    return model


def last_positions(width: int, count: int):
    """Index tensor for `logits_to_keep`: the last `count` of `width` positions.

    An int `logits_to_keep` slices the hidden states to a strided view. On a CPU, torch 2.13's bf16 linear
    on a strided input with a frozen weight (as in every evaluation, and always under PEFT) peaked 1.7 GB
    above the model for a 32 x 169 prefill on SmolLM2's 49k vocabulary; indexing copies the rows into a
    contiguous tensor, and the same call peaks at 3 MB (bench/RESULTS.md)."""
    import torch

    return torch.arange(width - count, width)


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def release_memory(collect: bool = True) -> None:
    """Give freed memory back to the system. glibc keeps freed heap pages (GBs after training on a CPU, where
    every batch shape leaves its own holes); malloc_trim returns them, so the next stage starts from a small
    heap. A no-op where the C library has no malloc_trim. Between stages, `collect` first frees what only
    reference cycles hold; after each training step it is left out: a full collection costs about 0.3 s
    once transformers is loaded, and a step's tensors are freed by their reference counts."""
    import contextlib
    import ctypes
    import gc

    if collect:
        gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
