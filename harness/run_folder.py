"""Run folders and output files on disk: read with their shape checked, replaced only where harness owns them.

No command deletes or overwrites what it did not write. A folder (a run folder, a baseline) is replaced
only when every entry in it is a file harness writes there; a file named on the command line (`--out`,
`--junit`, ...) only when it is new or one harness wrote; never through a symbolic link, and never the
folder the command runs in or one that holds it. A run is written into a staging folder beside its
final place and swapped in whole, so a run killed mid-write leaves the old folder as it was.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import to_json

from harness.errors import HarnessError
from harness.files import staging_dir
from harness.results import Results, read_results

RUN_FILES = ("results.json", "manifest.json", "generations.jsonl", "report.html", "junit.xml",
             "gate-summary.md", "gates.json")
_TEMPORARY = re.compile(r"^\..+\.(tmp|partial)$")  # what an interrupted atomic write leaves behind
# How each kind of output file begins when harness wrote it.
_WRITTEN_BY_HARNESS = {
    "report": re.compile(r"^\s*<!doctype html>.*?<title>harness", re.IGNORECASE | re.DOTALL),
    "junit": re.compile(r"^<\?xml[^>]*>\s*<testsuites name=\"harness\""),
    "summary": re.compile(r"^### harness gates: "),
    "gates": re.compile(r"^\{\s*\"passed\"\s*:"),
}


def read_run(run_dir: Path) -> Results:
    """results.json of a run folder, or one line naming the file and what is wrong with it."""
    path = Path(run_dir) / "results.json"
    try:
        results = read_results(run_dir)
    except UnicodeDecodeError:
        raise HarnessError("not UTF-8 text; expected the JSON that `harness run` writes", file=path) from None
    except RecursionError:
        raise HarnessError("JSON nested too deep; expected the JSON that `harness run` writes", file=path) from None
    except (AttributeError, TypeError):  # a JSON array, string or number where an object belongs
        raise HarnessError("expected a JSON object with a string schema_version", file=path) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        raise HarnessError(f"{first['msg']}{more}; expected the shape in docs/results.schema.json",
                           file=path, where=where) from None
    _check_consistent(results, path)
    _check_manifest_copy(Path(run_dir) / "manifest.json", results.manifest.model_dump(mode="json"))
    return results


def _check_manifest_copy(path: Path, manifest: dict) -> None:
    """manifest.json, where the folder has one, is the manifest inside results.json: a copy that differs was
    damaged or edited, and `baseline save` would keep it. (Commands read results.json, so a folder without
    the copy is complete.)"""
    if not path.exists() and not path.is_symlink():
        return
    try:
        # NaN and infinity: json.dumps wrote them as such in manifest.json, pydantic as null in results.json
        copy = json.loads(to_json(json.loads(path.read_text(encoding="utf-8")), inf_nan_mode="null"))
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
    except UnicodeDecodeError:
        problem = "not UTF-8 text"
    except json.JSONDecodeError as exc:
        problem = f"invalid JSON at line {exc.lineno}: {exc.msg}"
    except (ValueError, RecursionError):
        problem = "JSON nested too deep"
    else:
        if copy == manifest:
            return
        problem = "differs from the manifest in results.json"
    raise HarnessError(f"{problem}; expected the copy of the manifest that `harness run` writes", file=path)


def _check_consistent(results: Results, path: Path) -> None:
    for variant in results.variants:
        if variant not in results.summary:
            raise HarnessError(f"variant {variant!r} has no summary", file=path, where="summary")
        missing = next((e.id for e in results.examples if variant not in e.variants), None)
        if missing is not None:
            raise HarnessError(f"example {missing!r} has no output of variant {variant!r}", file=path,
                               where="examples")


def run_file(name: str) -> bool:
    """Whether a run folder may hold an entry of this name (what `run`, `check` and `compare` write)."""
    return name in RUN_FILES or bool(re.fullmatch(r"compare-.+\.html", name)) or bool(_TEMPORARY.match(name))


def folder_problem(folder: Path, owned: Callable[[str], bool]) -> str | None:
    """Why `folder` may not be replaced, or None when it is absent or holds only files `owned` accepts."""
    folder = Path(folder)
    if folder.is_symlink():
        return "is a symbolic link; expected a folder of its own"
    if not folder.exists():
        return None
    if not folder.is_dir():
        return "exists and is not a folder"
    here, target = Path.cwd().resolve(), folder.resolve()
    if target == here or target in here.parents:
        return "is the current folder or holds it; expected a folder of its own"
    strangers = sorted(entry.name for entry in folder.iterdir()
                       if (entry.is_dir() and not entry.is_symlink()) or not owned(entry.name))
    if strangers:
        shown = ", ".join(strangers[:3]) + (f" and {len(strangers) - 3} more" if len(strangers) > 3 else "")
        return f"holds files harness did not write there ({shown}); choose a new folder or empty this one"
    return None


def refuse_folder(folder: Path, owned: Callable[[str], bool], flag: str) -> None:
    problem = folder_problem(folder, owned)
    if problem:
        raise HarnessError(f"{flag}: {problem}", file=folder)


def replace_folder(staging: Path, final: Path, owned: Callable[[str], bool], flag: str) -> None:
    """Put a fully written staging folder at `final`, replacing what is there whole (checked again now:
    a long run may have given someone time to put a file there). Refused: the staging folder is kept."""
    problem = folder_problem(final, owned)
    if problem:
        raise HarnessError(f"{flag}: {problem}; what was written is kept in {_keep(staging, final)}", file=final)
    final = Path(final).resolve()
    if not final.exists():
        os.replace(staging, final)
        return
    old = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".old"))
    os.replace(final, old)  # the rename replaces the empty placeholder
    try:
        os.replace(staging, final)
    except BaseException:
        os.replace(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _keep(staging: Path, final: Path) -> Path:
    """Give a staging folder that could not be published a visible name of its own beside `final`
    (`NAME.unpublished-YYYYmmdd-HHMMSS`), so that no sweep of temporaries ever takes it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(100):
        kept = Path(final).parent / f"{Path(final).name}.unpublished-{stamp}{f'-{attempt}' if attempt else ''}"
        try:
            os.rename(staging, kept)  # refused where a non-empty folder has that name: try the next
        except OSError:
            continue
        return kept
    return staging


@contextmanager
def staged_folder(final: Path, owned: Callable[[str], bool], flag: str,
                  keep_on: tuple[type[BaseException], ...] = ()) -> Iterator[Path]:
    """Yield a staging folder beside `final`; when the block ends, it replaces `final` whole.

    Interrupted or failed, the old folder stays as it was and the staging folder goes, unless the
    exception is one of `keep_on`: then what was written is published before the exception goes on."""
    refuse_folder(final, owned, flag)
    staging = staging_dir(Path(final).resolve())
    try:
        yield staging
    except keep_on:
        replace_folder(staging, final, owned, flag)
        raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    replace_folder(staging, final, owned, flag)


def staged_run_folder(final: Path) -> AbstractContextManager[Path]:
    """The run folder `harness run` writes, swapped in whole. A HarnessError (bad input found late, such as
    a format rule that cannot run on an output) still publishes what was written: the generations."""
    return staged_folder(final, run_file, "--out", keep_on=(HarnessError,))


def refuse_output_file(path: Path | None, kind: str, flag: str) -> None:
    """A file named on the command line is written only where it is new or harness wrote it before."""
    if path is None:
        return
    path = Path(path)
    if path.is_symlink():
        raise HarnessError(f"{flag}: is a symbolic link; expected a file path", file=path)
    if path.exists() and not path.is_file():
        raise HarnessError(f"{flag}: is a folder or a special file; expected a file path", file=path)
    if path.exists():
        with open(path, "rb") as handle:
            head = handle.read(4096).decode("utf-8", errors="replace")
        if not _WRITTEN_BY_HARNESS[kind].match(head):
            raise HarnessError(f"{flag}: exists and was not written by harness; choose a new path or delete it",
                               file=path)
