#!/usr/bin/env bash
# The GPU benchmark: a Qwen2.5-0.5B-shaped, randomly initialised model through the harness pipeline, in
# bf16 LoRA and NF4 QLoRA, on one GPU (under 8 minutes on an H100); then every variant from one vLLM engine
# with its greedy agreement with transformers on 100 prompts (where `pip install '.[vllm]'` was run), and
# DDP training on 2 GPUs (where there are 2). Needs the harness installed with a CUDA build of torch.
# Results: ${OUT:-bench/out}/gpu/gpu_bench.json and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
export HARNESS_CACHE="${HARNESS_CACHE:-$(mktemp -d)}" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device: use --tiny on the CPU'"
python bench/gpu_bench.py --out "${OUT:-bench/out}/gpu" "$@"
