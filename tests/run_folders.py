"""Saved run folders for command tests without a model: crafted results, an adapter of dummy bytes that
`harness export` accepts, and a snapshot of a tree to prove nothing in it changed."""

from __future__ import annotations

import json
from pathlib import Path

from factory import crafted_results, manifest

from harness.files import sha256_files
from harness.results import write_results


def saved_run(folder: Path, gates=(), suite: str | None = None, run_manifest: dict | None = None) -> Path:
    """A complete run folder (results.json, manifest.json) whose adapter files exist and match their hash."""
    folder.mkdir(parents=True, exist_ok=True)
    adapter = folder.parent / f"{folder.name}-adapter"
    adapter.mkdir(exist_ok=True)
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/cache/base", "r": 4}))
    (adapter / "adapter_model.safetensors").write_bytes(b"weights")
    run_manifest = run_manifest or manifest()
    run_manifest["suite"]["settings"] = run_manifest["suite"]["settings"] | {"gates": list(gates)}
    run_manifest["adapter"] |= {"folder": str(adapter),
                                "adapter_sha256": sha256_files(sorted(adapter.glob("adapter_*")), adapter)}
    results = crafted_results(12, lambda i, v: " ".join(["w"] * (3 if v.startswith("sft") else 9)),
                              rules=[{"check": "words", "at_most": 5}], run_manifest=run_manifest)
    if suite is not None:
        results.suite = suite
    write_results(results, folder)
    (folder / "manifest.json").write_text(json.dumps(results.manifest.model_dump(mode="json")))
    return folder


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry under `root` (not following links): file bytes, link targets, folders by name."""
    tree: dict[str, bytes | str] = {}
    for path in sorted(Path(root).rglob("*")):
        name = str(path.relative_to(root))
        tree[name] = (f"-> {path.readlink()}" if path.is_symlink() else "dir" if path.is_dir()
                      else path.read_bytes())
    return tree
