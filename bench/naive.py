"""The common Colab QLoRA tutorial pipeline, written for the benchmark (not used by the harness).

As the tutorial does it: an "Instruction:/Response:" layout, every example padded to 512 with
`labels = input_ids` and the LM data collator, LoRA r=16 on q_proj/v_proj, prepare_model_for_kbit_training
with its default gradient checkpointing; then one prompt at a time with sampling, loading the model anew
for each variant.
"""

from __future__ import annotations

import time
from pathlib import Path

MAX_LEN = 512


def tutorial_text(prompt: str, system: str | None = None, response: str | None = None) -> str:
    head = f"System:\n{system}\n\n" if system else ""
    return f"{head}Instruction:\n{prompt}\n\nResponse:\n" + (response or "")


def _load(model_dir: Path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_dir, device_map="cpu", dtype=torch.float32,
                                                 quantization_config=BitsAndBytesConfig(
                                                     load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                     bnb_4bit_use_double_quant=True,
                                                     bnb_4bit_compute_dtype=torch.float32))
    return tokenizer, model


def train(model_dir: Path, examples: list, out: Path, batch_size: int = 2, accumulation: int = 8) -> dict:
    """One epoch as the tutorial sets it up (per-device batch 2, gradient accumulation 8, cosine schedule).
    AdamW instead of the tutorial's paged 8-bit AdamW, which needs a GPU."""
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

    tokenizer, model = _load(model_dir)
    lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, bias="none", task_type="CAUSAL_LM",
                      target_modules=["q_proj", "v_proj"])
    model = get_peft_model(prepare_model_for_kbit_training(model), lora)
    texts = [tutorial_text(e.prompt, response=e.response) for e in examples]
    encoded = tokenizer(texts, truncation=True, max_length=MAX_LEN, padding="max_length")
    encoded["labels"] = [list(ids) for ids in encoded["input_ids"]]
    dataset = Dataset.from_dict(dict(encoded))
    args = TrainingArguments(output_dir=str(out / "trainer"), per_device_train_batch_size=batch_size,
                             gradient_accumulation_steps=accumulation, num_train_epochs=1, learning_rate=2e-4,
                             lr_scheduler_type="cosine", logging_steps=10, save_strategy="no", report_to="none",
                             use_cpu=True, disable_tqdm=True, seed=42)
    trainer = Trainer(model=model, args=args, train_dataset=dataset,
                      data_collator=DataCollatorForLanguageModeling(tokenizer=tokenizer, mlm=False))
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    model.save_pretrained(out / "adapter")
    real = sum(sum(mask) for mask in encoded["attention_mask"])
    return {"seconds": seconds, "real_tokens": int(real), "positions": len(texts) * MAX_LEN}


def evaluate(model_dir: Path, adapter: Path, examples: list, system_prompt: str, max_new_tokens: int) -> dict:
    """Four variants, each with its own model load, one prompt at a time, sampling as the tutorial does."""
    import torch
    from peft import PeftModel

    per_variant, total_tokens = {}, 0
    started_all = time.perf_counter()
    for name, with_adapter, system in (("base", False, None), ("system", False, system_prompt),
                                       ("sft", True, None), ("sft+system", True, system_prompt)):
        started = time.perf_counter()
        tokenizer, model = _load(model_dir)
        if with_adapter:
            model = PeftModel.from_pretrained(model, adapter)
        model.eval()
        tokens = 0
        for example in examples:
            inputs = tokenizer(tutorial_text(example.prompt, system), return_tensors="pt")
            with torch.no_grad():
                out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=True, temperature=0.2,
                                     top_p=0.9, repetition_penalty=1.1, eos_token_id=tokenizer.eos_token_id,
                                     pad_token_id=tokenizer.pad_token_id)
            tokens += out.shape[1] - inputs["input_ids"].shape[1]
        seconds = time.perf_counter() - started
        per_variant[name] = {"seconds": seconds, "tokens": int(tokens), "tokens_per_second": tokens / seconds}
        total_tokens += tokens
        del model
    return {"seconds": time.perf_counter() - started_all, "tokens": int(total_tokens), "variants": per_variant}


def score(model_dir: Path, examples: list) -> dict:
    """Reference perplexity the straightforward way: one example at a time, full logits."""
    import torch

    tokenizer, model = _load(model_dir)
    started = time.perf_counter()
    for example in examples:
        prompt = tutorial_text(example.prompt)
        ids = tokenizer(prompt + example.response, return_tensors="pt").input_ids
        with torch.no_grad():
            logits = model(ids).logits
        torch.log_softmax(logits[0, :-1].float(), -1)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "examples_per_second": len(examples) / seconds}
