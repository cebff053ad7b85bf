"""`harness run`: suite -> examples -> adapter -> generations per variant -> scores -> results -> report.

Reads top to bottom as that sentence. Each stage lives in its own module; this one only wires them and
writes the run folder.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from harness.checks import Prepared, prepare
from harness.compare import builtin_specs, compare_variants, custom_spec, verdict
from harness.errors import HarnessError
from harness.evaluation import VariantRun, evaluate_variants
from harness.files import write_json_atomic, write_text_atomic
from harness.metrics.check_result import RuleError
from harness.metrics.perplexity import summarise
from harness.models import available_folder, load_tokenizer, resolve_model, resolve_numerics, tokenizer_at
from harness.progress import console, print_summary, stage
from harness.prompts import VARIANT_NAMES, PromptRenderer, check_context, model_context
from harness.report import render_report
from harness.results import ExampleResult, Results, VariantResult, write_results
from harness.run_folder import staged_run_folder
from harness.scoring import prompt_tax, score_output, summarise_variant
from harness.smoke import SMOKE_NOTICE
from harness.suite import load_suite
from harness.training import train_or_reuse
from harness.versions import library_versions

# --smoke: the built-in tiny model, with step counts a laptop CPU finishes in about a minute.
SMOKE_OVERRIDES = {
    "training.max_steps": 160,
    "training.batch_size": 8,
    "training.learning_rate": 5e-3,
    "training.warmup_ratio": 0.05,
    "training.lora": {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"},
    "decoding.max_new_tokens": 48,
    "decoding.batch_size": 32,
}


# Named profiles shrink a suite for a first look; the results, the report and the manifest say which ran.
PROFILES = {
    "quick": {
        "note": "Quick profile: 1 training epoch, the first 24 eval examples, at most 128 new tokens per answer. "
                "A first look in minutes on a CPU, not the suite's full measurement.",
        "overrides": {"training.epochs": 1, "training.max_steps": None, "data.eval.limit": 24,
                      "decoding.max_new_tokens": 128},
    },
}


def run(suite_path: str | Path, out: Path | None = None, smoke: bool = False, model: str | None = None,
        profile: str | None = None) -> Path:
    stages: dict[str, float] = {}
    suite = load_suite(suite_path, _overrides(suite_path, smoke, model, profile))
    with _stage(stages, "data", "suite and data"):
        prepared = prepare(suite)
    with _stage(stages, "model", f"model {'(smoke)' if smoke else suite.model}"):
        source = resolve_model(suite.model, suite.revision, suite_dir=suite.path.parent, smoke=smoke,
                               announce=lambda line: console.print(f"  {line}"))
        tokenizer = load_tokenizer(source)
        renderer = PromptRenderer(tokenizer, suite.system_prompt, suite.base_prompt)
        check_context(renderer, prepared.train, prepared.eval, model_context(source.folder),
                      suite.decoding.max_new_tokens, suite.training.max_length)
        numerics = resolve_numerics(suite.precision, suite.training.quantization, "evaluation")
    if source.smoke:
        console.print(f"[yellow]{SMOKE_NOTICE}[/]")
    with _stage(stages, "training", "adapter"):
        adapter = train_or_reuse(source, tokenizer, renderer, prepared.train, suite.training,
                                 resolve_numerics(suite.precision, suite.training.quantization, "training"))
    with _stage(stages, "evaluation", "variants"):
        runs = evaluate_variants(suite, source, tokenizer, renderer, adapter, prepared.eval, numerics)
    run_dir = out or default_run_dir(suite.name, smoke)
    with staged_run_folder(run_dir) as staging:
        write_generations(runs, prepared.eval.examples, staging, source.smoke)  # kept even if scoring fails
        with _stage(stages, "scoring", "scores and paired statistics"), _rule_errors(suite):
            results = build_results(prepared, runs, source.smoke, stages=stages, manifest=_manifest(
                suite, prepared, source, adapter, runs, numerics, renderer, profile))
        results.stage_seconds = dict(stages)
        if profile:
            results.profile, results.profile_note = profile, PROFILES[profile]["note"]
        stage("report", str(run_dir))
        write_run(results, staging)
    print_summary(results)
    console.print(f"[bold green]report[/] {run_dir / 'report.html'}")
    return run_dir


def check_against_model(prepared: Prepared) -> str:
    """For `harness validate`: the checks that need the model's tokenizer and config (the context length),
    where this machine has the model already; says what was checked, or why not."""
    suite = prepared.suite
    folder = available_folder(suite.model, suite.revision, suite.path.parent)
    if folder is None:
        return (f"context length not checked: {suite.model} is not on this machine yet (`harness run` checks it "
                "before any model work)")
    context = model_context(folder)
    check_context(PromptRenderer(tokenizer_at(folder, suite.model), suite.system_prompt, suite.base_prompt),
                  prepared.train, prepared.eval, context, suite.decoding.max_new_tokens, suite.training.max_length)
    return (f"every prompt fits {suite.model}'s context of {context} tokens" if context else
            f"{suite.model} names no context length in its config.json; prompts were not checked against one")


def _manifest(suite, prepared: Prepared, source, adapter, runs: dict[str, VariantRun], numerics, renderer,
              profile: str | None) -> dict:
    """What ran, recorded whole: results are comparable only where these agree."""
    return {
        "suite": {"name": suite.name, "file": str(suite.path), "sha256": suite.content_hash(),
                  "settings": suite.model_dump(mode="json")},
        "model": source.identity(),
        "adapter": {"key": adapter.key, "folder": str(adapter.folder), "reused": adapter.reused,
                    **{k: adapter.manifest.get(k) for k in ("adapter_sha256", "stats", "training", "numerics")}},
        "data": {"train_sha256": prepared.train.content_hash, "eval_sha256": prepared.eval.content_hash,
                 "train_examples": len(prepared.train.examples),
                 "eval_examples": len(prepared.eval.examples)},
        "decoding": suite.decoding.model_dump(mode="json"),
        "numerics": numerics.describe(),
        **({"profile": {"name": profile, "overrides": PROFILES[profile]["overrides"]}} if profile else {}),
        "evaluation": {name: {"cached": r.cached, "generation_seconds": round(r.generation_seconds, 3),
                              "generated_tokens": sum(o.tokens for o in r.outputs),
                              "scoring_seconds": round(r.scoring_seconds, 3)} for name, r in runs.items()},
        "prompting": renderer.describe(),
        "lexicon": {"name": prepared.lexicon.name, "version": prepared.lexicon.version},
        "libraries": library_versions(),
        "hardware": _hardware(),
        **({"notice": SMOKE_NOTICE} if source.smoke else {}),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _overrides(suite_path: str | Path, smoke: bool, model: str | None, profile: str | None) -> dict:
    overrides = dict(SMOKE_OVERRIDES if smoke else {})
    if model is not None:
        overrides.update({"model": model, "revision": None})
    if profile:
        if profile not in PROFILES:
            raise HarnessError(f"--profile: unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
        overrides.update(PROFILES[profile]["overrides"])
    return overrides


@contextmanager
def _stage(stages: dict[str, float], name: str, title: str):
    stage(title)
    started = time.perf_counter()
    yield
    stages[name] = round(time.perf_counter() - started, 3)


def build_results(prepared: Prepared, runs: dict[str, VariantRun], smoke: bool, manifest: dict,
                  stages: dict[str, float]) -> Results:
    examples = prepared.eval.examples
    per_variant = {
        name: [score_output(example, run.outputs[i], prepared.rules, prepared.lexicon, run.references[i],
                            {metric: scorer(run.outputs[i].text, example.response)
                             for metric, scorer in prepared.custom.items()})
               for i, example in enumerate(examples)]
        for name, run in runs.items()
    }
    summary = {name: summarise_variant(runs[name].outputs, scores, summarise(runs[name].references),
                                       runs[name].prompt_tokens)
               for name, scores in per_variant.items()}
    records = [
        ExampleResult(id=example.id, task=example.task, prompt=example.prompt, reference=example.response,
                      variants={name: VariantResult(prompt=runs[name].prompts[i],
                                                    prompt_tokens=runs[name].prompt_tokens[i],
                                                    output=runs[name].outputs[i], scores=per_variant[name][i])
                                for name in runs})
        for i, example in enumerate(examples)
    ]
    specs = builtin_specs() + [custom_spec(m.name, m.better, m.kind) for m in prepared.suite.metrics.custom]
    comparisons = compare_variants(records, specs, prepared.suite.verdict.behaviours)
    return Results(suite=prepared.suite.name, smoke=smoke, notice=SMOKE_NOTICE if smoke else None,
                   variants=list(VARIANT_NAMES), summary=summary, verdict=verdict(comparisons),
                   comparisons=comparisons, prompt_tax=prompt_tax(summary["base"].prompt_tokens,
                                                                  summary["system"].prompt_tokens),
                   examples=records, manifest=manifest, stage_seconds=stages)


def write_generations(runs: dict[str, VariantRun], examples, run_dir: Path, smoke: bool) -> None:
    marker = {"smoke_model": True} if smoke else {}  # every file from the smoke model says so
    lines = [json.dumps({"variant": name, "id": example.id, "prompt": prompt, **output.model_dump(), **marker},
                        ensure_ascii=False) + "\n"
             for name, run in runs.items()
             for example, prompt, output in zip(examples, run.prompts, run.outputs, strict=True)]
    write_text_atomic(run_dir / "generations.jsonl", "".join(lines))


def write_run(results: Results, run_dir: Path) -> None:
    """Every file is written atomically; the report last."""
    write_json_atomic(run_dir / "manifest.json", results.manifest)
    write_results(results, run_dir)
    write_text_atomic(run_dir / "report.html", render_report(results))


@contextmanager
def _rule_errors(suite):
    """A rule that cannot run on an output (e.g. a regex timing out) is bad input, reported as such."""
    try:
        yield
    except RuleError as exc:
        raise HarnessError(f"metrics.format: {exc} (generations are saved in the run folder)",
                           file=suite.path) from None


def default_run_dir(suite_name: str, smoke: bool) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("reports") / f"{suite_name}{'-smoke' if smoke else ''}-{stamp}"


def _hardware() -> dict:
    import os
    import platform

    import torch

    info = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "device": "cuda" if torch.cuda.is_available() else "cpu"}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
