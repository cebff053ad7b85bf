"""The caches under cache_root() as runs use them: entries checked against their recorded hash on every read,
one lock per entry for concurrent runs, and leftovers of interrupted runs swept when the cache is opened.

A damaged entry (bytes that do not match the hash recorded with them, a missing or garbled record) is
reported in one line and made again, never used. Two runs that need the same entry at once take turns:
the second waits on the entry's lock, then finds the entry made and reuses it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from rich.markup import escape

from harness.files import (
    cache_root,
    discard,
    publish_dir,
    sha256_files,
    sha256_json,
    staging_dir,
    sweep_stale,
    write_json_atomic,
    write_text_atomic,
)
from harness.progress import console

CACHE_FOLDERS = ("adapters", "evaluations", "weight-hashes", "smoke", "models")
ENTRY_FORMAT = 1  # the envelope of a file entry: {"format", "key", "payload_sha256", "payload"}
T = TypeVar("T")
_opened: set[str] = set()


def open_cache(kind: str) -> Path:
    """The cache folder for one kind of entry ("adapters", "evaluations", ...). The first time a process
    opens a cache, every folder in it is swept of what interrupted runs left behind."""
    root = cache_root()
    if str(root) not in _opened:
        _opened.add(str(root))
        for name in CACHE_FOLDERS:  # by name: HARNESS_CACHE may point into a folder other programs use too
            sweep_stale(root / name, owned=True)
    folder = root / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def report_damaged(what: str, path: Path, problem: str) -> None:
    """The one line a damaged cache entry gets: what it is, where, what is wrong, and that it is remade."""
    console.print(f"[yellow]warning:[/] {escape(f'{what} {path} is damaged ({problem})')}; making it again instead of "
                  "using it", soft_wrap=True)


@contextlib.contextmanager
def entry_lock(final: Path, waiting: str) -> Iterator[None]:
    """Hold an exclusive lock on one cache entry while the block runs; a second process asking for it says
    `waiting` and waits. The lock is the kernel's (flock), so a process that dies releases it. Where there
    is no flock (Windows, some network filesystems) the block runs unlocked: publishing stays atomic, so
    both runs make the entry and the first one published is kept."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    # The lock file stays: deleting it would let a waiting process lock a file no one else can see.
    fd = os.open(final.parent / f".{final.name}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            console.print(f"  {waiting}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # no locking on this filesystem
            pass
        yield
    finally:
        os.close(fd)


FOLDER_RECORD = "harness_entry.json"  # in a folder entry: what made it, and the hash of every file in it
WEIGHT_SUFFIXES = (".safetensors", ".bin")


def verified_folder(final: Path, make: Callable[[Path], dict], *, what: str, waiting: str,
                    weights_hash: Callable[[Path], str] | None = None) -> tuple[Path, dict]:
    """A folder entry (a converted or built model), made once and checked on every reuse; and its facts.

    `make(staging)` writes the folder and returns the facts to record with it. The record holds the hash of
    every file written; a folder whose files no longer match (a flipped byte, a lost file, a garbled record)
    is reported and made again, never used. `weights_hash(folder)` is the caller's memoised hash of the
    weight files, so a sound folder of GBs is checked without reading them all. Two runs that need the same
    folder take turns on its lock; the second reuses what the first made."""
    with entry_lock(final, waiting):
        if final.exists() or final.is_symlink():
            facts, problem = _checked_folder(final, weights_hash)
            if facts is not None:
                return final, facts
            report_damaged(what, final, problem)
            discard(final)
        staging = staging_dir(final)
        facts = make(staging)
        weights, others = _folder_files(staging)
        write_json_atomic(staging / FOLDER_RECORD, {"facts": facts, "weights_sha256": sha256_files(weights, staging),
                                                    "files_sha256": sha256_files(others, staging)})
        publish_dir(staging, final)
        return final, facts


def _folder_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The folder's weight files and its other files (config, tokenizer), the record left out, sorted."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != FOLDER_RECORD)
    return [p for p in files if p.suffix in WEIGHT_SUFFIXES], [p for p in files if p.suffix not in WEIGHT_SUFFIXES]


def _checked_folder(folder: Path, weights_hash: Callable[[Path], str] | None) -> tuple[dict | None, str]:
    """The folder's facts when every file matches its record; else None and what is wrong."""
    try:
        record = json.loads((folder / FOLDER_RECORD).read_bytes())
    except (OSError, ValueError, RecursionError):
        return None, f"its record {FOLDER_RECORD} is missing or not readable JSON"
    if not isinstance(record, dict) or not isinstance(record.get("facts"), dict):
        return None, f"its record {FOLDER_RECORD} has the wrong shape"
    weights, others = _folder_files(folder)
    if not weights:
        return None, "it has no weight files"
    found = weights_hash(folder) if weights_hash else sha256_files(weights, folder)
    if found != record.get("weights_sha256"):
        return None, "its weight files do not match the hashes recorded when it was made"
    if sha256_files(others, folder) != record.get("files_sha256"):
        return None, "its config or tokenizer files do not match the hashes recorded when it was made"
    return record["facts"], ""


def read_entry(path: Path, key: str, parse: Callable[[dict], T], what: str) -> T | None:
    """A file entry's payload, parsed; None when there is none. A damaged entry is reported and None given."""
    if not path.exists() and not path.is_symlink():
        return None
    payload, problem = _checked(path, key)
    if payload is not None:
        try:
            return parse(payload)
        except (KeyError, TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            detail = (str(exc).splitlines() or [""])[0]
            problem = f"its content has the wrong shape: {type(exc).__name__} {detail}".strip()
    report_damaged(what, path, str(problem))
    return None


def write_entry(path: Path, key: str, payload: dict) -> dict | None:
    """Publish a file entry with the hash of its payload; None once stored. Where a concurrent run published
    a sound entry first, that one is kept and its payload returned, so that both runs agree."""
    text = json.dumps({"format": ENTRY_FORMAT, "key": key, "payload_sha256": sha256_json(payload),
                       "payload": payload}, indent=1, ensure_ascii=False) + "\n"
    if write_text_atomic(path, text, replace=False):
        return None
    existing, _ = _checked(path, key)
    if existing is not None:
        return existing
    discard(path)  # what is there is damaged
    write_text_atomic(path, text)
    return None


def _checked(path: Path, key: str) -> tuple[dict | None, str | None]:
    try:
        raw: Any = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):  # unreadable, not UTF-8 or not JSON, nested too deep
        return None, "not readable JSON"
    if not isinstance(raw, dict) or raw.get("format") != ENTRY_FORMAT or not isinstance(raw.get("payload"), dict):
        return None, f"not a format-{ENTRY_FORMAT} cache entry"
    if raw.get("key") != key:
        return None, "recorded under another key"
    if sha256_json(raw["payload"]) != raw.get("payload_sha256"):
        return None, "content does not match its recorded hash"
    return raw["payload"], None
