"""Markdown for docs/real-model.md from run folders: per suite, the variant table, the verdict, the prompt
tax and a few examples side by side. Every number comes from the run's results.json, so the page can be
rebuilt from the runs it cites. Usage: python bench/real_model_doc.py RUN_DIR [RUN_DIR ...] > section.md
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.metrics.registry import summary_rows  # noqa: E402
from harness.results import read_results  # noqa: E402

SHOWN = 3  # examples side by side per suite


def _cell(text: str, limit: int = 220) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[:limit].rstrip() + " …"


def section(run_dir: Path) -> str:
    results = read_results(run_dir)
    manifest = results.manifest.model_dump(mode="json")
    stats = manifest["adapter"]["stats"]
    trained = (manifest["adapter"].get("numerics") or manifest["numerics"])["compute_dtype"].removeprefix("torch.")
    lines = [f"## {results.suite}", "",
             f"{len(results.examples)} eval examples, {manifest['data']['train_examples']} training examples; "
             f"{stats['steps']} training steps ({stats['epochs']:g} epochs, final loss {stats['final_loss']:.3f}); "
             f"trained in {trained}, evaluated in {manifest['numerics']['compute_dtype'].removeprefix('torch.')} "
             f"on {manifest['numerics']['device']}, "
             f"base quantisation {manifest['numerics']['quantization']}; "
             f"max {manifest['decoding']['max_new_tokens']} new tokens, greedy.", "",
             "| metric | " + " | ".join(results.variants) + " |",
             "| --- |" + " --- |" * len(results.variants)]
    for label, cells in summary_rows(results):
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "**Verdict** (SFT against the system prompt, paired, Holm-adjusted):", ""]
    for v in results.verdict:
        lines.append(f"- {v.behaviour} ({v.metric}): **{v.outcome}**, Δ {v.delta:+.3g} "
                     f"[95% CI {v.ci_low:+.3g}, {v.ci_high:+.3g}], adjusted p {v.p_adjusted:.2g}. {v.answer}")
    lines += ["", f"**Prompt tax:** {results.prompt_tax.statement}", "",
              "| prompt | reference | " + " | ".join(results.variants) + " |",
              "| --- | --- |" + " --- |" * len(results.variants)]
    picked = sorted(results.examples, key=lambda e: -e.variants["base"].output.tokens)[:SHOWN]
    for example in picked:
        cells = [_cell(example.variants[v].output.text, 160) for v in results.variants]
        lines.append(f"| {_cell(example.prompt, 120)} | {_cell(example.reference, 120)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print("\n".join(section(Path(arg)) for arg in sys.argv[1:]))
