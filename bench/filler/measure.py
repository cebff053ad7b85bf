"""Precision and recall of a filler lexicon per category, on labelled answers, with 95% Wilson intervals.

Each labelled file holds one JSON object per line with "text" and "categories" (the filler categories a reader
found in the answer: tests/data/filler_real_model*.jsonl). An answer counts as flagged for a category when the
lexicon finds at least one phrase of it. Usage:
    python bench/filler/measure.py tests/data/filler_real_model_e.jsonl [--lexicon OLD.json] [--misses]
--lexicon measures another lexicon file under the current matching rules (an older version's phrases: git show
REV:harness/data/filler_lexicon.json);
--misses lists each answer whose flags and labels disagree, with the reader's note. The labelled files do not
record whether generation hit the token limit, so an answer ending in a word reads as cut off (a run knows).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

CATEGORIES = ("opener", "closer", "restatement", "self_reference", "hedge")


def rate(hits: int, total: int) -> str:
    from harness.stats import wilson_ci

    if not total:
        return "n/a"
    low, high = wilson_ci(hits, total)
    return f"{hits}/{total} = {100 * hits / total:.1f}% ({100 * low:.0f}-{100 * high:.0f})"


def table(rows: list[dict], found: list[set[str]]) -> list[str]:
    lines = ["| category | labelled | flagged | precision (95% CI) | recall (95% CI) |",
             "| --- | --- | --- | --- | --- |"]
    for category in (*CATEGORIES, "any"):
        labels = [bool(r["categories"]) if category == "any" else category in r["categories"] for r in rows]
        flags = [bool(f) if category == "any" else category in f for f in found]
        hits = sum(a and b for a, b in zip(labels, flags, strict=True))
        lines.append(f"| {category} | {sum(labels)} | {sum(flags)} | {rate(hits, sum(flags))} | "
                     f"{rate(hits, sum(labels))} |")
    return lines


def main(files: list[Path], lexicon_file: Path | None, misses: bool) -> None:
    from harness.metrics.filler import find_filler
    from harness.metrics.lexicon import builtin_lexicon_raw, parse_lexicon

    raw = json.loads(lexicon_file.read_text("utf-8")) if lexicon_file else builtin_lexicon_raw()
    lexicon = parse_lexicon(raw, str(lexicon_file or "built-in"))
    print(f"lexicon {lexicon.version}")
    for path in files:
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
        found = [{s.category for s in find_filler(r["text"], lexicon, prompt=r.get("prompt"))} for r in rows]
        print(f"\n{path} ({len(rows)} answers)\n")
        print("\n".join(table(rows, found)))
        if misses:
            for row, flags in zip(rows, found, strict=True):
                for kind, categories in (("missed", set(row["categories"]) - flags),
                                         ("false", flags - set(row["categories"]))):
                    for category in sorted(categories):
                        print(f"\n{kind} {category} {row['id']}: {row['text'][:300]!r}\n  note: {row.get('note', '')}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+", help="labelled answers, one JSON object per line")
    parser.add_argument("--lexicon", type=Path, help="a lexicon file to measure instead of the built-in one")
    parser.add_argument("--misses", action="store_true", help="list the answers where flags and labels disagree")
    args = parser.parse_args()
    main(args.files, args.lexicon, args.misses)
