"""Bounds on untrusted input: YAML (duplicates, aliases, depth), JSON nesting, regex time."""

from __future__ import annotations

import time

import pytest

from harness.limits import MAX_JSON_DEPTH, LimitError, compile_regex, json_depth, load_yaml, search


def test_plain_yaml_loads_with_its_node_tree():
    data, root = load_yaml("a: 1\nb: [x, {c: 2}]\nd: &d {e: 3}\nf: *d\n")
    assert data == {"a": 1, "b": ["x", {"c": 2}], "d": {"e": 3}, "f": {"e": 3}}
    assert root.value[1][0].start_mark.line == 1
    assert load_yaml("") == (None, None)


@pytest.mark.parametrize("text, message, line", [
    ("a: 1\nb: 2\na: 3\n", "duplicate key 'a' (first at line 1)", 3),
    ("outer:\n  x: 1\n  x: 1\n", "duplicate key 'x' (first at line 2)", 3),
    ("- {k: 1, k: 2}\n", "duplicate key 'k'", 1),
    ("x: &x [*x]\n", "contains it", 1),
    ("a: &a {b: *a}\n", "contains it", 1),
    ("x: " + "[" * 65 + "]" * 65, "nested over 64 levels deep", 1),
])
def test_yaml_that_would_be_misread_or_blow_up_is_refused_with_its_line(text, message, line):
    with pytest.raises(LimitError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        load_yaml(text)
    assert caught.value.line == line


def test_an_alias_chain_deeper_than_the_limit_is_refused_without_recursion():
    """Depth counts aliases expanded: 40 levels that each nest the previous one twice deep."""
    text = "l0: &l0 [1]\n" + "".join(f"l{i}: &l{i} [[*l{i - 1}]]\n" for i in range(1, 40))
    with pytest.raises(LimitError, match="nested over 64 levels deep"):
        load_yaml(text)


def test_a_billion_laughs_is_refused_at_once_and_small_sharing_is_fine():
    text = "l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n" + "".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9))
    started = time.perf_counter()
    with pytest.raises(LimitError, match="expands to over 100,000 values"):
        load_yaml(text)
    assert time.perf_counter() - started < 2
    data, _ = load_yaml("\n".join(text.splitlines()[:3]))  # 10 x 10 x 10: fine
    assert len(data["l2"]) == 10 and data["l2"][0][0] == data["l0"]


@pytest.mark.parametrize("text, depth", [
    ("{}", 1), ('{"a": [1, {"b": []}]}', 4), ('"[[[[["', 0), (r'["\"[[["]', 1), ("[" * 5000, 5000), ("3", 0),
])
def test_json_depth_counts_brackets_outside_strings(text, depth):
    assert json_depth(text) == depth


def test_json_depth_is_linear_on_hostile_text():
    text = '"\\"' * 200_000  # escaped quotes that never close: a naive string regex goes quadratic here
    started = time.perf_counter()
    assert json_depth(text) == 0
    assert time.perf_counter() - started < 2
    assert MAX_JSON_DEPTH == 64


@pytest.mark.parametrize("pattern", [r"^(a|a)+$", r"^(a|aa)+$", r"(x+x+)+y"])
def test_a_catastrophic_regex_stops_with_timeout_error(pattern):
    started = time.perf_counter()
    with pytest.raises(TimeoutError):
        search(compile_regex(pattern), "a" * 60 + "x" * 5000 + "!")
        search(compile_regex(pattern), "x" * 5000)
    assert time.perf_counter() - started < 5
