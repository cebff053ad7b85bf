"""Atomic writes and temporary names: modes follow the umask, leftovers of dead processes are swept, and of
two writers that must not replace each other the first wins."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time

import pytest
from conftest import ROOT

from harness import files
from harness.cache import open_cache


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_027():
    previous = os.umask(0o027)
    yield
    os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_written_files_and_folders_get_the_modes_the_umask_gives(tmp_path, mask):
    previous = os.umask(mask)
    try:
        files.write_text_atomic(tmp_path / "results.json", "{}")
        staging = files.staging_dir(tmp_path / "run")
        (staging / "weights.bin").write_bytes(b"x")
        os.chmod(staging / "weights.bin", 0o600)  # as safetensors and mkstemp leave their files
        (staging / "sub").mkdir(mode=0o700)
        files.publish_dir(staging, tmp_path / "run")
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "results.json") == 0o666 & ~mask
    assert _mode(tmp_path / "run") == _mode(tmp_path / "run" / "sub") == 0o777 & ~mask
    assert _mode(tmp_path / "run" / "weights.bin") == 0o666 & ~mask


def test_the_umask_is_read_without_changing_it(umask_027):
    assert files.umask() == 0o027
    assert files.umask() == 0o027


def _die_mid_write(cache, run_dir) -> None:
    """A process that starts a staging folder in the cache and beside a run folder, and is killed while
    writing a cache entry and a run file (between writing the temporary file and renaming it)."""
    script = f"""
import os, threading, time
from pathlib import Path
from harness import files
cache, run_dir = Path({str(cache)!r}), Path({str(run_dir)!r})
files.staging_dir(cache / "adapters" / "k1")
files.staging_dir(run_dir)
os.replace = lambda *args: time.sleep(100)
for target in (cache / "evaluations" / "e1.json", run_dir / "results.json"):
    threading.Thread(target=files.write_text_atomic, args=(target, "{{}}"), daemon=True).start()
while not all(list(folder.glob(".*.tmp")) for folder in (cache / "evaluations", run_dir)):
    time.sleep(0.01)
os._exit(9)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 9, done.stderr


def test_leftovers_of_a_dead_process_are_swept_when_the_cache_is_opened(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("HARNESS_CACHE", str(cache))
    (cache / "evaluations").mkdir(parents=True)
    (tmp_path / "run").mkdir()
    _die_mid_write(cache, tmp_path / "run")
    dead = {p.name for p in (cache / "adapters").iterdir()} | {p.name for p in (cache / "evaluations").iterdir()}
    assert len(dead) == 2 and all(".partial" in n or ".tmp" in n for n in dead)
    live = files.staging_dir(cache / "adapters" / "k2")  # this process's own work in progress
    old, recent = cache / "evaluations" / ".e2.json.a1b2c3d4.tmp", cache / "evaluations" / ".e3.json.e5f6g7h8.tmp"
    old.write_text("left by an older harness")
    recent.write_text("maybe still being written")
    os.utime(old, (time.time() - 3 * 86400,) * 2)
    kept = [cache / "adapters" / ".k3.lock", cache / "evaluations" / "e4.json", live, recent]
    for path in kept[:2]:
        path.write_text("")
    # Not harness's names, or not harness's folder (HARNESS_CACHE may point into a shared one): left alone.
    strangers = [cache / "evaluations" / ".notes.tmp", cache / "other-program" / ".state.a1b2c3d4.tmp"]
    for path in strangers:
        path.parent.mkdir(exist_ok=True)
        path.write_text("someone else's")
        os.utime(path, (time.time() - 3 * 86400,) * 2)
    open_cache("adapters")
    remaining = {p.name for p in (cache / "adapters").iterdir()} | {p.name for p in (cache / "evaluations").iterdir()}
    assert remaining == {p.name for p in kept} | {".notes.tmp"}
    assert strangers[1].exists()


def test_leftovers_of_a_dead_process_are_swept_beside_and_inside_a_run_folder(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    _die_mid_write(tmp_path / "cache", run_dir)
    assert [p.name for p in run_dir.iterdir()][0].startswith(".results.json.")
    files.write_text_atomic(run_dir / "report.html", "<!doctype html>")  # the next write there sweeps
    assert [p.name for p in run_dir.iterdir()] == ["report.html"]
    staged = [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert len(staged) == 1
    # A run that could not be published is renamed to a visible name first, so a dead process's staging
    # folder is only ever an interrupted write.
    kept = tmp_path / "run.unpublished-20261128-120000"
    kept.mkdir()
    assert files.sweep_stale(tmp_path) == staged
    assert not staged[0].exists() and kept.is_dir()


def test_a_temporary_file_of_a_live_process_is_never_swept(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        mine = tmp_path / f".results.json.{sleeper.pid}@{files._MACHINE}.abcdefgh.tmp"
        mine.write_text("still being written")
        assert files.sweep_stale(tmp_path, owned=True) == []
        sleeper.kill()
        sleeper.wait()
        assert files.sweep_stale(tmp_path, owned=True) == [mine]
    finally:
        sleeper.kill()


def test_of_two_writers_that_must_not_replace_each_other_the_first_wins(tmp_path):
    target, results = tmp_path / "entry.json", {}
    start = threading.Barrier(8)

    def write(n: int) -> None:
        start.wait()
        results[n] = files.write_text_atomic(target, f"writer {n}", replace=False)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [n for n, won in results.items() if won]
    assert len(winners) == 1 and target.read_text() == f"writer {winners[0]}"
    assert [p.name for p in tmp_path.iterdir()] == ["entry.json"]
