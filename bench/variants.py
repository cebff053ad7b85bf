"""The variant matrix on the real model: one suite with every kind of variant, timed whole, and the memory
that each adapter adds to evaluation.

1. `harness run suites/concise.yaml --variants sft` (the concise adapter, reused from the cache when it is
   there), then `harness export` of that run: the "adapter trained elsewhere".
2. A matrix suite on the concise data: base, system, a weak named prompt, few-shot (k=4), the suite's `sft`
   adapter, a second trained adapter (r=8, 1 epoch), the exported adapter alone and with the system prompt.
   Timed whole, with its peak memory (GNU time's %M).
3. Evaluation memory per number of adapters: the same suite with a decoding seed that no cached evaluation
   has (greedy answers are the same; the cache keys are not), on the first 24 eval examples, with
   `--variants` picking 0, 1 and 3 adapters. Each run is a fresh process; the three are interleaved over
   `--repeats` rounds, and the peak RSS of each is reported (median and spread).

Writes bench/out/variants.json and prints a summary. Usage:
    python bench/variants.py [--repeats 2] [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(sys.executable).parent / "harness"
CONCISE = ROOT / "suites" / "concise.yaml"
SELECTIONS = {"no adapter": "base,system", "1 adapter": "base,sft", "3 adapters": "base,sft,r8,shipped"}

# The grid on top of suites/concise.yaml (its prompt, data, training and format checks as they stand).
GRID = {
    "prompts": {"weak": "Be brief."},
    "adapters": {"sft": {}, "r8": {"lora": {"r": 8, "alpha": 16}, "epochs": 1}, "shipped": {"external": None}},
    "variants": [{"name": "base"}, {"name": "system", "prompt": "system"}, {"name": "weak", "prompt": "weak"},
                 {"name": "fewshot", "prompt": {"few_shot": 4, "seed": 0}}, {"name": "sft", "adapter": "sft"},
                 {"name": "r8", "adapter": "r8"}, {"name": "shipped", "adapter": "shipped"},
                 {"name": "shipped+system", "adapter": "shipped", "prompt": "system"}],
    "comparisons": [["sft", "system"], ["sft", "fewshot"]],
}


def matrix_suite(path: Path, exported: Path, seed: int) -> Path:
    suite = yaml.safe_load(CONCISE.read_text())
    suite["name"] = "concise-matrix"
    for split in ("train", "eval"):
        suite["data"][split]["path"] = str(CONCISE.parent / suite["data"][split]["path"])
    suite.pop("gates", None)
    suite["decoding"]["seed"] = seed
    suite.update(json.loads(json.dumps(GRID)))
    suite["adapters"]["shipped"]["external"] = str(exported)
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def timed(argv: list[str], env: dict) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MiB (GNU time) and the output of one harness command in a fresh process."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M", str(HARNESS), *argv], env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    rss = int(re.findall(r"MAXRSS (\d+)", done.stderr)[-1]) / 1024
    return seconds, round(rss), done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cache", type=Path, help="HARNESS_CACHE to use (default: the usual one)")
    args = parser.parse_args()
    env = {**os.environ, **({"HARNESS_CACHE": str(args.cache)} if args.cache else {})}
    work = Path(tempfile.mkdtemp(prefix="harness-variants-"))
    seconds, rss, _ = timed(["run", str(CONCISE), "--variants", "sft", "--out", str(work / "earlier")], env)
    timed(["export", str(work / "earlier"), str(work / "exported")], env)
    print(f"earlier run (sft only) {seconds:.0f} s; exported its adapter")

    def suite(seed: int) -> Path:
        return matrix_suite(work / f"matrix-{seed}.yaml", work / "exported", seed)

    seconds, rss, log = timed(["run", str(suite(0)), "--out", str(work / "matrix")], env)
    results = json.loads((work / "matrix" / "results.json").read_text())
    whole = {"seconds": round(seconds, 1), "max_rss_mib": rss, "stage_seconds": results["stage_seconds"],
             "evaluation": results["manifest"]["evaluation"], "verdict": [v["answer"] for v in results["verdict"]],
             "adapters": {k: {"reused": a["reused"], "seconds": (a.get("stats") or {}).get("seconds")}
                          for k, a in results["manifest"]["adapters"].items()}}
    print(f"matrix suite: {seconds:.0f} s, max RSS {rss} MiB, stages {results['stage_seconds']}")
    memory: dict[str, list[int]] = {name: [] for name in SELECTIONS}
    for repeat in range(args.repeats):
        for name, chosen in SELECTIONS.items():  # interleaved; a new seed each time: nothing cached
            seed = 1000 + repeat * 10 + list(SELECTIONS).index(name)
            _, rss, _ = timed(["run", str(suite(seed)), "--variants", chosen, "--limit", "24",
                               "--out", str(work / f"mem-{seed}")], env)
            memory[name].append(rss)
            print(f"  round {repeat + 1}: {name}: max RSS {rss} MiB")
    summary = {name: {"median_mib": statistics.median(v), "min_mib": min(v), "max_mib": max(v), "runs": v}
               for name, v in memory.items()}
    adapter_mib = {name: round(os.path.getsize(work / "exported" / "adapter_model.safetensors") / 2**20, 1)
                   for name in ("sft",)}
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "variants.json").write_text(json.dumps({"matrix": whole, "evaluation_memory": summary,
                                                   "adapter_file_mib": adapter_mib}, indent=2))
    for name, row in summary.items():
        print(f"{name:>11}: median {row['median_mib']} MiB (min {row['min_mib']}, max {row['max_mib']})")
    print(f"adapter file: {adapter_mib['sft']} MiB (sft, r=16)")


if __name__ == "__main__":
    main()
