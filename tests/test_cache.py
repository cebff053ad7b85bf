"""Cache entries are checked on every read: a damaged evaluation entry or a stale weights-hash memo is never
used, damaged entries are reported in one line, and a whole run remakes what was damaged."""

from __future__ import annotations

import json
import os
import shutil
import threading

import pytest
from conftest import ROOT

from harness.cache import entry_lock, read_entry, write_entry
from harness.files import sha256_files

PAYLOAD = {"prompts": ["Hi?"], "outputs": [{"text": "Hello."}]}


def _read(path, capsys):
    value = read_entry(path, "k1", dict, "cached evaluation")
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning:" in line]
    return value, warnings


def test_an_entry_reads_back_as_written(tmp_path, capsys):
    assert write_entry(tmp_path / "k1.json", "k1", PAYLOAD) is None
    assert _read(tmp_path / "k1.json", capsys) == (PAYLOAD, [])
    assert _read(tmp_path / "absent.json", capsys) == (None, [])


def _flip_a_byte_of_the_answer(path):
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"Hello.", b"Hellp."))


def _forge_an_old_entry(path):
    path.write_text(json.dumps(PAYLOAD))


@pytest.mark.parametrize("damage", [
    _flip_a_byte_of_the_answer,
    lambda path: path.write_bytes(path.read_bytes()[:-20]),  # truncated
    lambda path: path.write_bytes(b"\xff\xfe not text"),
    lambda path: path.write_text("[" * 100_000),  # nested too deep for the parser
    lambda path: path.write_text('"a string"'),
    _forge_an_old_entry,  # no recorded hash
    lambda path: shutil.copy(path.with_name("k2.json"), path),  # a sound entry of another key
])
def test_a_damaged_entry_is_reported_in_one_line_and_not_used(tmp_path, capsys, damage):
    write_entry(tmp_path / "k1.json", "k1", PAYLOAD)
    write_entry(tmp_path / "k2.json", "k2", {**PAYLOAD, "prompts": ["Other?"]})
    damage(tmp_path / "k1.json")
    value, warnings = _read(tmp_path / "k1.json", capsys)
    assert value is None
    assert len(warnings) == 1 and str(tmp_path / "k1.json") in warnings[0] and "damaged" in warnings[0]


def test_an_entry_whose_content_has_the_wrong_shape_is_reported(tmp_path, capsys):
    write_entry(tmp_path / "k1.json", "k1", {"prompts": "not a list"})

    def parse(payload):
        return [len(p) for p in payload["outputs"]]

    assert read_entry(tmp_path / "k1.json", "k1", parse, "cached evaluation") is None
    assert "wrong shape" in capsys.readouterr().err


def test_a_damaged_entry_is_replaced_when_written_again(tmp_path, capsys):
    write_entry(tmp_path / "k1.json", "k1", PAYLOAD)
    _flip_a_byte_of_the_answer(tmp_path / "k1.json")
    assert write_entry(tmp_path / "k1.json", "k1", PAYLOAD) is None
    assert _read(tmp_path / "k1.json", capsys) == (PAYLOAD, [])


def test_a_folder_where_an_entry_belongs_is_reported_and_replaced(tmp_path, capsys):
    (tmp_path / "k1.json").mkdir()
    assert _read(tmp_path / "k1.json", capsys)[0] is None
    assert write_entry(tmp_path / "k1.json", "k1", PAYLOAD) is None
    assert _read(tmp_path / "k1.json", capsys) == (PAYLOAD, [])


def test_of_two_runs_storing_one_entry_at_once_both_keep_the_first(tmp_path):
    start, kept = threading.Barrier(6), {}

    def store(n: int) -> None:
        payload = {**PAYLOAD, "writer": n}
        start.wait()
        kept[n] = write_entry(tmp_path / "k1.json", "k1", payload) or payload

    threads = [threading.Thread(target=store, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = read_entry(tmp_path / "k1.json", "k1", dict, "cached evaluation")
    assert all(payload == stored for payload in kept.values())
    assert [p.name for p in tmp_path.iterdir()] == ["k1.json"]


def test_a_second_process_waits_for_the_entry_lock_and_is_told_why(tmp_path, capsys):
    order = []
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        with entry_lock(tmp_path / "k1", "waiting"):
            order.append("first in")
            holding.set()
            release.wait(10)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(10)
    threading.Timer(0.3, release.set).start()
    with entry_lock(tmp_path / "k1", "waiting for another run that is making the same entry"):
        order.append("second in")
    thread.join()
    assert order == ["first in", "first out", "second in"]
    assert "waiting for another run" in capsys.readouterr().err


# The weights-hash memo.

def _weights(folder):
    return sorted(folder.glob("*.safetensors"))


def test_the_weights_hash_memo_saves_rehashing_an_unchanged_model(smoke_dir, tmp_path, monkeypatch):
    from harness.models import _cached_weights_hash

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "model"
    shutil.copytree(smoke_dir, folder)
    first = _cached_weights_hash(_weights(folder), folder)
    monkeypatch.setattr("harness.models.sha256_files", lambda *a: pytest.fail("hashed again"))
    assert _cached_weights_hash(_weights(folder), folder) == first


def test_weights_changed_in_place_with_the_same_size_and_mtime_get_a_new_hash(smoke_dir, tmp_path, monkeypatch):
    from harness.models import _cached_weights_hash

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "model"
    shutil.copytree(smoke_dir, folder)
    before = _cached_weights_hash(_weights(folder), folder)
    weights = _weights(folder)[0]
    status = weights.stat()
    with open(weights, "r+b") as handle:  # one byte in the middle, in place: same inode, same size
        handle.seek(status.st_size // 2)
        byte = handle.read(1)
        handle.seek(status.st_size // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    os.utime(weights, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert weights.stat().st_mtime_ns == status.st_mtime_ns and weights.stat().st_size == status.st_size
    after = _cached_weights_hash(_weights(folder), folder)
    assert after != before and after == sha256_files(_weights(folder), folder)


def test_a_damaged_weights_hash_memo_is_recomputed(smoke_dir, tmp_path, monkeypatch):
    from harness.models import _cached_weights_hash

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    expected = sha256_files(_weights(smoke_dir), smoke_dir)
    assert _cached_weights_hash(_weights(smoke_dir), smoke_dir) == expected
    for damage in (b"\x00garbage", b'{"fingerprint": 1, "sha256": "x"}', b"[]"):
        for memo in (tmp_path / "cache" / "weight-hashes").glob("*.json"):
            memo.write_bytes(damage)
        assert _cached_weights_hash(_weights(smoke_dir), smoke_dir) == expected


# A whole run.

def _suite(folder, model_dir):
    path = folder / "suite.yaml"
    path.write_text(f"""\
name: damaged-cache
model: {model_dir}
system_prompt: Answer briefly.
data:
  train: {{path: {ROOT / 'suites/concise/train.jsonl'}, limit: 8}}
  eval: {{path: {ROOT / 'suites/concise/eval.jsonl'}, limit: 3}}
training: {{max_steps: 2, batch_size: 4, quantization: none}}
decoding: {{max_new_tokens: 4}}
""")
    return path


@pytest.mark.slow
def test_a_run_remakes_a_damaged_adapter_and_evaluation_and_says_so(tmp_path, smoke_dir, monkeypatch, capsys):
    from harness.cli import main
    from harness.results import read_results

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    suite = _suite(tmp_path, smoke_dir)
    assert main(["run", str(suite), "--out", str(tmp_path / "first")]) == 0
    first = read_results(tmp_path / "first")
    adapter = tmp_path / "cache" / "adapters" / first.manifest.adapter.key
    weights = adapter / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + bytes([weights.read_bytes()[-1] ^ 1]))
    capsys.readouterr()
    assert main(["run", str(suite), "--out", str(tmp_path / "second")]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and str(adapter) in warnings[0]
    second = read_results(tmp_path / "second")
    assert second.manifest.adapter.reused is False
    assert second.manifest.adapter.adapter_sha256 == first.manifest.adapter.adapter_sha256
    assert sha256_files(sorted(adapter.glob("adapter_*")), adapter) == first.manifest.adapter.adapter_sha256
    # The evaluations stay valid (same adapter bytes): now damage one of them.
    entries = sorted((tmp_path / "cache" / "evaluations").glob("*.json"))
    assert len(entries) == 4
    entries[0].write_text(entries[0].read_text().replace('"text": "', '"text": "X', 1))
    assert main(["run", str(suite), "--out", str(tmp_path / "third")]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and str(entries[0]) in warnings[0]
    third = read_results(tmp_path / "third")
    assert sorted(v.cached for v in third.manifest.evaluation.values()) == [False, True, True, True]
    for a, b in zip(third.examples, first.examples, strict=True):
        assert {n: v.output for n, v in a.variants.items()} == {n: v.output for n, v in b.variants.items()}


def test_a_damaged_smoke_model_is_reported_and_built_again(tmp_path, capsys):
    from harness.smoke import smoke_model_dir

    folder = smoke_model_dir(tmp_path)
    weights = next(folder.glob("*.safetensors"))
    sound = weights.read_bytes()
    damaged = bytearray(sound)
    damaged[len(damaged) // 2] ^= 0x01
    weights.write_bytes(bytes(damaged))
    assert smoke_model_dir(tmp_path) == folder
    assert "smoke model" in capsys.readouterr().err and weights.read_bytes() == sound  # built again, the same
