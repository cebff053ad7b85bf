"""How far the base model moves when it is held in NF4, and how far bf16 alone moves it: the figures behind
the quantisation check's warning thresholds (harness/precision.py, docs/training.md).

On the eval prompts of a suite (default: the concise suite on the packaged SmolLM2-135M-Instruct), the base
model's user-only answers (greedy) and reference NLL under three ways of holding it: float32, bf16, and NF4
with bf16 compute. Reports, against float32 and against bf16, the ratio of reference NLL per token, the
share of answers that open with the same 10 words, and the share of identical answers. Each is one pass of
the harness's own evaluation (cached by content, so a second run reads them back, and its seconds are 0).
NF4 runs emulated on a CPU (bitsandbytes 0.47+); the numbers are those a GPU gives, up to kernel rounding.

Writes bench/out/quantisation.json and prints a table. Usage:
    python bench/quantisation.py [--suite suites/concise.yaml] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from harness.evaluation import evaluate_jobs
from harness.models import load_tokenizer, resolve_model, resolve_numerics
from harness.precision import check_jobs, check_result
from harness.prompts import PromptRenderer
from harness.scorers import prepare
from harness.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
HOLDINGS = {"float32": ("float32", "none"), "bf16": ("bfloat16", "none"), "nf4": ("bfloat16", "nf4")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default=str(ROOT / "suites" / "concise.yaml"))
    parser.add_argument("--limit", type=int, default=None, help="the first N eval examples")
    args = parser.parse_args()
    suite = load_suite(args.suite, {"data.eval.limit": args.limit} if args.limit else None)
    prepared = prepare(suite)
    source = resolve_model(suite.model, suite.revision, suite_dir=suite.path.parent)
    tokenizer = load_tokenizer(source)
    renderer = PromptRenderer(tokenizer, suite.system_prompt, suite.base_prompt)
    template = check_jobs(suite, renderer, prepared.eval)[1]  # the base model's user-only prompts
    jobs = [replace(template, name=name, numerics=resolve_numerics(dtype, quantization, "evaluation"))
            for name, (dtype, quantization) in HOLDINGS.items()]
    started = time.perf_counter()
    runs = evaluate_jobs(suite, source, tokenizer, renderer, {}, jobs, jobs[0].numerics)
    seconds = {name: round(run.generation_seconds + run.scoring_seconds, 1) for name, run in runs.items()}
    pairs = {"nf4 vs bf16": ("nf4", "bf16"), "nf4 vs float32": ("nf4", "float32"), "bf16 vs float32": ("bf16",
                                                                                                      "float32")}
    found = {}
    for label, (held, against) in pairs.items():
        check = check_result({"quantisation/nf4": runs[held], "quantisation/full": runs[against]},
                             jobs[0].numerics, greedy=not suite.decoding.do_sample)
        found[label] = {"nll_per_token": [round(check.nll_nf4, 4), round(check.nll_full, 4)],
                        "nll_ratio": round(check.nll_ratio, 4),
                        "same_opening": round(check.opening_agreement, 4),
                        "identical_answers": round(check.agreement, 4)}
    report = {"suite": suite.name, "model": source.name, "examples": len(prepared.eval.examples),
              "max_new_tokens": suite.decoding.max_new_tokens, "pairs": found, "pass_seconds": seconds,
              "wall_seconds": round(time.perf_counter() - started, 1)}
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "quantisation.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"{suite.name} on {source.name}, {len(prepared.eval.examples)} eval prompts, base model, greedy")
    print(f"{'pair':<16} {'NLL/token':>17} {'ratio':>7} {'same opening':>13} {'identical':>10}")
    for label, row in found.items():
        print(f"{label:<16} {row['nll_per_token'][0]:>8.4f} {row['nll_per_token'][1]:>8.4f} "
              f"{row['nll_ratio']:>7.4f} {row['same_opening']:>12.0%} {row['identical_answers']:>9.0%}")
    print("seconds per pass:", seconds)


if __name__ == "__main__":
    main()
