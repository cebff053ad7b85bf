"""What the user sees while a run works: one rich console, a training bar with the live loss."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=True, highlight=False)


def bar(description: str, total: int) -> Progress:
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
        console=console, transient=False, disable=not sys.stderr.isatty() and not console.is_terminal,
    )
    progress.add_task(description, total=total, detail="")
    return progress


def training_callback():
    """A transformers TrainerCallback that drives a rich bar and prints the loss as it falls."""
    from transformers import TrainerCallback

    class RichTraining(TrainerCallback):
        def __init__(self):
            self.progress: Progress | None = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.progress = bar("training", state.max_steps)
            self.progress.start()

        def on_step_end(self, args, state, control, **kwargs):
            self.progress.update(0, completed=state.global_step)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.progress.update(0, detail=f"loss {logs['loss']:.4f}")
                quiet = not self.progress.live.is_started or self.progress.disable
                if quiet and state.global_step % max(1, state.max_steps // 10) == 0:
                    console.print(f"  step {state.global_step}/{state.max_steps}  loss {logs['loss']:.4f}")

        def on_train_end(self, args, state, control, **kwargs):
            self.progress.stop()

    return RichTraining()


def print_summary(results) -> None:
    """The headline numbers per variant, as a table on the console."""
    from rich.table import Table

    table = Table(title=f"{results.suite}: {len(results.examples)} eval examples", title_justify="left")
    table.add_column("metric")
    for name in results.variants:
        table.add_column(name, justify="right")
    rows = [
        ("words, median", lambda s: f"{s.words.median:.1f}"),
        ("stopped on end-of-turn", lambda s: f"{100 * s.stop_rate:.1f}%"),
        ("truncated", lambda s: f"{100 * s.truncation_rate:.1f}%"),
        ("format: all checks pass",
         lambda s: "–" if s.format.prompt_strict is None else f"{100 * s.format.prompt_strict:.1f}%"),
        ("filler: any", lambda s: f"{100 * s.filler_any_rate:.1f}%"),
        ("reference perplexity", lambda s: f"{s.perplexity:.2f}"),
    ]
    for label, show in rows:
        table.add_row(label, *(show(results.summary[name]) for name in results.variants))
    console.print(table)
