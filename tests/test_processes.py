"""Several processes (torchrun, as `accelerate launch` starts them): each trains its share of every batch with
DDP and answers its share of every pass; the main process alone writes; the answers are those of one process."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tomllib

import pytest
from accelerate.commands.config.config_args import ClusterConfig
from conftest import ROOT
from doc_snippets import PARSE, SHAPE, covers, snippet

from harness.cli import main
from harness.processes import Processes

PYPROJECT_EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def test_the_shares_cover_every_item_once_in_order():
    for world in range(1, 5):
        for count in range(10):
            shares = [Processes(rank, world).shard(count) for rank in range(world)]
            assert [i for share in shares for i in share] == list(range(count))
            assert max(map(len, shares)) - min(map(len, shares)) <= 1


SUITE = """\
name: processes
model: {model}
precision: float32
system_prompt: Answer briefly.
data:
  train: {{path: {train}, limit: 48}}
  eval: {{path: {eval}, limit: 9}}
training: {{max_steps: 6, batch_size: 4, learning_rate: 1.0e-3, micro_batch_tokens: 4096}}
decoding: {{max_new_tokens: 12}}
"""


def _run(argv: list[str], cache, out, launcher: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "HARNESS_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*launcher, "-m", "harness", *argv, "--out", str(out)], env=env, capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_two_processes_train_together_and_answer_as_one_process_does(tmp_path, smoke_dir, monkeypatch):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(model=smoke_dir, train=ROOT / "suites/concise/train.jsonl",
                                  eval=ROOT / "suites/concise/eval.jsonl"))
    one = tmp_path / "one"
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache-one"))
    assert main(["run", str(suite), "--out", str(one)]) == 0  # one process: this one
    two = tmp_path / "two"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29731"]
    launched = _run(["run", str(suite)], tmp_path / "cache-two", two, launcher)
    assert launched.stderr.count("==> adapters") == 1  # one console: the main process's
    first, second = (json.loads((run / "results.json").read_text()) for run in (one, two))
    adapters = [r["manifest"]["adapters"]["sft"] for r in (first, second)]
    assert adapters[0]["key"] == adapters[1]["key"]  # the number of processes is not part of the adapter
    assert [a["stats"]["steps"] for a in adapters] == [6, 6]
    # Each batch is shared out between the two (in another order than one process draws them): the held-out
    # loss, scored on the same rows at every step, follows one process's, and so does the training loss.
    held = [[p["loss"] for p in a["stats"]["validation"]["curve"]] for a in adapters]
    assert len(held[0]) == 7 and held[1] == pytest.approx(held[0], abs=0.005)
    assert held[1][-1] < held[1][0] - 0.02  # and it learned: the held-out loss fell
    train = [[p["loss"] for p in a["stats"]["loss_curve"]] for a in adapters]
    assert sum(train[1]) / 6 == pytest.approx(sum(train[0]) / 6, rel=0.01)
    # The base model's answers, sharded 5 + 4 and gathered in order, are one process's, token for token.
    for variant in ("base", "system"):
        answers = [[e["variants"][variant]["output"] for e in r["examples"]] for r in (first, second)]
        assert answers[0] == answers[1]
    assert sorted(p.name for p in (tmp_path / "cache-two" / "adapters").iterdir() if not p.name.startswith(".")) == [
        adapters[1]["key"]]


SCALING = "```bash harness run suites/concise.yaml # one GPU: NF4 (QLoRA) training, bf16"


def _help(argv: list[str]) -> str:
    return subprocess.run([sys.executable, *argv, "--help"], capture_output=True, text=True, timeout=120).stdout


@covers("README.md", SCALING, how=PARSE)
def test_each_scaling_command_is_a_harness_run_under_a_launcher_with_options_it_has(monkeypatch):
    seen = []
    monkeypatch.setattr("harness.cli._dispatch", lambda args: seen.append(args) or 0)
    helps = {"accelerate": _help(["-m", "accelerate.commands.launch"]),
             "torchrun": _help(["-m", "torch.distributed.run"])}
    for line in snippet("README.md", SCALING).splitlines():
        argv = shlex.split(line.partition("#")[0])
        if argv[0] == "pip":
            assert argv == ["pip", "install", "harness[vllm]"] and "vllm" in PYPROJECT_EXTRAS
            continue
        if argv[0] != "harness":
            launcher = "accelerate" if argv[:2] == ["accelerate", "launch"] else argv[0]
            at = argv.index("-m")
            for flag in (word for word in argv[:at] if word.startswith("--")):
                assert flag in helps[launcher], f"{launcher} has no {flag}"
            for name in (argv[i + 1] for i, word in enumerate(argv[:at]) if word == "--config_file"):
                ClusterConfig.from_yaml_file(ROOT / name)
            assert argv[at + 1] == "harness"
            argv = argv[at + 1:]
        assert main(argv[1:]) == 0 and seen.pop().command == "run"


@covers("docs/scaling.md", "bench/gpu.sh", how=SHAPE)
@covers("docs/scaling.md", "pip install 'harness[vllm]'", how=SHAPE)
def test_the_scaling_page_names_files_configs_and_extras_that_exist():
    assert (ROOT / "bench" / "gpu.sh").is_file() and "vllm" in PYPROJECT_EXTRAS
    for name in ("ddp", "fsdp_qlora", "multi_node"):
        config = ClusterConfig.from_yaml_file(ROOT / "docs" / "accelerate" / f"{name}.yaml")
        assert config.num_processes % config.num_machines == 0
        assert f"accelerate/{name}.yaml" in (ROOT / "docs" / "scaling.md").read_text()
