"""Run folders after the fact: re-render a report, or compare two runs, without loading a model."""

from __future__ import annotations

from pathlib import Path

from harness.compare import comparability_problems
from harness.errors import HarnessError
from harness.files import write_text_atomic
from harness.report import render, render_report, view_of_comparison
from harness.results import Results, read_results


def rerender(run_dir: Path, out: Path | None = None) -> Path:
    results = read_results(run_dir)
    target = out or Path(run_dir) / "report.html"
    write_text_atomic(target, render_report(results))
    return target


def check_comparable(a: Results, b: Results, a_name: str, b_name: str, force: bool) -> str | None:
    """None when the runs compare cleanly; with --force, the reason the comparison is marked."""
    ids_a, ids_b = [e.id for e in a.examples], [e.id for e in b.examples]
    if sorted(ids_a) != sorted(ids_b):
        raise HarnessError(f"{a_name} and {b_name} do not share the same eval examples "
                           f"({len(set(ids_a) ^ set(ids_b))} ids differ); a paired comparison needs the same set")
    problems = comparability_problems(a.manifest, b.manifest)
    if problems and not force:
        raise HarnessError(f"cannot compare {b_name} with {a_name}: {'; '.join(problems)}. "
                           "Use --force to compare anyway (the report and summary then say so)")
    return f"compared despite: {'; '.join(problems)}" if problems else None


def compare_runs(run_a: Path, run_b: Path, out: Path | None, variants: list[str], force: bool) -> Path:
    a, b = read_results(run_a), read_results(run_b)
    forced = check_comparable(a, b, str(run_a), str(run_b), force)
    missing = [v for v in variants if v not in a.variants or v not in b.variants]
    if missing:
        raise HarnessError(f"--variants: {', '.join(missing)} not in both runs; expected some of "
                           f"{', '.join(a.variants)}")
    label_a, label_b = _labels(Path(run_a), Path(run_b))
    target = out or Path(run_b) / f"compare-{label_a}.html"
    write_text_atomic(target, render(view_of_comparison(a, b, label_a, label_b, variants, forced)))
    return target


def _labels(run_a: Path, run_b: Path) -> tuple[str, str]:
    a, b = run_a.resolve().name, run_b.resolve().name
    return (a, b) if a != b else ("A", "B")
