"""Supervised fine-tuning of a LoRA adapter (QLoRA by default) with TRL's SFTTrainer.

Examples are rendered by the same PromptRenderer the `sft` variant uses at evaluation, followed by the
reference and the template's end-of-turn token, so the model learns to stop. The harness tokenises
(prompt and completion encoded whole, split at the boundary) and builds labels itself: completion tokens
only by default, never masked by pad id. SFTTrainer pads each batch dynamically; batches are grouped by
length. The adapter is cached under a key of content hashes, so identical inputs reuse it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from harness.examples import ExampleSet
from harness.files import cache_root, publish_dir, sha256_files, sha256_json, staging_dir, write_json_atomic
from harness.models import ModelSource, Numerics, load_model
from harness.progress import console, training_callback
from harness.prompts import PromptRenderer
from harness.smoke import SMOKE_NOTICE
from harness.suite import Training
from harness.tokens import encode_pair
from harness.versions import library_versions

IGNORE_INDEX = -100
# Part of the adapter cache key: bump when the training code changes what it produces for the same inputs.
RECIPE = 3


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
        pair = encode_pair(tokenizer, prompt, example.response + renderer.facts.end_of_turn)
        ids = pair.input_ids[: settings.max_length]
        labels = list(ids) if settings.loss == "full" else (
            [IGNORE_INDEX] * pair.prompt_length + pair.completion_ids)[: settings.max_length]
        rows.append({"input_ids": ids, "labels": labels})
    return rows


def adapter_key(source: ModelSource, rows: list[dict], settings: Training, numerics: Numerics) -> str:
    return sha256_json({
        "recipe": RECIPE,
        "weights": source.weights_hash,
        "config": source.config_hash,
        "numerics": numerics.key(),
        "micro_batch_size": micro_batch_size(settings, numerics),
        "tokenized_train": sha256_json(rows),
        "training": settings.model_dump(mode="json"),
        "libraries": library_versions(),
    })[:24]


def train_or_reuse(source: ModelSource, tokenizer, renderer: PromptRenderer, train: ExampleSet,
                   settings: Training, numerics: Numerics) -> Adapter:
    rows = tokenize_training_set(train, renderer, tokenizer, settings)
    key = adapter_key(source, rows, settings, numerics)
    final = cache_root() / "adapters" / key
    if (final / "harness_manifest.json").exists():
        import json

        console.print(f"[green]adapter[/] reused from cache ({key})")
        manifest = json.loads((final / "harness_manifest.json").read_text())
        return Adapter(final, key, manifest, reused=True)
    micro = micro_batch_size(settings, numerics)
    length = f"{settings.max_steps} steps" if settings.max_steps else f"{settings.epochs:g} epoch(s)"
    console.print(f"  {len(rows)} examples, {length}, batch {settings.batch_size} (micro-batch {micro}), "
                  f"LoRA r={settings.lora.r}, {numerics.dtype} on {numerics.device}, quantization "
                  f"{numerics.quantization}; starting the trainer")
    staging = staging_dir(final)
    stats = _train_in_child(source, rows, settings, numerics, staging)
    adapter_files = sorted(staging.glob("adapter_*"))
    manifest = {
        "adapter_key": key,
        "adapter_sha256": sha256_files(adapter_files, staging),
        "base_model": source.identity(),
        "data": {"train_sha256": train.content_hash, "train_examples": len(train.examples),
                 "tokenized_sha256": sha256_json(rows), "source": train.source},
        "training": settings.model_dump(mode="json"),
        "numerics": numerics.describe(),
        "prompting": renderer.describe(),
        "libraries": library_versions(),
        "stats": stats,
        **({"notice": SMOKE_NOTICE} if source.smoke else {}),
    }
    write_json_atomic(staging / "harness_manifest.json", manifest)
    publish_dir(staging, final)
    return Adapter(final, key, manifest, reused=False)


def micro_batch_size(settings: Training, numerics: Numerics) -> int:
    """Rows per forward pass. On a CPU, activations of a whole batch of 8 take GBs (about 4 MB per token in
    float32 on a 30-layer model), so batches are split into micro-batches of 2 with gradient accumulation:
    the optimiser still steps on batch_size rows, and the loss is averaged over the whole batch's tokens."""
    if settings.micro_batch_size is not None:
        return settings.micro_batch_size
    if numerics.device == "cuda":
        return settings.batch_size
    return 2 if settings.batch_size % 2 == 0 else 1


def _train_in_child(source: ModelSource, rows: list[dict], settings: Training, numerics: Numerics,
                    out: Path) -> dict:
    """Training runs in a child process. Its activations and allocator caches (GBs on a CPU, which glibc keeps
    after they are freed) go back to the system when it exits, so evaluation starts from a clean heap and a
    run's peak memory is the larger of the two stages, not their sum."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_train_child, source, rows, settings, numerics, str(out)).result()


def _train_child(source: ModelSource, rows: list[dict], settings: Training, numerics: Numerics, out: str) -> dict:
    from harness.models import load_tokenizer
    from harness.progress import quiet_libraries

    quiet_libraries()
    return _train(source, load_tokenizer(source), rows, settings, numerics, Path(out))


def _train(source: ModelSource, tokenizer, rows: list[dict], settings: Training, numerics: Numerics,
           out: Path) -> dict:
    from datasets import Dataset
    from peft import LoraConfig, prepare_model_for_kbit_training
    from transformers import PrinterCallback
    from trl import SFTTrainer

    model = load_model(source, numerics)
    if numerics.quantization == "nf4":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=settings.gradient_checkpointing)
    lora = LoraConfig(r=settings.lora.r, lora_alpha=settings.lora.alpha, lora_dropout=settings.lora.dropout,
                      target_modules=settings.lora.target_modules, bias="none", task_type="CAUSAL_LM")
    config = _config(settings, numerics, out)
    trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows),
                         processing_class=tokenizer, peft_config=lora, callbacks=[training_callback()])
    trainer.remove_callback(PrinterCallback)  # the rich bar shows progress and loss instead
    if numerics.device == "cpu":
        # Adapter weights stay float32 (their optimiser updates are too small for bf16), also where TRL cast
        # QLoRA adapters to bf16; on a CPU with native bf16, autocast runs the matmuls in bf16.
        for parameter in trainer.model.parameters():
            if parameter.requires_grad:
                parameter.data = parameter.data.float()
    padding = _PaddingMeter(trainer.data_collator)
    trainer.data_collator = padding
    started = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - started
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
        "micro_batch_size": config.per_device_train_batch_size,
        "tokens_per_second": round(padding.real / seconds, 1) if seconds else None,
        "real_token_fraction": padding.fraction(),
    }


def _config(settings: Training, numerics: Numerics, out: Path):
    """Every trainer setting explicit: TRL's defaults (bf16, gradient checkpointing) assume a GPU."""
    from trl import SFTConfig

    on_gpu = numerics.device == "cuda"
    micro = micro_batch_size(settings, numerics)
    return SFTConfig(
        output_dir=str(out / "trainer"),
        per_device_train_batch_size=micro,
        gradient_accumulation_steps=settings.gradient_accumulation_steps * (settings.batch_size // micro),
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
