"""Run folders after the fact: re-render a report, or compare two runs, without loading a model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness import baselines
from harness.compare import comparability_problems, run_against_run
from harness.errors import HarnessError
from harness.files import write_text_atomic
from harness.gate_outputs import junit_xml, markdown_summary
from harness.gates import GateError, evaluate_gates, merge_gates, metric_specs
from harness.report import render, render_report, view_of_comparison
from harness.results import GateReport, Results, write_results
from harness.run_folder import read_run, refuse_output_file

NO_GATES = "no gates to check: declare `gates:` in the suite or pass --set-gate EXPR"


def rerender(run_dir: Path, out: Path | None = None) -> Path:
    refuse_output_file(out, "report", "--out")
    results = read_run(run_dir)
    target = out or Path(run_dir) / "report.html"
    write_text_atomic(target, render_report(results))
    return target


def check_comparable(a: Results, b: Results, a_name: str, b_name: str, force: bool) -> str | None:
    """None when the runs compare cleanly; with --force, the reason the comparison is marked."""
    ids_a, ids_b = [e.id for e in a.examples], [e.id for e in b.examples]
    if sorted(ids_a) != sorted(ids_b):
        raise HarnessError(f"{a_name} and {b_name} do not share the same eval examples "
                           f"({len(set(ids_a) ^ set(ids_b))} ids differ); a paired comparison needs the same set")
    problems = comparability_problems(a.manifest.model_dump(mode="json"), b.manifest.model_dump(mode="json"))
    if problems and not force:
        raise HarnessError(f"cannot compare {b_name} with {a_name}: {'; '.join(problems)}. "
                           "Use --force to compare anyway (the report and summary then say so)")
    return f"compared despite: {'; '.join(problems)}" if problems else None


def compare_runs(run_a: Path, run_b: Path, out: Path | None, variants: list[str], force: bool) -> Path:
    refuse_output_file(out, "report", "--out")
    a, b = read_run(run_a), read_run(run_b)
    forced = check_comparable(a, b, str(run_a), str(run_b), force)
    missing = [v for v in variants if v not in a.variants or v not in b.variants]
    if missing:
        raise HarnessError(f"--variants: {', '.join(missing)} not in both runs; expected some of "
                           f"{', '.join(a.variants)}")
    label_a, label_b = _labels(Path(run_a), Path(run_b))
    target = out or Path(run_b) / f"compare-{label_a}.html"
    comparisons = run_against_run(a, b, label_a, label_b, variants)
    write_text_atomic(target, render(view_of_comparison(a, b, label_a, label_b, variants, comparisons, forced)))
    return target


def _labels(run_a: Path, run_b: Path) -> tuple[str, str]:
    a, b = run_a.resolve().name, run_b.resolve().name
    return (a, b) if a != b else ("A", "B")


@dataclass(frozen=True)
class GateOutputs:
    junit: Path | None = None
    markdown: Path | None = None
    json: Path | None = None

    def refuse_unowned(self) -> None:
        """Each path given is new, or a file of its kind that harness wrote: nothing else is overwritten."""
        for path, kind, flag in ((self.junit, "junit", "--junit"), (self.markdown, "summary", "--markdown"),
                                 (self.json, "gates", "--json")):
            refuse_output_file(path, kind, flag)


def check_run(run_dir: Path, baseline_ref: str | None, cli_gates: list[str], force: bool,
              outputs: GateOutputs = GateOutputs()) -> tuple[GateReport, str]:
    """Evaluate the suite's gates (and CLI overrides) on a saved run; write JUnit, Markdown and JSON."""
    outputs.refuse_unowned()
    results = read_run(run_dir)
    settings = results.manifest.settings()
    specs = metric_specs(settings.get("metrics", {}).get("custom", []))
    try:
        gates = merge_gates(settings.get("gates", []), cli_gates, specs, results.variants)
    except GateError as exc:
        raise HarnessError(f"gate: {exc}") from None
    if not gates:
        raise HarnessError(NO_GATES, file=run_dir)
    baseline, name, forced = None, None, None
    if baseline_ref:
        baseline, name = baselines.load(baseline_ref)
        forced = check_comparable(baseline, results, f"baseline {name}", str(run_dir), force)
    elif any(g.kind == "baseline" for g in gates):
        raise HarnessError("a gate compares against the baseline; pass --baseline RUN_DIR or NAME")
    report = evaluate_gates(gates, results, specs, baseline, name, forced)
    results.gate = report
    run_dir = Path(run_dir)
    summary = markdown_summary(report, results.suite, str(run_dir), results.notice)
    write_text_atomic(outputs.junit or run_dir / "junit.xml", junit_xml(report, results.suite))
    write_text_atomic(outputs.markdown or run_dir / "gate-summary.md", summary)
    write_text_atomic(outputs.json or run_dir / "gates.json", report.model_dump_json(indent=2) + "\n")
    write_results(results, run_dir)
    write_text_atomic(run_dir / "report.html", render_report(results))
    return report, summary


def preflight_gates(suite_path: Path, cli_gates: list[str], baseline_ref: str | None,
                    outputs: GateOutputs = GateOutputs()) -> None:
    """Before a long run: there are gates, they parse, a named baseline exists, the outputs may be written."""
    from harness.suite import load_suite

    outputs.refuse_unowned()
    suite = load_suite(suite_path)
    specs = metric_specs([m.model_dump() for m in suite.metrics.custom])
    try:
        gates = merge_gates(suite.gates, cli_gates, specs, [v.name for v in suite.variant_specs()])
    except GateError as exc:
        raise HarnessError(f"gate: {exc}") from None
    if not gates:
        raise HarnessError(NO_GATES, file=suite_path)
    if baseline_ref:
        baselines.load(baseline_ref)
    elif any(g.kind == "baseline" for g in gates):
        raise HarnessError("a gate compares against the baseline; pass --baseline RUN_DIR or NAME")
