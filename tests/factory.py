"""Crafted runs for tests that need results without a model: the real scoring and statistics code runs on
outputs the test chooses."""

from __future__ import annotations

from collections.abc import Callable

from harness.analysis import build_results
from harness.evaluation import VariantRun
from harness.examples import Example, ExampleSet
from harness.generation import Output
from harness.metrics.lexicon import builtin_lexicon_raw, parse_lexicon
from harness.metrics.perplexity import ReferenceScore
from harness.metrics.registry import Metric
from harness.results import Results
from harness.scorers import Prepared
from harness.suite import Suite
from harness.variants import resolve

SUITE = Suite.model_validate({"name": "crafted", "model": "m", "system_prompt": "Be brief.",
                              "data": {"train": {"path": "t.jsonl"}, "eval": {"path": "e.jsonl"}}})
VARIANT_NAMES = [v.name for v in SUITE.variant_specs()]  # base, system, sft, sft+system


def manifest(weights: str = "w" * 64, eval_hash: str = "e" * 64, decoding: dict | None = None,
             system_prompt: str = "Be brief.") -> dict:
    return {
        "suite": {"name": "crafted", "file": "crafted.yaml", "sha256": "s" * 64, "settings": SUITE.model_dump()},
        "model": {"name": "acme/tiny", "revision": "abc123", "weights_sha256": weights, "tokenizer_sha256": "t",
                  "smoke": False},
        "adapter": {"key": "k" * 24, "folder": "/tmp/adapter", "reused": False, "adapter_sha256": "a" * 64,
                    "training": SUITE.training.model_dump(),
                    "stats": {"steps": 10, "epochs": 1.0, "seconds": 1.5, "final_loss": 1.2, "trainable_parameters": 9,
                              "tokens_seen": 100, "loss_tokens_seen": 40, "device": "cpu", "real_token_fraction": 0.9,
                              "loss_curve": [{"step": i, "loss": 3.0 - 0.2 * i} for i in range(1, 11)],
                              "validation": {"examples": 8, "every_steps": 2, "patience": 3, "best_step": 4,
                                             "best_loss": 1.9, "early_stopping": False, "stopped_at": None,
                                             "kept_step": 10, "overfitting": {"from_step": 4, "flagged_step": 10},
                                             "curve": [{"step": 2 * i, "loss": v} for i, v in
                                                       enumerate([3.1, 2.4, 1.9, 2.0, 2.1, 2.2])]}}},
        "data": {"train_sha256": "d" * 64, "eval_sha256": eval_hash, "train_examples": 5, "eval_examples": 5},
        "decoding": decoding or SUITE.decoding.model_dump(),
        "prompting": {"template_default_system_prompt": None, "base_prompt_policy": "no_system", "end_of_turn": "<e>",
                      "example": {v: ("[system] " + system_prompt if "system" in v else "") + "[user] {prompt}"
                                  for v in VARIANT_NAMES}},
        "lexicon": {"name": "harness-filler", "version": "1"},
        "libraries": {"torch": "x"}, "hardware": {"device": "cpu"}, "created": "2026-01-01T00:00:00+00:00",
    }


def crafted_results(n: int, text: Callable[[int, str], str], nll: Callable[[int, str], float] = lambda i, v: 1.0,
                    rules: list[dict] | None = None, prompt: Callable[[int], str] = lambda i: f"Question {i}?",
                    reference: Callable[[int], str] = lambda i: f"Answer {i}.", stopped: bool = True,
                    run_manifest: dict | None = None, ids: Callable[[int], str] = lambda i: f"ex-{i:04d}",
                    task: Callable[[int], str] = lambda i: "crafted",
                    split: Callable[[int], str | None] = lambda i: None) -> Results:
    """The training set is the first example alone, so an eval task other than task(0) is marked shifted."""
    examples = [Example(id=ids(i), prompt=prompt(i), response=reference(i), task=task(i), split=split(i))
                for i in range(n)]
    lexicon = parse_lexicon(builtin_lexicon_raw(), "builtin")
    prepared = Prepared(SUITE, ExampleSet(split="train", source="t", examples=examples[:1]),
                        ExampleSet(split="eval", source="e", examples=examples), rules or [], lexicon, {})
    runs = {}
    for variant in VARIANT_NAMES:
        outputs = [Output(text=text(i, variant), tokens=len(text(i, variant).split()), stopped=stopped,
                          truncated=not stopped) for i in range(n)]
        references = [ReferenceScore(nll=nll(i, variant) * 4, tokens=4, bytes=12) for i in range(n)]
        prompts = [("[system] Be brief. " if "system" in variant else "") + f"[user] {e.prompt}" for e in examples]
        runs[variant] = VariantRun(prompts, [len(p.split()) for p in prompts], outputs, references)
    return build_results(prepared, resolve(SUITE, prepared.train, prepared.eval), runs, smoke=False,
                         manifest=run_manifest or manifest(), stages={"evaluation": 1.0})


def spec(key: str, behaviour: str, label: str, kind: str, better: str, value, primary: bool = False) -> Metric:
    """A metric for statistics tests, whose `value` reads the crafted per-example value directly."""
    return Metric(key, behaviour, label, "", kind, better, value, headline=primary)
