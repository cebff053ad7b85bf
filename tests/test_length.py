"""Length family: words, tokens, characters, sentences, truncation, log ratio to the reference."""

from __future__ import annotations

import pytest

from harness.metrics.length import length_scores, sentence_spans, sentences, words


def test_length_counts():
    scores = length_scores("Paris is the capital. It is in France!", tokens=9, truncated=False, reference="Paris.")
    assert (scores.words, scores.characters, scores.sentences, scores.tokens) == (8, 38, 2, 9)
    assert scores.log_ratio_to_reference == pytest.approx(2.0794, abs=1e-4)
    assert not scores.truncated


def test_words_are_w_plus_matches():
    assert words("don't stop") == 3 and words("") == 0 and words("x_y 42") == 2


def test_sentences_split_on_terminators_blank_lines_and_list_items():
    assert sentences("") == 0
    assert sentences("One. Two! Three?") == 3
    assert sentences("Heading\n\nBody text") == 2
    assert sentences("Steps:\n- mix\n- bake") == 3
    assert sentence_spans("One. Two.") == [(0, 4), (5, 9)]


def test_empty_output_has_no_ratio():
    assert length_scores("", tokens=0, truncated=True, reference="Paris.").log_ratio_to_reference is None
