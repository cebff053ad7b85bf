"""Whole runs of the shipped suites on the real model: wall time, peak memory, and where the time went.

Each run is `harness run SUITE` in a child process with a fresh cache (the GGUF conversion is made once
beforehand and shared, since the goals exclude it; `--with-conversion` counts it too). Its peak memory is the
kernel's high-water mark of resident memory (GNU time's %M, exact, since the run is one process); the
process tree is also sampled every second, as the sum of RSS and of PSS (shared library pages counted once),
in case a run ever starts helper processes.
Writes bench/out/suites.json and prints a table. Usage:
    python bench/suites.py [concise json_output plain] [--profile quick] [--with-conversion]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(sys.executable).parent / "harness"


def _tree(pid: int) -> list[int]:
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def _memory_kib(pids: list[int]) -> tuple[int, int]:
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss


def measure(suite: str, profile: str | None, cache: Path, out: Path) -> dict:
    command = [str(HARNESS), "run", str(ROOT / "suites" / f"{suite}.yaml"), "--out", str(out)]
    command += ["--profile", profile] if profile else []
    high_water = out.parent / f".{out.name}.maxrss"
    if Path("/usr/bin/time").exists():
        command = ["/usr/bin/time", "-f", "%M", "-o", str(high_water), *command]
    env = {**os.environ, "HARNESS_CACHE": str(cache)}
    peak = {"rss": 0, "pss": 0}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def sample():
        while process.poll() is None:
            rss, pss = _memory_kib(_tree(process.pid))
            peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)
            time.sleep(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    wall = time.perf_counter() - started
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{suite}: harness run failed ({process.returncode}):\n{stderr[-3000:]}")
    results = json.loads((out / "results.json").read_text())
    max_rss = round(int(high_water.read_text().split()[-1]) / 1024) if high_water.exists() else None
    manifest = results["manifest"]
    stats = manifest["adapter"]["stats"]
    evaluation = manifest["evaluation"]
    summary = results["summary"]
    return {
        "suite": suite, "profile": profile, "wall_seconds": round(wall, 1),
        "max_rss_mib": max_rss,
        "peak_rss_mib": round(peak["rss"] / 1024), "peak_pss_mib": round(peak["pss"] / 1024),
        "stage_seconds": results["stage_seconds"], "numerics": manifest["numerics"],
        "training": {"steps": stats["steps"], "seconds": stats["seconds"],
                     "tokens_per_second": stats["tokens_per_second"], "final_loss": stats["final_loss"]},
        "generation": {name: {"tokens": e["generated_tokens"], "seconds": e["generation_seconds"],
                              "tokens_per_second": round(e["generated_tokens"] / e["generation_seconds"], 1)}
                       for name, e in evaluation.items()},
        "summary": {name: {"words_median": s["words"]["median"], "stop_rate": s["stop_rate"],
                           "format_strict": s["format"]["prompt_strict"], "filler_any": s["filler_any_rate"],
                           "perplexity": s["perplexity"]} for name, s in summary.items()},
        "verdict": [{k: v[k] for k in ("behaviour", "metric", "outcome", "delta", "ci_low", "ci_high", "p_adjusted",
                                       "answer")}
                    for v in results["verdict"]],
        "run_dir": str(out),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suites", nargs="*", default=["concise", "json_output", "plain"])
    parser.add_argument("--profile")
    parser.add_argument("--with-conversion", action="store_true", help="count the one-off GGUF conversion")
    parser.add_argument("--keep", type=Path, help="keep the run folders here")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="harness-bench-"))
    converted = work / "converted"
    if not args.with_conversion:  # convert once, outside the measurement
        subprocess.run([sys.executable, "-c", "from harness.models import resolve_model; "
                        "resolve_model('smollm2-135m-instruct')"], env={**os.environ, "HARNESS_CACHE": str(converted)},
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    for suite in args.suites:
        cache = work / f"cache-{suite}"
        if not args.with_conversion:
            cache.mkdir()
            (cache / "models").symlink_to(converted / "models")
        out = (args.keep or work) / f"{suite}{'-' + args.profile if args.profile else ''}"
        rows.append(measure(suite, args.profile, cache, out))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    name = f"suites{'-' + args.profile if args.profile else ''}{'-conversion' if args.with_conversion else ''}.json"
    target = ROOT / "bench" / "out" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(rows, indent=2) + "\n")
    print("| suite | wall | max RSS (kernel) | peak RSS (tree, sampled) | peak PSS (tree, sampled) | training | "
          "generation, tokens/s per variant |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        gen = ", ".join(f"{k} {v['tokens_per_second']}" for k, v in r["generation"].items())
        print(f"| {r['suite']} | {r['wall_seconds']:.0f} s | {r['max_rss_mib']} MiB | {r['peak_rss_mib']} MiB | "
              f"{r['peak_pss_mib']} MiB | "
              f"{r['training']['steps']} steps, {r['training']['tokens_per_second']} tokens/s | {gen} |")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
