"""The run's manifest: what ran, recorded whole (model, adapters, variants and the precision each ran in,
data, decoding, prompts, libraries, hardware). Results compare only where their manifests agree."""

from __future__ import annotations

from datetime import UTC, datetime

from harness.evaluation import VariantRun
from harness.models import ModelSource, Numerics
from harness.precision import variant_numerics
from harness.prompts import PromptRenderer
from harness.results import Manifest, Selection
from harness.scorers import Prepared
from harness.smoke import SMOKE_NOTICE
from harness.suite import Suite
from harness.training import Adapter
from harness.variants import Variant
from harness.versions import library_versions


def run_manifest(suite: Suite, prepared: Prepared, source: ModelSource, adapters: dict[str, Adapter],
                 chosen: list[Variant], runs: dict[str, VariantRun], numerics: Numerics, renderer: PromptRenderer,
                 selection: Selection, profile: dict | None) -> Manifest:
    """What ran, recorded whole: results are comparable only where these agree."""
    return Manifest.model_validate({
        "suite": {"name": suite.name, "file": str(suite.path), "sha256": suite.content_hash(),
                  "settings": suite.model_dump(mode="json")},
        "model": source.identity(),
        # The first adapter under its old key, for tools that read one (export picks by name).
        **({"adapter": adapter_record(next(iter(adapters.values())))} if adapters else {}),
        "adapters": {name: adapter_record(adapter) for name, adapter in adapters.items()},
        "variants": [v.describe() for v in chosen],
        "selection": selection.model_dump(),
        "data": {"train_sha256": prepared.train.content_hash, "eval_sha256": prepared.eval.content_hash,
                 "train_examples": len(prepared.train.examples),
                 "eval_examples": len(prepared.eval.examples)},
        "decoding": suite.decoding.model_dump(mode="json"),
        "numerics": numerics.describe(),
        **({"profile": profile} if profile else {}),
        "evaluation_precision": suite.evaluation.precision,
        "evaluation": {v.name: {"cached": runs[v.name].cached,
                                "generation_seconds": round(runs[v.name].generation_seconds, 3),
                                "generated_tokens": sum(o.tokens for o in runs[v.name].outputs),
                                "scoring_seconds": round(runs[v.name].scoring_seconds, 3),
                                "numerics": variant_numerics(suite, v.adapter).key()} for v in chosen},
        "prompting": renderer.describe(chosen),
        "lexicon": prepared.lexicon.describe(),
        "libraries": library_versions(),
        "hardware": hardware(),
        **({"notice": SMOKE_NOTICE} if source.smoke else {}),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    })


def adapter_record(adapter: Adapter) -> dict:
    return {"key": adapter.key, "folder": str(adapter.folder), "reused": adapter.reused,
            **{k: adapter.manifest.get(k) for k in ("adapter_sha256", "stats", "training", "numerics", "external",
                                                    "data")}}


def hardware() -> dict:
    import os
    import platform

    import torch

    info = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "device": "cuda" if torch.cuda.is_available() else "cpu"}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
