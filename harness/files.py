"""Content hashes, atomic writes and temporary names: caches are keyed by bytes, nothing is left half-written,
and what is written gets the modes the user's umask gives (mkstemp and mkdtemp alone make 0600 and 0700).

Every temporary name says who made it (`.NAME.PID@MACHINE.RANDOM.tmp`, or `.partial` for a staging folder),
so that a later process can tell what a dead process left from what a live one is still writing, and
sweep_stale can remove the leftovers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SAMPLE_BYTES = 1 << 20
# Leftovers with no owner this machine can check (another machine's, or named by an older harness) are
# removed from the cache only after this long: a training on another machine may still be writing them.
STALE_AFTER_SECONDS = 48 * 3600
# `.NAME.[PID@MACHINE.]RANDOM.tmp|partial`, RANDOM being mkstemp's 8 characters (older harness: no owner).
_TEMPORARY = re.compile(r"^\.(?P<name>.+?)\.(?:(?P<pid>[0-9]+)@(?P<machine>[A-Za-z0-9-]+)\.)?[a-z0-9_]{8}"
                        r"\.(?P<kind>tmp|partial)$")
_swept: set[str] = set()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_json(value: Any) -> str:
    """Hash of a JSON-able value in canonical form (sorted keys, no whitespace)."""
    return sha256_bytes(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_files(paths: Iterable[Path], root: Path | None = None) -> str:
    """One hash over several files: each file's relative name and bytes, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        name = str(path.relative_to(root)) if root else path.name
        digest.update(name.encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def sampled_sha256(path: Path) -> str:
    """A quick fingerprint of a large file: its size and its first, middle and last MiB."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        for start in sorted({0, max(size // 2 - SAMPLE_BYTES // 2, 0), max(size - SAMPLE_BYTES, 0)}):
            handle.seek(start)
            digest.update(handle.read(SAMPLE_BYTES))
    return digest.hexdigest()


def umask() -> int:
    """The process's umask. Linux shows it in /proc; elsewhere os.umask must set it to read it, briefly."""
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/self/status", errors="replace") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def share(path: Path, mask: int | None = None) -> None:
    """Give a file or folder the mode that open() or mkdir() would have given it under the umask."""
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return
    full = 0o777 if stat.S_ISDIR(mode) or mode & 0o111 else 0o666
    os.chmod(path, full & ~(umask() if mask is None else mask))


def share_tree(root: Path) -> None:
    """share() for a folder and everything in it."""
    mask = umask()
    share(root, mask)
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            share(Path(folder) / name, mask)


def _machine() -> str:
    """This machine, and the PID namespace where it has one: a PID means nothing outside them."""
    name = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"
    with contextlib.suppress(OSError):
        name += "-" + re.sub(r"\D", "", os.readlink("/proc/self/ns/pid"))
    return name


_MACHINE = _machine()


def _temporary_prefix(name: str) -> str:
    return f".{name[:120]}.{os.getpid()}@{_MACHINE}."


def write_bytes_atomic(path: Path, data: bytes, *, replace: bool = True) -> bool:
    """Write via a temporary file in the same folder and rename, so readers never see half a file.

    With replace=False an existing file is kept and False returned: the first of two writers wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_once(path.parent)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=_temporary_prefix(path.name), suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o666 & ~umask())
            handle.write(data)
        if replace:
            os.replace(tmp, path)
            return True
        return _link_new(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _link_new(tmp: Path, path: Path) -> bool:
    """Give `tmp` the name `path` unless that exists; `tmp` is gone afterwards either way."""
    try:
        os.link(tmp, path)  # fails if the name exists, where a rename would replace it
    except FileExistsError:
        tmp.unlink()
        return False
    except OSError:  # a filesystem without hard links: check, then rename (a narrow race, each file whole)
        if path.exists():
            tmp.unlink()
            return False
        os.replace(tmp, path)
        return True
    tmp.unlink()
    return True


def write_text_atomic(path: Path, text: str, *, replace: bool = True) -> bool:
    return write_bytes_atomic(path, text.encode("utf-8"), replace=replace)


def write_json_atomic(path: Path, value: Any) -> None:
    write_text_atomic(path, json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def publish_dir(staging: Path, final: Path) -> bool:
    """Move a fully written staging folder into place, with the modes the umask gives. A concurrent winner
    is kept and False returned."""
    share_tree(staging)
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(staging, final)
    except OSError:
        if not final.exists():
            raise
        shutil.rmtree(staging, ignore_errors=True)
        return False
    return True


def staging_dir(final: Path) -> Path:
    """An empty folder beside `final`, named as a temporary of this process, to be published there."""
    final.parent.mkdir(parents=True, exist_ok=True)
    _sweep_once(final.parent)
    folder = Path(tempfile.mkdtemp(dir=final.parent, prefix=_temporary_prefix(final.name), suffix=".partial"))
    share(folder)
    return folder


def discard(final: Path) -> None:
    """Remove a folder or file: renamed first to a temporary name, so no reader finds it half-deleted and
    an interrupted removal is swept later."""
    aside = final.parent / f"{_temporary_prefix(final.name)}{secrets.token_hex(4)}.partial"
    try:
        os.replace(final, aside)
    except FileNotFoundError:  # absent, or another process removed it first
        return
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside, ignore_errors=True)
    else:
        aside.unlink(missing_ok=True)


def sweep_stale(folder: Path, *, owned: bool = False) -> list[Path]:
    """Remove what interrupted writes left in `folder` (not below it), and return what was removed.

    Everywhere: temporary files and staging folders of a process of this machine that is no longer running
    (a run that could not be published is renamed to a visible name first, so it is never one of these).
    In a folder that harness owns whole (owned=True: the cache) also leftovers with no owner that can be
    checked here, once older than STALE_AFTER_SECONDS."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in list(Path(folder).iterdir()):
            if _stale(entry, owned):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        entry.unlink()
                removed.append(entry)
    return removed


def _stale(entry: Path, owned: bool) -> bool:
    match = _TEMPORARY.match(entry.name)
    if match is None:
        return False
    if match["pid"] and match["machine"] == _MACHINE:
        return not _running(int(match["pid"]))
    if not owned:
        return False
    with contextlib.suppress(OSError):
        return time.time() - entry.lstat().st_mtime > STALE_AFTER_SECONDS
    return False


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _sweep_once(folder: Path) -> None:
    """Sweep a folder the first time this process writes into it."""
    name = str(folder.absolute())
    if name not in _swept:
        _swept.add(name)
        sweep_stale(folder)


def cache_root() -> Path:
    """Where adapters, the smoke model and generation caches live (HARNESS_CACHE overrides)."""
    configured = os.environ.get("HARNESS_CACHE")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "harness"
