"""What the user sees while a run works: stage headings, a bar with ETA for training and generation, and
plain progress lines instead of a bar when stderr is not a terminal (CI logs), so no stage is ever silent."""

from __future__ import annotations

import os
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=True, highlight=False)
PLAIN_EVERY_SECONDS = 15.0  # a plain line at least this often while work goes on, and at every tenth


def stage(title: str, detail: str = "") -> None:
    """A heading for one stage of a run (model, training, each variant, scoring, report)."""
    console.print(f"[bold cyan]==>[/] [bold]{title}[/]" + (f"  [dim]{detail}[/]" if detail else ""))


def _interactive() -> bool:
    return console.is_terminal and sys.stderr.isatty()


class Bar:
    """Progress of `total` units: a rich bar with ETA on a terminal, periodic plain lines elsewhere."""

    def __init__(self, description: str, total: int, unit: str = ""):
        self.description, self.total, self.unit = description, max(total, 1), unit
        self.done, self.detail = 0, ""
        self.started = self.last_line = time.perf_counter()
        self.last_tenth = 0
        self.progress: Progress | None = None
        if _interactive():
            self.progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                console=console, transient=False)
            self.progress.add_task(description, total=self.total, detail="")

    def __enter__(self) -> Bar:
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress:
            self.progress.stop()
        elif exc[0] is None:
            self._line(final=True)

    def advance(self, n: int = 1, detail: str | None = None) -> None:
        self.update(self.done + n, detail)

    def update(self, done: int, detail: str | None = None) -> None:
        self.done = min(done, self.total)
        if detail is not None:
            self.detail = detail
        if self.progress:
            self.progress.update(0, completed=self.done, detail=self.detail)
            return
        tenth = 10 * self.done // self.total
        if tenth > self.last_tenth or time.perf_counter() - self.last_line >= PLAIN_EVERY_SECONDS:
            self.last_tenth = tenth
            self._line()

    def _line(self, final: bool = False) -> None:
        if final and self.last_tenth >= 10:
            return
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else None
        console.print(f"  {self.description.strip()}: {self.done}/{self.total}{self.unit} "
                      f"({100 * self.done // self.total}%), {_clock(elapsed)} elapsed"
                      + (f", about {_clock(eta)} left" if eta is not None and self.done < self.total else "")
                      + (f"  {self.detail}" if self.detail else ""))
        self.last_line = time.perf_counter()


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def training_callback():
    """A transformers TrainerCallback that drives a Bar with the live loss."""
    from transformers import TrainerCallback

    class TrainingProgress(TrainerCallback):
        def __init__(self):
            self.bar: Bar | None = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.bar = Bar("training", state.max_steps, " steps").__enter__()

        def on_step_end(self, args, state, control, **kwargs):
            self.bar.update(state.global_step)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.bar.update(state.global_step, detail=f"loss {logs['loss']:.4f}")

        def on_train_end(self, args, state, control, **kwargs):
            self.bar.__exit__(None, None, None)

    return TrainingProgress()


def quiet_libraries() -> None:
    """Library chatter (progress bars, advisory warnings) would bury the harness's own output."""
    import logging
    import warnings

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    for name in ("transformers", "peft", "trl", "bitsandbytes", "accelerate", "datasets"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
