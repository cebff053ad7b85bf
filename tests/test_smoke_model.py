"""The smoke model is built deterministically, with no download, and says what it is."""

from __future__ import annotations

from collections import Counter

from harness.files import sha256_files
from harness.smoke import SMOKE_NOTICE, learn_merges, smoke_model_dir


def test_two_builds_are_byte_identical(smoke_dir, tmp_path):
    again = smoke_model_dir(tmp_path)
    assert again != smoke_dir
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert sha256_files([again / name]) == sha256_files([smoke_dir / name]), name


def test_it_is_marked_as_randomly_initialised(smoke_dir):
    assert "randomly initialised" in SMOKE_NOTICE
    assert (smoke_dir / "SMOKE_MODEL.md").read_text().strip() == SMOKE_NOTICE


def test_it_has_chatml_and_a_real_vocabulary(smoke_tokenizer):
    assert smoke_tokenizer.eos_token == "<|im_end|>"
    words = smoke_tokenizer("The capital of France is Paris.", add_special_tokens=False).input_ids
    assert len(words) < 15  # merges learned: far fewer tokens than bytes


def test_merge_ties_break_the_same_way_whatever_the_input_order():
    forward = Counter({"ab": 2, "cd": 2, "abcd": 2})
    backward = Counter(dict(reversed(list(forward.items()))))
    assert learn_merges(forward, 3) == learn_merges(backward, 3) == [("a", "b"), ("c", "d"), ("ab", "cd")]
