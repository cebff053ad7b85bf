"""Speed on the real packaged model (SmolLM2-135M-Instruct), side by side with plain transformers.

Each round measures, in this order, on the same rows of the concise suite:
  training    the harness's trainer (TRL SFTTrainer, length-grouped batches cut by a token budget, the
              resolved precision) against a plain transformers + peft loop in float32 with the whole batch
              padded to its longest row, the way a tutorial writes it; plus the harness's trainer with bf16
              autocast, and with NF4 (QLoRA), to show what each lever is worth on this machine;
  generation  the harness's generate (continuous batching, resolved precision) against model.generate on
              static left-padded batches in the same precision, and plain model.generate in float32 at
              batch 16.
Rounds interleave the sides, so machine load moves both halves of a ratio alike. Reports the median and
the spread (min-max) of tokens per second, and each side's peak resident memory (the kernel's high-water
mark, reset before each measurement; Linux only). Usage: python bench/real_model.py [--rounds 3] [--steps 6]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup():
    from harness.models import load_tokenizer, resolve_model
    from harness.prompts import PromptRenderer
    from harness.scorers import prepare
    from harness.suite import load_suite

    suite = load_suite(ROOT / "suites" / "concise.yaml")
    prepared = prepare(suite)
    source = resolve_model(suite.model, suite_dir=suite.path.parent)
    tokenizer = load_tokenizer(source)
    renderer = PromptRenderer(tokenizer, suite.system_prompt, suite.base_prompt)
    return suite, prepared, source, tokenizer, renderer


def train_harness(ctx, steps: int, precision: str, quantization: str) -> float:
    from harness.models import resolve_numerics
    from harness.training import _train, training_rows

    suite, prepared, source, tokenizer, renderer = ctx
    # Validation off: the held-out scoring is not training, and the plain loop has none.
    off = suite.training.validation.model_copy(update={"fraction": 0.0})
    settings = suite.training.model_copy(update={"max_steps": steps, "validation": off})
    rows = training_rows(prepared.train, renderer, tokenizer, settings)
    with tempfile.TemporaryDirectory() as out:
        numerics = resolve_numerics(precision, quantization, "training")
        stats = _train(source, tokenizer, rows, settings, numerics, Path(out))
    return stats["tokens_per_second"]


def train_plain(ctx, steps: int) -> float:
    """A tutorial loop: float32, shuffled rows, each batch padded to its longest row, loss on every token."""
    import random

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    suite, prepared, source, tokenizer, renderer = ctx
    lora = suite.training.lora
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(source.folder, dtype=torch.float32),
                           LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                      target_modules=lora.target_modules, task_type="CAUSAL_LM"))
    texts = [renderer.render(e.prompt, system=False) + e.response + renderer.facts.end_of_turn
             for e in prepared.train.examples]
    random.Random(0).shuffle(texts)
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=suite.training.learning_rate)
    model.train()
    size, real, started = suite.training.batch_size, 0, time.perf_counter()
    for step in range(steps):
        batch = tokenizer(texts[step * size:(step + 1) * size], padding=True, return_tensors="pt",
                          add_special_tokens=False)
        labels = batch.input_ids.masked_fill(batch.attention_mask == 0, -100)
        model(**batch, labels=labels).loss.backward()
        optimiser.step()
        optimiser.zero_grad()
        real += int(batch.attention_mask.sum())
    return real / (time.perf_counter() - started)


def _prompts(ctx, count: int) -> list[str]:
    suite, prepared, source, tokenizer, renderer = ctx
    return [renderer.render(e.prompt, system=True) for e in prepared.eval.examples[:count]]


def generate_harness(ctx, count: int, new_tokens: int, continuous: bool, precision: str, batch: int) -> float:
    import torch

    from harness import generation
    from harness.models import load_model, resolve_numerics
    from harness.suite import Decoding

    suite, prepared, source, tokenizer, renderer = ctx
    model = load_model(source, resolve_numerics(precision, "none"))
    stops = generation.stop_token_ids(tokenizer, model, renderer.facts.end_of_turn)
    decoding = Decoding(max_new_tokens=new_tokens, batch_size=batch)
    prompts = _prompts(ctx, count)
    started = time.perf_counter()
    if continuous:
        outputs = generation.generate(model, tokenizer, prompts, decoding, stops)
    else:
        encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        new_ids: list[list[int]] = [[] for _ in prompts]
        with torch.inference_mode():
            generation._generate_in_batches(model, encoded, new_ids, decoding, stops, tokenizer.pad_token_id, None)
        outputs = [generation._to_output(ids, tokenizer, stops, new_tokens) for ids in new_ids]
    return sum(o.tokens for o in outputs) / (time.perf_counter() - started)


def _reset_high_water() -> None:
    from contextlib import suppress

    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _high_water_mib() -> int:
    """0 where the kernel does not report it."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) // 1024 for line in lines if line.startswith("VmHWM:")), 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=6, help="training steps per measurement")
    parser.add_argument("--prompts", type=int, default=48, help="eval prompts per generation measurement")
    parser.add_argument("--new-tokens", type=int, default=128)
    args = parser.parse_args()
    from harness.models import resolve_numerics
    from harness.progress import quiet_libraries
    from harness.training import CPU_MICRO_BATCH_TOKENS

    quiet_libraries()
    ctx = _setup()
    auto = resolve_numerics("auto", "auto")
    train = resolve_numerics("auto", "auto", "training")
    n, t = args.prompts, args.new_tokens
    sides = {
        f"train: harness ({train.dtype}, micro-batches of at most {CPU_MICRO_BATCH_TOKENS} tokens)":
            lambda: train_harness(ctx, args.steps, "auto", "auto"),
        "train: plain loop (float32, padded batches)": lambda: train_plain(ctx, args.steps),
        "train: harness, bf16 autocast": lambda: train_harness(ctx, args.steps, "bfloat16", "none"),
        "train: harness, NF4 (bf16 compute)": lambda: train_harness(ctx, args.steps, "bfloat16", "nf4"),
        f"generate: harness ({auto.dtype}, continuous batching, 32 rows)":
            lambda: generate_harness(ctx, n, t, True, "auto", 32),
        f"generate: model.generate ({auto.dtype}, static batches of 32)":
            lambda: generate_harness(ctx, n, t, False, "auto", 32),
        "generate: plain model.generate (float32, static batches of 16)":
            lambda: generate_harness(ctx, n, t, False, "float32", 16),
    }
    figures: dict[str, list[float]] = {name: [] for name in sides}
    peaks: dict[str, list[int]] = {name: [] for name in sides}
    for round_ in range(args.rounds):
        for name, measure in sides.items():
            _reset_high_water()
            figures[name].append(round(measure(), 1))
            peaks[name].append(_high_water_mib())
            print(f"round {round_ + 1}: {name}: {figures[name][-1]} tokens/s, peak {peaks[name][-1]} MiB",
                  file=sys.stderr, flush=True)
    table = {name: {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v,
                    "peak_rss_mib": max(peaks[name])} for name, v in figures.items()}
    out = ROOT / "bench" / "out" / "real_model.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"numerics": auto.describe(), "args": vars(args), "tokens_per_second": table},
                              indent=2) + "\n")
    print("| measurement | tokens/s, median | spread (min–max) | peak RSS |\n| --- | --- | --- | --- |")
    for name, row in table.items():
        print(f"| {name} | {row['median']:.1f} | {row['min']:.1f}–{row['max']:.1f} | {row['peak_rss_mib']} MiB |")


if __name__ == "__main__":
    main()
