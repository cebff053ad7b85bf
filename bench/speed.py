"""Speed and memory of the harness, side by side with the common tutorial pipeline, in one run.

Run: python bench/speed.py [--out bench/out]     (or: nox -s bench)

Each phase runs in its own process, so each peak RSS is its own. Same model (the smoke model, NF4 on the
CPU), same data (suites/concise), same batch size, one epoch. Writes speed.json and prints a table of
ratios; absolute times on shared machines are noisy, ratios measured side by side are not.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "suites" / "concise.yaml"
PHASES = ("load", "harness-train", "harness-eval", "naive-train", "naive-train-batch8", "naive-eval", "naive-score")


def _prepared(epochs: float = 1.0):
    from harness.run import SMOKE_OVERRIDES
    from harness.scorers import prepare
    from harness.suite import load_suite

    overrides = {**SMOKE_OVERRIDES, "training.max_steps": None, "training.epochs": epochs}
    return prepare(load_suite(SUITE, overrides))


def _source():
    """The smoke model, or the larger random model of --medium (BENCH_MODEL_DIR)."""
    from harness.models import resolve_model

    folder = os.environ.get("BENCH_MODEL_DIR")
    return resolve_model(folder) if folder else resolve_model("smoke", smoke=True)


def _harness_setup(prepared):
    from harness.models import load_tokenizer
    from harness.prompts import PromptRenderer

    source = _source()
    tokenizer = load_tokenizer(source)
    return source, tokenizer, PromptRenderer(tokenizer, prepared.suite.system_prompt, prepared.suite.base_prompt)


def _numerics(prepared, stage: str):
    from harness.models import resolve_numerics

    return resolve_numerics(prepared.suite.precision, prepared.suite.training.quantization, stage)


def phase(name: str, out: Path) -> dict:
    # Every phase pays its imports before its clock starts, so timings compare pipeline work only.
    import bitsandbytes  # noqa: F401
    import peft  # noqa: F401
    import transformers  # noqa: F401
    import trl  # noqa: F401

    prepared = _prepared()
    if name == "load":
        from harness.models import load_model, resolve_numerics

        started = time.perf_counter()
        load_model(_source(), resolve_numerics("float32", "nf4"))
        return {"seconds": time.perf_counter() - started}
    if name == "harness-train":
        from harness.training import train_or_reuse

        source, tokenizer, renderer = _harness_setup(prepared)
        stats = train_or_reuse(source, tokenizer, renderer, prepared.train, prepared.suite.training,
                               _numerics(prepared, "training")).manifest["stats"]
        return {"seconds": stats["seconds"], "real_tokens": stats["tokens_seen"],
                "positions": round(stats["tokens_seen"] / stats["real_token_fraction"]), "steps": stats["steps"]}
    if name == "harness-eval":
        from harness.evaluation import evaluate_variants
        from harness.training import train_or_reuse

        source, tokenizer, renderer = _harness_setup(prepared)
        from harness.variants import resolve

        adapter = train_or_reuse(source, tokenizer, renderer, prepared.train, prepared.suite.training,
                                 _numerics(prepared, "training"))
        variants = resolve(prepared.suite, prepared.train, prepared.eval)
        started = time.perf_counter()
        runs = evaluate_variants(prepared.suite, source, tokenizer, renderer, {"sft": adapter}, variants,
                                 prepared.eval, _numerics(prepared, "evaluation"))
        seconds = time.perf_counter() - started
        variants = {v: {"generation_seconds": r.generation_seconds, "scoring_seconds": r.scoring_seconds,
                        "tokens": sum(o.tokens + o.stopped for o in r.outputs)} for v, r in runs.items()}
        for v in variants.values():
            v["tokens_per_second"] = v["tokens"] / v["generation_seconds"]
        examples = len(prepared.eval.examples)
        scoring = sum(v["scoring_seconds"] for v in variants.values())
        return {"seconds": seconds, "tokens": sum(v["tokens"] for v in variants.values()), "variants": variants,
                "scoring_examples_per_second": 4 * examples / scoring,
                "generation_seconds": sum(v["generation_seconds"] for v in variants.values())}
    import naive


    model_dir = _source().folder
    if name == "naive-train":
        return naive.train(model_dir, prepared.train.examples, out / "naive")
    if name == "naive-train-batch8":  # the tutorial pipeline at the harness's batch size: padding alone
        return naive.train(model_dir, prepared.train.examples, out / "naive-batch8", batch_size=8, accumulation=1)
    if name == "naive-eval":
        return naive.evaluate(model_dir, out / "naive" / "adapter", prepared.eval.examples,
                              prepared.suite.system_prompt, prepared.suite.decoding.max_new_tokens)
    if name == "naive-score":
        return naive.score(model_dir, prepared.eval.examples)
    raise ValueError(name)


def _child(args: list[str], env: dict) -> tuple[float, int, int]:
    """Run a child; return wall seconds, its own peak RSS in MiB, and its exit code."""
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss // 1024, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--phase", choices=PHASES)
    parser.add_argument("--medium", action="store_true",
                        help="also time one training epoch on a larger random model (hidden 256, 4 layers)")
    args = parser.parse_args()
    out = args.out.resolve()
    if args.phase:
        (out / f"{args.phase}.json").write_text(json.dumps(phase(args.phase, out), indent=2))
        return
    shutil.rmtree(out / "cache", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HARNESS_CACHE": str(out / "cache"), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    subprocess.run([sys.executable, "-c", "from harness.smoke import smoke_model_dir; smoke_model_dir()"],
                   env=env, check=True)
    figures = {}
    for name in PHASES:
        wall, rss, code = _child([sys.executable, __file__, "--out", str(out), "--phase", name], env)
        if code:
            raise SystemExit(f"phase {name} failed ({code})")
        figures[name] = {**json.loads((out / f"{name}.json").read_text()), "wall_seconds": wall, "peak_rss_mib": rss}
    figures["e2e"] = _end_to_end(out, env)
    if args.medium:
        figures["medium"] = _medium(out, env)
    (out / "speed.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(table(figures))


def _medium(out: Path, env: dict) -> dict:
    """Training at a size where compute, not per-step overhead, dominates: the padding saving shows fully."""
    from gpu_bench import MEDIUM, build_model

    folder = out / "medium-model"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["HARNESS_CACHE"] = env["HARNESS_CACHE"]
    build_model(MEDIUM, folder, __import__("torch").float32)
    shutil.rmtree(out / "cache" / "adapters", ignore_errors=True)
    medium_env = {**env, "BENCH_MODEL_DIR": str(folder)}
    figures = {}
    for name in ("harness-train", "naive-train", "naive-train-batch8"):
        wall, rss, code = _child([sys.executable, __file__, "--out", str(out), "--phase", name], medium_env)
        if code:
            raise SystemExit(f"medium phase {name} failed ({code})")
        figures[name] = {**json.loads((out / f"{name}.json").read_text()), "peak_rss_mib": rss}
    return figures


def _end_to_end(out: Path, env: dict) -> dict:
    """The whole `harness run --smoke`, cold (smoke model already built), then again with every cache hit."""
    shutil.rmtree(out / "cache" / "adapters", ignore_errors=True)
    shutil.rmtree(out / "cache" / "evaluations", ignore_errors=True)
    command = [sys.executable, "-m", "harness", "run", str(SUITE), "--smoke", "--out", str(out / "e2e-run")]
    cold, cold_rss, code = _child(command, env)
    warm, warm_rss, code2 = _child(command, env)
    if code or code2:
        raise SystemExit("end-to-end run failed")
    return {"cold_seconds": cold, "cold_peak_rss_mib": cold_rss, "cached_seconds": warm,
            "cached_peak_rss_mib": warm_rss}


def table(f: dict) -> str:
    ht, nt, n8 = f["harness-train"], f["naive-train"], f["naive-train-batch8"]
    he, ne = f["harness-eval"], f["naive-eval"]
    rows = [
        ("training, one epoch (s), tutorial batch 2x8", ht["seconds"], nt["seconds"], nt["seconds"] / ht["seconds"]),
        ("training, one epoch (s), both batch 8", ht["seconds"], n8["seconds"], n8["seconds"] / ht["seconds"]),
        ("training, real tokens / s", ht["real_tokens"] / ht["seconds"], nt["real_tokens"] / nt["seconds"],
         (ht["real_tokens"] / ht["seconds"]) / (nt["real_tokens"] / nt["seconds"])),
        ("training, real-token share of positions", ht["real_tokens"] / ht["positions"],
         nt["real_tokens"] / nt["positions"], None),
        ("evaluate all variants (s)", he["seconds"], ne["seconds"], ne["seconds"] / he["seconds"]),
        ("generation, tokens / s (all variants)", he["tokens"] / he["generation_seconds"], ne["tokens"] / ne["seconds"],
         (he["tokens"] / he["generation_seconds"]) / (ne["tokens"] / ne["seconds"])),
        ("reference scoring, examples / s", he["scoring_examples_per_second"],
         f["naive-score"]["examples_per_second"],
         he["scoring_examples_per_second"] / f["naive-score"]["examples_per_second"]),
        ("peak RSS, evaluation (MiB)", he["peak_rss_mib"], ne["peak_rss_mib"], None),
        ("peak RSS, training (MiB)", ht["peak_rss_mib"], nt["peak_rss_mib"], None),
    ]
    lines = [f"{'':44} {'harness':>12} {'tutorial':>12} {'ratio':>8}"]
    for label, ours, theirs, ratio in rows:
        lines.append(f"{label:44} {ours:12.3f} {theirs:12.3f} {f'{ratio:.1f}x' if ratio else '':>8}")
    load = f["load"]["peak_rss_mib"]
    e2e = f["e2e"]
    lines += [
        f"one model load, peak RSS: {load} MiB; harness evaluation peak / one load = {he['peak_rss_mib'] / load:.2f}; "
        f"whole harness run peak / one load = {e2e['cold_peak_rss_mib'] / load:.2f}",
        f"harness run end to end: {e2e['cold_seconds']:.1f} s cold, {e2e['cached_seconds']:.1f} s with every cache hit",
        "per variant (harness tokens/s | tutorial tokens/s): " + ", ".join(
            f"{v} {he['variants'][v]['tokens_per_second']:.0f} | {ne['variants'][v]['tokens_per_second']:.0f}"
            for v in he["variants"]),
    ]
    if "medium" in f:
        m = f["medium"]
        lines.append("medium model (hidden 256, 4 layers), one epoch: harness {:.1f} s, tutorial {:.1f} s ({:.1f}x), "
                     "tutorial at batch 8 {:.1f} s ({:.1f}x)".format(
                         m["harness-train"]["seconds"], m["naive-train"]["seconds"],
                         m["naive-train"]["seconds"] / m["harness-train"]["seconds"],
                         m["naive-train-batch8"]["seconds"],
                         m["naive-train-batch8"]["seconds"] / m["harness-train"]["seconds"]))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
