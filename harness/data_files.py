"""Local data: read a suite's `path:` (JSONL, JSON, CSV, parquet or a `save_to_disk` folder) into raw rows.

Each row comes with where it was found (`3` for line 3, `row 3` for the fourth item of an array or table),
so that every problem names the file and the place. Memory is bounded per row: a line longer than
MAX_LINE_BYTES is skipped without being held, and a whole-document `.json` file is capped in size.

JSON and CSV are parsed here rather than through `datasets`: its loaders lose line numbers, copy the data
into the Hugging Face cache on every `validate`, unify types across rows (pandas reads an id `007` as 7 and
a prompt `NA` as null) and merge the keys of different rows. Parquet is read with pyarrow for the same
cache reason; `save_to_disk` folders with `datasets.load_from_disk`, which memory-maps them in place.
"""

from __future__ import annotations

import codecs
import csv
import json
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, InputErrors
from harness.limits import LimitError, check_json_depth

Row = tuple[str, dict[str, Any]]  # (where in the file, the row's keys and values)

MAX_LINE_BYTES = 16 << 20  # one JSONL line or CSV line, newline included
MAX_JSON_BYTES = 256 << 20  # a `.json` array is parsed whole
MAX_REPORTED_ROWS = 20

FORMATS = {
    ".jsonl": "a JSONL file (one JSON object per line)",
    ".ndjson": "a JSONL file (one JSON object per line)",
    ".json": "a JSON file (an array of row objects, or one object per line)",
    ".csv": "a CSV file with a header row",
    ".parquet": "a parquet file",
}
JSON_HINT = "; a .json file holds an array of row objects, or one object per line"
SUPPORTED = "a .jsonl, .json, .csv or .parquet file, or a folder written by datasets' save_to_disk"


def read_rows(path: Path, split: str | None, json_columns: frozenset[str]) -> list[Row]:
    """Every row of a local data source. `split` picks a split of a saved DatasetDict; `json_columns` are
    CSV columns whose cells hold JSON (rules, messages). Raises HarnessError / InputErrors."""
    if _is_folder(path):
        return _read_saved(path, split)
    if split is not None:
        raise HarnessError(f"'split: {split}' applies only to a save_to_disk DatasetDict folder, not to a "
                           "single file; remove it", file=path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(path, json_columns)
        if suffix == ".parquet":
            return _read_parquet(path)
        if suffix == ".json":
            return _read_json_array(path) if _first_byte(path) == b"[" else _read_json_lines(path)
        return _read_jsonl(path)
    except OSError as exc:  # unreadable (permissions, I/O error) after the checks above
        raise HarnessError(f"cannot read data file ({exc.strerror or one_line(exc)})", file=path) from None


def local_kind(path: Path) -> str | None:
    """'file', 'folder', 'save_to_disk' (a folder written by save_to_disk) or None where nothing is there."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return None
    if not stat.S_ISDIR(mode):
        return "file"
    markers = ("state.json", "dataset_dict.json")
    return "save_to_disk" if any((path / name).is_file() for name in markers) else "folder"


def _is_folder(path: Path) -> bool:
    """True for a save_to_disk folder, False for a supported file; any other path is an error."""
    expected = FORMATS.get(path.suffix.lower(), SUPPORTED)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise HarnessError(f"data file not found; expected {expected}", file=path) from None
    except (OSError, ValueError) as exc:
        raise HarnessError(f"cannot read data path ({getattr(exc, 'strerror', None) or exc}); expected {expected}",
                           file=path) from None
    if stat.S_ISDIR(mode):
        if local_kind(path) != "save_to_disk":
            raise HarnessError(f"is a folder without state.json or dataset_dict.json, so not one written by "
                               f"save_to_disk; expected {SUPPORTED}", file=path)
        return True
    if not stat.S_ISREG(mode):
        raise HarnessError(f"not a regular file; expected {expected}", file=path)
    if path.suffix.lower() not in FORMATS:
        raise HarnessError(f"unsupported data file type {path.suffix or '(no extension)'!r}; expected {SUPPORTED}",
                           file=path)
    return False


def _first_byte(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(4096).removeprefix(codecs.BOM_UTF8).lstrip()[:1]


def _lines(path: Path) -> Iterator[tuple[int, str | None, str | None]]:
    """(number, text, problem) per line; an over-long line is skipped in bounded pieces, never held whole."""
    with open(path, "rb") as handle:
        number = 0
        while raw := handle.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                while raw and not raw.endswith(b"\n"):
                    raw = handle.readline(MAX_LINE_BYTES)
                yield number, None, f"line longer than {MAX_LINE_BYTES:,} bytes; expected at most that per row"
                continue
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, None, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line); " \
                                    "expected UTF-8 text"
                continue
            yield number, text, None


class _BadJSON(ValueError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in pairs:
        if key in row:
            raise _BadJSON(f"duplicate key {key!r}; expected each key once")
        row[key] = value
    return row


def _no_constant(name: str) -> Any:
    raise _BadJSON(f"invalid JSON: {name} is not a JSON number")


def parse_json(text: str) -> Any:
    """json.loads that refuses duplicate keys, NaN/Infinity and nesting beyond limits.MAX_JSON_DEPTH (checked
    before parsing, so the parser never recurses into it); every problem is a _BadJSON of one line."""
    try:
        check_json_depth(text)
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise _BadJSON(f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from None
    except LimitError as exc:
        raise _BadJSON(f"{exc}; expected flatter rows") from None


def _row_problem(value: Any) -> str | None:
    return None if isinstance(value, dict) else f"expected a JSON object, got {_json_type(value)}"


def _json_type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _read_jsonl(path: Path, hint: str = "") -> list[Row]:
    rows, errors = [], []
    for number, text, problem in _lines(path):
        if text is not None and not text.strip():
            continue
        if problem is None:
            try:
                row = parse_json(text)
            except _BadJSON as exc:
                problem = f"{exc}{hint}"
            else:
                problem = _row_problem(row)
        if problem is not None:
            errors.append(HarnessError(problem, file=path, where=str(number)))
            continue
        rows.append((str(number), row))
    raise_all(errors)
    return rows


def _read_json_lines(path: Path) -> list[Row]:
    """A `.json` file that is not an array: JSON Lines, as many are; a whole document that is one object
    gets one error rather than one per line."""
    try:
        return _read_jsonl(path, JSON_HINT)
    except InputErrors as line_errors:
        try:
            document = _json_document(path)
        except HarnessError:
            raise line_errors from None
        if not isinstance(document, dict):
            raise
        keys = ", ".join(list(document)[:5])
        raise HarnessError(f"holds one JSON object (keys: {keys}); expected an array of row objects, or one "
                           "object per line", file=path) from None


def _read_json_array(path: Path) -> list[Row]:
    items = _json_document(path)
    errors, rows = [], []
    for index, item in enumerate(items):
        problem = _row_problem(item)
        if problem is not None:
            errors.append(HarnessError(problem, file=path, where=f"row {index}"))
        else:
            rows.append((f"row {index}", item))
    raise_all(errors)
    return rows


def _json_document(path: Path) -> Any:
    with open(path, "rb") as handle:
        data = handle.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise HarnessError(f"JSON document larger than {MAX_JSON_BYTES >> 20} MiB; expected a smaller file, or "
                           "JSONL or parquet for a large data set (they are read row by row)", file=path)
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise HarnessError(f"not UTF-8 (byte 0x{data[exc.start]:02x}); expected UTF-8 text", file=path,
                           where=str(line)) from None
    try:
        return parse_json(text)
    except _BadJSON as exc:
        raise HarnessError(str(exc), file=path, where=str(exc.line) if exc.line else None) from None


def _read_csv(path: Path, json_columns: frozenset[str]) -> list[Row]:
    """Cells are text, as written; an empty cell is an absent key (CSV cannot tell them apart)."""

    def lines() -> Iterator[str]:
        for number, text, problem in _lines(path):
            if problem is not None:
                raise HarnessError(problem, file=path, where=str(number))
            yield text

    previous_limit = csv.field_size_limit(MAX_LINE_BYTES)
    try:
        reader = csv.reader(lines())
        return _csv_rows(path, reader, json_columns)
    except csv.Error as exc:
        raise HarnessError(f"invalid CSV: {exc}", file=path, where=str(reader.line_num)) from None
    finally:
        csv.field_size_limit(previous_limit)


def _csv_rows(path: Path, reader: Any, json_columns: frozenset[str]) -> list[Row]:
    header = next(reader, None)
    if header is None:
        return []
    repeated = sorted(name for name, count in Counter(header).items() if count > 1)
    if repeated or "" in header:
        problem = f"duplicate column {repeated[0]!r}" if repeated else "an empty column name"
        raise HarnessError(f"header has {problem}; expected unique, non-empty column names", file=path, where="1")
    rows, errors, start = [], [], reader.line_num + 1
    for cells in reader:
        where, start = str(start), reader.line_num + 1
        if not cells:
            continue
        if len(cells) != len(header):
            errors.append(HarnessError(f"{len(cells)} cells; expected {len(header)}, one per header column",
                                       file=path, where=where))
            continue
        row: dict[str, Any] = {}
        try:
            for name, cell in zip(header, cells, strict=True):
                if cell != "":
                    row[name] = _csv_cell(name, cell, json_columns)
        except _BadJSON as exc:
            errors.append(HarnessError(str(exc), file=path, where=where))
            continue
        rows.append((where, row))
    raise_all(errors)
    return rows


def _csv_cell(name: str, cell: str, json_columns: frozenset[str]) -> Any:
    if name not in json_columns:
        return cell
    try:
        return parse_json(cell)
    except _BadJSON as exc:
        raise _BadJSON(f"column {name!r}: {exc}; expected JSON text in this column") from None


def _read_parquet(path: Path) -> list[Row]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows: list[Row] = []
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
            rows.extend((f"row {len(rows) + offset}", without_nulls(row))
                        for offset, row in enumerate(batch.to_pylist()))
    except (OSError, pa.ArrowException) as exc:
        raise HarnessError(f"not a readable parquet file ({one_line(exc)}); expected {FORMATS['.parquet']}",
                           file=path) from None
    return rows


def _read_saved(path: Path, split: str | None) -> list[Row]:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            names = sorted(loaded)
            if split is None and len(names) != 1:
                raise HarnessError(f"a DatasetDict with the splits {', '.join(names)}; add 'split: NAME' to this "
                                   "data source", file=path)
            if split is not None and split not in loaded:
                raise HarnessError(f"no split {split!r}; expected one of: {', '.join(names)}", file=path)
            loaded = loaded[split or names[0]]
        elif split is not None:
            raise HarnessError(f"'split: {split}' applies only to a DatasetDict folder; this one holds a single "
                               "Dataset, so remove it", file=path)
        return [(f"row {index}", without_nulls(row)) for index, row in enumerate(loaded)]
    except HarnessError:
        raise
    except Exception as exc:  # datasets and pyarrow raise many types for a damaged folder
        raise HarnessError(f"cannot load this save_to_disk folder ({one_line(exc)}); expected a folder written "
                           "by Dataset.save_to_disk or DatasetDict.save_to_disk", file=path) from None


def without_nulls(value: Any) -> Any:
    """Arrow fills a key that a row lacks with null, also inside lists of structs (rules, messages)."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def one_line(exc: BaseException, limit: int = 300) -> str:
    """A library's exception message as one short line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def raise_all(errors: list[HarnessError]) -> None:
    """Raise every problem at once; one that repeats row after row (a misnamed column) is shown once."""
    if not errors:
        return
    groups: dict[tuple[str | None, str], list[HarnessError]] = {}
    for error in errors:
        groups.setdefault((error.file, error.message), []).append(error)
    shown = []
    for (file, message), group in groups.items():
        more = f" (and {len(group) - 1} more rows like it)" if len(group) > 1 else ""
        shown.append(HarnessError(message + more, file=file, where=group[0].where))
    if len(shown) > MAX_REPORTED_ROWS:
        rest = len(shown) - MAX_REPORTED_ROWS
        shown = shown[:MAX_REPORTED_ROWS] + [HarnessError(f"... and {rest} more rows with errors")]
    raise InputErrors(shown)
