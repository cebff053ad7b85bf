"""The speed measurements on a Qwen2.5-0.5B-shaped model: bf16 LoRA and NF4 QLoRA on one GPU, every variant
from one vLLM engine (where vllm is installed) with its greedy agreement with transformers on 100 prompts,
and DDP training on 2 GPUs (where there are 2).

The model is randomly initialised (no weights can be downloaded) with Qwen2.5-0.5B's shape: 896 hidden,
24 layers, 14 heads, 2 KV heads, 4864 intermediate, 151,936 vocab, tied embeddings. It runs the harness's
own pipeline (`harness.run.run`) on the concise suite, once per quantization, and reports training
tokens per second, model FLOPs utilisation against a measured bf16 matmul peak, generation tokens per
second per variant, reference-scoring examples per second and peak GPU memory.

    python bench/gpu_bench.py                 # on a GPU (bench/gpu.sh)
    python bench/gpu_bench.py --tiny          # the same code on the CPU with a tiny shape (tested)

MFU counts 4·N FLOPs per trained token (forward 2·N, backward through frozen weights 2·N; LoRA's own weight
gradients are negligible) plus attention, 4·L·d·T per token for a sequence of T tokens (forward and
backward of QK^T and AV, halved for causality) ; N counts the non-embedding parameters plus the tied output
projection.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QWEN25_05B = {"hidden_size": 896, "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
              "intermediate_size": 4864, "vocab_size": 151936, "tie_word_embeddings": True,
              "max_position_embeddings": 32768, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6}
MEDIUM = {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 2,
          "intermediate_size": 768, "vocab_size": 2048, "tie_word_embeddings": True, "max_position_embeddings": 2048}
TINY = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "intermediate_size": 128, "vocab_size": 4096, "tie_word_embeddings": True, "max_position_embeddings": 2048}


def matmul_peak(device: str, dtype, size: int, repeats: int, trials: int = 3) -> float:
    """Measured dense matmul throughput, TFLOP/s: the denominator of MFU. The best of a few timed trials, as a peak
    is: one trial that another process interrupts reads low (and an MFU against it reads high)."""
    import torch

    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(trials):
        _sync(device)
        started = time.perf_counter()
        for _ in range(repeats):
            a @ b
        _sync(device)
        best = max(best, 2 * size ** 3 * repeats / (time.perf_counter() - started) / 1e12)
    return best


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def build_model(shape: dict, folder: Path, dtype) -> int:
    """A randomly initialised Qwen2 model with the smoke tokenizer; returns N for the FLOP count."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    from harness.smoke import smoke_model_dir

    smoke = smoke_model_dir()
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json"):
        if (smoke / name).exists():
            shutil.copy2(smoke / name, folder / name)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    shape = {**shape, "vocab_size": max(shape["vocab_size"], len(tokenizer))}
    torch.manual_seed(0)
    config = Qwen2Config(**shape, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=None, dtype=dtype)
    model = Qwen2ForCausalLM(config).to(dtype)
    model.save_pretrained(folder)
    embedding = shape["vocab_size"] * shape["hidden_size"]
    return sum(p.numel() for p in model.parameters()) - embedding + embedding  # tied: the projection counts once


def suite_file(model_dir: Path, quantization: str, work: Path, tiny: bool, backend: str = "transformers",
               limit: int | None = None) -> Path:
    steps, new_tokens, tiny_limit = (4, 8, 8) if tiny else (60, 64, None)
    limit = limit or tiny_limit
    suite = work / f"suite-{quantization}-{backend}.yaml"
    eval_limit = f", limit: {limit}" if limit else ""
    precision = "training" if backend == "transformers" else "full"  # vLLM answers on the unquantised base
    suite.write_text(f"""name: gpu-bench-{quantization}
model: {model_dir}
system_prompt: Answer in at most two sentences. No filler, no markdown.
data:
  train: {{path: {ROOT / 'suites/concise/train.jsonl'}}}
  eval: {{path: {ROOT / 'suites/concise/eval.jsonl'}{eval_limit}}}
training: {{max_steps: {steps}, batch_size: 8, quantization: {quantization}, learning_rate: 1.0e-4}}
decoding: {{max_new_tokens: {new_tokens}, batch_size: 24, backend: {backend}}}
evaluation: {{precision: {precision}}}   # the transformers modes generate on their own base: NF4 or bf16
""")
    return suite


def run_mode(model_dir: Path, quantization: str, work: Path, tiny: bool) -> dict:
    import torch

    from harness.results import read_results
    from harness.run import run

    suite = suite_file(model_dir, quantization, work, tiny)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    run_dir = run(suite, out=work / f"run-{quantization}")
    results = read_results(run_dir)
    stats = results.manifest.adapter.stats
    evaluation = {name: record.model_dump() for name, record in results.manifest.evaluation.items()}
    generation = {}
    for variant in results.variants:
        tokens = sum(e.variants[variant].output.tokens + e.variants[variant].output.stopped for e in results.examples)
        generation[variant] = round(tokens / evaluation[variant]["generation_seconds"], 1)
    scoring = sum(v["scoring_seconds"] for v in evaluation.values())
    return {
        "train_tokens_per_second": stats["tokens_seen"] / stats["seconds"],
        "train_seconds": stats["seconds"], "steps": stats["steps"], "tokens_seen": stats["tokens_seen"],
        "real_token_fraction": stats["real_token_fraction"],
        "mean_sequence_tokens": stats["tokens_seen"] / (stats["steps"] * 8),
        "generation_tokens_per_second": generation,
        "all_variants_seconds": results.stage_seconds["evaluation"],
        "scoring_examples_per_second": 4 * len(results.examples) / scoring,
        "peak_gpu_memory_gib": torch.cuda.max_memory_allocated() / 2 ** 30 if torch.cuda.is_available() else None,
    }


def vllm_mode(model_dir: Path, work: Path, tiny: bool, transformers_run: Path | None) -> dict:
    """Every variant from one vLLM engine on the first 100 eval prompts (the bf16 adapter, from the cache):
    generation tokens per second, and greedy agreement with the transformers backend's answers."""
    from harness import vllm_engine
    from harness.results import read_results
    from harness.run import run

    if (problem := vllm_engine.problem()) is not None:
        return {"skipped": problem}
    results = read_results(run(suite_file(model_dir, "none", work, tiny, "vllm", limit=100),
                               out=work / "run-vllm"))
    reference = {e.id: e for e in read_results(transformers_run).examples} if transformers_run else {}
    agreement = {}
    for variant in results.variants:
        pairs = [(e.variants[variant].output.text, reference[e.id].variants[variant].output.text)
                 for e in results.examples if e.id in reference]
        agreement[variant] = {"prompts": len(pairs), "identical": sum(a == b for a, b in pairs) / max(1, len(pairs)),
                              "same_first_10_words": sum(a.split()[:10] == b.split()[:10] for a, b in pairs)
                              / max(1, len(pairs))}
    evaluation = {name: record.model_dump() for name, record in results.manifest.evaluation.items()}
    return {"generation_tokens_per_second": {
        v: round(sum(e.variants[v].output.tokens for e in results.examples)
                 / max(evaluation[v]["generation_seconds"], 1e-9), 1) for v in results.variants},
            "agreement_with_transformers": agreement}


def two_processes(model_dir: Path, work: Path, tiny: bool) -> dict:
    """bf16 LoRA training with DDP on 2 GPUs (torchrun), where there are 2: training tokens per second."""
    import os
    import subprocess

    import torch

    from harness.results import read_results

    if torch.cuda.device_count() < 2:
        return {"skipped": f"{torch.cuda.device_count()} GPU(s); 2 needed"}
    env = {**os.environ, "HARNESS_CACHE": str(work / "cache-ddp")}
    out = work / "run-ddp"
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "harness", "run",
                    str(suite_file(model_dir, "none", work, tiny)), "--out", str(out)], env=env, check=True)
    stats = read_results(out).manifest.adapter.stats
    return {"train_tokens_per_second": stats["tokens_seen"] / stats["seconds"], "train_seconds": stats["seconds"],
            "steps": stats["steps"]}


def mfu(mode: dict, n_params: int, shape: dict, peak_tflops: float) -> float:
    tokens = mode["mean_sequence_tokens"]
    per_token = 4 * n_params + 4 * shape["num_hidden_layers"] * shape["hidden_size"] * tokens
    return mode["train_tokens_per_second"] * per_token / (peak_tflops * 1e12)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--tiny", action="store_true", help="tiny shape on whatever device (for tests)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "gpu")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    shape = TINY if args.tiny else QWEN25_05B
    args.out.mkdir(parents=True, exist_ok=True)
    peak = matmul_peak(device, dtype, 8192 if device == "cuda" else 512, 50 if device == "cuda" else 20)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = work / "model"
        model_dir.mkdir()
        n_params = build_model(shape, model_dir, dtype)
        modes = {q: run_mode(model_dir, q, work, args.tiny) for q in ("none", "nf4")}
        vllm = vllm_mode(model_dir, work, args.tiny, work / "run-none")
        ddp = two_processes(model_dir, work, args.tiny)
    for mode in modes.values():
        mode["mfu"] = mfu(mode, n_params, shape, peak)
    report = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu", "shape": shape,
              "parameters": n_params, "matmul_peak_tflops": peak, "modes": {"bf16 LoRA" if q == "none" else
                                                                         "NF4 QLoRA": m for q, m in modes.items()},
              "vllm": vllm, "two_processes": ddp}
    (args.out / "gpu_bench.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"device {report['device']}, {n_params / 1e6:.0f}M parameters, measured matmul peak {peak:.1f} TFLOP/s")
    for name, m in report["modes"].items():
        gen = ", ".join(f"{v} {t:.0f}" for v, t in m["generation_tokens_per_second"].items())
        print(f"{name:10} train {m['train_tokens_per_second']:.0f} tok/s, MFU {100 * m['mfu']:.1f}%, "
              f"real-token share {m['real_token_fraction']}; generation tok/s {gen}; "
              f"scoring {m['scoring_examples_per_second']:.1f} ex/s; all variants {m['all_variants_seconds']:.1f} s")
    print("vLLM:", vllm.get("skipped") or json.dumps(vllm))
    print("2 processes:", ddp.get("skipped") or json.dumps(ddp))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
