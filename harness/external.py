"""Adapters trained elsewhere: a PEFT LoRA folder, or a hub id, checked against the suite's model before any
model work, and identified by the hash of its files (part of every cache key that uses it).

The checks, in order: the folder holds `adapter_config.json` and `adapter_model.safetensors`; the adapter is
LoRA; the base model it names matches the suite's (by weights hash where harness exported it, by hub id where
both name one); and, where the model's config is on this machine, every LoRA tensor's shape fits the module
it adapts. The shapes are read from the safetensors header and the model is built on the meta device, so
no weights are loaded.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

from harness.adapter_folder import REQUIRED, files_sha256
from harness.errors import HarnessError
from harness.suite import ExternalAdapter
from harness.training import Adapter

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
LORA_KEY = re.compile(r"^base_model\.model\.(?P<module>.+)\.lora_(?P<side>A|B)(?:\.[^.]+)?\.weight$")


def locate(entry: ExternalAdapter, suite_dir: Path, field: str) -> Path:
    """The adapter's local folder: a path (relative to the suite file), else a hub id fetched (or found in
    the Hugging Face cache)."""
    candidate = Path(entry.external).expanduser()
    candidate = candidate if candidate.is_absolute() else suite_dir / candidate
    if candidate.is_dir():
        return candidate
    if not HUB_ID.match(entry.external) or candidate.exists():
        raise HarnessError(f"{field}: adapter folder {candidate} not found; expected a folder holding "
                           f"{' and '.join(REQUIRED)}, or a hub id")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=entry.external, revision=entry.revision,
                                      allow_patterns=["adapter_config.json", "adapter_model.safetensors"]))
    except Exception as exc:  # offline, unknown repo, no access: one line either way
        raise HarnessError(f"{field}: cannot fetch adapter {entry.external!r} from the hub "
                           f"({type(exc).__name__}); expected a local folder or a reachable hub id") from None


def problems(folder: Path, field: str, model_name: str, model_folder: Path | None,
             weights_hash: str | None) -> list[str]:
    """Why this adapter cannot be evaluated on the suite's model (empty when it can)."""
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if missing:
        return [f"{field}: {folder} has no {', '.join(missing)}; expected a PEFT adapter saved by save_pretrained"]
    try:
        config = json.loads((folder / "adapter_config.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{field}: {folder / 'adapter_config.json'} is not readable JSON ({exc})"]
    if not isinstance(config, dict) or config.get("peft_type") != "LORA":
        return [f"{field}: peft_type {config.get('peft_type') if isinstance(config, dict) else None!r}; "
                "expected a LoRA adapter (LORA)"]
    found = _base_mismatch(str(config.get("base_model_name_or_path") or ""), model_name, weights_hash)
    if found:
        return [f"{field}: {found}"]
    if model_folder is None:
        return []
    try:
        shapes = _tensor_shapes(folder / "adapter_model.safetensors")
    except (OSError, ValueError, struct.error) as exc:
        return [f"{field}: adapter_model.safetensors has no readable header ({exc})"]
    return [f"{field}: {line}" for line in _shape_mismatches(shapes, model_folder)[:3]]


def _base_mismatch(named: str, model_name: str, weights_hash: str | None) -> str | None:
    if named.startswith("sha256:"):
        if weights_hash is not None and named.removeprefix("sha256:") != weights_hash:
            return (f"trained on a base model with weights {named[:19]}…, not the suite's {model_name} "
                    f"(sha256:{weights_hash[:12]}…); expected an adapter for the suite's model")
        return None
    if HUB_ID.match(named) and HUB_ID.match(model_name) and named.casefold() != model_name.casefold():
        return f"trained on {named}, not the suite's model {model_name}; expected an adapter for {model_name}"
    return None


def _tensor_shapes(path: Path) -> dict[str, list[int]]:
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        if length > 100_000_000:
            raise ValueError("header over 100 MB")
        header = json.loads(handle.read(length))
    return {name: info["shape"] for name, info in header.items() if name != "__metadata__"}


def _shape_mismatches(shapes: dict[str, list[int]], model_folder: Path) -> list[str]:
    """Each LoRA tensor against the module it adapts, on a model built from config.json on the meta device."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_folder))
    found = []
    for name, shape in shapes.items():
        match = LORA_KEY.match(name)
        if match is None:
            continue
        try:
            module = model.get_submodule(match["module"])
        except AttributeError:
            found.append(f"{name} adapts {match['module']}, which the suite's model does not have; expected an "
                         "adapter for the suite's model")
            continue
        if not isinstance(module, torch.nn.Linear) or len(shape) != 2:
            continue
        expected = module.in_features if match["side"] == "A" else module.out_features
        got = shape[1] if match["side"] == "A" else shape[0]
        if got != expected:
            found.append(f"{name} has shape {shape}, but {match['module']} has {expected} "
                         f"{'inputs' if match['side'] == 'A' else 'outputs'}; expected an adapter for the "
                         "suite's model")
    return found


def external_adapter(folder: Path, entry: ExternalAdapter) -> Adapter:
    """The adapter as a run records it: identified by its files' hash, never trained or changed here."""
    digest = files_sha256(folder)
    config = json.loads((folder / "adapter_config.json").read_text("utf-8"))
    manifest = {"adapter_sha256": digest, "external": {"source": entry.external, "revision": entry.revision,
                                                       "folder": str(folder)},
                "training": None, "stats": {},
                "lora": {key: config.get(key) for key in ("r", "lora_alpha", "target_modules")},
                "base_model_name_or_path": config.get("base_model_name_or_path")}
    return Adapter(folder, digest[:24], manifest, reused=True)
