"""`harness export`: the adapter in PEFT format, with a model card that carries the evidence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from jinja2 import Environment, PackageLoader

from harness import markdown
from harness.adapter_folder import files_sha256
from harness.compare import headlines
from harness.errors import HarnessError
from harness.files import write_text_atomic
from harness.merge import MergeCheck, merge, variant_of
from harness.metrics.registry import summary_rows
from harness.precision import precision_lines
from harness.run_folder import read_run, refuse_folder, staged_folder

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def _nothing(name: str) -> bool:
    return False  # DEST is new or empty: export replaces no file it finds there


def export(run_dir: Path, dest: Path, name: str | None = None, merged: bool = False) -> Path:
    """Copy the run's adapter `name` (default: its first) to DEST (a new or empty folder) with base model and
    revision, and a model card; with `merged`, also the adapter merged into its base, in DEST/merged
    (harness/merge.py)."""
    dest = Path(dest)
    refuse_folder(dest, _nothing, "DEST")
    results = read_run(run_dir)
    adapters = results.manifest.run_adapters()
    if not adapters:
        raise HarnessError("this run used no adapter; expected a run with an adapter variant", file=run_dir)
    name = name or next(iter(adapters))
    if name not in adapters:
        raise HarnessError(f"--adapter: this run has no adapter {name!r}; expected one of {', '.join(adapters)}",
                           file=run_dir)
    adapter = adapters[name]
    source = Path(adapter.folder)
    files = [source / name for name in ADAPTER_FILES]
    if not all(f.is_file() for f in files):
        raise HarnessError(f"the adapter of this run is no longer at {source} (cache cleared?); run "
                           "`harness run` again with the same suite to rebuild it", file=run_dir)
    if files_sha256(source) != adapter.adapter_sha256:
        raise HarnessError(f"the adapter at {source} does not match the run's recorded hash", file=run_dir)
    with staged_folder(dest, _nothing, "DEST") as staging:
        for file in files:
            shutil.copyfile(file, staging / file.name)  # modes from the umask, not the cache's
        if (source / "harness_manifest.json").exists():
            shutil.copyfile(source / "harness_manifest.json", staging / "harness_manifest.json")
        model = results.manifest.model
        config = json.loads((staging / "adapter_config.json").read_text())
        if not model.smoke:
            config["base_model_name_or_path"] = model.name  # the hub id, not this machine's cache path
            config["revision"] = model.revision
        write_text_atomic(staging / "adapter_config.json", json.dumps(config, indent=2) + "\n")
        check = merge(results, name, source, staging / "merged") if merged else None
        write_text_atomic(staging / "README.md", model_card(results, name, check))
    return dest


class _Markdown(str):
    """Text a filter has already made safe for the place it lands in the card."""


def _escaped(value: object) -> str:
    """Every value the card template prints is plain Markdown text unless a filter placed it."""
    return value if isinstance(value, _Markdown) else markdown.text("" if value is None else value)


def model_card(results, name: str, merged: MergeCheck | None = None) -> str:
    """README.md of the exported adapter. Names, prompts and answers come from suites and models, so each
    is escaped for where it lands (text, code span, fenced block, YAML, Python string): no Markdown or
    HTML passes through. `name` is the exported adapter's."""
    env = Environment(loader=PackageLoader("harness", "templates"), autoescape=False, trim_blocks=True,
                      lstrip_blocks=True, finalize=_escaped)
    env.filters["num"] = lambda v, d=2: "–" if v is None else f"{v:,.{d}f}"
    env.filters["code"] = lambda v, cell=False: _Markdown(markdown.code_span(v, cell))
    env.filters["fenced"] = lambda v, language="": _Markdown(markdown.fenced(v, language))
    env.filters["quoted"] = lambda v: _Markdown(json.dumps(str(v)))  # a YAML or Python string literal
    variant = variant_of(results, name)
    record = results.manifest.evaluation.get(variant)
    held = (record.numerics if record is not None and record.numerics else results.manifest.numerics) or {}
    return env.get_template("model_card.md.j2").render(
        r=results, m=results.manifest, name=name, a=results.manifest.run_adapters()[name], rows=summary_rows(results),
        headlines=[line for line in headlines(results.verdict) if line],
        canary=[v for v in results.canary.verdict if v.a == name] if results.canary else [], merged=merged,
        variant=variant, example=(results.manifest.prompting.get("example") or {}).get(variant),
        precision=precision_lines(results.manifest), held=held,
        manifest_json=json.dumps(results.manifest.model_dump(mode="json"), indent=2))
