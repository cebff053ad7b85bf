"""Supervised fine-tuning of a LoRA adapter (QLoRA by default) with TRL's SFTTrainer.

Examples are rendered by the same PromptRenderer the `sft` variant uses at evaluation, followed by the
reference as the chat template renders it, through its end-of-turn token (`PromptRenderer.target`), so the
model learns to stop. The harness tokenises
(prompt and completion encoded whole, split at the boundary) and builds labels itself: completion tokens
only by default, never masked by pad id. SFTTrainer pads each batch dynamically; batches are grouped by
length, and each batch is cut into micro-batches by a token budget on a CPU. The adapter is cached under a
key of content hashes, so identical inputs reuse it.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from harness import adapter_folder
from harness.cache import entry_lock, open_cache
from harness.errors import HarnessError
from harness.examples import ExampleSet
from harness.files import discard, publish_dir, sha256_json, staging_dir, write_json_atomic
from harness.models import ModelSource, Numerics, load_model, release_memory
from harness.processes import Processes, current, from_main, wait_for_all
from harness.progress import console, training_callback
from harness.prompts import PromptRenderer
from harness.smoke import SMOKE_NOTICE
from harness.suite import Training
from harness.tokens import encode_pair
from harness.validation import IGNORE_INDEX, fraction_of, held_out, slice_note, watcher
from harness.versions import library_versions

# Part of the adapter cache key: bump when the training code changes what it produces for the same inputs.
RECIPE = 5  # 5: a validation slice held out of the training rows


@dataclass(frozen=True)
class Adapter:
    folder: Path
    key: str
    manifest: dict
    reused: bool


def tokenize_training_set(train: ExampleSet, renderer: PromptRenderer, tokenizer, settings: Training) -> list[dict]:
    """input_ids and labels per example; prompt tokens get IGNORE_INDEX unless loss is 'full'."""
    rows = []
    for example in train.examples:
        prompt = renderer.render(example.prompt, system=False)
        # The answer as the chat template renders it, with its end-of-turn token, so the model learns to stop.
        pair = encode_pair(tokenizer, prompt, renderer.target(example.prompt, example.response, example.id))
        ids = pair.input_ids[: settings.max_length]
        labels = list(ids) if settings.loss == "full" else (
            [IGNORE_INDEX] * pair.prompt_length + pair.completion_ids)[: settings.max_length]
        rows.append({"input_ids": ids, "labels": labels})
    return rows


@dataclass(frozen=True)
class Rows:
    """The tokenised training rows an adapter learns from, and the held-out rows it is validated on."""

    fit: list[dict]
    held: list[dict]
    fraction: float  # of the rows left after the validation slice
    note: str | None  # why there is no validation slice, where there is none


def training_rows(train: ExampleSet, renderer: PromptRenderer, tokenizer, settings: Training,
                  fraction: float = 1.0) -> Rows:
    """The validation slice first (harness/validation.py), then `fraction` of the rest, nested."""
    rows = tokenize_training_set(train, renderer, tokenizer, settings)
    held = held_out(len(rows), settings.validation, settings.seed)
    rest = [i for i in range(len(rows)) if i not in set(held)]
    fit = rest if fraction >= 1 else fraction_of(rest, fraction, settings.seed)
    return Rows([rows[i] for i in fit], [rows[i] for i in held], fraction,
                slice_note(len(rows), len(held), settings.validation))


def adapter_key(source: ModelSource, rows: Rows, settings: Training, numerics: Numerics) -> str:
    return sha256_json({
        "recipe": RECIPE,
        "weights": source.weights_hash,
        "config": source.config_hash,
        "numerics": numerics.key(),
        "micro_batch_tokens": micro_batch_tokens(settings, numerics),
        "tokenized_train": sha256_json(rows.fit),
        "tokenized_validation": sha256_json(rows.held),
        # The fractions name other adapters: this one's key is the same with or without them.
        "training": settings.model_dump(mode="json", exclude={"data_fractions"}),
        "libraries": library_versions(),
    })[:24]


def train_or_reuse(source: ModelSource, tokenizer, renderer: PromptRenderer, train: ExampleSet,
                   settings: Training, numerics: Numerics, fraction: float = 1.0) -> Adapter:
    """The adapter for these inputs (trained on `fraction` of the rows left after the validation slice):
    reused from the cache when its files and manifest check out against their hashes, trained otherwise.
    Under the entry's lock, so a concurrent run training the same adapter is waited for, and its adapter
    reused."""
    rows = training_rows(train, renderer, tokenizer, settings, fraction)
    key = adapter_key(source, rows, settings, numerics)  # the same whatever the number of processes
    processes = current()
    if processes.several:
        return _train_together(source, tokenizer, renderer, train, rows, settings, numerics, key, processes)
    final = open_cache("adapters") / key
    with entry_lock(final, f"waiting for another run that is training the same adapter ({key})"):
        manifest = adapter_folder.verified(final, key)
        if manifest is not None:
            console.print(f"[green]adapter[/] reused from cache ({key})")
            return Adapter(final, key, manifest, reused=True)
        discard(final)  # a damaged entry, if there is one
        return _train_into_cache(source, tokenizer, renderer, train, rows, settings, numerics, final)


def _train_together(source: ModelSource, tokenizer, renderer: PromptRenderer, train: ExampleSet, rows: Rows,
                    settings: Training, numerics: Numerics, key: str, processes: Processes) -> Adapter:
    """Every process of the group trains the adapter together (DDP, each a share of every batch); the main
    process holds the entry's lock, decides whether the cache has it, and publishes it. The others train
    into a folder of their own that is thrown away, then read the published adapter."""
    if settings.batch_size % processes.world:
        raise HarnessError(f"training.batch_size: {settings.batch_size} rows cannot be shared evenly by "
                           f"{processes.world} processes; expected a multiple of {processes.world}")
    final = open_cache("adapters") / key
    with (entry_lock(final, f"waiting for another run that is training the same adapter ({key})")
          if processes.main else nullcontext()):
        manifest = adapter_folder.verified(final, key) if processes.main else None
        if from_main(manifest is not None, processes):
            if processes.main:
                console.print(f"[green]adapter[/] reused from cache ({key})")
            return Adapter(final, key, manifest or adapter_folder.verified(final, key), reused=True)
        if processes.main:
            discard(final)
            adapter = _train_into_cache(source, tokenizer, renderer, train, rows, settings, numerics, final)
        else:
            scratch = Path(tempfile.mkdtemp(prefix=f"harness-rank{processes.rank}-"))
            try:
                _train(source, tokenizer, rows, settings, numerics, scratch)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        wait_for_all(processes)  # the main process has published it
    if processes.main:
        return adapter
    manifest = adapter_folder.verified(final, key)
    if manifest is None:
        raise HarnessError(f"the main process did not publish the adapter {key} it trained; run again")
    return Adapter(final, key, manifest, reused=False)


def _train_into_cache(source: ModelSource, tokenizer, renderer: PromptRenderer, train: ExampleSet,
                      rows: Rows, settings: Training, numerics: Numerics, final: Path) -> Adapter:
    key = final.name
    budget = micro_batch_tokens(settings, numerics)
    length = f"{settings.max_steps} steps" if settings.max_steps else f"{settings.epochs:g} epoch(s)"
    cut = f"micro-batches of at most {budget} tokens" if budget else "whole batches"
    share = f" ({rows.fraction:.0%} of the rows)" if rows.fraction < 1 else ""
    held = f", {len(rows.held)} held out for validation" if rows.held else f" ({rows.note})" if rows.note else ""
    console.print(f"  {len(rows.fit)} examples{share}{held}, {length}, batch {settings.batch_size} ({cut}), "
                  f"LoRA r={settings.lora.r}, {numerics.dtype} on {numerics.device}, quantization "
                  f"{numerics.quantization}; starting the trainer")
    staging = staging_dir(final)
    try:
        stats = _train(source, tokenizer, rows, settings, numerics, staging)
        adapter_folder.canonicalise(staging, base_model=f"sha256:{source.weights_hash}")
        manifest = adapter_folder.sealed({
            "adapter_key": key,
            "adapter_sha256": adapter_folder.files_sha256(staging),
            "base_model": source.identity(),
            "data": {"train_sha256": train.content_hash, "train_examples": len(train.examples),
                     "trained_on": len(rows.fit), "held_out": len(rows.held), "fraction": rows.fraction,
                     "tokenized_sha256": sha256_json(rows.fit), "source": train.source},
            "training": settings.model_dump(mode="json"),
            "numerics": numerics.describe(),
            "prompting": renderer.describe(),
            "libraries": library_versions(),
            "stats": stats,
            **({"notice": SMOKE_NOTICE} if source.smoke else {}),
        })
        write_json_atomic(staging / adapter_folder.MANIFEST, manifest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if publish_dir(staging, final):
        return Adapter(final, key, manifest, reused=False)
    # Another run published this adapter first (possible only where there is no lock): use that one.
    winner = adapter_folder.verified(final, key)
    if winner is None:
        raise HarnessError(f"another run put a damaged adapter at {final} while this one trained; run again")
    return Adapter(final, key, winner, reused=True)


CPU_MICRO_BATCH_TOKENS = 160


def micro_batch_tokens(settings: Training, numerics: Numerics) -> int | None:
    """Padded tokens (rows x longest row) per forward pass, or None for the whole batch at once. On a CPU,
    activations take about 3.5 MB per token in float32 on a 30-layer model with LoRA on every linear layer
    (bench/RESULTS.md), so each batch is cut into micro-batches of at most 160 tokens: short rows go several to
    a pass, a long row alone, and a row longer than the budget recomputes its activations in the backward pass
    (gradient checkpointing for that pass only). The optimiser still steps on batch_size rows, with the loss
    averaged over the whole batch's tokens, so the cut changes memory and speed, not what is learned."""
    if settings.micro_batch_tokens is not None:
        return settings.micro_batch_tokens
    return None if numerics.device == "cuda" else CPU_MICRO_BATCH_TOKENS


def split_batch(batch: dict, budget: int | None) -> list[dict]:
    """Cut a right-padded batch into micro-batches of at most `budget` padded tokens (one row at least), each
    trimmed to its own longest row. Rows are taken longest first, so rows of like length share a pass."""
    lengths = batch["attention_mask"].sum(dim=1)
    if budget is None or len(lengths) * int(lengths.max()) <= budget:
        return [batch]
    groups: list[list[int]] = [[]]
    for row in lengths.argsort(descending=True, stable=True).tolist():
        group = groups[-1]
        if group and (len(group) + 1) * int(lengths[group[0]]) > budget:
            groups.append(group := [])
        group.append(row)
    return [{name: value[rows, :int(lengths[rows[0]])] if value.dim() == 2 else value[rows]
             for name, value in batch.items()} for rows in groups]


def _train(source: ModelSource, tokenizer, rows: Rows, settings: Training, numerics: Numerics,
           out: Path) -> dict:
    """Trains in this process, then trims the heap (release_memory), so that evaluation does not start on
    top of training's freed but kept activations."""
    try:
        return _fit(source, tokenizer, rows, settings, numerics, out)
    finally:
        release_memory()


def _fit(source: ModelSource, tokenizer, data: Rows, settings: Training, numerics: Numerics,
         out: Path) -> dict:
    from datasets import Dataset
    from peft import LoraConfig, prepare_model_for_kbit_training
    from transformers import PrinterCallback

    model = load_model(source, numerics)
    if numerics.quantization == "nf4":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=settings.gradient_checkpointing)
    lora = LoraConfig(r=settings.lora.r, lora_alpha=settings.lora.alpha, lora_dropout=settings.lora.dropout,
                      target_modules=settings.lora.target_modules, bias="none", task_type="CAUSAL_LM")
    rows, budget = data.fit, micro_batch_tokens(settings, numerics)
    # Held-out rows score without gradients: several times the training budget of tokens fits per pass.
    watch = watcher(data.held, settings.validation, tokenizer.pad_token_id, settings.batch_size,
                    budget * 4 if budget else None) if data.held else None
    trainer = _trainer_class()(model=model, args=_config(settings, numerics, out),
                               train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                               peft_config=lora, callbacks=[training_callback(), *([watch] if watch else [])])
    trainer.token_budget = budget
    base = trainer.model.get_base_model()
    trainer.recompute_long_rows = (trainer.token_budget is not None and not settings.gradient_checkpointing
                                   and base.supports_gradient_checkpointing)
    if trainer.recompute_long_rows:
        base.activation_checkpointing_enable({"use_reentrant": False})
    trainer.remove_callback(PrinterCallback)  # the rich bar shows progress and loss instead
    if numerics.device == "cpu":
        # Adapter weights stay float32 (their optimiser updates are too small for bf16), also where TRL cast
        # QLoRA adapters to bf16; with bf16 chosen on a CPU, autocast runs the matmuls in bf16.
        for parameter in trainer.model.parameters():
            if parameter.requires_grad:
                parameter.data = parameter.data.float()
    padding = _PaddingMeter(trainer.data_collator)
    trainer.data_collator = padding
    started = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - started
    if watch is not None:
        watch.keep_best(trainer.model)
    trainer.model.save_pretrained(out)
    losses = [{"step": e["step"], "loss": e["loss"]} for e in trainer.state.log_history if "loss" in e]
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    epochs_run = float(result.metrics.get("epoch", settings.epochs))
    label_tokens = sum(sum(1 for t in r["labels"] if t != IGNORE_INDEX) for r in rows)
    input_tokens = sum(len(r["input_ids"]) for r in rows)
    return {
        "steps": result.global_step, "epochs": epochs_run, "seconds": round(seconds, 3),
        "final_loss": losses[-1]["loss"] if losses else None, "loss_curve": losses,
        "trainable_parameters": trainable,
        "tokens_seen": round(input_tokens * epochs_run), "loss_tokens_seen": round(label_tokens * epochs_run),
        "device": numerics.device,
        "micro_batch_tokens": trainer.token_budget,
        "forward_passes": trainer.forward_passes,
        "tokens_per_second": round(padding.real / seconds, 1) if seconds else None,
        "real_token_fraction": padding.fraction(),
        "validation": watch.record(result.global_step) if watch else {"examples": 0, "note": data.note},
    }


def _trainer_class():
    """TRL's SFTTrainer, with each batch cut into micro-batches by a token budget (split_batch). Trainer's own
    gradient accumulation needs a fixed number of micro-batches per step, and a budget gives a varying number,
    so the cut happens inside the training step, with gradients synced (under DDP) on the last piece only."""
    import contextlib

    from trl import SFTTrainer

    class BudgetedSFTTrainer(SFTTrainer):
        token_budget: int | None = None
        recompute_long_rows = False
        forward_passes = 0

        def training_step(self, model, inputs, num_items_in_batch=None):
            pieces = split_batch(inputs, self.token_budget)
            if num_items_in_batch is None and len(pieces) > 1:
                # Each piece's loss must be its share of the whole batch's mean, not a mean of its own.
                num_items_in_batch = int((inputs["labels"][:, 1:] != IGNORE_INDEX).sum())
            total = None
            for index, piece in enumerate(pieces):
                last = index == len(pieces) - 1
                if self.recompute_long_rows:
                    _checkpoint_layers(model, piece["attention_mask"].numel() > self.token_budget)
                with contextlib.nullcontext() if last else self.accelerator.no_sync(model):
                    loss = super().training_step(model, piece, num_items_in_batch)
                total = loss if total is None else total + loss
            self.forward_passes += len(pieces)
            if self.args.use_cpu:
                release_memory(collect=False)  # each batch shape leaves its own holes in the heap
            return total

    return BudgetedSFTTrainer


def _checkpoint_layers(model, on: bool) -> None:
    """Gradient checkpointing for the next pass only, layer by layer (the flag transformers' layers read)."""
    from transformers.modeling_layers import GradientCheckpointingLayer

    for module in model.modules():
        if isinstance(module, GradientCheckpointingLayer):
            module.gradient_checkpointing = on


def _config(settings: Training, numerics: Numerics, out: Path):
    """Every trainer setting explicit: TRL's defaults (bf16, gradient checkpointing) assume a GPU."""
    from trl import SFTConfig

    on_gpu = numerics.device == "cuda"
    return SFTConfig(
        output_dir=str(out / "trainer"),
        # Each process takes its share of every batch (under DDP), so the adapter learns from the same batches
        # whatever the number of processes; cut by a token budget inside each step.
        per_device_train_batch_size=settings.batch_size // current().world,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps or -1,
        lr_scheduler_type=settings.lr_scheduler,
        warmup_steps=settings.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=settings.weight_decay,
        max_length=settings.max_length,
        train_sampling_strategy="group_by_length",
        gradient_checkpointing=settings.gradient_checkpointing,
        bf16=numerics.dtype == "bfloat16",
        use_cpu=not on_gpu,
        seed=settings.seed,
        data_seed=settings.seed,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_pin_memory=on_gpu,
        ddp_find_unused_parameters=False,  # under DDP: every LoRA parameter takes part in every step
    )


class _PaddingMeter:
    """Wraps the collator to count real (non-pad) tokens against all positions processed."""

    def __init__(self, collator):
        self.collator = collator
        self.real = 0
        self.positions = 0

    def __call__(self, examples):
        batch = self.collator(examples)
        mask = batch.get("attention_mask")
        if mask is not None:
            self.real += int(mask.sum())
            self.positions += mask.numel()
        return batch

    def fraction(self) -> float | None:
        return round(self.real / self.positions, 4) if self.positions else None
