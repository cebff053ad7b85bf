"""The run's results on the console: the per-variant summary (harness/metrics/registry.py's rows), the variant
grid, the verdict, each primary comparison's headline first, and a line per split and panel setting."""

from __future__ import annotations

from rich.table import Table

from harness.compare import headlines, outside_verdict
from harness.metrics.registry import summary_rows
from harness.progress import console
from harness.results import Grid, grid_of
from harness.tasks import flip_sentence


def print_summary(results) -> None:
    """The headline numbers per variant, as a table on the console."""
    table = Table(title=f"{results.suite}: {len(results.examples)} eval examples", title_justify="left")
    table.add_column("metric")
    for name in results.variants:
        table.add_column(name, justify="right")
    for label, cells in summary_rows(results):
        table.add_row(label, *cells)
    console.print(table)
    print_grid(grid_of(results.variant_grid()))
    print_verdict(results.verdict, results.comparisons)
    flips = [flip_sentence(task, flip) for task in results.tasks for flip in task.flips]
    if flips:
        console.print("[bold]Drift across tasks[/] (a primary comparison's winner does worse here):")
        for line in flips:
            console.print(f"  {line}", markup=False)
    print_panels(results)


def print_panels(results) -> None:
    """One line per split and per panel setting: that part's verdict in a sentence (the report has the rest)."""
    parts = [(f"split {s.split} ({s.n} examples)", s.verdict) for s in results.splits]
    parts += [(f"{p.panel}, {'prompt ' if p.panel == 'sensitivity' else ''}{setting}", rows)
              for p in results.panels for setting, rows in p.verdicts.items()]
    if results.canary is not None:
        parts.append(("canary", results.canary.verdict))
    for label, rows in parts:
        said = headlines(rows) or ["descriptive figures only (too few examples for a test)"]
        for line in said:
            console.print(f"[bold]{label}:[/] " + line, highlight=False)
    if results.data_size is not None:
        for curve in results.data_size.curves:
            console.print(f"[bold]data size:[/] {curve.sentence}", highlight=False)
    if (check := results.quantisation) is not None:
        console.print(f"[bold]quantisation:[/] the base model's reference NLL per token is {check.nll_ratio:.3f}x "
                      f"in NF4, {check.opening_agreement:.0%} of its answers open with the same 10 words",
                      highlight=False)
        for warning in check.warnings:
            console.print(f"[yellow]warning:[/] {warning}", highlight=False)


def print_grid(grid: Grid) -> None:
    """The variants as a table: prompt arms down, adapters across."""
    table = Table(title="variants: prompt arm × adapter", title_justify="left")
    table.add_column("prompt arm")
    for adapter in grid.adapters:
        table.add_column(adapter)
    for arm in grid.arms:
        table.add_row(arm, *(grid.cells.get((arm, adapter), "–") for adapter in grid.adapters))
    console.print(table)


def print_verdict(verdict, comparisons=()) -> None:
    """Each primary comparison's headline first, then one line per behaviour: the answer, with its CI,
    adjusted p and, where needed, why; then the headline behaviours the verdict leaves out, as secondary rows."""
    if not verdict:
        console.print("[dim]No primary comparison ran (the suite's `comparisons:` need both variants).[/]")
        return
    lines = headlines(verdict)
    for index, line in enumerate(lines, 1):
        console.print(f"[bold]Verdict{f' {index}' if len(lines) > 1 else ''}:[/] " + line, highlight=False)
    size = verdict[0].family_size
    family = "" if not size else (", tested alone at 0.05" if size == 1 else
                                  f", Holm-adjusted over {size} primary comparisons")
    console.print(f"[dim]Per behaviour{family}:[/]")
    for v in verdict:
        console.print(f"  {v.answer}", markup=False)
    others = outside_verdict(list(comparisons))
    if others:
        console.print("[dim]Outside the verdict (the suite's verdict.behaviours leaves them out; secondary, "
                      "not adjusted):[/]")
        for line in others:
            console.print(f"  {line}", markup=False)
