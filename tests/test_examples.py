"""Example loading: the three row shapes, field mapping, `datasets` sources, and every class of bad row."""

from __future__ import annotations

import json

import pytest
from conftest import MINIMAL_SUITE, write_suite

from harness.errors import InputErrors
from harness.examples import load_examples
from harness.suite import load_suite


def test_both_shapes_become_the_same_examples(tmp_path):
    rows = [{"instruction": "Summarise.", "input": "A long text.", "output": "Short."},
            {"id": "q2", "prompt": "What is 2+2?", "response": "4.", "rules": [{"check": "max_words", "value": 3}]}]
    suite = load_suite(write_suite(tmp_path, MINIMAL_SUITE, rows, rows))
    examples = load_examples(suite, "train").examples
    assert examples[0].prompt == "Summarise.\n\nA long text." and examples[0].response == "Short."
    assert examples[0].id == "train-00001"
    assert examples[1].id == "q2" and examples[1].rules == [{"check": "max_words", "value": 3}]


def test_field_mapping_and_a_datasets_source(tmp_path):
    folder = tmp_path / "my_dataset"
    folder.mkdir()
    rows = [{"question": f"Q{i}?", "answer": f"A{i}.", "key": f"k{i}"} for i in range(5)]
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    body = MINIMAL_SUITE.replace(
        "train: {path: train.jsonl}",
        "train: {dataset: my_dataset, split: train, limit: 3, fields: {prompt: question, response: answer, id: key}}")
    suite = load_suite(write_suite(tmp_path, body, None, rows[:1] and [{"prompt": "x", "response": "y"}]))
    examples = load_examples(suite, "train")
    assert [e.id for e in examples.examples] == ["k0", "k1", "k2"]
    assert examples.examples[2].prompt == "Q2?" and examples.examples[2].response == "A2."


def test_content_hash_ignores_where_data_lives(tmp_path):
    rows = [{"prompt": "p", "response": "r"}]
    one = tmp_path / "one"
    two = tmp_path / "two"
    one.mkdir()
    two.mkdir()
    first = load_examples(load_suite(write_suite(one, MINIMAL_SUITE, rows, rows)), "eval")
    second = load_examples(load_suite(write_suite(two, MINIMAL_SUITE, rows, rows)), "eval")
    assert first.source != second.source and first.content_hash == second.content_hash


def test_duplicate_ids_are_reported_with_both_lines(tmp_path):
    rows = [{"id": "a", "prompt": "p", "response": "r"}, {"id": "a", "prompt": "q", "response": "s"}]
    suite = load_suite(write_suite(tmp_path, MINIMAL_SUITE, rows, rows))
    with pytest.raises(InputErrors, match="eval.jsonl:2: duplicate id 'a' \\(first at 1\\)"):
        load_examples(suite, "eval")


def _chat(*turns: tuple[str, object]) -> dict:
    return {"messages": [{"role": role, "content": content} for role, content in turns]}


def test_a_messages_row_maps_the_user_turn_to_the_prompt_and_the_assistant_turn_to_the_reference(tmp_path):
    rows = [{"id": "m1", "task": "chat", **_chat(("user", "Capital of France?"), ("assistant", "Paris."))}]
    example = load_examples(load_suite(write_suite(tmp_path, MINIMAL_SUITE, rows, rows)), "eval").examples[0]
    assert (example.id, example.task, example.prompt, example.response) == ("m1", "chat", "Capital of France?",
                                                                            "Paris.")


P, R = {"prompt": "p"}, {"response": "r"}

# (row, what the error line must say): every class of bad row
BAD_ROWS = {
    "key_typo_rule": ({**P, **R, "rule": [{"check": "json"}]},
                      ["unknown key 'rule' (did you mean 'rules'?); expected only: prompt, response, id, task, "
                       "rules, split"]),
    "key_typo_respnse": ({**P, "respnse": "r"}, ["unknown key 'respnse' (did you mean 'response'?)"]),
    "both_keys_misspelt": ({"promt": "p", "respnse": "r"},
                           ["expected keys 'prompt' and 'response', or 'instruction' and 'output', or 'messages'; "
                            "got ['promt', 'respnse'] (did you mean 'prompt', 'response'?)"]),
    "shapes_mixed": ({**P, **R, "output": "o"}, ["unknown key 'output'"]),
    "instruction_with_response": ({"instruction": "i", "input": "x", "output": "o", "response": "r"},
                                  ["unknown key 'response'", "expected only: instruction, input, output"]),
    "prompt_not_string": ({"prompt": ["p"], **R}, ["field 'prompt': expected a string, got list"]),
    "response_not_string": ({**P, "response": 4}, ["field 'response': expected a string, got int"]),
    "input_not_string": ({"instruction": "i", "input": 3, "output": "o"},
                         ["field 'input': expected a string, got int"]),
    "prompt_blank": ({"prompt": " \n\t", **R}, ["field 'prompt' is blank (whitespace only); expected a non-empty"]),
    "response_empty": ({**P, "response": ""}, ["field 'response' is missing or empty; expected a non-empty string"]),
    "response_missing": ({**P}, ["field 'response' is missing or empty"]),
    "response_null": ({**P, "response": None}, ["field 'response' is missing or empty"]),
    "id_list": ({**P, **R, "id": [1]}, ["field 'id': expected a string or an integer, got list"]),
    "id_bool": ({**P, **R, "id": True}, ["field 'id': expected a string or an integer, got bool"]),
    "id_blank": ({**P, **R, "id": " "}, ["field 'id' is blank"]),
    "task_number": ({**P, **R, "task": 3}, ["field 'task': expected a non-empty string, got 3"]),
    "split_blank": ({**P, **R, "split": " "}, ["field 'split': expected a non-empty string, got ' '"]),
    "rules_object": ({**P, **R, "rules": {"check": "words"}}, ["field 'rules': expected a list of objects"]),
    "rule_without_check": ({**P, **R, "rules": [{"at_most": 3}]}, ["each with a 'check' key"]),
    "messages_not_list": ({"messages": "hi"}, ["field 'messages': expected a non-empty list"]),
    "messages_empty": ({"messages": []}, ["field 'messages': expected a non-empty list"]),
    "turn_not_object": ({"messages": ["hi", "there"]}, ["messages[0]: expected an object with 'role' and 'content'"]),
    "turn_unknown_key": ({"messages": [{"role": "user", "content": "q", "name": "x"}, {"role": "assistant",
                                                                                     "content": "a"}]},
                         ["messages[0]: unknown keys ['name']; expected only 'role' and 'content'"]),
    "turn_bad_role": (_chat(("user", "q"), ("tool", "a")),
                      ["messages[1].role: expected one of system, user, assistant, got 'tool'"]),
    "system_turn": (_chat(("system", "Be brief."), ("user", "q"), ("assistant", "a")),
                    ["messages[0]: a system turn is not accepted in data; the suite's system_prompt"]),
    "multi_turn": (_chat(("user", "q1"), ("assistant", "a1"), ("user", "q2"), ("assistant", "a2")),
                   ["messages: turns user, assistant, user, assistant; expected exactly one user turn, then one "
                    "assistant turn", "multi-turn conversations cannot be mapped"]),
    "no_answer": (_chat(("user", "q")), ["messages: turns user; expected exactly one user turn"]),
    "answer_first": (_chat(("assistant", "a"), ("user", "q")), ["messages: turns assistant, user;"]),
    "content_parts": (_chat(("user", [{"type": "text", "text": "q"}]), ("assistant", "a")),
                      ["messages[0].content: expected a string, got list"]),
    "content_blank": (_chat(("user", "q"), ("assistant", "  ")), ["messages[1].content is blank"]),
    "messages_and_prompt": ({**_chat(("user", "q"), ("assistant", "a")), **P}, ["unknown key 'prompt'"]),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_each_bad_row_is_one_line_naming_file_line_and_field(tmp_path, case):
    row, expected = BAD_ROWS[case]
    good = {"prompt": "fine", "response": "ok"}
    suite = load_suite(write_suite(tmp_path, MINIMAL_SUITE, [good], [good, row]))
    with pytest.raises(InputErrors) as caught:
        load_examples(suite, "eval")
    lines = caught.value.lines()
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path / 'eval.jsonl'}:2: "), lines
    for text in expected:
        assert text in lines[0]


def test_with_a_field_mapping_the_mapped_keys_are_the_allowed_ones(tmp_path):
    body = MINIMAL_SUITE.replace("eval: {path: eval.jsonl}",
                                 "eval: {path: eval.jsonl, fields: {prompt: question, response: answer}}")
    rows = [{"question": "q", "answer": "a", "category": "x"}]
    expected = "unknown key 'category'; expected only: question, answer, id, task, rules, split"
    with pytest.raises(InputErrors, match=expected):
        load_examples(load_suite(write_suite(tmp_path, body, rows, rows)), "eval")


def test_a_datasets_source_ignores_columns_it_does_not_use(tmp_path):
    folder = tmp_path / "hub_like"
    folder.mkdir()
    rows = [{"prompt": f"Q{i}?", "response": f"A{i}.", "source": "web", "score": 0.5} for i in range(3)]
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    body = MINIMAL_SUITE.replace("eval: {path: eval.jsonl}", "eval: {dataset: hub_like, split: train}")
    examples = load_examples(load_suite(write_suite(tmp_path, body, rows[:1], None)), "eval").examples
    assert [(e.prompt, e.response) for e in examples] == [(f"Q{i}?", f"A{i}.") for i in range(3)]


def test_an_absurdly_long_text_is_refused_while_loading(tmp_path, monkeypatch):
    from harness import examples as module

    monkeypatch.setattr(module, "MAX_TEXT_CHARS", 1000)
    rows = [{"prompt": "x" * 1001, "response": "r"}, {"prompt": "p", "response": "y" * 1000}]
    with pytest.raises(InputErrors) as caught:
        load_examples(load_suite(write_suite(tmp_path, MINIMAL_SUITE, rows, rows)), "eval")
    assert caught.value.lines() == [f"{tmp_path / 'eval.jsonl'}:1: field 'prompt': 1,001 characters; expected at "
                                    "most 1,000"]


def test_integer_ids_are_text_and_clash_with_the_same_text(tmp_path):
    rows = [{"id": 7, "prompt": "p", "response": "r"}, {"id": "7", "prompt": "q", "response": "s"}]
    suite = load_suite(write_suite(tmp_path, MINIMAL_SUITE, rows[:1], rows))
    assert load_examples(suite, "train").examples[0].id == "7"
    with pytest.raises(InputErrors, match="eval.jsonl:2: duplicate id '7' \\(first at 1\\)"):
        load_examples(suite, "eval")
