"""`harness export`: the adapter in PEFT format, with a model card that carries the evidence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from jinja2 import Environment, PackageLoader

from harness.errors import HarnessError
from harness.files import publish_dir, sha256_files, staging_dir, write_text_atomic
from harness.results import read_results

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def export(run_dir: Path, dest: Path) -> Path:
    results = read_results(run_dir)
    adapter = results.manifest.get("adapter", {})
    source = Path(adapter.get("folder", ""))
    files = [source / name for name in ADAPTER_FILES]
    if not all(f.is_file() for f in files):
        raise HarnessError(f"the adapter of this run is no longer at {source} (cache cleared?); run "
                           "`harness run` again with the same suite to rebuild it", file=run_dir)
    if sha256_files(sorted(source.glob("adapter_*")), source) != adapter.get("adapter_sha256"):
        raise HarnessError(f"the adapter at {source} does not match the run's recorded hash", file=run_dir)
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise HarnessError("destination exists and is not empty; expected a new folder", file=dest)
    staging = staging_dir(dest)
    for file in files:
        shutil.copy2(file, staging / file.name)
    if (source / "harness_manifest.json").exists():
        shutil.copy2(source / "harness_manifest.json", staging / "harness_manifest.json")
    model = results.manifest.get("model", {})
    config = json.loads((staging / "adapter_config.json").read_text())
    if not model.get("smoke"):
        config["base_model_name_or_path"] = model.get("name")  # the hub id, not this machine's cache path
        config["revision"] = model.get("revision")
    write_text_atomic(staging / "adapter_config.json", json.dumps(config, indent=2) + "\n")
    write_text_atomic(staging / "README.md", model_card(results))
    if dest.exists():
        dest.rmdir()
    publish_dir(staging, dest)
    return dest


def model_card(results) -> str:
    env = Environment(loader=PackageLoader("harness", "templates"), autoescape=False, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.1f}%"
    env.filters["num"] = lambda v, d=2: "–" if v is None else f"{v:,.{d}f}"
    return env.get_template("model_card.md.j2").render(r=results, m=results.manifest,
                                                      manifest_json=json.dumps(results.manifest, indent=2))
