"""Held-out loss during training, and which training rows an adapter learns from.

- **Validation slice.** `training.validation.fraction` of the training rows (at most `max_examples`), drawn
  with the training seed, is held out: never trained on, and scored every `every_steps` steps (by default
  about 10 times over the training, and once before the first step). The eval set is a separate file, so the
  slice is never in eval. Under 4 rows the slice is not drawn (a loss over so few is noise), and the run says
  so.
- **Overfitting** is flagged where the validation loss rises `patience` evaluations in a row, each above the
  one before. With `early_stopping`, training stops there and the adapter of the best evaluation is the one
  saved; the adapter's stats say which step it is.
- **Data fractions** (the data-size curve) take nested subsets of the rows left after the slice: one seeded
  order, and each fraction its first part, so 25% is inside 50%, and every fraction is scored on the same
  slice.
"""

from __future__ import annotations

import math
import random

from harness.progress import console
from harness.suite import Validation

IGNORE_INDEX = -100
MIN_ROWS = 4


def held_out(count: int, settings: Validation, seed: int) -> list[int]:
    """The indices (ascending) of the validation rows among `count` training rows; none under MIN_ROWS, or
    where holding them out would leave nothing to train on."""
    size = min(settings.max_examples, round(settings.fraction * count))
    if size < MIN_ROWS or size >= count:
        return []
    return sorted(random.Random(seed).sample(range(count), size))


def slice_note(count: int, held: int, settings: Validation) -> str | None:
    """Why there is no validation slice, where there is none."""
    if held or settings.fraction == 0:
        return None if held else "validation off (training.validation.fraction: 0)"
    return (f"no validation: {settings.fraction:g} of {count} training rows is under {MIN_ROWS} rows "
            "(set training.validation.fraction higher, or 0 to say none is wanted)")


def fraction_of(indices: list[int], fraction: float, seed: int) -> list[int]:
    """The first `fraction` (at least one row) of `indices` in one seeded order, returned ascending: the
    subsets of two fractions are nested."""
    order = list(indices)
    random.Random(f"data-fraction-{seed}").shuffle(order)
    return sorted(order[: max(1, math.ceil(fraction * len(order)))])


def every_steps(settings: Validation, total_steps: int) -> int:
    return settings.every_steps or max(1, round(total_steps / 10))


def rising(curve: list[dict], patience: int) -> dict | None:
    """Where the loss first rose `patience` evaluations in a row: the step it rose from and the step that
    flagged it; None where it never did."""
    run = 0
    for index in range(1, len(curve)):
        run = run + 1 if curve[index]["loss"] > curve[index - 1]["loss"] else 0
        if run == patience:
            return {"from_step": curve[index - patience]["step"], "flagged_step": curve[index]["step"]}
    return None


def best(curve: list[dict]) -> dict:
    """The evaluation with the lowest loss (the earliest of equals)."""
    return min(curve, key=lambda point: point["loss"])


def held_out_loss(model, rows: list[dict], pad_id: int, batch_rows: int, batch_tokens: int | None) -> float:
    """Mean negative log-likelihood per label token of `rows` (input_ids, labels), as the training loss counts
    it: the same labels, summed over every row's tokens, then divided once. Batches of like-length rows, at
    most `batch_rows` rows and `batch_tokens` padded tokens each."""
    import torch

    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["input_ids"]), reverse=True)
    total, tokens = 0.0, 0
    was_training = model.training
    model.eval()
    for module in model.modules():
        # bitsandbytes repacks an NF4 weight for CPU inference the first time its layer runs in eval mode,
        # and the repacked weight breaks the backward pass once training resumes. These layers have no
        # dropout or other train-mode behaviour, so they stay in train mode.
        if type(module).__name__ == "Linear4bit":
            module.train()
    try:
        with torch.no_grad():
            for group in _groups(order, rows, batch_rows, batch_tokens):
                width = len(rows[group[0]]["input_ids"])
                ids = torch.full((len(group), width), pad_id, dtype=torch.long)
                labels = torch.full((len(group), width), IGNORE_INDEX, dtype=torch.long)
                mask = torch.zeros((len(group), width), dtype=torch.long)
                for r, i in enumerate(group):
                    n = len(rows[i]["input_ids"])
                    ids[r, :n], labels[r, :n], mask[r, :n] = (torch.tensor(rows[i]["input_ids"]),
                                                             torch.tensor(rows[i]["labels"]), 1)
                device = next(model.parameters()).device
                logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
                target = labels[:, 1:].to(device)
                total += float(torch.nn.functional.cross_entropy(
                    logits[:, :-1].reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=IGNORE_INDEX,
                    reduction="sum"))
                tokens += int((target != IGNORE_INDEX).sum())
    finally:
        model.train(was_training)
    return total / tokens if tokens else float("nan")


def _groups(order: list[int], rows: list[dict], batch_rows: int, batch_tokens: int | None) -> list[list[int]]:
    groups: list[list[int]] = [[]]
    for i in order:
        group = groups[-1]
        longest = len(rows[group[0]]["input_ids"]) if group else 0
        if group and (len(group) >= batch_rows or (batch_tokens and (len(group) + 1) * longest > batch_tokens)):
            groups.append(group := [])
        group.append(i)
    return [g for g in groups if g]


def watcher(rows: list[dict], settings: Validation, pad_id: int, batch_rows: int, batch_tokens: int | None):
    """A trainer callback that scores `rows` before the first step and every `every_steps` steps, keeps the
    best evaluation's adapter weights (with early stopping), and stops training where overfitting is flagged
    (with early stopping)."""
    from transformers import TrainerCallback

    class Watch(TrainerCallback):
        def __init__(self):
            self.curve: list[dict] = []
            self.every = 1
            self.stopped_at: int | None = None
            self.kept_step: int | None = None  # early stopping: the step of the weights put back
            self.best_weights: dict | None = None

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            self.every = every_steps(settings, state.max_steps)
            self._score(0, model)

        def on_step_end(self, args, state, control, model=None, **kwargs):
            step = state.global_step
            if step % self.every and step != state.max_steps:
                return
            self._score(step, model)
            if settings.early_stopping and rising(self.curve, settings.patience):
                self.stopped_at = step
                control.should_training_stop = True

        def _score(self, step: int, model) -> None:
            loss = held_out_loss(model, rows, pad_id, batch_rows, batch_tokens)
            self.curve.append({"step": step, "loss": round(loss, 6)})
            console.print(f"  step {step}: validation loss {loss:.4f} ({len(rows)} held-out rows)")
            if settings.early_stopping and best(self.curve) is self.curve[-1]:
                self.best_weights = {name: p.detach().clone() for name, p in model.named_parameters()
                                     if p.requires_grad}

        def keep_best(self, model) -> None:
            """With early stopping, put back the best evaluation's weights before the adapter is saved."""
            if not settings.early_stopping or self.best_weights is None:
                return
            parameters = dict(model.named_parameters())
            for name, value in self.best_weights.items():
                parameters[name].data.copy_(value)
            self.kept_step = best(self.curve)["step"]
            console.print(f"  early stopping: kept the adapter of step {self.kept_step}, the lowest validation loss")

        def record(self, final_step: int) -> dict:
            top = best(self.curve)
            return {"examples": len(rows), "every_steps": self.every, "patience": settings.patience,
                    "curve": self.curve, "best_step": top["step"], "best_loss": top["loss"],
                    "overfitting": rising(self.curve, settings.patience),
                    "early_stopping": settings.early_stopping, "stopped_at": self.stopped_at,
                    "kept_step": final_step if self.kept_step is None else self.kept_step}

    return Watch()
