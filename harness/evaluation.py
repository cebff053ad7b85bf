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

from harness.cache import open_cache, read_entry, write_entry
from harness.errors import HarnessError
from harness.examples import ExampleSet
from harness.files import sha256_json
from harness.generation import Output, generate, stop_token_ids
from harness.metrics.perplexity import ReferenceScore, encode_references, score_pairs
from harness.models import ModelSource, Numerics, load_model
from harness.progress import Bar, console, stage
from harness.prompts import PromptRenderer
from harness.suite import Suite
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


@dataclass
class _Plan:
    variant: Variant
    prompts: list[str]
    pairs: list[EncodedPair]
    key: str


def _plans(suite: Suite, source: ModelSource, tokenizer, renderer: PromptRenderer, adapters: dict[str, Adapter],
           variants: list[Variant], eval_set: ExampleSet, numerics: Numerics) -> list[_Plan]:
    include_eot = suite.metrics.perplexity.include_end_of_turn
    # The reference as the chat template renders it after the generation prompt: the same for every variant.
    targets = [renderer.target(e.prompt, e.response, e.id, end_of_turn=include_eot) for e in eval_set.examples]
    plans, scored = [], None
    for variant in variants:
        prompts = [renderer.for_variant(variant, e.prompt) for e in eval_set.examples]
        pairs = encode_references(tokenizer, prompts, targets, "")
        completions = [p.completion_ids for p in pairs]
        if scored is not None and completions != scored:
            bad = next(e.id for e, a, b in zip(eval_set.examples, completions, scored, strict=True) if a != b)
            raise HarnessError(f"the reference of example {bad!r} tokenises differently after the {variant.name} "
                               "prompt; perplexities would not be comparable", where="metrics.perplexity")
        scored = completions
        key = sha256_json({
            "recipe": RECIPE, "weights": source.weights_hash, "tokenizer": source.tokenizer_hash,
            "config": source.config_hash, "numerics": numerics.key(),
            "adapter": adapters[variant.adapter].manifest["adapter_sha256"] if variant.adapter else None,
            "prompts": prompts, "scored": [p.input_ids for p in pairs],
            "decoding": suite.decoding.model_dump(mode="json"),
            "perplexity": suite.metrics.perplexity.model_dump(mode="json"), "libraries": library_versions(),
        })[:32]
        plans.append(_Plan(variant, prompts, pairs, key))
    return plans


def evaluate_variants(suite: Suite, source: ModelSource, tokenizer, renderer: PromptRenderer,
                      adapters: dict[str, Adapter], variants: list[Variant], eval_set: ExampleSet,
                      numerics: Numerics) -> dict[str, VariantRun]:
    """Each variant's prompts, answers and reference scores: from the cache where its key is there, else
    generated, with the base model and the adapters the missing variants need loaded once."""
    plans = _plans(suite, source, tokenizer, renderer, adapters, variants, eval_set, numerics)
    folder = open_cache("evaluations")
    runs = {}
    for plan in plans:
        what = f"cached evaluation of {plan.variant.name}"
        run = read_entry(folder / f"{plan.key}.json", plan.key, _parser(plan), what)
        if run is not None:
            runs[plan.variant.name] = run
    missing = [p for p in plans if p.variant.name not in runs]
    if runs:
        console.print(f"[green]evaluation[/] reused from cache for {', '.join(runs)}")
    if missing:
        needed = list(dict.fromkeys(p.variant.adapter for p in missing if p.variant.adapter))
        console.print(f"  loading the base model ({numerics.dtype}, {numerics.device}, quantization "
                      f"{numerics.quantization})" + (f" and adapter(s) {', '.join(needed)}" if needed else "")
                      + f", once for {len(missing)} variant(s)")
        model = with_adapters(load_model(source, numerics), {name: adapters[name] for name in needed})
        stop_ids = stop_token_ids(tokenizer, model, renderer.facts.end_of_turn)
        for plan in missing:
            run = _evaluate(model, tokenizer, plan, suite, stop_ids, eval_set)
            stored = write_entry(folder / f"{plan.key}.json", plan.key, run.to_json())
            # Where a concurrent run stored this variant first, its answers are the ones kept, here too.
            runs[plan.variant.name] = run if stored is None else replace(
                VariantRun.from_json(stored), cached=False, generation_seconds=run.generation_seconds,
                scoring_seconds=run.scoring_seconds)
    return {p.variant.name: runs[p.variant.name] for p in plans}


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
    def parse(payload: dict) -> VariantRun:
        run = VariantRun.from_json(payload)
        if run.prompts != plan.prompts or not len(run.outputs) == len(run.references) == len(plan.prompts):
            raise ValueError("not the prompts of this variant")
        return run

    return parse


def _evaluate(model, tokenizer, plan: _Plan, suite: Suite, stop_ids: list[int], eval_set: ExampleSet) -> VariantRun:
    stage(f"variant {plan.variant.name}", f"{len(plan.prompts)} answers, then reference perplexity")
    with _switch(model, plan.variant.adapter):
        started = time.perf_counter()
        with Bar(f"{plan.variant.name} answers", len(plan.prompts)) as progress:
            outputs = generate(model, tokenizer, plan.prompts, suite.decoding, stop_ids, on_done=progress.advance)
        generated = time.perf_counter()
        nll = score_pairs(model, plan.pairs, tokenizer.pad_token_id, suite.metrics.perplexity.batch_size)
        scored = time.perf_counter()
    tokens, seconds = sum(o.tokens for o in outputs), generated - started
    console.print(f"  {plan.variant.name}: {tokens} tokens in {seconds:.1f}s ({tokens / max(seconds, 1e-9):.1f} "
                  f"tokens/s), reference scoring {scored - generated:.1f}s")
    references = [ReferenceScore(nll=value, tokens=len(pair.completion_ids), bytes=len(example.response.encode()))
                  for value, pair, example in zip(nll, plan.pairs, eval_set.examples, strict=True)]
    return VariantRun(plan.prompts, [len(ids) for ids in encode_prompts(tokenizer, plan.prompts)], outputs,
                      references, generation_seconds=generated - started, scoring_seconds=scored - generated)
