"""Cached adapters: identical trainings write identical bytes, a damaged adapter is retrained and never
used, and concurrent runs that train the same adapter end with one entry whose hash they both record."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from contextlib import nullcontext
from pathlib import Path

import pytest
import torch
from conftest import ROOT
from safetensors.torch import load_file, save_file

from harness import adapter_folder
from harness.examples import Example, ExampleSet
from harness.models import resolve_model, resolve_numerics
from harness.prompts import PromptRenderer
from harness.suite import Training
from harness.training import train_or_reuse

MODULES = [f"model.layers.{i}.self_attn.{p}_proj" for i in range(2) for p in "qkvo"]


def _peft_like_save(folder, seed: int, base: str) -> None:
    """What save_pretrained leaves: modules in set order, the base model's path, metadata in any order, and
    PEFT's generic model card."""
    order = random.Random(seed).sample(MODULES, len(MODULES))
    metadata = dict(random.Random(seed).sample([("format", "pt"), ("peft", "0.21"), ("x", "1")], 3))
    save_file({name: torch.full((2, 2), float(i)) for i, name in enumerate(sorted(MODULES))},
              folder / "adapter_model.safetensors", metadata=metadata)
    (folder / "adapter_config.json").write_text(json.dumps(
        {"target_modules": order, "base_model_name_or_path": base, "r": 4, "exclude_modules": None}, indent=2))
    (folder / "README.md").write_text(f"---\nbase_model: {base}\n---\n")
    (folder / "trainer").mkdir()


def test_two_saves_of_one_adapter_become_byte_identical(tmp_path):
    folders = [tmp_path / "a", tmp_path / "b"]
    for seed, folder in enumerate(folders):
        folder.mkdir()
        _peft_like_save(folder, seed, f"/home/user{seed}/.cache/harness/smoke/0ec2")
    assert (folders[0] / "adapter_config.json").read_bytes() != (folders[1] / "adapter_config.json").read_bytes()
    for folder in folders:
        adapter_folder.canonicalise(folder, base_model="sha256:abc")
    assert sorted(p.name for p in folders[0].iterdir()) == ["adapter_config.json", "adapter_model.safetensors"]
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name
    config = json.loads((folders[0] / "adapter_config.json").read_text())
    assert config["target_modules"] == sorted(MODULES) and config["base_model_name_or_path"] == "sha256:abc"
    weights = load_file(folders[0] / "adapter_model.safetensors")  # still a valid safetensors file
    assert torch.equal(weights[sorted(MODULES)[3]], torch.full((2, 2), 3.0))


def _entry(folder, key="k1"):
    folder.mkdir(parents=True)
    _peft_like_save(folder, 0, "/somewhere")
    adapter_folder.canonicalise(folder, base_model="sha256:abc")
    manifest = adapter_folder.sealed({"adapter_key": key, "adapter_sha256": adapter_folder.files_sha256(folder),
                                      "stats": {"final_loss": 1.5}})
    (folder / adapter_folder.MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def _flip_last_byte(path):
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))


def _edit_stats(folder):
    path = folder / adapter_folder.MANIFEST
    path.write_text(path.read_text().replace("1.5", "0.5"))


def _unseal(folder):
    path = folder / adapter_folder.MANIFEST
    manifest = json.loads(path.read_text())
    del manifest["manifest_sha256"]
    path.write_text(json.dumps(manifest))


DAMAGES = {
    "flipped weight byte": lambda f: _flip_last_byte(f / "adapter_model.safetensors"),
    "edited config": lambda f: (f / "adapter_config.json").write_text("{}"),
    "extra adapter file": lambda f: (f / "adapter_extra.bin").write_bytes(b"x"),
    "missing weights": lambda f: (f / "adapter_model.safetensors").unlink(),
    "missing manifest": lambda f: (f / adapter_folder.MANIFEST).unlink(),
    "garbled manifest": lambda f: (f / adapter_folder.MANIFEST).write_bytes(b"\x00{not json"),
    "manifest not an object": lambda f: (f / adapter_folder.MANIFEST).write_text("[1, 2]"),
    "edited manifest": _edit_stats,
    "unsealed manifest": _unseal,
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_a_damaged_adapter_is_reported_in_one_line_and_not_used(tmp_path, capsys, damage):
    folder = tmp_path / "k1"
    manifest = _entry(folder)
    assert adapter_folder.verified(folder, "k1") == manifest
    assert adapter_folder.verified(tmp_path / "absent", "absent") is None
    assert capsys.readouterr().err == ""
    damage(folder)
    assert adapter_folder.verified(folder, "k1") is None
    warnings = capsys.readouterr().err.splitlines()
    assert len(warnings) == 1 and "warning:" in warnings[0] and str(folder) in warnings[0]


def test_an_adapter_found_under_another_key_is_not_used(tmp_path, capsys):
    _entry(tmp_path / "k1", key="k2")
    assert adapter_folder.verified(tmp_path / "k1", "k1") is None
    assert "written for adapter 'k2'" in capsys.readouterr().err


# train_or_reuse with a stand-in trainer: the cache logic, without the minutes of training.

@pytest.fixture
def inputs(smoke_dir, smoke_tokenizer, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    train = ExampleSet(split="train", source="memory", examples=[Example(id="1", prompt="Hi?", response="Hello.")])
    return (resolve_model(str(smoke_dir)), smoke_tokenizer, PromptRenderer(smoke_tokenizer, "S", "no_system"), train,
            Training(max_steps=1), resolve_numerics("float32", "none", "training"))


class StandInTrainer:
    """Saves what save_pretrained would, in a different order each call; counts calls; can hold each call
    until a number of callers are training at once."""

    def __init__(self, together: int = 1):
        self.calls = 0
        self.together = threading.Barrier(together)

    def __call__(self, source, tokenizer, rows, settings, numerics, out):
        self.calls += 1
        self.together.wait(timeout=10)
        _peft_like_save(out, self.calls, str(source.folder))
        return {"steps": 1, "seconds": 0.1 * self.calls}


def test_a_damaged_cached_adapter_is_retrained(inputs, monkeypatch, capsys):
    trainer = StandInTrainer()
    monkeypatch.setattr("harness.training._train", trainer)
    first = train_or_reuse(*inputs)
    assert train_or_reuse(*inputs).reused is True and trainer.calls == 1
    _flip_last_byte(first.folder / "adapter_model.safetensors")
    capsys.readouterr()
    again = train_or_reuse(*inputs)
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and str(first.folder) in warnings[0]
    assert trainer.calls == 2 and again.reused is False and again.folder == first.folder
    assert adapter_folder.verified(again.folder, again.key) == again.manifest
    assert again.manifest["adapter_sha256"] == first.manifest["adapter_sha256"]
    assert [p.name for p in again.folder.parent.iterdir() if not p.name.endswith(".lock")] == [first.key]


@pytest.mark.parametrize("locked", [True, False], ids=["with the lock", "without a lock"])
def test_concurrent_runs_end_with_one_entry_whose_hash_both_record(inputs, monkeypatch, locked):
    """With the lock the second run waits and reuses; without one (where flock is missing) both train,
    the first published entry is kept, and the second records that one."""
    trainer = StandInTrainer(together=1 if locked else 2)
    monkeypatch.setattr("harness.training._train", trainer)
    if not locked:
        monkeypatch.setattr("harness.training.entry_lock", lambda *args: nullcontext())
    adapters = []
    threads = [threading.Thread(target=lambda: adapters.append(train_or_reuse(*inputs))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert trainer.calls == (1 if locked else 2)
    assert sorted(a.reused for a in adapters) == [False, True]
    folder = adapters[0].folder
    assert adapters[0].manifest == adapters[1].manifest == json.loads((folder / adapter_folder.MANIFEST).read_text())
    assert adapters[0].manifest["adapter_sha256"] == adapter_folder.files_sha256(folder)
    assert [p.name for p in folder.parent.iterdir() if not p.name.endswith(".lock")] == [folder.name]


# Real trainings of the smoke model, in separate processes (set order differs between processes).

TRAIN = """
import json, sys
from harness.examples import Example, ExampleSet
from harness.models import load_tokenizer, resolve_model, resolve_numerics
from harness.prompts import PromptRenderer
from harness.suite import Training
from harness.training import train_or_reuse

source = resolve_model(sys.argv[1])
tokenizer = load_tokenizer(source)
train = ExampleSet(split="train", source="memory",
                   examples=[Example(id=str(i), prompt=f"Question {i}?", response=f"Answer {i}.") for i in range(4)])
adapter = train_or_reuse(source, tokenizer, PromptRenderer(tokenizer, "S", "no_system"), train,
                         Training(max_steps=2, batch_size=2), resolve_numerics("float32", "none", "training"))
print(json.dumps({"folder": str(adapter.folder), "sha256": adapter.manifest["adapter_sha256"],
                  "reused": adapter.reused}))
"""


def _start_training(model_dir, cache, hash_seed: int):
    env = {**os.environ, "HARNESS_CACHE": str(cache), "PYTHONHASHSEED": str(hash_seed)}
    return subprocess.Popen([sys.executable, "-c", TRAIN, str(model_dir)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _result(process) -> dict:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_two_trainings_in_separate_processes_write_byte_identical_adapters(smoke_dir, tmp_path):
    import shutil

    model_copy = tmp_path / "model-elsewhere"  # another base path, with the same weights
    shutil.copytree(smoke_dir, model_copy)
    runs = [_start_training(model, tmp_path / f"cache{n}", n) for n, model in enumerate((smoke_dir, model_copy))]
    first, second = (_result(run) for run in runs)
    assert first["sha256"] == second["sha256"]
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        assert Path(first["folder"], name).read_bytes() == Path(second["folder"], name).read_bytes(), name


@pytest.mark.slow
def test_two_concurrent_runs_on_one_cache_agree_on_one_adapter(smoke_dir, tmp_path):
    runs = [_start_training(smoke_dir, tmp_path / "cache", n) for n in (1, 2)]
    results = [_result(run) for run in runs]
    assert sorted(r["reused"] for r in results) == [False, True]
    assert results[0]["folder"] == results[1]["folder"]
    folder = Path(results[0]["folder"])
    assert results[0]["sha256"] == results[1]["sha256"] == adapter_folder.files_sha256(folder)
    assert [p.name for p in folder.parent.iterdir() if not p.name.endswith(".lock")] == [folder.name]
