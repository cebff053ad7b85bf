"""All four variants from one loaded base model: the adapter is switched on and off, never reloaded.

For each variant: the exact rendered prompts, batched generations, and the perplexity of the reference
answers under that variant's own conditioning (the scored reference tokens are checked to be identical
across variants).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

from harness.errors import HarnessError
from harness.examples import ExampleSet
from harness.generation import Output, generate, stop_token_ids
from harness.metrics.perplexity import ReferenceScore, encode_references, score_pairs
from harness.models import ModelSource, load_model
from harness.progress import bar
from harness.prompts import VARIANTS, PromptRenderer
from harness.suite import Suite
from harness.tokens import encode_prompts
from harness.training import Adapter


@dataclass
class VariantRun:
    prompts: list[str]
    prompt_tokens: list[int]
    outputs: list[Output]
    references: list[ReferenceScore]


def evaluate_variants(suite: Suite, source: ModelSource, tokenizer, renderer: PromptRenderer, adapter: Adapter,
                      eval_set: ExampleSet) -> dict[str, VariantRun]:
    from peft import PeftModel

    model = PeftModel.from_pretrained(load_model(source, suite.training.quantization), adapter.folder)
    model.eval()
    stop_ids = stop_token_ids(tokenizer, model, renderer.facts.end_of_turn)
    suffix = renderer.facts.end_of_turn if suite.metrics.perplexity.include_end_of_turn else ""
    references = [e.response for e in eval_set.examples]
    runs: dict[str, VariantRun] = {}
    scored_tokens: list[list[int]] | None = None
    for variant in VARIANTS:
        prompts = [renderer.for_variant(variant, e.prompt) for e in eval_set.examples]
        switch = nullcontext() if variant.adapter else model.disable_adapter()
        with switch, bar(f"{variant.name:>10}", len(prompts)) as progress:
            outputs = generate(model, tokenizer, prompts, suite.decoding, stop_ids,
                               on_batch=lambda n, p=progress: p.advance(0, n))
            pairs = encode_references(tokenizer, prompts, references, suffix)
            nll = score_pairs(model, pairs, tokenizer.pad_token_id, suite.metrics.perplexity.batch_size)
        completions = [p.completion_ids for p in pairs]
        if scored_tokens is None:
            scored_tokens = completions
        elif completions != scored_tokens:
            bad = next(e.id for e, a, b in zip(eval_set.examples, completions, scored_tokens, strict=True) if a != b)
            raise HarnessError(f"the reference of example {bad!r} tokenises differently after the {variant.name} "
                               "prompt; perplexities would not be comparable", where="metrics.perplexity")
        prompt_tokens = [len(ids) for ids in encode_prompts(tokenizer, prompts)]
        runs[variant.name] = VariantRun(prompts, prompt_tokens, outputs, [
            ReferenceScore(nll=value, tokens=len(pair.completion_ids), bytes=len(reference.encode()))
            for value, pair, reference in zip(nll, pairs, references, strict=True)
        ])
    return runs
