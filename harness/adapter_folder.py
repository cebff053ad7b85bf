"""An adapter folder in the cache, byte for byte: PEFT's files made canonical, a manifest sealed by its own
hash, and the check that both still hold when the folder is reused.

Identical trainings must write identical adapter files, so that two runs (or two machines) that train
the same adapter record the same adapter_sha256. PEFT's adapter_config.json does not do that by itself: it
lists target_modules from a set, in an order that changes from process to process, and names the base
model by the folder it was loaded from. canonicalise() sorts those lists, names the base model by the hash
of its weights, and writes the JSON with sorted keys; a safetensors header gets its metadata sorted.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path
from typing import Any

from harness.cache import report_damaged
from harness.files import sha256_files, sha256_json, write_bytes_atomic, write_text_atomic

MANIFEST = "harness_manifest.json"
REQUIRED = ("adapter_config.json", "adapter_model.safetensors")
# Lists that PEFT keeps as sets, so their saved order is arbitrary.
SET_FIELDS = ("target_modules", "exclude_modules", "target_parameters", "modules_to_save")
# What training leaves beside the adapter that is not part of it: PEFT's generic model card (which
# names the base model by its local path; `harness export` writes a real one) and the trainer's output_dir.
NOT_ADAPTER = ("README.md", "trainer")


def canonicalise(folder: Path, base_model: str) -> None:
    """Make a folder written by save_pretrained depend only on what was trained."""
    for name in NOT_ADAPTER:
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    config_path = folder / "adapter_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = base_model
    for field in SET_FIELDS:
        if isinstance(config.get(field), list):
            config[field] = sorted(config[field], key=str)
    write_text_atomic(config_path, json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    for weights in sorted(folder.glob("*.safetensors")):
        _canonical_safetensors(weights)


def _canonical_safetensors(path: Path) -> None:
    """Sort the header's metadata (a map whose order the writer does not fix); tensors keep their order."""
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header_bytes = handle.read(length)
    header = json.loads(header_bytes)
    metadata = header.pop("__metadata__", None)
    canonical = {**({"__metadata__": dict(sorted(metadata.items()))} if metadata else {}), **header}
    text = json.dumps(canonical, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)  # the header is padded with spaces to a multiple of 8 bytes
    if text == header_bytes:
        return
    data = path.read_bytes()[8 + length:]
    write_bytes_atomic(path, struct.pack("<Q", len(text)) + text + data)


def files_sha256(folder: Path) -> str:
    """The hash of the adapter itself: every adapter_* file, by name and bytes."""
    return sha256_files(sorted(folder.glob("adapter_*")), folder)


def sealed(manifest: dict) -> dict:
    """The manifest with manifest_sha256, the hash of everything else in it."""
    return {**manifest, "manifest_sha256": sha256_json(manifest)}


def verified(folder: Path, key: str) -> dict | None:
    """The manifest of a cached adapter whose files and manifest match their recorded hashes; None when there
    is no entry. A damaged entry is reported in one line, and None given."""
    if not folder.exists() and not folder.is_symlink():
        return None
    manifest, problem = _checked(folder, key)
    if problem:
        report_damaged("cached adapter", folder, problem)
        return None
    return manifest


def _checked(folder: Path, key: str) -> tuple[dict | None, str | None]:
    try:
        manifest: Any = json.loads((folder / MANIFEST).read_bytes())
    except FileNotFoundError:
        return None, f"{MANIFEST} is missing"
    except (OSError, ValueError, RecursionError):
        return None, f"{MANIFEST} is not readable JSON"
    if not isinstance(manifest, dict) or "manifest_sha256" not in manifest:
        return None, f"{MANIFEST} has no manifest_sha256 (written by an older harness, or not by harness)"
    rest = {name: value for name, value in manifest.items() if name != "manifest_sha256"}
    if sha256_json(rest) != manifest["manifest_sha256"]:
        return None, f"{MANIFEST} does not match its recorded hash"
    if manifest.get("adapter_key") != key:
        return None, f"{MANIFEST} was written for adapter {manifest.get('adapter_key')!r}"
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if missing:
        return None, f"{', '.join(missing)} missing"
    if files_sha256(folder) != manifest.get("adapter_sha256"):
        return None, "the adapter files do not match the adapter_sha256 in its manifest"
    return manifest, None
