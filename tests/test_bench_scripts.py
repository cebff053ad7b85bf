"""The benchmark scripts run: the GPU benchmark on the CPU with a tiny shape (no GPU is lent to CI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def test_gpu_benchmark_runs_on_the_cpu_with_a_tiny_shape(tmp_path, harness_cache):
    env = {**os.environ, "HARNESS_CACHE": str(harness_cache)}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_bench.py"), "--tiny", "--out", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "gpu_bench.json").read_text())
    assert report["device"] == "cpu" and report["matmul_peak_tflops"] > 0
    assert set(report["modes"]) == {"bf16 LoRA", "NF4 QLoRA"}
    for mode in report["modes"].values():
        assert mode["train_tokens_per_second"] > 0 and 0 < mode["mfu"] < 1
        assert set(mode["generation_tokens_per_second"]) == {"base", "system", "sft", "sft+system"}
        assert 0 < mode["real_token_fraction"] <= 1
    assert "MFU" in done.stdout
    # No vLLM and no second GPU here: each part says why it did not run.
    assert "vllm" in report["vllm"]["skipped"] and "2 needed" in report["two_processes"]["skipped"]
