"""The HTML report: one self-contained file (inline CSS, SVG and JS; no network request of any kind).

Python renders the verdict, the charts and the manifest; the examples travel as one JSON block that the
page's script renders with textContent only, so whatever text a model wrote shows as text and runs
nothing. The same view serves one run (`harness run`, `harness report`) and two (`harness compare`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from harness import charts
from harness.compare import Comparison, headline, headlines
from harness.metrics.lexicon import accuracy_note
from harness.metrics.registry import METRICS, metrics_for, statistic, summary_rows
from harness.precision import precision_lines
from harness.report_panels import Section, sections_of
from harness.results import ExampleResult, Grid, Manifest, Results, grid_of
from harness.scoring import PromptTax, VariantSummary
from harness.tasks import flip_sentence


@dataclass
class RunPanel:
    """What the training and manifest panels show for one run."""

    label: str
    manifest: Manifest
    adapters: dict[str, dict]  # name -> the manifest's adapter record (training stats, or the external source)
    stage_seconds: dict
    manifest_json: str = ""
    precision: list[str] = field(default_factory=list)  # which precision each variant ran in (precision_lines)
    filler_note: str | None = None  # the lexicon and its measured accuracy (lexicon.accuracy_note)


@dataclass
class ReportView:
    title: str
    subtitle: str
    notice: str | None
    columns: list[str]  # one per output column: variant names, or "A·sft" / "B·sft" in a comparison
    summary: dict[str, VariantSummary]
    primary: list[Comparison]  # the verdict's family, Holm-adjusted together
    secondary: list[tuple[str, str, list[Comparison]]]  # (a, b, that pair's other rows: raw p, not adjusted)
    prompt_tax: PromptTax | None
    runs: list[RunPanel]
    examples: list[dict]
    checks: list[str]
    charts: dict[str, Markup] = field(default_factory=dict)
    forced: str | None = None  # a comparison made despite mismatched runs
    profile: str | None = None  # "quick profile: ..." when a profile shrank the suite
    gate: dict | None = None
    legacy: bool = False  # a run before schema 1.2: Holm over every comparison, no secondary rows
    headlines: list[str] = field(default_factory=list)  # one plain sentence per primary comparison
    grid: Grid | None = None
    diff: tuple[str, str] | None = None  # the columns the examples table diffs by default (A, then B)
    rows: list[tuple[str, list[str]]] = field(default_factory=list)  # the registry's summary, a cell per column
    task_tables: list = field(default_factory=list)  # (metric label, [(task (n), a cell per column)])
    task_flips: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)  # distribution shift and the panels


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("harness", "templates"), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.1f}%"
    env.filters["pvalue"] = lambda v: "–" if v is None else (f"{v:.2g}" if v >= 1e-3 else f"{v:.1e}")
    return env


def _num(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def example_payload(examples: list[ExampleResult], columns: dict[str, tuple[int, str]],
                    per_run: list[list[ExampleResult]]) -> list[dict]:
    """The examples as the page's script reads them; `columns` maps a column to (run index, variant)."""
    payload = []
    for i, example in enumerate(examples):
        outputs = {}
        for column, (run, variant) in columns.items():
            result = per_run[run][i].variants[variant]
            scores = result.scores
            outputs[column] = {
                "text": result.output.text, "prompt": result.prompt,
                "words": scores.length.words, "tokens": result.output.tokens,
                "stop": "stopped" if result.output.stopped else "truncated" if result.output.truncated else "",
                "nll": _finite(scores.perplexity.mean_nll),
                "fail": [[c.check, c.reason] for c in scores.format.checks if not c.passed],
                "filler": [[_utf16(result.output.text, s.start), _utf16(result.output.text, s.end), s.category]
                           for s in scores.filler.spans],
                "custom": {k: _finite(v) for k, v in scores.custom.items()},
            }
        payload.append({"id": example.id, "task": example.task, "prompt": example.prompt,
                        "reference": example.reference, "out": outputs})
    return payload


def _finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity; the page shows a missing value instead."""
    return round(value, 4) if value is not None and math.isfinite(value) else None


def _utf16(text: str, index: int) -> int:
    """Python counts code points, JavaScript strings count UTF-16 units (an emoji is two)."""
    return len(text[:index].encode("utf-16-le")) // 2


def _charts(view: ReportView, by_column: dict[str, list]) -> dict[str, Markup]:
    """The registry's charts (harness/metrics/registry.py: histograms, rates, box plots), then the format
    checks, filler categories and training loss. `by_column` holds each column's VariantResults."""
    cols, summary = view.columns, view.summary
    made: dict[str, Markup] = {}
    for metric in METRICS:
        if metric.chart == "histogram":
            made[metric.key] = charts.histograms(metric.label.capitalize(),
                                                 {c: metric.values(by_column[c]) for c in cols}, metric.unit)
    rates = [metric for metric in METRICS if metric.chart == "rate"]
    made["rates"] = charts.grouped_bars("Rates per variant", [m.label for m in rates],
                                        {c: [statistic(m.values(by_column[c]), "mean") for m in rates] for c in cols},
                                        "share of outputs")
    for metric in METRICS:
        if metric.chart == "box":
            made[metric.key] = charts.box_plots(f"{metric.label.capitalize()}, per example",
                                                {c: [v for v in metric.values(by_column[c]) if math.isfinite(v)]
                                                 for c in cols}, metric.unit)
    categories = list(next(iter(summary.values())).filler_by_category) if summary else []
    if view.checks:
        made["checks"] = charts.grouped_bars("Format pass rate by check (strict)", view.checks,
                                             {c: [summary[c].format.by_check.get(k) for k in view.checks]
                                              for c in cols}, "pass rate")
    if categories:
        made["filler"] = charts.grouped_bars("Outputs with filler, by category", categories,
                                             {c: [summary[c].filler_by_category[k] for k in categories]
                                              for c in cols}, "share of outputs")
    losses = {}
    for run in view.runs:
        for name, record in run.adapters.items():
            label = f"{run.label} · {name}" if len(view.runs) > 1 else name
            stats = record.get("stats") or {}
            losses[f"{label} train"] = [(p["step"], p["loss"]) for p in stats.get("loss_curve", [])]
            held = (stats.get("validation") or {}).get("curve", [])
            losses[f"{label} validation"] = [(p["step"], p["loss"]) for p in held if p["loss"] is not None]
    made["loss"] = charts.line_chart("Training and validation loss", {k: v for k, v in losses.items() if v},
                                     "step", "loss (nats per label token)")
    return made


def _checks(summary: dict[str, VariantSummary]) -> list[str]:
    names: dict[str, None] = {}
    for s in summary.values():
        names.update(dict.fromkeys(s.format.by_check))
    return list(names)


def _families(comparisons: list[Comparison]) -> tuple[list[Comparison], list, bool]:
    """The verdict's family, the other rows per pair, and whether the run predates families (schema 1.2):
    then sft vs system's headline metrics stand in for the family, their p adjusted over every row."""
    legacy = any(c.family is None for c in comparisons)
    in_family = ((lambda c: c.primary and (c.a, c.b) == ("sft", "system")) if legacy else
                 (lambda c: c.family == "primary"))
    primary = [c for c in comparisons if in_family(c)]
    pairs = list(dict.fromkeys((c.a, c.b) for c in comparisons))
    secondary = [(a, b, [c for c in comparisons if (c.a, c.b) == (a, b) and not in_family(c)]) for a, b in pairs]
    return primary, [row for row in secondary if row[2]], legacy


def _panel(label: str, results: Results) -> RunPanel:
    adapters = {name: record.model_dump() for name, record in results.manifest.run_adapters().items()}
    return RunPanel(label, results.manifest, adapters, results.stage_seconds,
                    json.dumps(results.manifest.model_dump(mode="json"), indent=2, ensure_ascii=False),
                    precision_lines(results.manifest), accuracy_note(results.manifest.lexicon))


def view_of_run(results: Results) -> ReportView:
    columns = {v: (0, v) for v in results.variants}
    examples = example_payload(results.examples, columns, [results.examples])
    primary, secondary, legacy = _families(results.comparisons)
    pair = results.primary_pairs[0] if results.primary_pairs else None
    view = ReportView(
        title=f"{results.suite}: prompting vs SFT",
        subtitle=f"{len(results.examples)} eval examples · model {results.manifest.model.name}",
        notice=results.notice, columns=list(results.variants), summary=results.summary, primary=primary,
        secondary=secondary, legacy=legacy,
        prompt_tax=results.prompt_tax, runs=[_panel("this run", results)], examples=examples,
        checks=_checks(results.summary), gate=results.gate.model_dump() if results.gate else None,
        profile=results.profile_note, headlines=headlines(results.verdict), grid=grid_of(results.variant_grid()),
        diff=(pair[1], pair[0]) if pair and pair[0] in columns and pair[1] in columns else None,
    )
    view.charts = _charts(view, {c: [e.variants[c] for e in results.examples] for c in view.columns})
    view.rows = summary_rows(results)
    view.task_tables = _task_tables(results)
    view.task_flips = [flip_sentence(task, flip) for task in results.tasks for flip in task.flips]
    view.sections = sections_of(results)
    return view


def _task_tables(results: Results) -> list:
    """Each headline metric as a task × variant table (harness/tasks.py)."""
    metrics = {m.key: m for m in metrics_for(results.manifest.settings())}
    keys = list(results.tasks[0].values) if results.tasks else []
    return [(metrics[key].summary_label,
             [(f"{t.task} ({t.n})", [metrics[key].show(t.values[key].get(c)) for c in results.variants])
              for t in results.tasks])
            for key in keys if key in metrics]


def view_of_comparison(a: Results, b: Results, label_a: str, label_b: str, variants: list[str],
                       comparisons: list[Comparison], forced: str | None = None) -> ReportView:
    """Run B against run A (e.g. adapter v2 against v1) on the same examples, variant by variant; the
    statistics come computed (harness.compare.compare_runs)."""
    by_id = {e.id: e for e in b.examples}
    aligned_b = [by_id[e.id] for e in a.examples]
    columns = {f"{label}·{v}": (run, v) for v in variants for run, label in ((0, label_a), (1, label_b))}
    examples = example_payload(a.examples, columns, [a.examples, aligned_b])
    primary, secondary, _ = _families(comparisons)
    summary = {column: (a if run == 0 else b).summary[v] for column, (run, v) in columns.items()}
    pairs = list(dict.fromkeys((c.a, c.b) for c in primary))
    view = ReportView(
        title=f"{a.suite}: {label_b} vs {label_a}",
        subtitle=f"{len(a.examples)} shared eval examples · variants {', '.join(variants)}",
        notice=a.notice or b.notice, columns=list(columns), summary=summary, primary=primary, secondary=secondary,
        prompt_tax=None,
        runs=[_panel(label_a, a), _panel(label_b, b)], examples=examples, checks=_checks(summary), forced=forced,
        headlines=[line for pair in pairs if (line := headline([c for c in primary if (c.a, c.b) == pair], *pair))],
    )
    per_run = [a.examples, aligned_b]
    view.charts = _charts(view, {c: [e.variants[v] for e in per_run[run]] for c, (run, v) in columns.items()})
    rows_a, rows_b = summary_rows(a, variants), summary_rows(b, variants)
    view.rows = [(label, [cell for pair in zip(cells_a, cells_b, strict=True) for cell in pair])
                 for (label, cells_a), (_, cells_b) in zip(rows_a, rows_b, strict=True)]
    return view


def render(view: ReportView) -> str:
    env = _environment()
    data = json.dumps({"columns": view.columns, "checks": view.checks, "examples": view.examples},
                      ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # Safe inside <script type="application/json">: no "</script>", no HTML-significant characters.
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):
        data = data.replace(raw, escaped)
    assets = resources.files("harness").joinpath("templates")
    return env.get_template("report.html.j2").render(
        v=view, data=Markup(data), style=Markup(assets.joinpath("report.css").read_text("utf-8")),
        script=Markup(assets.joinpath("report.js").read_text("utf-8")))


def render_report(results: Results) -> str:
    return render(view_of_run(results))
