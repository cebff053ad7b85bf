"""Training on the real packaged model with and without a full garbage collection after every step.

The trainer hands freed heap pages back to the system (malloc_trim) after each step. Until session 8 it also
ran gc.collect() there, which costs about 0.3 s once transformers is loaded: three quarters of a smoke-model
step. This measures what the collection buys on the real model: training seconds and the kernel's
high-water mark of resident memory, each side in its own fresh process, the sides interleaved over rounds.
Usage: python bench/step_collect.py [--rounds 2] [--steps 12]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_side(collect: bool, steps: int) -> dict:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from real_model import _setup, train_harness

    import harness.models as models
    import harness.training as training

    if collect:  # the old behaviour: a full collection at every call, the per-step one included
        training.release_memory = lambda collect=True: models.release_memory(collect=True)
    ctx = _setup()
    started = time.perf_counter()
    train_harness(ctx, steps, "auto", "auto")
    seconds = time.perf_counter() - started
    peak = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
                if line.startswith("VmHWM:"))
    return {"seconds": seconds, "peak_rss_mib": peak // 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--side", choices=["collect", "trim"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(one_side(args.side == "collect", args.steps)))
        return
    figures: dict[str, list[dict]] = {"collect": [], "trim": []}
    for _ in range(args.rounds):
        for side in figures:
            out = subprocess.run([sys.executable, __file__, "--side", side, "--steps", str(args.steps)],
                                 check=True, capture_output=True, text=True).stdout
            figures[side].append(json.loads(out.strip().splitlines()[-1]))
            print(side, figures[side][-1], flush=True)
    for side, rows in figures.items():
        seconds = [r["seconds"] for r in rows]
        peaks = [r["peak_rss_mib"] for r in rows]
        print(f"| {side} | {statistics.median(seconds):.1f} s ({min(seconds):.1f}–{max(seconds):.1f}) | "
              f"{statistics.median(peaks)} MiB ({min(peaks)}–{max(peaks)}) |")


if __name__ == "__main__":
    main()
