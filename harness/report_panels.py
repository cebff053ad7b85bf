"""The report's panel sections: distribution shift, persistence, truncation, prompt sensitivity and the canary.

Each section says the claim it tests and what it cost, then shows its figures as plain tables (and line
charts for the curves). The statistics come computed (harness/splits.py, harness/panel_results.py,
harness/canary.py); this module only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

from harness import charts
from harness.compare import BehaviourVerdict
from harness.metrics.registry import CANARY, Metric, metrics_for

TITLES = {"persistence": "Persistence over turns", "truncation": "Truncation",
          "sensitivity": "Prompt sensitivity"}
QUANTISATION_CLAIM = ("\"If it breaks in 4-bit, skip it\": an adapter trained on an NF4 base learned against that "
                      "base, and ships onto an unquantised one. The base model runs on both, on the eval prompts.")
SHIFT_CLAIM = ("SFT does not handle distribution shift: the verdict asked again on the examples whose task the "
               "training set lacks (or that a row marks shifted), beside the in-distribution ones.")


@dataclass
class Table:
    caption: str
    header: list[str]
    rows: list[list[str | Markup]]


@dataclass
class Section:
    id: str
    title: str
    claim: str
    cost: str | None
    tables: list[Table] = field(default_factory=list)
    charts: list[Markup] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def outcome_cell(row: BehaviourVerdict | None, metric: Metric | None) -> Markup:
    """A verdict row as a badge, the difference and its CI (points for pass/fail metrics)."""
    if row is None:
        return Markup("–")
    scale, unit = (100.0, " pts") if metric is not None and metric.kind == "binary" else (1.0, "")
    said = {"win": f"{row.a} better", "loss": f"{row.b} better", "tie": "tie"}[row.outcome]
    return Markup('<span class="badge {}">{}</span> {}{} <span class="muted">[{}, {}]</span>').format(
        row.outcome, said, f"{scale * row.delta:+.3g}", unit, f"{scale * row.ci_low:+.3g}",
        f"{scale * row.ci_high:+.3g}")


def _verdict_table(caption: str, verdicts: dict[str, list[BehaviourVerdict]], metrics: dict[str, Metric],
                   who=lambda row, setting: f"{row.a} vs {row.b}") -> Table:
    """Rows: each comparison (as `who` names it) and behaviour; columns: the settings."""
    settings = list(verdicts)
    keys = list(dict.fromkeys((who(r, s), r.metric) for s, rows in verdicts.items() for r in rows))
    rows = []
    for name, metric in keys:
        cells = [outcome_cell(next((r for r in verdicts[s] if (who(r, s), r.metric) == (name, metric)), None),
                              metrics.get(metric)) for s in settings]
        rows.append([f"{name}: {metrics[metric].label if metric in metrics else metric}", *cells])
    return Table(caption, ["comparison", *settings], rows)


def _cost(cost) -> str:
    return (f"Cost: {cost.passes} extra pass{'es' if cost.passes != 1 else ''} of the model, {cost.generations:,} "
            f"answers, {cost.prompt_tokens:,} prompt tokens in and {cost.generated_tokens:,} tokens generated.")


def shift_section(results, metrics: dict[str, Metric]) -> Section | None:
    if not results.splits:
        return None
    names = list(results.variants)
    keys = list(results.splits[0].values)
    header = ["metric", *[f"{s.split} ({s.n}) · {v}" for s in results.splits for v in names]]
    rows = [[metrics[k].summary_label, *[metrics[k].show(s.values[k].get(v)) for s in results.splits for v in names]]
            for k in keys if k in metrics]
    section = Section("shift", "Distribution shift", SHIFT_CLAIM, "Cost: none (the eval examples, grouped).")
    section.tables.append(Table("Headline metrics per split", header, rows))
    section.tables.append(_verdict_table("The verdict per split (each split a Holm family of its own)",
                                         {f"{s.split} ({s.n})": s.verdict for s in results.splits}, metrics))
    section.notes = [f"{s.split}: {s.n} examples, tasks {', '.join(s.tasks) or '–'}"
                     + (f"; {s.automatic} marked shifted because the training set has no example of their task"
                        if s.automatic else "") for s in results.splits]
    return section


def panel_sections(results, metrics: dict[str, Metric]) -> list[Section]:
    """One section per prompting panel that ran, then the canary."""
    sections = []
    for panel in results.panels:
        section = Section(panel.panel, TITLES.get(panel.panel, panel.panel), panel.claim, _cost(panel.cost))
        keys = [k for k in (panel.points[0].values if panel.points else {}) if k in metrics]
        if panel.panel == "sensitivity":
            models = list(dict.fromkeys(p.variant for p in panel.points))
            for key in keys:
                metric = metrics[key]
                spreads = {s.model: s for s in panel.spreads if s.metric == key}
                rows = [[setting, *[metric.show(spreads[m].values.get(setting)) for m in models]]
                        for setting in dict.fromkeys(p.setting for p in panel.points)]
                rows.append(["range across phrasings", *[metric.show(spreads[m].range) for m in models]])
                rows.append(["worst phrasing", *[spreads[m].worst or "–" for m in models]])
                section.tables.append(Table(metric.summary_label, ["system prompt", *models], rows))
            section.tables.append(_verdict_table(
                "Each adapter against the base model under the same prompt", panel.verdicts, metrics,
                who=lambda row, setting: f"{row.a.removesuffix('+' + setting)} vs base"))
        else:
            variants = list(dict.fromkeys(p.variant for p in panel.points))
            for key in keys:
                metric = metrics[key]
                series = {v: [(p.x, p.values[key]) for p in panel.points if p.variant == v and p.values[key]
                              is not None] for v in variants}
                x_label, x_name = (("turn of the eval prompt", "turn") if panel.panel == "persistence" else
                                   ("token budget", "budget"))
                section.charts.append(charts.line_chart(metric.summary_label.capitalize(), series, x_label,
                                                        metric.unit, x_name))
            settings = list(dict.fromkeys(p.setting for p in panel.points))
            rows = []
            for v in variants:
                here = {p.setting: p for p in panel.points if p.variant == v}
                for key in keys:
                    rows.append([f"{v}: {metrics[key].summary_label}",
                                 *[metrics[key].show(here[s].values[key]) if s in here else "–" for s in settings]])
                if panel.panel == "truncation" and any(p.system_kept is not None for p in here.values()):
                    rows.append([f"{v}: system prompt still whole",
                                 *[f"{100 * here[s].system_kept:.0f}%" if s in here and here[s].system_kept
                                   is not None else "–" for s in settings]])
            section.tables.append(Table("Per variant and setting", ["variant: metric", *settings], rows))
            section.tables.append(_verdict_table("The primary comparisons at each setting", panel.verdicts, metrics))
        sections.append(section)
    if results.canary is not None:
        sections.append(_canary(results.canary))
    return sections


def _canary(canary) -> Section:
    metrics = {m.key: m for m in CANARY}
    cost = canary.cost
    section = Section("canary", "Collateral damage (canary)", canary.claim,
                      f"Cost: {cost.passes} extra passes, {cost.scored_tokens:,} passage tokens scored, "
                      f"{cost.generations:,} short answers ({cost.prompt_tokens:,} prompt tokens in, "
                      f"{cost.generated_tokens:,} generated).")
    rows = [[m.label + (" (mean)" if m.kind == "continuous" else ""),
             *[m.show(canary.values[m.key].get(v)) for v in canary.variants]] for m in CANARY]
    section.tables.append(Table("Per variant", ["metric", *canary.variants], rows))
    section.tables.append(_verdict_table("Each adapter against the base model (paired, Holm-adjusted within the "
                                         "panel)", {"adapter vs base": canary.verdict}, metrics))
    passages = sum(item.kind == "passage" for item in canary.items)
    section.notes = [f"{passages} passages, each scored as plain text after {canary.document_start!r}; "
                     f"{len(canary.items) - passages} questions, each asked as \"QUESTION {canary.instruction}\".",
                     f"Data: {canary.source}."]
    return section


def quantisation_section(check) -> Section:
    """The base model on the NF4 base against the unquantised base (harness/precision.py)."""
    section = Section("quantisation", "Quantisation tolerance", QUANTISATION_CLAIM,
                      f"Cost: the base model's {check.n} answers on the NF4 base, one more pass.")
    rows = [["reference NLL per token", f"{check.nll_nf4:.4f}", f"{check.nll_full:.4f}",
             f"{check.nll_ratio:.3f}× (warning above {check.thresholds['nll_ratio']:g}×)"],
            ["answers opening with the same 10 words" + ("" if check.greedy else " (sampled: by chance too)"),
             "–", "–", f"{check.opening_agreement:.0%} of {check.n} (warning below "
                       f"{check.thresholds['opening_agreement']:.0%})"],
            ["identical answers", "–", "–", f"{check.agreement:.0%} of {check.n}"]]
    section.tables.append(Table(f"The base model, {check.compute_dtype} compute", ["measure", "NF4", "unquantised",
                                                                                   "NF4 against unquantised"], rows))
    section.notes = check.warnings or ["Within both thresholds: NF4 moves this base model little on these prompts."]
    return section


def data_size_section(result, metrics: dict[str, Metric]) -> Section:
    """The data-size curve: each headline metric against training examples, the prompting variants as bands."""
    trained = [a for a in result.adapters if a.fraction < 1 and not a.reused]
    cost = (f"Cost: {len(trained)} more adapter(s) trained ({sum(a.seconds or 0 for a in trained):,.0f} s) and "
            f"{sum(a.fraction < 1 for a in result.adapters)} more pass(es) of the model.")
    section = Section("data-size", "How much data SFT needs", result.claim, cost)
    for curve in result.curves:
        metric = metrics.get(curve.metric)
        scale = 100.0 if metric is not None and metric.kind == "binary" else 1.0
        points = [(p.examples, scale * p.mean, scale * p.ci_low, scale * p.ci_high) for p in curve.points
                  if p.mean is not None]
        bands = {b.variant: (scale * b.mean, scale * b.ci_low, scale * b.ci_high) for b in curve.bands
                 if b.mean is not None}
        unit = "%" if scale == 100.0 else (metric.unit if metric is not None else "")
        title = f"{curve.label[:1].upper()}{curve.label[1:]} (mean, 95% CI)"
        section.charts.append(charts.curve_with_bands(title, points, bands, "training examples", unit, curve.adapter))
        show = metric.show if metric is not None else (lambda v: f"{v:.3g}")
        rows = [[f"{p.examples} ({p.fraction:.0%})", show(p.mean), _delta(p, scale)] for p in curve.points]
        section.tables.append(Table(f"{curve.adapter}: {curve.label}, against {curve.best or '–'}",
                                    ["training examples", "mean", f"paired against {curve.best or '–'}"], rows))
        section.notes.append(curve.sentence)
    return section


def _delta(point, scale: float) -> Markup:
    if point.outcome is None:
        return Markup("–")
    said = {"win": "better", "loss": "worse", "tie": "tie"}[point.outcome]
    unit = " pts" if scale == 100.0 else ""
    return Markup('<span class="badge {}">{}</span> {}{} <span class="muted">[{}, {}]</span>').format(
        point.outcome, said, f"{scale * point.delta:+.3g}", unit, f"{scale * point.delta_low:+.3g}",
        f"{scale * point.delta_high:+.3g}")


def sections_of(results) -> list[Section]:
    metrics = {m.key: m for m in metrics_for(results.manifest.settings())}
    shift = shift_section(results, metrics)
    check = [quantisation_section(results.quantisation)] if results.quantisation is not None else []
    size = [data_size_section(results.data_size, metrics)] if results.data_size is not None else []
    return ([shift] if shift else []) + panel_sections(results, metrics) + size + check

