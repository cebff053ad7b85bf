"""The broken inputs tests/test_fuzz.py feeds to every command, each made by mutating a known-good one with a
generator seeded by SEED and the case's name, so every machine and every CI run gets the same case: suites (a
tree mutated, or its YAML text), data files in each format (rows, bytes), and run folders (results.json or
manifest.json damaged), with the known-good inputs and the writers that turn them into bytes."""

from __future__ import annotations

import copy
import csv
import io
import json
import random
import re
from pathlib import Path

import jsonschema
import yaml
from conftest import ROOT

from harness.metrics.format_checks import CHECKS
from harness.suite import Suite

SEED = 10  # issue 10
DIR = object()  # in a case's files: a folder where a file belongs

GOOD_ROWS = [
    {"id": "r1", "task": "fact", "prompt": "What is 2+2?", "response": "4.",
     "rules": [{"check": "words", "at_most": 5}]},
    {"id": "r2", "instruction": "Summarise.", "input": "A long text.", "output": "Short."},
    {"id": "r3", "messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}]},
    {"prompt": "Name a colour — one word.", "response": "Blue."},
]
REQUIRED_ROW_KEYS = {"prompt": ("prompt", "response"), "instruction": ("instruction", "output"),
                     "messages": ("messages",)}
GOOD_SUITE = {  # every number field a suite may set; `data` last (see _truncated)
    "name": "fuzz", "description": "A known-good suite that each case breaks in one place.",
    "model": "Qwen/Qwen2.5-0.5B-Instruct", "system_prompt": "Answer briefly — no filler.",
    "base_prompt": "no_system", "precision": "auto",
    "training": {"lora": {"r": 8, "alpha": 16, "dropout": 0.05, "target_modules": "all-linear"},
                 "learning_rate": 2.0e-4, "epochs": 1, "max_steps": 5, "batch_size": 4, "micro_batch_tokens": 160,
                 "gradient_accumulation_steps": 1, "max_length": 256, "quantization": "auto", "loss": "completion",
                 "warmup_ratio": 0.03, "weight_decay": 0.0, "seed": 42},
    "decoding": {"max_new_tokens": 32, "do_sample": False, "temperature": 1.0, "top_p": 1.0, "top_k": 0,
                 "repetition_penalty": 1.0, "batch_size": 4, "seed": 0},
    "metrics": {"format": [{"check": "words", "at_most": 30, "name": "short"},
                           {"check": "regex", "pattern": r"\*\*", "negate": True}],
                "filler": {"lexicon": "builtin", "mode": "extend"},
                "perplexity": {"include_end_of_turn": True, "batch_size": 4}},
    "verdict": {"behaviours": ["format", "length"]},
    "gates": ["sft.format_pass >= 0.9", "sft.words.median <= 0.7 * base.words.median"],
    "data": {"train": {"path": "train.jsonl"}, "eval": {"path": "eval.jsonl", "limit": 10}},
}
REQUIRED_SUITE_KEYS = [("name",), ("model",), ("system_prompt",), ("data",), ("data", "train"), ("data", "eval"),
                       ("data", "train", "path"), ("data", "eval", "path"), ("metrics", "format", 1, "check")]
_SCHEMA = Suite.model_json_schema()
KNOWN_KEYS = ({key for part in (_SCHEMA, *_SCHEMA["$defs"].values()) for key in part.get("properties", {})}
              | {key for check in CHECKS.values() for key in check.required | check.optional | check.one_of}
              | {key for row in GOOD_ROWS for key in row} | {"role", "content"})


# Mutations of a tree (a suite, a row, results.json) and of bytes ---------------------------------------------

def _children(node) -> list:
    return list(node.items()) if isinstance(node, dict) else list(enumerate(node)) if isinstance(node, list) else []


def _paths(node, prefix: tuple = ()) -> list[tuple]:
    """The path of every value below `node` (dict keys and list indexes)."""
    return [path for key, value in _children(node) for path in ((*prefix, key), *_paths(value, (*prefix, key)))]


def _random_path(rng: random.Random, tree) -> tuple:
    """A walk down from the top that stops at random: a small section is as likely as the list of examples."""
    path, node = (), tree
    while _children(node) and not (path and rng.random() < 0.3):
        key, node = rng.choice(_children(node))
        path += (key,)
    return path


def _at(tree, path: tuple):
    for key in path:
        tree = tree[key]
    return tree


def _set(tree, path: tuple, value) -> None:
    _at(tree, path[:-1])[path[-1]] = value


def _wrong_type(rng: random.Random, value):
    """A value that no field holding `value` accepts, not even by pydantic's lax conversions ("2" for 2)."""
    if isinstance(value, bool):
        return rng.choice(["maybe", 7, [1], {"a": 1}])
    if isinstance(value, int | float):
        return rng.choice(["many", [1, 2], {"a": 1}])
    if isinstance(value, str):
        return rng.choice([2.5, [1, 2], {"a": 1}])
    if value is None:
        return rng.choice([[1], {"a": 1}])
    return rng.choice(["text", 3, [1, 2] if isinstance(value, dict) else {"a": 1}])


def _retype(rng: random.Random, tree) -> None:
    path = _random_path(rng, tree)
    _set(tree, path, _wrong_type(rng, _at(tree, path)))


def _delete(rng: random.Random, tree) -> None:
    path = _random_path(rng, tree)
    del _at(tree, path[:-1])[path[-1]]


def _unknown_key(rng: random.Random, near: list[str]) -> str:
    """A typo of a key at that level (`epoch`, `promt`) or a random word; never a key harness knows."""
    while True:
        word = rng.choice(near) if near and rng.random() < 0.7 else \
            "".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(2, 12)))
        i = rng.randrange(len(word))
        word = rng.choice([word[:i] + word[i + 1:], word[:i] + word[i] + word[i:], word[:i] + "x" + word[i:]])
        if word and word not in KNOWN_KEYS:
            return word


def _add_unknown_key(rng: random.Random, tree) -> None:
    mapping = _at(tree, rng.choice([()] + [p for p in _paths(tree) if isinstance(_at(tree, p), dict)]))
    mapping[_unknown_key(rng, list(mapping))] = rng.choice([1, "x", [1], {"a": 1}])


def _cut(rng: random.Random, data: bytes, keep_last: int = 0) -> bytes:
    """`data` cut short: at least its last `keep_last` + 1 bytes go."""
    return data[:rng.randrange(len(data) - keep_last)]


def _insert_byte(rng: random.Random, data: bytes) -> bytes:
    """A byte of 0x80 or above, put anywhere into UTF-8 text, leaves it invalid."""
    at = rng.randrange(len(data) + 1)
    return data[:at] + bytes([rng.randint(0x80, 0xFF)]) + data[at:]


# Suites ------------------------------------------------------------------------------------------------------

def dump_yaml(tree, flow: bool = False) -> str:
    return yaml.safe_dump(tree, sort_keys=False, width=1000, allow_unicode=True,
                          default_flow_style=None if flow else False)


LEAF_LINE = re.compile(r"^( *)([A-Za-z_]\w*): (\S.*)$", re.MULTILINE)  # a `key: scalar` line, block style


def _replace_leaf(rng: random.Random, text: str, value: str) -> str:
    line = rng.choice(list(LEAF_LINE.finditer(text)))
    return text[:line.start(3)] + value + text[line.end(3):]


def _missing_key(rng, tree) -> None:
    *parent, key = rng.choice(REQUIRED_SUITE_KEYS)
    del _at(tree, tuple(parent))[key]


def _out_of_range(rng, tree) -> None:
    numbers = [p for p in _paths(tree) if type(_at(tree, p)) in (int, float)]
    path = rng.choice([p for p in numbers if p[:2] != ("metrics", "format")])  # not a rule's parameter
    # below every field's lower bound, above every upper bound, or not finite
    _set(tree, path, rng.choice([-rng.randint(1, 10**9), -rng.uniform(1e-3, 1e6), rng.randint(10**10, 10**18),
                                 rng.uniform(1e10, 1e300), float("nan"), float("inf"), float("-inf")]))


def _duplicate_key(rng, tree) -> str:
    text, way = dump_yaml(tree), rng.randrange(3)
    if way == 0:  # a `key: value` line again below itself: the same mapping, at any depth
        line = rng.choice(list(LEAF_LINE.finditer(text)))
        return text[:line.end()] + f"\n{line[1]}{line[2]}: {rng.choice([line[3], '1'])}" + text[line.end():]
    if way == 1:  # a top-level section again at the end
        return text + f"{rng.choice(list(tree))}: {{}}\n"
    text = dump_yaml(tree, flow=True)  # a key twice in one flow mapping
    mapping = rng.choice(list(re.finditer(r"\{(\w+): [^{}]*\}", text)))
    return text[:mapping.end() - 1] + f", {mapping[1]}: 1}}" + text[mapping.end():]


def _truncated(rng, tree) -> bytes:
    """Cut anywhere before the closing brace of `data`, the last line in flow style: a required key is lost or
    a flow mapping is left open."""
    return _cut(rng, dump_yaml(tree, flow=True).encode(), keep_last=2)


def _bytes(rng, tree) -> bytes:
    good = dump_yaml(tree).encode()
    at = rng.randrange(len(good))
    control = rng.choice([b"\x00", b"\x07", b"\x1b", b"\x7f"])  # valid UTF-8 that YAML does not allow
    return rng.choice([lambda: rng.randbytes(rng.randint(1, 4096)), lambda: _insert_byte(rng, good),
                       lambda: dump_yaml(tree).encode("utf-16"), lambda: good[:at] + control + good[at:]])()


def _aliases(rng, tree) -> str:
    way = rng.randrange(4)
    if way == 0:
        return _replace_leaf(rng, dump_yaml(tree), rng.choice(["*nowhere", "&loop [*loop]", "&loop {k: *loop}"]))
    if way == 1:  # a billion laughs: 5**6 values and more, or over 100 aliases
        width = rng.randint(5, 12)
        levels = ["&a0 [" + ", ".join(["lol"] * width) + "]"] + \
            [f"&a{n} [" + ", ".join([f"*a{n - 1}"] * width) + "]" for n in range(1, rng.randint(6, 9))]
        return _replace_leaf(rng, dump_yaml(tree), "[" + ", ".join(levels) + "]")
    sections = [p for p in _paths(tree) if isinstance(_at(tree, p), dict) and p[:2] != ("metrics", "format")]
    while True:  # one section where another belongs: PyYAML writes an anchor and an alias
        source, target = rng.sample(sections, 2)
        if source[:len(target)] != target and target[:len(source)] != source \
                and not set(_at(tree, source)) <= set(_at(tree, target)):
            _set(tree, target, _at(tree, source))
            return dump_yaml(tree)


def folder_case(tree, index: int) -> tuple[dict, str]:
    """A folder where the suite, a data file, a lexicon or a JSON Schema file belongs."""
    tree["metrics"]["filler"]["lexicon"] = "lexicon.json"
    tree["metrics"]["format"].append({"check": "json_schema", "schema": "schema.json"})
    where = ["suite.yaml", "train.jsonl", "eval.jsonl", "lexicon.json", "schema.json"][index % 5]
    files = {"suite.yaml": dump_yaml(tree), "schema.json": "{}",
             "lexicon.json": json.dumps({"categories": {"jargon": {"phrases": ["synergy"]}}})}
    return {**files, where: DIR}, "suite.yaml" if where == "schema.json" else where  # the rule that names it


TREE_KINDS = {"required key missing": _missing_key, "wrong type": _retype, "number out of range": _out_of_range,
              "unknown key": _add_unknown_key}
TEXT_KINDS = {"duplicate key": _duplicate_key, "truncated": _truncated, "random bytes, not UTF-8": _bytes,
              "anchors and aliases": _aliases}


def suite_case(kind: str, index: int) -> tuple[dict, str]:
    """The files of one case (relative path: text, bytes or DIR) and the file its errors must name."""
    rng, tree = random.Random(f"{SEED}:{kind}:{index}"), copy.deepcopy(GOOD_SUITE)
    if kind == "a folder, not a file":
        return folder_case(tree, index)
    if kind in TREE_KINDS:
        TREE_KINDS[kind](rng, tree)
        return {"suite.yaml": dump_yaml(tree, flow=rng.random() < 0.5)}, "suite.yaml"
    return {"suite.yaml": TEXT_KINDS[kind](rng, tree)}, "suite.yaml"


# Data files --------------------------------------------------------------------------------------------------

def _row_missing(rng, rows) -> None:
    row = rng.choice(rows)
    shape = next(shape for shape in REQUIRED_ROW_KEYS if shape in row)
    turns = row.get("messages", [])
    if turns and rng.random() < 0.3:
        del turns[rng.randrange(2)]
    elif turns and rng.random() < 0.5:
        del turns[rng.randrange(2)][rng.choice(["role", "content"])]
    else:
        del row[rng.choice(REQUIRED_ROW_KEYS[shape])]


def jsonl_bytes(rows) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def _line_cut(rng, data: bytes) -> bytes:
    """A row cut inside (its closing brace gone), then the rest of the file or nothing."""
    lines = data.split(b"\n")[:-1]
    i = rng.randrange(len(lines))
    cut = lines[i][:rng.randint(1, len(lines[i]) - 1)]
    return b"\n".join([*lines[:i], cut, *(lines[i + 1:] if rng.random() < 0.5 else [])])


def _line_replaced(rng, data: bytes, line: bytes) -> bytes:
    lines = data.split(b"\n")
    lines[rng.randrange(len(lines) - 1)] = line
    return b"\n".join(lines)


def _duplicate_row_key(rng, data: bytes) -> bytes:
    row = rng.choice(GOOD_ROWS)
    return _line_replaced(rng, data, f'{{"{rng.choice(list(row))}": "again", {json.dumps(row)[1:]}'.encode())


ROW_KINDS = {"required field missing": _row_missing, "wrong type": lambda rng, rows: _retype(rng, rng.choice(rows)),
             "unknown key": lambda rng, rows: _add_unknown_key(rng, rng.choice(rows))}
BYTE_KINDS = {
    "jsonl": {"not UTF-8": _insert_byte, "truncated": _line_cut,
              "empty": lambda rng, data: rng.choice([b"", b"\n \n"]),
              "row not an object": lambda rng, data: _line_replaced(rng, data, rng.choice([b"[1]", b'"row"', b"null"])),
              "duplicate key in a row": _duplicate_row_key},
    "json": {"not UTF-8": _insert_byte, "truncated": lambda rng, data: _cut(rng, data, keep_last=1),
             "empty": lambda rng, data: rng.choice([b"", b"[]", b"{}"])},
}
CSV_ROWS = [{"id": "r1", "task": "fact", "prompt": "What is 2+2?", "response": "4.",
             "rules": '[{"check": "words", "at_most": 5}]'},
            {"id": "r2", "task": "", "prompt": "Name a colour — one word.", "response": "Blue.", "rules": ""}]
PARQUET_COLUMNS = {"prompt": ["What is 2+2?", "Name a colour."], "response": ["4.", "Blue."]}


def csv_bytes(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, list(dict.fromkeys(key for row in rows for key in row)), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _csv_case(rng, kind: str) -> bytes:
    rows = copy.deepcopy(CSV_ROWS)
    if kind == "required field missing":  # an empty cell is an absent key
        key = rng.choice(["prompt", "response"])
        for row in rng.sample(rows, rng.randint(1, 2)):
            row[key] = ""
    elif kind == "wrong type":  # cells are text; a `rules` cell holds JSON
        rng.choice(rows)["rules"] = rng.choice(['{"check": "words"}', "3", '"words"', "[1, 2]", "[{", "words"])
    elif kind == "unknown key":
        column = _unknown_key(rng, list(CSV_ROWS[0]))
        for row in rows:
            row[column] = rng.choice(["x", "1"])
    elif kind == "extra cell":
        lines = csv_bytes(rows).split(b"\n")
        lines[rng.randrange(1, len(lines) - 1)] += b",extra"
        return b"\n".join(lines)
    elif kind == "empty":
        return rng.choice([b"", csv_bytes(rows).split(b"\n")[0] + b"\n"])
    return _insert_byte(rng, csv_bytes(rows)) if kind == "not UTF-8" else csv_bytes(rows)


def parquet_bytes(columns: dict[str, list]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(pa.table({key: pa.array(values, None if values else pa.string())
                             for key, values in columns.items()}), out)
    return out.getvalue()


def _parquet_case(rng, kind: str) -> bytes:
    columns = copy.deepcopy(PARQUET_COLUMNS)
    if kind == "wrong type":
        columns[rng.choice(list(columns))] = rng.choice([[1, 2], [[1], [2]], [True, False]])
    elif kind == "required field missing":
        del columns[rng.choice(list(columns))]
    elif kind == "unknown key":
        columns[_unknown_key(rng, list(columns))] = ["x", "y"]
    elif kind == "empty":
        columns = {key: [] for key in columns}
    return _cut(rng, parquet_bytes(columns)) if kind == "truncated" else parquet_bytes(columns)


DATA_KINDS = {  # format: the kinds of damage tried on it
    "jsonl": [*ROW_KINDS, *BYTE_KINDS["jsonl"]],
    "json": [*ROW_KINDS, *BYTE_KINDS["json"]],
    "csv": ["required field missing", "wrong type", "unknown key", "not UTF-8", "extra cell", "empty"],
    "parquet": ["required field missing", "wrong type", "unknown key", "truncated", "empty"],
}


def data_case(form: str, kind: str, index: int) -> tuple[dict, str]:
    """A known-good suite whose train or eval data, in `form`, is broken in one way."""
    rng, rows = random.Random(f"{SEED}:{form}:{kind}:{index}"), copy.deepcopy(GOOD_ROWS)
    tree, split = copy.deepcopy(GOOD_SUITE), rng.choice(["train", "eval"])
    name = tree["data"][split]["path"] = f"{split}.{form}"
    if form in ("csv", "parquet"):
        data = {"csv": _csv_case, "parquet": _parquet_case}[form](rng, kind)
    else:
        if kind in ROW_KINDS:
            ROW_KINDS[kind](rng, rows)
        data = jsonl_bytes(rows) if form == "jsonl" else json.dumps(rows, indent=1, ensure_ascii=False).encode()
        data = data if kind in ROW_KINDS else BYTE_KINDS[form][kind](rng, data)
    return {"suite.yaml": dump_yaml(tree), name: data}, name


# Run folders -------------------------------------------------------------------------------------------------

RESULTS_SCHEMA = jsonschema.Draft202012Validator(json.loads((ROOT / "docs" / "results.schema.json").read_text()))


def _changed(rng, raw: dict, file: str, change) -> bytes:
    """A change that breaks the file: in results.json one the published schema refuses (a key it requires, a
    type it forbids), drawn until one is; in manifest.json any, as it must equal the manifest in results.json."""
    for _ in range(500):
        candidate = copy.deepcopy(raw)
        change(rng, candidate)
        if file == "manifest.json" or not RESULTS_SCHEMA.is_valid(candidate):
            return json.dumps(candidate).encode()
    raise AssertionError(f"no change of {file} broke it")


def _nested(rng, raw: dict, file: str) -> bytes:
    """A value a hundred to 200,000 levels deep: anywhere in manifest.json, in results.json where it has a type
    (not in its free-form manifest)."""
    path = _random_path(rng, raw)
    while file == "results.json" and path[0] == "manifest":
        path = _random_path(rng, raw)
    _set(raw, path, "\0deep")
    depth = rng.choice([rng.randint(100, 900), rng.randint(1000, 200_000)])
    return json.dumps(raw).replace('"\\u0000deep"', "[" * depth + "]" * depth).encode()


def _not_json(rng, data: bytes) -> bytes:
    printable = "".join(rng.choice("{}[],:\"'ab1 \n") for _ in range(rng.randint(1, 200)))
    return rng.choice([rng.randbytes(rng.randint(1, 2000)), printable.encode(), b"", data.decode().encode("utf-16"),
                       _insert_byte(rng, data)])


RUN_DAMAGE = {
    "key deleted": lambda rng, raw, data, file: _changed(rng, raw, file, _delete),
    "wrong type": lambda rng, raw, data, file: _changed(rng, raw, file, _retype),
    "truncated": lambda rng, raw, data, file: _cut(rng, data.rstrip(), keep_last=1),  # its closing brace goes
    "not JSON or not UTF-8": lambda rng, raw, data, file: _not_json(rng, data),
    "nested deep": lambda rng, raw, data, file: _nested(rng, raw, file),
    "a folder": lambda rng, raw, data, file: DIR,
    "missing": lambda rng, raw, data, file: None,
}


def damage_run(folder: Path, file: str, kind: str, index: int) -> None:
    rng, path = random.Random(f"{SEED}:{file}:{kind}:{index}"), folder / file
    data = path.read_bytes()
    broken = RUN_DAMAGE[kind](rng, json.loads(data), data, file)
    path.unlink()
    if broken is DIR:
        path.mkdir()
    elif broken is not None:
        path.write_bytes(broken)
