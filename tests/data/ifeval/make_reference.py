"""Write ifeval_reference.jsonl: IFEval's own verdicts (lm-eval's reference checkers) on a varied set of answers.

Run where lm-eval's IFEval checkers import (lm_eval.tasks.ifeval, with nltk, langdetect, immutabledict):
    python tests/data/ifeval/make_reference.py
The test (tests/test_ifeval_agreement.py) compares the harness with these recorded verdicts, and with the
live checkers when lm-eval is installed. Sentence counts are not here: IFEval counts them with nltk's punkt
model, a download that is not available offline (see docs/metrics.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import langdetect
from lm_eval.tasks.ifeval import utils

langdetect.DetectorFactory.seed = 0  # langdetect samples at random; a seed makes the recording repeatable

HERE = Path(__file__).parent
REAL = [json.loads(line)["text"] for line in (HERE / "real_answers.jsonl").read_text("utf-8").splitlines()]
ANSWERS = [
    "", "   \n  ", "Paris.", "paris is the capital of france.", "Paris is the capital of France.",
    "yes", "42", "42.", "the answer is 42, more or less.", "the answer is 42 more or less",
    "**Answer:** paris", "Answer:\nparis is the capital of france", "paris is the capital.\nHope this helps!",
    "Sure!\nparis is the capital of france and it is big", "one two three four", "one two three four five",
    "don't stop believing", "x_y is one word here", "state-of-the-art models are big",
    "e.g. this, i.e. that", "I like cats.", "the category is broad", "Cats are great.", "concatenate the lists",
    "a CAT sat", "the cat's toy", "scattered clouds", "cat", "dogs and cats", "hot-dog stand",
    '{"a": 1}', '```json\n{"a": 1}\n```', '```\n{"a": [1, 2]}\n```', '```JSON\n{"a": 1}\n```',
    'Here is the JSON:\n```json\n{"a": 1}\n```', '{"a": 1} trailing', "{a: 1}", "[1, 2, 3]", "null", '"text"',
    '```json\n{"a": 1}\n```\nDone.', "{\"nested\": {\"b\": [true, false, null]}}", "NaN",
    "café au lait is nice", "ÉCOLE", "naïve résumé", "straße", "ǅ", "日本語のテキスト", "123 456",
    "*emphasis* here, really", "first line, with comma\nsecond line\nthird line", "a,b,c",
    "no commas here at all", "one; two: three — four", "Line one\n\nLine two, here\n\nLine three",
    "word " * 9 + "word", "word " * 49 + "word", "word " * 19, "\n".join(["- item"] * 5),
]
ANSWERS += REAL
INSTRUCTIONS = [
    ("length_constraints:number_words", {"num_words": n, "relation": relation})
    for n in (1, 3, 5, 10, 20, 50) for relation in ("less than", "at least")
] + [
    ("punctuation:no_comma", {}),
    ("change_case:english_lowercase", {}),
    ("keywords:forbidden_words", {"forbidden_words": ["cat"]}),
    ("keywords:forbidden_words", {"forbidden_words": ["cats", "dog"]}),
    ("keywords:forbidden_words", {"forbidden_words": ["the", "is"]}),
    ("keywords:existence", {"keywords": ["paris"]}),
    ("keywords:existence", {"keywords": ["cat", "one"]}),
    ("detectable_format:json_format", {}),
]


def verdicts(instruction: str, kwargs: dict, answer: str) -> tuple[bool, bool]:
    example = utils.InputExample(key=0, instruction_id_list=[instruction], prompt="", kwargs=[kwargs])
    return (utils.test_instruction_following_strict(example, answer).follow_all_instructions,
            utils.test_instruction_following_loose(example, answer).follow_all_instructions)


def main() -> None:
    rows = []
    for answer in ANSWERS:
        for instruction, kwargs in INSTRUCTIONS:
            strict, loose = verdicts(instruction, kwargs, answer)
            row = {"answer": answer, "instruction": instruction, "kwargs": kwargs, "strict": strict, "loose": loose}
            if instruction == "change_case:english_lowercase":
                # The harness checks case only. IFEval also asks langdetect for English: record its verdict
                # with that part switched off, i.e. what IFEval says about the case alone.
                detect, langdetect.detect = langdetect.detect, lambda text: "en"
                row["strict_case_only"], row["loose_case_only"] = verdicts(instruction, kwargs, answer)
                langdetect.detect = detect
            rows.append(row)
    with open(HERE / "ifeval_reference.jsonl", "w", encoding="utf-8") as out:
        out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    print(f"{len(rows)} verdicts")


if __name__ == "__main__":
    main()
