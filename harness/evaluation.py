"""Every variant from one loaded base model: each adapter is loaded once onto it as a named PEFT adapter and
switched per variant; the base is never reloaded, and a run that needs no adapter loads none.

For each variant: the exact rendered prompts, batched generations, and the perplexity of the reference
answers under that variant's own conditioning (the scored reference tokens are checked to be identical
across variants). Each variant's results are cached under a key of content hashes (weights, adapter,
prompts, references, decoding, libraries): a re-run with nothing changed loads no model at all. Each entry
records the hash of its content and is checked on reading (harness.cache): a damaged one is recomputed.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, replace
from types import SimpleNamespace

from harness import vllm_engine
from harness.cache import open_cache, read_entry, write_entry
from harness.errors import HarnessError
from harness.examples import ExampleSet
from harness.files import sha256_json
from harness.generation import Output, generate, stop_token_ids
from harness.metrics.perplexity import ReferenceScore, encode_references, score_pairs
from harness.models import ModelSource, Numerics, load_model, release_memory
from harness.processes import Processes, current, from_main, gather
from harness.progress import Bar, console, stage
from harness.prompts import PromptRenderer
from harness.suite import Decoding, Suite
from harness.tokens import EncodedPair, encode_prompts
from harness.training import Adapter
from harness.variants import Variant
from harness.versions import library_versions

# Part of each variant's cache key: bump when generation or scoring code changes its results (3: entries
# carry the hash of their content).
RECIPE = 3


@dataclass
class VariantRun:
    prompts: list[str]
    prompt_tokens: list[int]
    outputs: list[Output]
    references: list[ReferenceScore]
    cached: bool = False
    generation_seconds: float = 0.0
    scoring_seconds: float = 0.0

    def to_json(self) -> dict:
        return {"prompts": self.prompts, "prompt_tokens": self.prompt_tokens,
                "outputs": [o.model_dump() for o in self.outputs],
                "references": [r.model_dump() for r in self.references]}

    @classmethod
    def from_json(cls, raw: dict) -> VariantRun:
        return cls(raw["prompts"], raw["prompt_tokens"], [Output(**o) for o in raw["outputs"]],
                   [ReferenceScore(**r) for r in raw["references"]], cached=True)


@dataclass(frozen=True)
class Job:
    """One pass of the model over a list of prompts: a variant's answers, then the perplexity of `targets`
    after each prompt. The run's variants are jobs; so is each condition of a panel (harness/panels.py)."""

    name: str
    variant: Variant  # which adapter is active (and, for the record, which prompt arm)
    prompts: list[str]
    targets: list[str] | None  # scored after each prompt; None: nothing scored
    generate: bool = True  # False: reference scoring only (the canary's passages)
    decoding: Decoding | None = None  # None: the suite's
    texts: list[str] | None = None  # the targets' plain texts, whose UTF-8 bytes bits-per-byte counts; None: targets
    numerics: Numerics | None = None  # how the base model is held for this pass; None: evaluate_jobs' own


@dataclass
class _Plan:
    job: Job
    pairs: list[EncodedPair]
    key: str
    numerics: Numerics


def variant_jobs(suite: Suite, renderer: PromptRenderer, variants: list[Variant], eval_set: ExampleSet) -> list[Job]:
    """Each variant's job: its rendered prompts, with the eval references scored after them."""
    targets = reference_targets(suite, renderer, eval_set)
    texts = [e.response for e in eval_set.examples]
    return [Job(v.name, v, [renderer.for_variant(v, e.prompt) for e in eval_set.examples], targets, texts=texts)
            for v in variants]


def reference_targets(suite: Suite, renderer: PromptRenderer, eval_set: ExampleSet) -> list[str]:
    """The references as the chat template renders them after the generation prompt: the same for every
    variant and every panel condition."""
    include_eot = suite.metrics.perplexity.include_end_of_turn
    return [renderer.target(e.prompt, e.response, e.id, end_of_turn=include_eot) for e in eval_set.examples]


def _plans(suite: Suite, source: ModelSource, tokenizer, adapters: dict[str, Adapter], jobs: list[Job],
           numerics: Numerics) -> list[_Plan]:
    plans, scored = [], {}
    for job in jobs:
        pairs = encode_references(tokenizer, job.prompts, job.targets, "") if job.targets is not None else []
        if job.targets is not None:
            # The same references must tokenise the same after every prompt, or their perplexities differ
            # for a reason that is not the model's.
            group = sha256_json(job.targets)
            completions = [p.completion_ids for p in pairs]
            first = scored.setdefault(group, (job.name, completions))
            if completions != first[1]:
                bad = next(i for i, (a, b) in enumerate(zip(completions, first[1], strict=True)) if a != b)
                raise HarnessError(f"reference {bad + 1} tokenises differently after the {job.name} prompt than "
                                   f"after the {first[0]} prompt; perplexities would not be comparable",
                                   where="metrics.perplexity")
        held = job.numerics or numerics
        key = sha256_json({
            "recipe": RECIPE, "weights": source.weights_hash, "tokenizer": source.tokenizer_hash,
            "config": source.config_hash, "numerics": held.key(),
            "adapter": adapters[job.variant.adapter].manifest["adapter_sha256"] if job.variant.adapter else None,
            "prompts": job.prompts, "scored": [p.input_ids for p in pairs], "generate": job.generate,
            # The pass's decoding, on the run's backend (a canary question sets its own max_new_tokens).
            "decoding": (job.decoding or suite.decoding).model_copy(update={"backend": suite.decoding.backend}).key(),
            "perplexity": suite.metrics.perplexity.model_dump(mode="json"), "libraries": library_versions(),
        })[:32]
        plans.append(_Plan(job, pairs, key, held))
    return plans


def evaluate_variants(suite: Suite, source: ModelSource, tokenizer, renderer: PromptRenderer,
                      adapters: dict[str, Adapter], variants: list[Variant], eval_set: ExampleSet,
                      numerics: Numerics) -> dict[str, VariantRun]:
    """Each variant's prompts, answers and reference scores (see evaluate_jobs)."""
    return evaluate_jobs(suite, source, tokenizer, renderer, adapters, variant_jobs(suite, renderer, variants,
                                                                                    eval_set), numerics)


def evaluate_jobs(suite: Suite, source: ModelSource, tokenizer, renderer: PromptRenderer,
                  adapters: dict[str, Adapter], jobs: list[Job], numerics: Numerics) -> dict[str, VariantRun]:
    """Each job's run: from the cache where its key is there, else computed, with the base model and the
    adapters the missing jobs need loaded once. Jobs with the same key (the same prompts on the same
    adapter) are computed once."""
    plans = _plans(suite, source, tokenizer, adapters, jobs, numerics)
    folder = open_cache("evaluations")
    done: dict[str, VariantRun] = {}
    processes = current()
    for plan in plans:
        if plan.key not in done:
            what = f"cached evaluation of {plan.job.name}"
            run = read_entry(folder / f"{plan.key}.json", plan.key, _parser(plan), what)
            if run is not None:
                done[plan.key] = run
    # Under several processes, every one computes what the main process found missing.
    cached = from_main(set(done), processes)
    done = {key: run for key, run in done.items() if key in cached}
    reused = [p.job.name for p in plans if p.key in done]
    missing, queued = [], set()  # each key once, under the first job that asked for it
    for plan in plans:
        if plan.key not in done and plan.key not in queued:
            queued.add(plan.key)
            missing.append(plan)
    if reused:
        console.print(f"[green]evaluation[/] reused from cache for {_listed(reused)}")
    # One load of the base per way of holding it (evaluation.precision, the quantisation check).
    for way in dict.fromkeys(tuple(p.numerics.key().items()) for p in missing):
        group = [p for p in missing if tuple(p.numerics.key().items()) == way]
        held = group[0].numerics
        needed = list(dict.fromkeys(p.job.variant.adapter for p in group if p.job.variant.adapter))
        console.print(f"  loading the base model ({held.dtype}, {held.device}, quantization "
                      f"{held.quantization})" + (f" and adapter(s) {', '.join(needed)}" if needed else "")
                      + f", once for {len(group)} pass(es)")
        given = _from_vllm(source, tokenizer, renderer, adapters, group, suite, held) \
            if suite.decoding.backend == "vllm" else {}
        model = with_adapters(load_model(source, held), {name: adapters[name] for name in needed})
        stop_ids = stop_token_ids(tokenizer, model, renderer.facts.end_of_turn)
        for plan in group:
            run = (_evaluate(model, tokenizer, plan, suite, stop_ids, given[plan.key]) if plan.key in given else
                   _together(model, tokenizer, plan, suite, stop_ids, processes))
            if not processes.main:
                done[plan.key] = run
                continue
            stored = write_entry(folder / f"{plan.key}.json", plan.key, run.to_json())
            # Where a concurrent run stored this pass first, its answers are the ones kept, here too.
            done[plan.key] = run if stored is None else replace(
                VariantRun.from_json(stored), cached=False, generation_seconds=run.generation_seconds,
                scoring_seconds=run.scoring_seconds)
        del model
        release_memory()
    return {p.job.name: done[p.key] for p in plans}


def _from_vllm(source: ModelSource, tokenizer, renderer: PromptRenderer, adapters: dict[str, Adapter],
               plans: list[_Plan], suite: Suite, held: Numerics) -> dict[str, tuple[list[Output], float]]:
    """The answers of every pass that has any, from one vLLM engine (harness/vllm_engine.py), with the
    seconds each took; the engine is gone before transformers loads the base for reference scoring."""
    from transformers import GenerationConfig

    answering = [p for p in plans if p.job.generate]
    if not answering:
        return {}
    try:
        declared = GenerationConfig.from_pretrained(source.folder)
    except OSError:  # no generation_config.json: the tokenizer's eos and the template's end of turn
        declared = GenerationConfig()
    stop_ids = stop_token_ids(tokenizer, SimpleNamespace(generation_config=declared), renderer.facts.end_of_turn)
    used = {name: adapters[name] for name in dict.fromkeys(p.job.variant.adapter for p in answering)
            if name is not None}
    console.print(f"  vLLM engine ({held.dtype}) for {len(answering)} pass(es)"
                  + (f", LoRA adapters {', '.join(used)}" if used else ""))
    started = time.perf_counter()
    found = vllm_engine.generate_all(source.folder, held.dtype, tokenizer, used,
                                     [(p.job.prompts, p.job.variant.adapter, p.job.decoding or suite.decoding)
                                      for p in answering], stop_ids)
    seconds = (time.perf_counter() - started) / len(answering)  # one engine: its time shared out evenly
    return {p.key: (outputs, seconds) for p, outputs in zip(answering, found, strict=True)}


def _together(model, tokenizer, plan: _Plan, suite: Suite, stop_ids: list[int], processes: Processes) -> VariantRun:
    """One pass, each process answering and scoring its contiguous share of the prompts; the shares are put
    back in order on every process. A share decodes in other batches than the whole pass would; where the
    arithmetic is exact enough (float32), greedy answers are the same (tests/test_processes.py)."""
    if not processes.several:
        return _evaluate(model, tokenizer, plan, suite, stop_ids)
    mine = processes.shard(len(plan.job.prompts))
    job = plan.job
    share = replace(job, prompts=job.prompts[mine.start:mine.stop],
                    targets=job.targets[mine.start:mine.stop] if job.targets is not None else None,
                    texts=job.texts[mine.start:mine.stop] if job.texts is not None else None)
    part = _evaluate(model, tokenizer, replace(plan, job=share, pairs=plan.pairs[mine.start:mine.stop]), suite,
                     stop_ids)
    pieces = gather([(part.prompt_tokens, part.outputs, part.references)], processes)
    return VariantRun(job.prompts, [n for tokens, _, _ in pieces for n in tokens],
                      [o for _, outputs, _ in pieces for o in outputs], [r for _, _, refs in pieces for r in refs],
                      generation_seconds=part.generation_seconds, scoring_seconds=part.scoring_seconds)


def _listed(names: list[str], most: int = 8) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def with_adapters(base, adapters: dict[str, Adapter]):
    """`base` with each adapter loaded once under its own name (frozen); `base` itself when there are none."""
    if not adapters:
        base.eval()
        return base
    from peft import PeftModel

    (first, adapter), *rest = adapters.items()
    model = PeftModel.from_pretrained(base, adapter.folder, adapter_name=first)
    for name, other in rest:
        model.load_adapter(other.folder, adapter_name=name)
    model.eval()
    return model


def _switch(model, adapter: str | None):
    """Only `adapter` active; none at all for a variant of the base model."""
    if not hasattr(model, "peft_config"):
        return nullcontext()
    if adapter is None:
        return model.disable_adapter()
    model.set_adapter(adapter, inference_mode=True)
    return nullcontext()


def _parser(plan: _Plan):
    job = plan.job

    def parse(payload: dict) -> VariantRun:
        run = VariantRun.from_json(payload)
        answers = len(job.prompts) if job.generate else 0
        scored = len(job.prompts) if job.targets is not None else 0
        if run.prompts != job.prompts or len(run.outputs) != answers or len(run.references) != scored:
            raise ValueError("not the prompts of this pass")
        return run

    return parse


def _evaluate(model, tokenizer, plan: _Plan, suite: Suite, stop_ids: list[int],
              given: tuple[list[Output], float] | None = None) -> VariantRun:
    """One pass: answers (or `given`, vLLM's, with their seconds), then reference scores."""
    job = plan.job
    what = ("answers" if job.generate else "") + (" then reference perplexity" if job.targets is not None else "")
    stage(job.name, f"{len(job.prompts)} {what.strip()}")
    outputs, started = [], time.perf_counter()
    if given is not None:
        outputs, started = given[0], started - given[1]
    with _switch(model, job.variant.adapter):
        if job.generate and given is None:
            with Bar(f"{job.name} answers", len(job.prompts)) as progress:
                outputs = generate(model, tokenizer, job.prompts, job.decoding or suite.decoding, stop_ids,
                                   on_done=progress.advance)
        generated = time.perf_counter()
        nll = (score_pairs(model, plan.pairs, tokenizer.pad_token_id, suite.metrics.perplexity.batch_size)
               if job.targets is not None else [])
        scored = time.perf_counter()
    if job.generate:
        tokens, seconds = sum(o.tokens for o in outputs), generated - started
        console.print(f"  {job.name}: {tokens} tokens in {seconds:.1f}s ({tokens / max(seconds, 1e-9):.1f} "
                      f"tokens/s), reference scoring {scored - generated:.1f}s")
    references = [ReferenceScore(nll=value, tokens=len(pair.completion_ids), bytes=len(text.encode()))
                  for value, pair, text in zip(nll, plan.pairs, job.texts or job.targets or [], strict=True)]
    return VariantRun(job.prompts, [len(ids) for ids in encode_prompts(tokenizer, job.prompts)], outputs,
                      references, generation_seconds=generated - started, scoring_seconds=scored - generated)
