"""`harness run`: suite -> examples -> adapter -> generations per variant -> scores -> results -> report.

Reads top to bottom as that sentence. Each stage lives in its own module; this one only wires them and
writes the run folder.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from harness import canary, vllm_engine
from harness.analysis import PanelRuns, build_results
from harness.console import print_summary
from harness.data_files import raise_all
from harness.data_size import fraction_jobs, loaded_name, wanted
from harness.errors import HarnessError
from harness.evaluation import Job, VariantRun, evaluate_jobs, reference_targets, variant_jobs
from harness.external import external_adapter, locate, problems
from harness.files import write_json_atomic, write_text_atomic
from harness.gates import suite_gate_errors
from harness.manifest import run_manifest
from harness.metrics.check_result import RuleError
from harness.models import (
    ModelSource,
    available_folder,
    load_tokenizer,
    resolve_model,
    tokenizer_at,
    weights_hash,
)
from harness.panel_checks import canary_problem, exchanges, panel_choice
from harness.panels import Condition, conditions, new_passes, pass_key
from harness.precision import check_jobs, check_result, nf4_adapters, training_numerics, variant_numerics, with_numerics
from harness.processes import join
from harness.progress import console, stage
from harness.prompts import PromptRenderer, check_context, model_context
from harness.report import render_report
from harness.results import Results, Selection, write_results
from harness.run_folder import staged_run_folder
from harness.scorers import Prepared, prepare
from harness.smoke import SMOKE_NOTICE
from harness.suite import ExternalAdapter, Suite, load_suite
from harness.training import Adapter, train_or_reuse
from harness.variants import Variant, resolve, select

# --smoke: the built-in tiny model, with step counts a laptop CPU finishes in about a minute.
SMOKE_OVERRIDES = {
    "training.max_steps": 160,
    "training.batch_size": 8,
    "training.learning_rate": 5e-3,
    "training.warmup_ratio": 0.05,
    "training.lora": {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"},
    "decoding.max_new_tokens": 48,
    "decoding.batch_size": 32,
    "training.data_fractions": None,  # each fraction would train 160 steps more
}


# Named profiles shrink a suite for a first look; the results, the report and the manifest say which ran.
PROFILES = {
    "quick": {
        "note": "Quick profile: 1 training epoch, the first 24 eval examples, at most 128 new tokens per answer, "
                "no panels and no data-size curve. A first look in minutes on a CPU, not the suite's full "
                "measurement.",
        "overrides": {"training.epochs": 1, "training.max_steps": None, "data.eval.limit": 24,
                      "decoding.max_new_tokens": 128, "panels": {}, "training.data_fractions": None},
    },
}


def run(suite_path: str | Path, out: Path | None = None, smoke: bool = False, model: str | None = None,
        profile: str | None = None, adapters: list[str] | None = None, variants: list[str] | None = None,
        limit: int | None = None, panels: str | None = None) -> Path | None:
    """`adapters`: `--adapter [NAME=]PATH` values; `variants`, `limit` and `panels`: `--variants`, `--limit`
    and `--panels`. Under several processes (harness/processes.py) every one trains and evaluates its share,
    and only the main one writes the run folder and returns it; the others return None."""
    processes = join()
    console.quiet = console.quiet or not processes.main
    stages: dict[str, float] = {}
    given = _adapter_options(suite_path, adapters)
    suite = load_suite(suite_path, _overrides(smoke, model, profile, given))
    suite = suite.with_overrides(panel_choice(suite, panels))
    selection = Selection(variants=variants, limit=limit)
    with _stage(stages, "data", "suite and data"):
        prepared = _limited(prepare(suite), limit)
        raise_all(suite_gate_errors(suite))
        prepared, chosen = _chosen(prepared, variants, processes.world)
        suite = prepared.suite
    with _stage(stages, "model", f"model {'(smoke)' if smoke else suite.model}"):
        source = resolve_model(suite.model, suite.revision, suite_dir=suite.path.parent, smoke=smoke,
                               announce=lambda line: console.print(f"  {line}"))
        tokenizer = load_tokenizer(source)
        renderer = PromptRenderer(tokenizer, suite.system_prompt, suite.base_prompt)
        check_context(renderer, prepared.train, prepared.eval, model_context(source.folder),
                      suite.decoding.max_new_tokens, suite.training.max_length, chosen)
        external = {name: external_adapter(folder, suite.adapter_settings()[name]) for name, folder in
                    _external_folders(suite, chosen, source.folder, source.weights_hash,
                                      {name: f"--adapter {text}" for name, (text, _) in given.items()}).items()}
        numerics = variant_numerics(suite, None)  # the base model's; each variant's is in the manifest
    if source.smoke:
        console.print(f"[yellow]{SMOKE_NOTICE}[/]")
    with _stage(stages, "training", "adapters"):
        trained = _trained_adapters(suite, chosen, source, tokenizer, renderer, prepared)
        smaller = _smaller_adapters(suite, chosen, source, tokenizer, renderer, prepared)
    found = {**external, **trained}
    adapters = {name: found[name] for name in suite.adapter_settings() if name in found}  # in the suite's order
    with _stage(stages, "evaluation", "variants and panels"):
        jobs, found, fractions = _jobs(suite, renderer, chosen, prepared, model_context(source.folder))
        done = evaluate_jobs(suite, source, tokenizer, renderer, {**adapters, **smaller}, jobs, numerics)
    if not processes.main:
        return None
    runs = {v.name: done[v.name] for v in chosen}
    checked = check_result(done, numerics, not suite.decoding.do_sample) if "quantisation/nf4" in done else None
    panels = PanelRuns(found, {name: run for name, run in done.items() if name not in runs},
                       canary.document_start(tokenizer), checked, fractions, {**adapters, **smaller})
    run_dir = out or default_run_dir(suite.name, smoke)
    with staged_run_folder(run_dir) as staging:
        write_generations(runs, prepared.eval.examples, staging, source.smoke)  # kept even if scoring fails
        write_panel_generations(panels.runs, staging, source.smoke)
        manifest = run_manifest(suite, prepared, source, adapters, chosen, runs, numerics, renderer, selection,
                                {"name": profile, "overrides": PROFILES[profile]["overrides"]} if profile else None)
        with _stage(stages, "scoring", "scores and paired statistics"), _rule_errors(suite):
            results = build_results(prepared, chosen, runs, source.smoke, manifest, stages, selection, panels)
        results.stage_seconds = dict(stages)
        if profile:
            results.profile, results.profile_note = profile, PROFILES[profile]["note"]
        stage("report", str(run_dir))
        write_run(results, staging)
    print_summary(results)
    console.print(f"[bold green]report[/] {run_dir / 'report.html'}")
    return run_dir


def _chosen(prepared: Prepared, variants: list[str] | None, processes: int) -> tuple[Prepared, list[Variant]]:
    """The variants `--variants` picks, checked against what the suite asks of them: the vLLM backend here,
    and the canary (left out, with a notice, where a `--variants` subset cannot compare it)."""
    suite = prepared.suite
    chosen = select(resolve(suite, prepared.train, prepared.eval), variants)
    quantised = any(variant_numerics(suite, v.adapter).quantization == "nf4" for v in chosen)
    if problem := vllm_engine.refusal(suite, processes, quantised):
        raise HarnessError(problem, file=suite.path, where=suite.line_of("decoding", "backend"))
    if suite.panels.canary is not None and (problem := canary_problem(chosen)):
        if not variants:
            raise HarnessError(problem, file=suite.path, where=suite.line_of("panels", "canary"))
        console.print(f"[yellow]canary panel skipped[/]: {problem.removeprefix('panels.canary: ')}")
        prepared = replace(prepared, suite=suite.with_overrides({"panels.canary": None}))
    return prepared, chosen


def _jobs(suite: Suite, renderer: PromptRenderer, chosen: list[Variant], prepared: Prepared,
          context: int | None) -> tuple[list[Job], list[Condition], list]:
    """Every pass of the model this run makes: the variants, then each panel's conditions; the panels' extra
    cost is said before any of it runs, and a panel prompt that overflows the model's context stops the run."""
    targets = reference_targets(suite, renderer, prepared.eval)
    turns = exchanges(suite) if suite.panels.persistence or suite.panels.truncation else []
    found = conditions(suite, renderer, chosen, prepared.eval, targets, turns)
    extra = canary.jobs(suite, renderer, chosen) if suite.panels.canary is not None else []
    jobs = variant_jobs(suite, renderer, chosen, prepared.eval)
    reference = [len(ids) for ids in renderer.tokenizer(targets, add_special_tokens=False)["input_ids"]]
    seen = {pass_key(j) for j in jobs}
    for panel in dict.fromkeys(c.panel for c in found):
        fresh = [c.job for c in new_passes([c for c in found if c.panel == panel], seen)]
        lengths = {job.name: _prompt_lengths(renderer, job) for job in fresh}
        # Each prompt with the longer of its answer (max_new_tokens) and its scored reference must fit.
        need = {name: max((n + max(suite.decoding.max_new_tokens, t) for n, t in zip(ns, reference, strict=True)),
                          default=0) for name, ns in lengths.items()}
        if context is not None and need and max(need.values()) > context:
            name = max(need, key=need.get)
            raise HarnessError(f"panels.{panel}: a prompt of {name} with its answer or reference is {need[name]} "
                               f"tokens, over the model's context of {context} tokens; expected fewer turns, "
                               "shorter exchanges or fewer decoding.max_new_tokens", file=suite.path,
                               where=suite.line_of("panels", panel))
        console.print(f"  panel {panel}: {len(fresh)} more pass(es), {sum(len(j.prompts) for j in fresh):,} answers "
                      f"from {sum(sum(n) for n in lengths.values()):,} prompt tokens")
    if extra:
        console.print(f"  panel canary: {len(extra) // 2} model(s) x ({len(extra[0].prompts)} passages scored + "
                      f"{len(extra[1].prompts)} questions answered)")
    if quantised := nf4_adapters(suite, chosen):
        extra += check_jobs(suite, renderer, prepared.eval)
        console.print(f"  quantisation check ({', '.join(quantised)} trained on an NF4 base): the base model's "
                      f"{len(prepared.eval.examples)} answers on the NF4 base and on the unquantised one")
    if fractions := fraction_jobs(suite, chosen, {job.name: job for job in jobs}):
        extra += [f.job for f in fractions]
        console.print(f"  data size: {len(fractions)} more pass(es), one per smaller adapter, "
                      f"{len(fractions) * len(prepared.eval.examples):,} answers")
    return with_numerics(suite, jobs + [c.job for c in found] + extra), found, fractions


def _prompt_lengths(renderer: PromptRenderer, job: Job) -> list[int]:
    return [len(ids) for ids in renderer.tokenizer(list(job.prompts), add_special_tokens=False)["input_ids"]]


def _limited(prepared: Prepared, limit: int | None) -> Prepared:
    """`--limit N`: the first N eval examples (recorded in the results' selection)."""
    if limit is None:
        return prepared
    if limit < 1:
        raise HarnessError(f"--limit: {limit}; expected a whole number of at least 1")
    return replace(prepared, eval=prepared.eval.model_copy(update={"examples": prepared.eval.examples[:limit]}))


def _adapter_options(suite_path: str | Path, given: list[str] | None) -> dict[str, tuple[str, str]]:
    """Each `--adapter [NAME=]PATH` as NAME -> (the option's text, PATH); NAME defaults to the suite's first."""
    if not given:
        return {}
    suite = load_suite(suite_path)
    return {name: (text, path) for text in given for name, path in [_named(suite, text)]}


def _named(suite: Suite, text: str) -> tuple[str, str]:
    name, _, path = text.rpartition("=") if "=" in text.split("/")[0] else ("", "", text)
    names = list(suite.adapter_settings())
    name = name or names[0]
    if name not in names:
        raise HarnessError(f"--adapter {text}: unknown adapter {name!r}; expected one of {', '.join(names)} "
                           "(or PATH alone, for the suite's first adapter)")
    if not path:
        raise HarnessError(f"--adapter {text}: expected [NAME=]PATH, a PEFT adapter folder or a hub id")
    return name, path


def _external_folders(suite: Suite, chosen: list[Variant], model_folder: Path | None, weights: str | None,
                      cli: dict[str, str] | None = None) -> dict[str, Path]:
    """Each adapter trained elsewhere that a chosen variant uses: found, LoRA, made for this base model, and
    (where the model's config is here) of shapes that fit it. Every problem is one line naming the field, or
    the `--adapter` option that set it."""
    cli, found, errors = cli or {}, {}, []
    for name, entry in suite.adapter_settings().items():
        if not isinstance(entry, ExternalAdapter) or not any(v.adapter == name for v in chosen):
            continue
        field = cli.get(name, f"adapters.{name}.external")
        file, where = (None, None) if name in cli else (suite.path, suite.line_of("adapters", name))
        try:
            folder = locate(entry, suite.path.parent, field)
        except HarnessError as exc:
            errors.append(HarnessError(exc.message, file=file, where=where))
            continue
        errors += [HarnessError(line, file=file, where=where)
                   for line in problems(folder, field, suite.model, model_folder, weights)]
        found[name] = folder
    raise_all(errors)
    return found


def _trained_adapters(suite: Suite, chosen: list[Variant], source: ModelSource, tokenizer,
                      renderer: PromptRenderer, prepared: Prepared) -> dict[str, Adapter]:
    """Each adapter this suite trains that a chosen variant uses: trained, or reused from the cache. None
    at all when no chosen variant needs one."""
    settings, trained = suite.adapter_settings(), {}
    for name in dict.fromkeys(v.adapter for v in chosen if v.adapter):
        entry = settings[name]
        if isinstance(entry, ExternalAdapter):
            continue
        stage(f"adapter {name}")
        trained[name] = train_or_reuse(source, tokenizer, renderer, prepared.train, entry,
                                       training_numerics(suite, name))
    if not trained:
        console.print("  no variant needs an adapter trained by this suite: nothing to train")
    return trained


def _smaller_adapters(suite: Suite, chosen: list[Variant], source: ModelSource, tokenizer,
                      renderer: PromptRenderer, prepared: Prepared) -> dict[str, Adapter]:
    """The data-size curve's adapters (training.data_fractions), by the name each is loaded under."""
    found = {}
    for name, (_, fractions) in wanted(suite, chosen).items():
        for fraction in fractions:
            stage(f"adapter {name} on {fraction:.0%} of the training rows (data size)")
            found[loaded_name(name, fraction)] = train_or_reuse(
                source, tokenizer, renderer, prepared.train, suite.adapter_settings()[name],
                training_numerics(suite, name), fraction)
    return found


def check_against_model(prepared: Prepared) -> str:
    """For `harness validate`: the gates, then the checks that need the model's tokenizer and config (the
    context length, the shapes of adapters trained elsewhere), where this machine has the model already;
    says what was checked, or why not."""
    suite = prepared.suite
    raise_all(suite_gate_errors(suite))
    variants = resolve(suite, prepared.train, prepared.eval)
    folder = available_folder(suite.model, suite.revision, suite.path.parent)
    _external_folders(suite, variants, folder, weights_hash(folder) if folder is not None else None)
    if folder is None:
        return (f"context length not checked: {suite.model} is not on this machine yet (`harness run` checks it "
                "before any model work)")
    context = model_context(folder)
    check_context(PromptRenderer(tokenizer_at(folder, suite.model), suite.system_prompt, suite.base_prompt),
                  prepared.train, prepared.eval, context, suite.decoding.max_new_tokens, suite.training.max_length,
                  variants)
    return (f"every prompt fits {suite.model}'s context of {context} tokens" if context else
            f"{suite.model} names no context length in its config.json; prompts were not checked against one")


def _overrides(smoke: bool, model: str | None, profile: str | None,
               adapters: dict[str, tuple[str, str]] | None = None) -> dict:
    overrides = dict(SMOKE_OVERRIDES if smoke else {})
    for name, (_, path) in (adapters or {}).items():
        local = Path(path).expanduser()
        # A folder is taken from where the command runs; anything else is a hub id.
        overrides[f"adapters.{name}"] = {"external": str(local.resolve()) if local.exists() else path}
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


def write_generations(runs: dict[str, VariantRun], examples, run_dir: Path, smoke: bool) -> None:
    marker = {"smoke_model": True} if smoke else {}  # every file from the smoke model says so
    lines = [json.dumps({"variant": name, "id": example.id, "prompt": prompt, **output.model_dump(), **marker},
                        ensure_ascii=False) + "\n"
             for name, run in runs.items()
             for example, prompt, output in zip(examples, run.prompts, run.outputs, strict=True)]
    write_text_atomic(run_dir / "generations.jsonl", "".join(lines))


def write_panel_generations(runs: dict[str, VariantRun], run_dir: Path, smoke: bool) -> None:
    """Every panel pass's answers, by job name (e.g. persistence/3/system), in panels.jsonl."""
    if not any(run.outputs for run in runs.values()):
        return
    marker = {"smoke_model": True} if smoke else {}
    lines = [json.dumps({"pass": name, "index": i, "prompt": prompt, **output.model_dump(), **marker},
                        ensure_ascii=False) + "\n"
             for name, run in runs.items() if run.outputs
             for i, (prompt, output) in enumerate(zip(run.prompts, run.outputs, strict=True))]
    write_text_atomic(run_dir / "panels.jsonl", "".join(lines))


def write_run(results: Results, run_dir: Path) -> None:
    """Every file is written atomically; the report last."""
    write_json_atomic(run_dir / "manifest.json", results.manifest.model_dump(mode="json"))
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
