"""Filler: positions, normalisation, suite lexicons, and precision on the hand-labelled sample."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import MINIMAL_SUITE, write_suite

from harness.errors import HarnessError, InputErrors
from harness.metrics import filler
from harness.metrics.filler import filler_scores, find_filler
from harness.metrics.lexicon import GOAL, accuracy_note, builtin_lexicon_raw, parse_lexicon
from harness.scorers import prepare
from harness.suite import load_suite

LEXICON = parse_lexicon(builtin_lexicon_raw(), "builtin")
DATA = Path(__file__).parent / "data"
LABELLED = DATA / "filler_labelled.jsonl"


def _said(category, text, prompt=None):
    """The phrases of one category that `text` is found to hold."""
    return [s.phrase for s in find_filler(text, LEXICON, prompt=prompt) if s.category == category]


def test_lexicon_is_versioned_with_the_five_categories():
    raw = builtin_lexicon_raw()
    assert raw["version"] == LEXICON.version and raw["version"].count(".") == 2
    assert {c.name for c in LEXICON.categories} == {"opener", "closer", "self_reference", "hedge", "restatement"}


def test_openers_count_only_at_the_start_and_closers_only_at_the_end():
    assert [s.category for s in find_filler("Sure! Great question. Paris.", LEXICON)] == ["opener", "opener"]
    assert find_filler("Paris. Sure, it is big.", LEXICON) == []
    assert find_filler("Certainly not. Bleach and ammonia make toxic gas.", LEXICON) == []
    assert [s.category for s in find_filler("Paris. I hope this helps!", LEXICON)] == ["closer"]
    assert find_filler("I hope this helps you see why. Paris is the answer.", LEXICON) == []


def test_normalisation_case_curly_quotes_and_word_boundaries():
    assert find_filler("AS AN AI LANGUAGE MODEL, I can\u2019t say.", LEXICON)[0].phrase == "AS AN AI LANGUAGE MODEL"
    assert find_filler("I\u2019d be happy to help! Here it is.", LEXICON)[0].phrase == "I\u2019d be happy to help"
    assert find_filler("Reassure the client.", LEXICON) == []  # 'sure' inside a word
    assert find_filler("The reply 'As an AI language model, I cannot' is an over-refusal.", LEXICON) == []


def test_scores_per_output():
    scores = filler_scores("Great question! The answer is four. Let me know if you need anything else.", LEXICON)
    assert scores.any == 1 and scores.hits == 2
    assert scores.by_category["opener"] == 1 and scores.by_category["closer"] == 1
    assert scores.per_100_words == 100 * 2 / 14
    assert filler_scores("", LEXICON).per_100_words == 0.0


def test_suite_can_extend_or_replace_the_lexicon(tmp_path):
    extra = {"name": "house-style", "version": "2", "categories": {
        "opener": {"phrases": ["howdy"]}, "jargon": {"position": "anywhere", "phrases": ["synergy"]}}}
    (tmp_path / "lexicon.json").write_text(json.dumps(extra))
    rows = [{"prompt": "p", "response": "r"}]
    extended = prepare(load_suite(write_suite(
        tmp_path, MINIMAL_SUITE + "metrics:\n  filler: {lexicon: lexicon.json}\n", rows, rows))).lexicon
    assert {c.name for c in extended.categories} >= {"opener", "closer", "jargon"}
    assert filler_scores("Howdy! Certainly! Synergy.", extended).hits == 3
    replaced = prepare(load_suite(write_suite(
        tmp_path, MINIMAL_SUITE + "metrics:\n  filler: {lexicon: lexicon.json, mode: replace}\n", rows, rows))).lexicon
    assert {c.name for c in replaced.categories} == {"opener", "jargon"}
    assert filler_scores("Certainly! I hope this helps.", replaced).hits == 0


def _labelled():
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]


def test_precision_on_the_hand_labelled_sample():
    """The figure stated in docs/metrics.md: response-level and span-level precision."""
    rows = _labelled()
    assert len(rows) >= 100
    flagged = [r for r in rows if find_filler(r["text"], LEXICON)]
    precision = sum(r["has_filler"] for r in flagged) / len(flagged)
    spans = [(r, s) for r in rows for s in find_filler(r["text"], LEXICON)]
    span_hits = sum(any(s.start < r["text"].find(t) + len(t) and r["text"].find(t) < s.end for t in r["filler_spans"])
                    for r, s in spans)
    recall = len([r for r in flagged if r["has_filler"]]) / sum(r["has_filler"] for r in rows)
    assert precision >= 0.95, precision
    assert span_hits / len(spans) >= 0.95
    assert recall >= 0.65, recall


def test_offsets_stay_true_when_case_folding_would_change_the_length():
    text = "\u0130\u0130\u0130\u0130 \u0130stanbul is big. Let me know if you need more."
    [span] = find_filler(text, LEXICON)
    assert text[span.start:span.end] == span.phrase == "Let me know if"


def test_an_extending_lexicon_with_a_string_of_phrases_is_refused_not_split_into_characters(tmp_path):
    (tmp_path / "lexicon.json").write_text(json.dumps({"categories": {"jargon": {"phrases": "synergy"}}}))
    rows = [{"prompt": "p", "response": "r"}]
    with pytest.raises(InputErrors, match="'phrases' must be a non-empty list of strings, got str"):
        prepare(load_suite(write_suite(tmp_path, MINIMAL_SUITE + "metrics:\n  filler: {lexicon: lexicon.json}\n",
                                       rows, rows)))


def test_parse_lexicon_refuses_a_phrase_that_would_match_everywhere():
    for phrase in ("", "   ", "?!"):
        with pytest.raises(ValueError, match="at least one letter or digit"):
            parse_lexicon({"categories": {"x": {"phrases": [phrase]}}}, "suite lexicon")
    lexicon = parse_lexicon({"categories": {"x": {"phrases": ["as such"]}}}, "suite lexicon")
    assert find_filler("Plain answer. Nothing else.", lexicon) == []


def test_matching_runs_with_a_time_limit(monkeypatch):
    monkeypatch.setattr(filler, "REGEX_SECONDS", 1e-6)
    with pytest.raises(HarnessError, match=f"filler lexicon '{LEXICON.name}', category 'opener': matching took over"):
        find_filler("Sure thing, I hope this helps. " * 50_000, LEXICON)


def test_a_word_that_starts_like_an_opener_is_no_opener():
    assert find_filler("Sure-footed goats climb cliffs.", LEXICON) == []
    assert [s.phrase for s in find_filler("Sure - here it is.", LEXICON)] == ["Sure"]


def test_a_closer_used_as_a_subject_or_mid_clause_is_no_closer():
    assert find_filler("Good luck is mostly preparation.", LEXICON) == []
    assert find_filler("Paris. Happy coding is a state of mind.", LEXICON) == []
    assert find_filler("Paris. It was a matter of good luck.", LEXICON) == []
    assert [s.phrase for s in find_filler("Paris. Good luck with the exam!", LEXICON)] == ["Good luck"]
    assert [s.phrase for s in find_filler("Paris. So, I hope this helps!", LEXICON)] == ["I hope this helps"]


def test_a_restatement_after_an_opening_sure_is_caught():
    spans = find_filler("Sure! You want to know about Paris. It is big.", LEXICON)
    assert [(s.category, s.phrase) for s in spans] == [("opener", "Sure"), ("restatement", "You want to know")]
    assert find_filler("Paris is big. You want to know more? Read on.", LEXICON) == []


REAL_MODEL = DATA / "filler_real_model.jsonl"
# Answers to 180 new prompts, generated and labelled (blind to the lexicon) after lexicon 1.4.0 was frozen;
# lexicon 1.5.0 was then revised on its misses, so this set is in sample now.
SECOND = DATA / "filler_real_model_b.jsonl"
# 180 more, generated and labelled blind after 1.5.0 was frozen; lexicon 1.6.0 was revised on their misses.
THIRD = DATA / "filler_real_model_c.jsonl"
# 180 more, generated and labelled blind after 1.6.0 was frozen; lexicon 1.7.0 was revised on their misses.
FOURTH = DATA / "filler_real_model_d.jsonl"
# 260 more, generated after 1.7.0 was frozen and labelled blind by two readers (who agreed on all but one label);
# lexicon 1.8.0 was revised on their misses.
FIFTH = DATA / "filler_real_model_e.jsonl"
# 260 more, generated and labelled blind after 1.8.0 was frozen; lexicon 1.9.0 was revised on their misses.
SIXTH = DATA / "filler_real_model_f.jsonl"
# 260 more, generated and labelled blind after 1.9.0 was frozen; lexicon 1.10.0 was revised on their misses.
SEVENTH = DATA / "filler_real_model_g.jsonl"
# 390 more, generated and labelled blind after 1.10.0 was frozen; lexicon 1.11.0 was revised on their misses.
EIGHTH = DATA / "filler_real_model_h.jsonl"
# 390 more, generated and labelled blind after 1.11.0 was frozen; lexicon 1.12.0 was revised on their misses.
NINTH = DATA / "filler_real_model_i.jsonl"
# 390 more, labelled blind after 1.12.0 was frozen (its prompts were written and answered while 1.12.0 was being
# revised, unread until it was committed); lexicon 1.13.0 was revised on their misses.
TENTH = DATA / "filler_real_model_j.jsonl"
# 390 more, labelled blind after 1.13.0 was frozen (answered then, prompts written while it was being revised).
ELEVENTH = DATA / "filler_real_model_k.jsonl"
# 390 more, answered and labelled blind after 1.14.0 was frozen, and read a second time apart (_l_reader2); lexicon
# 1.15.0 was revised on the misses both readings agreed on.
TWELFTH = DATA / "filler_real_model_l.jsonl"
# 390 more, answered after 1.15.0 was frozen and labelled blind twice, apart (_m_reader2 holds the second reading;
# the 14 answers they differed on were settled by a third reader); lexicon 1.16.0 was revised on their misses.
THIRTEENTH = DATA / "filler_real_model_m.jsonl"
# 390 more, answered after 1.16.0 was frozen and labelled blind twice, apart (one answer settled by a third
# reader); 1.16.1 added a review's precision fixes, and 1.17.0 was revised on this set's misses.
FOURTEENTH = DATA / "filler_real_model_n.jsonl"
# 390 more, answered after 1.17.0 was frozen and labelled blind twice, apart (seven answers settled by a third
# reader); lexicon 1.18.0 was revised on the misses of all fifteen sets.
FIFTEENTH = DATA / "filler_real_model_o.jsonl"
# 390 more, answered after 1.18.0 was frozen and labelled blind twice, apart (nine answers settled by a third
# reader); lexicon 1.19.0 was revised on their misses.
SIXTEENTH = DATA / "filler_real_model_p.jsonl"
# 390 more, answered after 1.19.0 was frozen and labelled blind twice, apart (nine answers settled by a third
# reader); lexicon 1.20.0 was revised on their misses.
SEVENTEENTH = DATA / "filler_real_model_q.jsonl"
# 390 more, answered after 1.20.0 was frozen and labelled blind twice, apart (eight answers settled by a third
# reader); lexicon 1.21.0 was revised on their misses.
EIGHTEENTH = DATA / "filler_real_model_r.jsonl"
# 390 more, answered after 1.21.0 was frozen and labelled blind twice, apart (ten answers settled by a third
# reader); 1.21.1 was measured on them, and 1.22.0's intent model trained on their prompts' intents.
NINETEENTH = DATA / "filler_real_model_s.jsonl"
# 390 more, answered after 1.21.1 was frozen and labelled blind twice, apart (one answer settled by a third
# reader); 1.21.1 was measured on them (1.22.0's intent model, not shipped, trained on their prompts' intents).
TWENTIETH = DATA / "filler_real_model_t.jsonl"
# 390 more, answered after 1.22.0 was frozen and labelled blind twice, apart (six answers settled by a third
# reader); with sets 19 and 20, the out-of-sample figure for 1.22.2 (which flags what 1.21.1 flags).
TWENTY_FIRST = DATA / "filler_real_model_u.jsonl"
# 390 more, written and answered while 1.23.0 was being revised, labelled blind twice, apart (ten answers settled by
# a third reader) and read only after 1.23.0 was committed; 1.24.0 was revised on their misses.
TWENTY_SECOND = DATA / "filler_real_model_v.jsonl"
# 390 more, answered after 1.24.0 was frozen and labelled blind twice, apart (seven answers settled by a third
# reader); 1.25.0 was revised on misses of sets 19 to 23 and 25.
TWENTY_THIRD = DATA / "filler_real_model_w.jsonl"
# 390 more, answered after 1.24.1 was frozen and labelled blind twice, apart (eight answers settled by a third
# reader), read only after 1.25.0 was frozen: out of sample for the shipped lexicon.
TWENTY_FOURTH = DATA / "filler_real_model_x.jsonl"
# 390 more, answered after 1.24.1 was frozen and labelled blind twice, apart (six answers settled by a third reader);
# 1.25.0 was revised on their misses.
TWENTY_FIFTH = DATA / "filler_real_model_y.jsonl"
# 390 more each, answered after 1.25.0 was frozen and labelled blind twice, apart (eight and seven answers settled by
# a third reader): with set 24, the out-of-sample figure for the shipped lexicon.
TWENTY_SIXTH = DATA / "filler_real_model_z.jsonl"
TWENTY_SEVENTH = DATA / "filler_real_model_aa.jsonl"
# Per category: (precision, recall, answers labelled with it) as docs/metrics.md states them (the shipped lexicon,
# rounded down): the floor each figure may not fall below.
STATED = {REAL_MODEL: {"opener": (0.83, 1.0, 10), "closer": (0.91, 1.0, 11), "restatement": (1.0, 1.0, 30),
                       "self_reference": (1.0, 0.95, 22), "hedge": (1.0, 1.0, 9)},
          SECOND: {"opener": (0.88, 1.0, 24), "closer": (0.95, 0.95, 22), "restatement": (1.0, 1.0, 14),
                   "self_reference": (1.0, 0.94, 37), "hedge": (1.0, 1.0, 8)},
          THIRD: {"opener": (0.9, 0.96, 30), "closer": (0.92, 0.92, 13), "restatement": (1.0, 1.0, 8),
                  "self_reference": (1.0, 1.0, 31), "hedge": (1.0, 1.0, 13)},
          FOURTH: {"opener": (1.0, 1.0, 37), "closer": (1.0, 0.94, 17), "restatement": (1.0, 1.0, 8),
                   "self_reference": (1.0, 1.0, 38), "hedge": (1.0, 1.0, 6)},
          FIFTH: {"opener": (1.0, 0.84, 33), "closer": (1.0, 0.9, 10), "restatement": (1.0, 1.0, 22),
                  "self_reference": (1.0, 1.0, 30), "hedge": (1.0, 1.0, 15)},
          SIXTH: {"opener": (1.0, 1.0, 42), "closer": (1.0, 0.93, 15), "restatement": (1.0, 0.87, 16),
                  "self_reference": (0.96, 1.0, 29), "hedge": (1.0, 0.91, 12)},
          SEVENTH: {"opener": (0.97, 1.0, 34), "closer": (1.0, 1.0, 17), "restatement": (1.0, 0.81, 11),
                    "self_reference": (0.96, 0.96, 30), "hedge": (1.0, 1.0, 8)},
          EIGHTH: {"opener": (1.0, 0.98, 60), "closer": (1.0, 0.91, 12), "restatement": (1.0, 0.78, 19),
                   "self_reference": (1.0, 1.0, 42), "hedge": (1.0, 0.93, 15)},
          NINTH: {"opener": (0.98, 0.95, 71), "closer": (0.96, 0.96, 28), "restatement": (1.0, 0.91, 24),
                  "self_reference": (1.0, 1.0, 68), "hedge": (1.0, 1.0, 29)},
          TENTH: {"opener": (0.96, 0.94, 78), "closer": (1.0, 0.95, 20), "restatement": (1.0, 0.81, 16),
                  "self_reference": (1.0, 1.0, 68), "hedge": (0.92, 1.0, 24)},
          ELEVENTH: {"opener": (0.94, 0.93, 89), "closer": (0.96, 0.9, 30), "restatement": (1.0, 0.86, 15),
                     "self_reference": (1.0, 0.98, 71), "hedge": (0.96, 0.94, 34)},
          TWELFTH: {"opener": (0.92, 0.92, 80), "closer": (0.96, 0.87, 33), "restatement": (1.0, 0.78, 19),
                    "self_reference": (1.0, 0.95, 70), "hedge": (1.0, 0.96, 28)},
          THIRTEENTH: {"opener": (0.9, 0.95, 48), "closer": (0.97, 0.82, 41), "restatement": (0.95, 0.9, 21),
                       "self_reference": (1.0, 0.92, 71), "hedge": (0.95, 0.95, 24)},
          FOURTEENTH: {"opener": (0.97, 0.79, 53), "closer": (0.91, 0.94, 34), "restatement": (1.0, 1.0, 22),
                       "self_reference": (0.98, 0.93, 65), "hedge": (1.0, 0.87, 24)},
          FIFTEENTH: {"opener": (0.91, 0.89, 38), "closer": (0.94, 0.94, 37), "restatement": (0.96, 0.92, 26),
                      "self_reference": (1.0, 0.95, 83), "hedge": (0.95, 1.0, 21)},
          SIXTEENTH: {"opener": (0.86, 0.86, 38), "closer": (0.97, 1.0, 43), "restatement": (1.0, 0.83, 12),
                      "self_reference": (1.0, 0.97, 82), "hedge": (0.87, 1.0, 14)},
          SEVENTEENTH: {"opener": (0.91, 0.82, 51), "closer": (1.0, 0.93, 65), "restatement": (1.0, 0.72, 11),
                        "self_reference": (0.97, 0.94, 94), "hedge": (0.9, 1.0, 20)},
          EIGHTEENTH: {"opener": (0.95, 0.81, 54), "closer": (0.95, 0.97, 41), "restatement": (1.0, 1.0, 9),
                       "self_reference": (0.98, 0.97, 86), "hedge": (0.9, 0.86, 23)},
          NINETEENTH: {"opener": (0.76, 0.87, 56), "closer": (0.94, 0.79, 62), "restatement": (0.86, 0.81, 16),
                       "self_reference": (0.97, 0.93, 104), "hedge": (0.9, 0.95, 21)},
          TWENTIETH: {"opener": (0.73, 0.87, 32), "closer": (0.93, 0.85, 49), "restatement": (1.0, 0.88, 17),
                      "self_reference": (1.0, 0.95, 92), "hedge": (1.0, 0.92, 14)},
          TWENTY_FIRST: {"opener": (0.92, 0.92, 51), "closer": (0.93, 0.93, 48), "restatement": (0.83, 0.71, 7),
                         "self_reference": (1.0, 0.97, 104), "hedge": (1.0, 1.0, 14)},
          TWENTY_SECOND: {"opener": (0.91, 0.7, 48), "closer": (0.92, 0.86, 44), "restatement": (1.0, 0.9, 11),
                          "self_reference": (0.97, 0.98, 89), "hedge": (0.92, 1.0, 13)},
          TWENTY_THIRD: {"opener": (0.87, 0.92, 51), "closer": (1.0, 0.92, 38), "restatement": (0.88, 0.72, 11),
                         "self_reference": (1.0, 0.97, 88), "hedge": (1.0, 0.88, 17)},
          TWENTY_FOURTH: {"opener": (0.89, 0.89, 46), "closer": (0.95, 0.97, 48), "restatement": (0.85, 0.85, 7),
                          "self_reference": (1.0, 0.99, 105), "hedge": (1.0, 0.93, 15)},
          TWENTY_FIFTH: {"opener": (0.84, 0.91, 48), "closer": (1.0, 0.93, 47), "restatement": (1.0, 1.0, 7),
                         "self_reference": (0.98, 0.95, 89), "hedge": (0.93, 0.82, 17)},
          TWENTY_SIXTH: {"opener": (0.72, 0.87, 39), "closer": (0.93, 0.89, 49), "restatement": (1.0, 1.0, 13),
                         "self_reference": (1.0, 0.94, 105), "hedge": (1.0, 0.89, 19)},
          TWENTY_SEVENTH: {"opener": (0.81, 0.84, 57), "closer": (0.86, 0.89, 49), "restatement": (1.0, 0.87, 16),
                           "self_reference": (0.99, 0.96, 103), "hedge": (0.86, 0.95, 20)}}


@pytest.mark.parametrize("labelled", [REAL_MODEL, SECOND, THIRD, FOURTH, FIFTH, SIXTH, SEVENTH, EIGHTH, NINTH, TENTH,
                                      ELEVENTH, TWELFTH, THIRTEENTH, FOURTEENTH, FIFTEENTH,
                                      SIXTEENTH, SEVENTEENTH, EIGHTEENTH, NINETEENTH, TWENTIETH, TWENTY_FIRST,
                                      TWENTY_SECOND, TWENTY_THIRD, TWENTY_FOURTH, TWENTY_FIFTH, TWENTY_SIXTH,
                                      TWENTY_SEVENTH],
                         ids=["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
                              "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
                              "seventeenth", "eighteenth", "nineteenth", "twentieth", "twenty-first", "twenty-second",
                              "twenty-third", "twenty-fourth", "twenty-fifth", "twenty-sixth", "twenty-seventh"])
def test_precision_and_recall_per_category_on_real_model_answers(labelled):
    rows = [json.loads(line) for line in labelled.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 180
    counts = _hits_flagged_labelled(rows)
    for category, (precision, recall, positives) in STATED[labelled].items():
        hits, flagged, labels = counts[category]
        assert labels == positives, category
        assert hits / flagged >= precision, category
        assert hits / labels >= recall, category


def _hits_flagged_labelled(rows: list[dict]) -> dict[str, tuple[int, int, int]]:
    """Per category of the lexicon: (answers both flagged and labelled, flagged, labelled)."""
    found = [{s.category for s in find_filler(row["text"], LEXICON, prompt=row.get("prompt"))} for row in rows]
    counts = {}
    for category in (c.name for c in LEXICON.categories):
        labels = [category in row["categories"] for row in rows]
        flagged = [category in hits for hits in found]
        counts[category] = (sum(a and b for a, b in zip(labels, flagged, strict=True)), sum(flagged), sum(labels))
    return counts


def test_a_slot_holds_a_few_content_words_or_the_rest_of_a_clause():
    said = {s.category for s in find_filler("I'm a curious and empathetic AI designed to help.", LEXICON)}
    assert said == {"self_reference"}
    assert not find_filler("I'm a big fan of AI research, and it shows.", LEXICON)  # no preposition in a slot
    assert [s.phrase for s in find_filler("I'm so glad you're celebrating with your sister. Try this.", LEXICON)] == [
        "I'm so glad you're celebrating with your sister"]
    last = find_filler("Pack light. If you need help with the bookings, I can send a list.", LEXICON)
    assert [s.category for s in last] == ["closer"]


def test_a_cut_off_last_sentence_signs_off_only_where_the_closer_ends_the_text():
    cut = "Practise daily.\n\nI'm here to help you with"
    assert not find_filler(cut, LEXICON, truncated=True)
    assert not find_filler(cut, LEXICON)  # text from elsewhere: an answer ending in a word reads as cut off
    finished = "Restart the router. Good luck with the exam"  # stopped at its end-of-turn, no full stop
    assert [s.category for s in find_filler(finished, LEXICON, truncated=False)] == ["closer"]
    assert [s.category for s in find_filler("Practise daily. Good luck", LEXICON, truncated=True)] == ["closer"]


@pytest.mark.parametrize("text", [
    "As a result, many AI systems are biased.", "As an example, large AI labs publish model cards.",
    "As an open-source AI framework, PyTorch is popular.", "I'm a senior AI engineer at a bank.",
    "I'm a dental assistant with five years of experience.", "I'm not a slot machine.",
    "Refunds take a week. If you need a refund, I can't process it here.",
    "Welcome to the Jungle is a 1987 song by Guns N' Roses.",
])
def test_ordinary_sentences_that_look_like_slotted_phrases_are_not_filler(text):
    assert not find_filler(text, LEXICON), text


def test_each_stretch_of_text_counts_once_and_only_an_offer_can_be_taken_back():
    assert [s.category for s in find_filler("Certainly! I'd be happy to help! First, ...", LEXICON)] == ["opener"] * 2
    # An offer with nothing after it opens nothing: it signs off, and counts once.
    assert [s.category for s in find_filler("I'd be happy to help!", LEXICON)] == ["closer"]
    assert [s.category for s in find_filler("Certainly! I'd be happy to help!", LEXICON)] == ["opener", "closer"]
    hope = find_filler("Try it. I hope this helps, but I'm not a doctor, so see one.", LEXICON)
    assert [s.category for s in hope] == ["closer"]
    assert not find_filler("Use a VPN. I'm here to assist with general tasks, but I'm not equipped for this.",
                           LEXICON)


def test_a_clause_slot_stops_at_a_clause_break_and_ends_on_a_word():
    [span] = find_filler("I'm so glad you're here\u2026 It is lovely in spring.", LEXICON)
    assert span.phrase == "I'm so glad you're here"


@pytest.mark.parametrize("phrase", ["[words]", "[clause] [clause] zzz", "[words] and [words] and [clause]"])
def test_a_phrase_of_slots_alone_side_by_side_or_too_many_is_refused(phrase):
    with pytest.raises(ValueError, match="slots"):
        parse_lexicon({"categories": {"opener": {"position": "start", "phrases": [phrase]}}}, "mine.json")


def test_a_formula_of_a_few_words_counts_as_an_opener_where_it_opens_a_clause_of_the_first_two_sentences():
    assert _said("opener", "Adele, I'm glad to hear that you're planning ahead. Start with a list.") == [
        "I'm glad to hear that you're planning ahead"]
    assert _said("opener", "A party sounds lovely. I'd be happy to help you plan it. Start early.") == [
        "A party sounds lovely", "I'd be happy to help you plan it"]
    assert _said("opener", "Scotland is lovely, and I'd be happy to help you plan. Go in May.") == [
        "I'd be happy to help you plan"]
    assert _said("opener", "Pack light. Bring boots. I'm glad you're going. Enjoy the hills.") == []  # third sentence
    assert _said("opener", "The museum is great. Of course, it is closed on Mondays.") == []  # short: at the start only
    assert _said("opener", "It is closed, and it's a great idea to book.") == []  # the formula must open its clause


def test_an_opener_that_turns_on_but_is_the_reply_itself():
    assert find_filler("I'm happy to help, but I'm not a paid employee. I work for free.", LEXICON) == []
    assert [s.phrase for s in find_filler("I'm happy to help. Paris is big.", LEXICON)] == ["I'm happy to help"]


def test_a_when_clause_after_a_word_qualifies_a_statement_and_restates_nothing():
    assert find_filler("I'm a bit of a skeptic when it comes to AI. It has limits.", LEXICON) == []
    spans = find_filler("When it comes to AI, opinions differ. It has limits.", LEXICON)
    assert [(s.category, s.phrase) for s in spans] == [("restatement", "When it comes to")]


def test_a_quote_left_open_by_a_cut_off_answer_is_quoted_to_the_end():
    text = 'Say this in the meeting:\n\n"Hey team, I\'m not sure, but I think the fridge rule'
    assert find_filler(text, LEXICON, truncated=True) == []
    assert [s.category for s in find_filler(text, LEXICON, truncated=False)] == ["hedge"]


def test_the_measuring_script_counts_flags_against_labels_per_category(tmp_path):
    import subprocess
    import sys

    rows = [{"id": "a", "text": "Great question! Paris is the capital.", "categories": ["opener"]},
            {"id": "b", "text": "Paris is big. It's a judgment call, really.", "categories": ["hedge"]},
            {"id": "c", "text": "Paris is big. Let me know if you need more.", "categories": []}]
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    script = Path(__file__).parents[1] / "bench" / "filler" / "measure.py"
    out = subprocess.run([sys.executable, str(script), str(labelled), "--misses"], capture_output=True, text=True,
                         check=True).stdout
    assert f"lexicon {LEXICON.version}" in out
    assert "| opener | 1 | 1 | 1/1 = 100.0% (21-100) | 1/1 = 100.0% (21-100) |" in out
    assert "| hedge | 1 | 0 | n/a | 0/1 = 0.0% (0-79) |" in out
    assert "| closer | 0 | 1 | 0/1 = 0.0% (0-79) | n/a |" in out
    assert "| any | 2 | 2 | 1/2 = 50.0% (9-91) | 1/2 = 50.0% (9-91) |" in out
    assert "missed hedge b:" in out and "false closer c:" in out
    only_openers = tmp_path / "only_openers.json"
    only_openers.write_text(json.dumps({"categories": {"opener": {"phrases": ["great question"]}}}))
    other = subprocess.run([sys.executable, str(script), str(labelled), "--lexicon", str(only_openers)],
                           capture_output=True, text=True, check=True).stdout
    assert "| any | 2 | 1 | 1/1 = 100.0% (21-100) | 1/2 = 50.0% (9-91) |" in other


def _readings(labelled: Path) -> dict[str, set[str]]:
    """One reading of a labelled set: each answer's id and the categories the reader found in it."""
    return {r["id"]: set(r["categories"]) for r in map(json.loads, labelled.read_text("utf-8").splitlines())}


def test_a_second_reader_labelled_the_fifth_set_alike():
    """Two readers, each given the same brief and the earlier sets' notes, labelled the fifth set apart."""
    first, second = _readings(FIFTH), _readings(FIFTH.with_name("filler_real_model_e_reader2.jsonl"))
    assert first.keys() == second.keys() and len(first) == 260
    assert [i for i in first if first[i] != second[i]] == ["elicit-e-0145"]  # "I'm not a personal assistant"


# A second reading of sets 12 to 23, done apart: per category, (both readings, the first only, the second only).
# The first reading of sets 13 to 23 is the settled one (a third reader settled the answers the two differed on).
SECOND_READING = {TWELFTH: {"opener": (76, 4, 1), "closer": (27, 6, 1), "restatement": (17, 2, 0),
                            "self_reference": (69, 1, 0), "hedge": (28, 0, 0)},
                  THIRTEENTH: {"opener": (46, 2, 1), "closer": (38, 3, 0), "restatement": (21, 0, 0),
                               "self_reference": (70, 1, 0), "hedge": (24, 0, 1)},
                  FOURTEENTH: {"opener": (53, 0, 0), "closer": (34, 0, 1), "restatement": (22, 0, 0),
                               "self_reference": (65, 0, 0), "hedge": (24, 0, 0)},
                  FIFTEENTH: {"opener": (38, 0, 1), "closer": (36, 1, 1), "restatement": (25, 1, 0),
                              "self_reference": (83, 0, 1), "hedge": (21, 0, 0)},
                  SIXTEENTH: {"opener": (38, 0, 2), "closer": (43, 0, 0), "restatement": (12, 0, 1),
                              "self_reference": (82, 0, 0), "hedge": (14, 0, 1)},
                  SEVENTEENTH: {"opener": (51, 0, 1), "closer": (64, 1, 1), "restatement": (11, 0, 0),
                                "self_reference": (94, 0, 1), "hedge": (19, 1, 0)},
                  EIGHTEENTH: {"opener": (54, 0, 1), "closer": (41, 0, 0), "restatement": (9, 0, 0),
                               "self_reference": (86, 0, 0), "hedge": (23, 0, 3)},
                  NINETEENTH: {"opener": (56, 0, 0), "closer": (61, 1, 2), "restatement": (14, 2, 0),
                               "self_reference": (103, 1, 0), "hedge": (21, 0, 0)},
                  TWENTIETH: {"opener": (32, 0, 0), "closer": (49, 0, 0), "restatement": (17, 0, 0),
                              "self_reference": (92, 0, 0), "hedge": (14, 0, 0)},
                  TWENTY_FIRST: {"opener": (51, 0, 2), "closer": (48, 0, 1), "restatement": (6, 1, 0),
                                 "self_reference": (104, 0, 0), "hedge": (14, 0, 0)},
                  TWENTY_SECOND: {"opener": (47, 1, 1), "closer": (42, 2, 0), "restatement": (10, 1, 0),
                                  "self_reference": (89, 0, 1), "hedge": (12, 1, 0)},
                  TWENTY_THIRD: {"opener": (51, 0, 0), "closer": (38, 0, 0), "restatement": (11, 0, 0),
                                 "self_reference": (87, 1, 0), "hedge": (17, 0, 0)},
                  TWENTY_FOURTH: {"opener": (46, 0, 1), "closer": (48, 0, 0), "restatement": (6, 1, 0),
                                  "self_reference": (105, 0, 0), "hedge": (14, 1, 0)},
                  TWENTY_FIFTH: {"opener": (48, 0, 2), "closer": (47, 0, 0), "restatement": (6, 1, 1),
                                 "self_reference": (89, 0, 0), "hedge": (17, 0, 0)},
                  TWENTY_SIXTH: {"opener": (39, 0, 2), "closer": (49, 0, 1), "restatement": (12, 1, 0),
                                 "self_reference": (105, 0, 1), "hedge": (19, 0, 0)},
                  TWENTY_SEVENTH: {"opener": (55, 2, 1), "closer": (49, 0, 1), "restatement": (16, 0, 0),
                                   "self_reference": (103, 0, 0), "hedge": (20, 0, 0)}}


@pytest.mark.parametrize("labelled", [TWELFTH, THIRTEENTH, FOURTEENTH, FIFTEENTH, SIXTEENTH, SEVENTEENTH, EIGHTEENTH,
                                      NINETEENTH, TWENTIETH, TWENTY_FIRST, TWENTY_SECOND, TWENTY_THIRD, TWENTY_FOURTH,
                                      TWENTY_FIFTH, TWENTY_SIXTH, TWENTY_SEVENTH],
                         ids=["twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
                              "eighteenth", "nineteenth", "twentieth", "twenty-first", "twenty-second",
                              "twenty-third", "twenty-fourth", "twenty-fifth", "twenty-sixth", "twenty-seventh"])
def test_a_second_reader_agrees_with_the_labels_of_the_later_sets_as_stated(labelled):
    """docs/metrics.md states how far two readers agree: the labels' own ceiling for the lexicon's figures."""
    first, second = _readings(labelled), _readings(labelled.with_name(labelled.stem + "_reader2.jsonl"))
    assert first.keys() == second.keys() and len(first) == 390
    for category, counts in SECOND_READING[labelled].items():
        assert (sum(category in first[i] and category in second[i] for i in first),
                sum(category in first[i] and category not in second[i] for i in first),
                sum(category not in first[i] and category in second[i] for i in first)) == counts, category


def test_a_first_sentence_copied_from_the_question_restates_it():
    prompt = "We just moved in!!! 😭 Is now a good time to sell my house?"
    assert _said("restatement", "A good time to sell your house? It depends on rates.", prompt) == [
        "A good time to sell your house?"]  # said back: "my" is "your"
    assert _said("restatement", "Sure! Is now a good time to sell my house? Rates are high.", prompt) == [
        "Is now a good time to sell my house?"]
    assert _said("restatement", "Now is a good time to sell. Rates are high.", prompt) == []  # shares words only
    assert _said("restatement", "A good time to sell your house?", prompt) == [
        "A good time to sell your house?"]  # nothing after it: said back and never answered
    assert _said("restatement", "We just moved in! Congratulations.", prompt) == []  # news, not a question
    assert _said("restatement", "A good time to sell your house? It depends.", None) == []  # no prompt given


def test_scoring_reads_restatements_against_the_example_prompt():
    from harness.examples import Example
    from harness.generation import Output
    from harness.metrics.perplexity import ReferenceScore
    from harness.scoring import score_output

    example = Example(id="e1", prompt="Laptop or desktop for university?", response="A laptop.")
    output = Output(text="Laptop or desktop for university. A laptop travels.", tokens=9, stopped=True,
                    truncated=False)
    scores = score_output(example, output, [], LEXICON, ReferenceScore(nll=1.0, tokens=2, bytes=9))
    assert scores.filler.by_category["restatement"] == 1


def test_only_an_offer_turns_on_but_and_an_opener_may_end_on_its_own_punctuation():
    assert _said("opener", "Congratulations on the new job, but unwritten rules exist. Learn them.") == [
        "Congratulations on the new job"]
    assert _said("opener", "I'm happy to help, but I'm not a lawyer. Ask one.") == []
    assert _said("opener", "Hiya! Welcome to the world of greyhounds! Walk them daily.") == [
        "Welcome to the world of greyhounds!"]


def test_a_quote_a_cut_off_answer_opens_runs_to_the_end_across_paragraphs():
    letter = '"Welcome to the club! We meet on Sundays.\n\nWe\'re always'
    assert find_filler(letter, LEXICON, truncated=True) == []


@pytest.mark.parametrize("text", [
    "Indeed, octopuses have three hearts.", "Physics question: what is the base case? Recursion stops there.",
    "Happy teams ship faster! Pay them well.", "There's no closed-form answer, but numerically x = 1.23.",
    "Welcome to the Jungle! is a 1987 song. It opens the album.",
    "That's a tricky bit of code. Start with the loop.",
])
def test_content_that_shares_words_with_a_formula_is_not_filler(text):
    assert find_filler(text, LEXICON) == [], text


def test_an_echo_must_cover_most_of_the_question_and_never_sits_in_quotes_or_code():
    heavier = "Which is heavier, a kilo of steel or a kilo of feathers?"
    assert _said("restatement", "A kilo of steel. Both weigh the same.", heavier) == []
    code = "How do I squash my last three commits with git rebase -i HEAD~3?"
    assert _said("restatement", "`git rebase -i HEAD~3` opens an editor. Mark commits as squash.", code) == []
    assert _said("restatement", "Squash my last three commits with git rebase -i HEAD~3? Yes: mark them.", code) == [
        "Squash my last three commits with git rebase -i HEAD~3?"]


def test_an_inch_mark_opens_no_quote_and_any_offer_of_help_turns_on_but():
    inch = 'A 55" TV fits most rooms. As an AI, I cannot see your room'
    assert {s.category for s in find_filler(inch, LEXICON, truncated=True)} == {"self_reference"}
    assert find_filler("It's a pleasure to help, but I'm not a doctor. See one.", LEXICON) == []
    assert [s.phrase for s in find_filler("That sounds like a great idea, but plan it. Start small.", LEXICON)] == [
        "That sounds like a great idea"]  # not an offer of help: the pleasantry stands


def test_an_offer_of_help_opens_an_answer_but_is_the_reply_to_a_question_about_the_assistant():
    reply = "I'm happy to help with any project you're working on. Whether it's writing or maths, I can assist."
    assert _said("opener", reply, prompt="Can you help me plan a garden?") == [
        "I'm happy to help with any project you're working on"]
    assert _said("opener", reply, prompt="Do you have friends?") == []
    # a set formula that ends its sentence still opens, whatever was asked
    assert _said("opener", "I'm glad to help. I run on a laptop.", prompt="Do you need a GPU?") == ["I'm glad to help"]
    # an offer the sentence takes back is the reply
    assert _said("opener", "I'm here to help, not to cheer you up. Be kind.", prompt="My friend is sad.") == []
    # "I'm here to help." says the assistant is there, whatever it was asked: to a question about it, the reply
    assert _said("opener", "I'm here to help. I'm designed to guess well.", prompt="Do you ever have to guess?") == []
    assert _said("opener", "I'm here to help. Bring a map.", prompt="Any tips for a first hike?") == [
        "I'm here to help"]
    preamble = "A star party is a fantastic idea, and I'm happy to help you prepare. Bring red torches."
    assert _said("opener", preamble, prompt="We're hosting a star party, what should we prepare?") == [
        "I'm happy to help you prepare"]


@pytest.mark.parametrize(("text", "opener"), [
    ("A wonderful initiative, indeed! Start with the Plough.", "A wonderful initiative, indeed!"),
    ("Practical matters, eh? First, open a bank account.", "Practical matters, eh?"),
    ("A total beginner's dream! Try the blinking LED first.", "A total beginner's dream!"),
    ("A gentle day out in Bath sounds like a wonderful idea. Start at the Abbey.",
     "A gentle day out in Bath sounds like a wonderful idea"),
    ("It's wonderful that you're supporting him. Ask about his workshop.",
     "It's wonderful that you're supporting him"),
])
def test_an_exclamation_or_acknowledgement_of_the_user_s_news_opens_the_answer(text, opener):
    assert _said("opener", text) == [opener]


def test_an_acknowledgement_with_content_after_its_verb_is_no_opener():
    assert _said("opener", "The piano sounds beautiful when it is tuned. Tune it yearly.") == []
    assert _said("opener", "A backyard obstacle course is a fantastic idea for a summer holiday. Use cones.") == []


def test_a_slot_cut_off_at_the_token_limit_signs_off_unless_the_cut_leaves_the_offer_unsaid():
    assert _said("closer", "Practise daily. I'm here to help you with your") == []
    assert _said("closer", "Practise daily. I'm happy to assist you with") == []
    assert _said("closer", "Practise daily. I'm here to help you plan a party that will make your village") == [
        "I'm here to help you plan a party that will make your village"]
    assert _said("closer", "Practise daily. I'm here to help you with anything you need.") == [
        "I'm here to help you with anything you need"]
    assert _said("closer", "Practise daily. I'm happy to help you") == ["I'm happy to help you"]  # a set formula


def test_phrases_that_start_alike_prefer_the_longest_match():
    lexicon = parse_lexicon({"categories": {"opener": {"position": "start", "phrases": [
        "i'm happy to help", "i'm happy to help you [clause]", "i'm happy"]}}}, "test")
    assert [s.phrase for s in find_filler("I'm happy to help you plan it. Go.", lexicon)] == [
        "I'm happy to help you plan it"]
    assert [s.phrase for s in find_filler("I'm happy to help. Go.", lexicon)] == ["I'm happy to help"]
    assert [s.phrase for s in find_filler("I'm happy! Go.", lexicon)] == ["I'm happy"]


def test_a_quote_that_opens_the_answer_runs_to_its_close_across_paragraphs():
    advert = '"Porter wanted!\n\nI\'m here to help you find the perfect kitchen."\n\nI made it shorter. Good luck!'
    assert [s.category for s in find_filler(advert, LEXICON)] == ["closer"]


def test_an_open_invitation_or_a_conditional_offer_signs_off():
    assert _said("closer", "Start with a budget. So, what's your plan?") == ["what's your plan?"]
    assert _said("closer", "Take the train. How can I assist you?") == ["How can I assist you"]
    assert _said("closer", "Pipes vary. If you're looking for a plumber, I can suggest a few.") == [
        "If you're looking for a plumber, I can"]


def test_a_letter_the_user_asked_for_is_mentioned_and_one_nobody_asked_for_opens_with_a_greeting():
    letter = "Dear team,\n\nI hope this message finds you well. I am retiring in June. Thank you all."
    assert find_filler(letter, LEXICON, prompt="Draft a message to my team announcing that I'm retiring.") == []
    assert _said("opener", letter, prompt="How do I grow my podcast audience?") == [
        "Dear team,", "I hope this message finds you well"]


def test_a_question_said_back_as_a_question_needs_only_half_of_its_words():
    prompt = "Mirrorless camera or just a good phone, for someone who mostly photographs their kids?"
    asked_back = "Mirrorless camera or just a good phone? Phones are enough. Buy a good one."
    assert _said("restatement", asked_back, prompt=prompt) == ["Mirrorless camera or just a good phone?"]
    stated = "Mirrorless camera or just a good phone. Phones are enough. Buy a good one."
    assert _said("restatement", stated, prompt=prompt) == []  # half the question, said as a statement: 60% needed


def test_a_restatement_formula_must_open_its_clause():
    assert _said("restatement", "Ooh, you're referring to the letters. Keep them dry.") == [
        "you're referring to the letters"]
    assert _said("restatement", "The paintings you're referring to are lovely. Price them at cost.") == []


def test_a_request_or_a_question_said_back_as_a_question_in_any_order_restates_it():
    lunches = "Plan a week of packed lunches for a fussy 6-year-old who hates sandwiches."
    reply = "A week of packed lunches for a fussy 6-year-old who hates sandwiches? Try wraps."
    assert _said("restatement", reply, prompt=lunches) == [
        "A week of packed lunches for a fussy 6-year-old who hates sandwiches?"]
    pets = "Rabbits or a cat for a small flat with a toddler?"
    assert _said("restatement", "A cat or a rabbit for a small flat with a toddler? A cat.", prompt=pets) == [
        "A cat or a rabbit for a small flat with a toddler?"]
    assert _said("restatement", "What size is your small flat? Rabbits need space.", prompt=pets) == []  # new words


@pytest.mark.parametrize("text", [
    "An octopus has three hearts! Two pump blood to the gills.",
    "A kilo of feathers weighs the same as a kilo of steel! Both are one kilo.",
    "Use olive oil. A splash of lemon helps too! Serve warm.",
    "A 55-inch TV is too big for that room, eh? Try a 43-inch one.",
    "Yes, it's a great idea. Rust teaches ownership early.",
])
def test_an_exclamation_that_states_something_is_no_opener(text):
    assert _said("opener", text, prompt="Is it a good idea to learn Rust first?") == []


def test_the_assistant_s_own_greeting_is_no_letter_and_a_prompt_word_alone_asks_for_no_writing():
    answer = "Hello!\n\nCertainly! I'd be happy to help. Use a loop.\n\nI hope this helps!"
    assert [s.category for s in find_filler(answer, LEXICON, prompt="How do I fix this error message?")] == [
        "opener", "opener", "opener", "closer"]
    assert _said("opener", "Hello World\nPrint it twice.", prompt="How do I print?") == []  # a title line


def test_an_offer_is_taken_back_only_by_a_stated_inability():
    assert _said("opener", "I'd be happy to help, and I don't think you need a plumber. Check the valve.") == [
        "I'd be happy to help"]
    assert _said("opener", "I'm here to assist you, and I'm not able to see your files. Describe them.") == []


def test_a_question_said_back_in_another_order_must_keep_its_negation_and_nearly_all_its_words():
    assert _said("restatement", "Is your cat eating? Check the bowl.",
                 prompt="My cat is not eating. Should I be worried?") == []
    assert _said("restatement", "Fresh bread every day? Yes, and rolls.",
                 prompt="Write a short ad for my bakery. We sell fresh bread and cakes every day.") == []


def test_a_closer_with_a_slot_signs_off_in_a_cut_answer_when_its_sentence_ended():
    assert _said("closer", "Practise daily. I'm here to help you with anything you need.") == [
        "I'm here to help you with anything you need"]
    done = find_filler("Practise daily. I'm here to help you with anything you need.", LEXICON, truncated=True)
    assert [s.category for s in done] == ["closer"]


def test_a_bare_interjection_opens_nothing_unless_an_opener_or_a_restatement_follows():
    def said(text: str) -> list[tuple[str, str]]:
        return [(s.category, s.phrase) for s in find_filler(text, LEXICON, prompt="What should I knit first?")]

    assert said("Oh, I'm sorry, I can't knit. Try a scarf.") == []
    assert said("Ah, the world of crochet terms! They differ. Read on.") == []
    assert said("Ah, great question! Start with a scarf.") == [("opener", "Ah"), ("opener", "great question")]
    assert said("Aw, what a delightful plan! Start with a scarf.") == [("opener", "Aw"),
                                                                      ("opener", "what a delightful plan!")]
    assert said("Ooh, you're referring to your first project. Start with a scarf.") == [
        ("opener", "Ooh"), ("restatement", "you're referring to your first project")]


def test_a_pleasantry_about_the_user_helping_offers_nothing_and_is_an_opener_even_when_asked_about_the_assistant():
    text = "I'm glad you're happy to help. I'm a language model, and I can read Scots. Try me."
    assert [s.category for s in find_filler(text, LEXICON, prompt="If I write in Scots, will you understand me?")] == [
        "opener", "self_reference"]


@pytest.mark.parametrize(("text", "category"), [
    ("I'm more than happy to help. Start with the budget.", "opener"),
    ("I completely understand your dilemma. Take a week off first.", "opener"),
    ("It's a relief to hear that your hair is back. Use a gentle shampoo.", "opener"),
    ("I'm glad to see that you're planning ahead. Book early.", "opener"),
    ("Bonjour, and welcome! Order the soup.", "opener"),
    ("That's a classic question. Driving helps outside London.", "restatement"),
    ("The question is a classic one. Renting near work saves time.", "restatement")])
def test_formulas_added_in_1_15_0(text, category):
    assert [s.category for s in find_filler(text, LEXICON, prompt="What should I do?")][:1] == [category]


def test_a_pleasantry_back_to_a_message_that_only_thanks_is_the_reply():
    text = "I'm so glad you're enjoying the recipe! Just let me know if you need more ideas."
    thanks = "Just wanted to say thanks, your recipe went down really well."
    assert [s.category for s in find_filler(text, LEXICON, prompt=thanks)] == ["closer"]
    news = "Good evening. I have just retired from teaching."
    assert [s.category for s in find_filler(text, LEXICON, prompt=news)] == ["opener", "closer"]


@pytest.mark.parametrize("text", ["Dear Dr. Smith,\n\nI hope this message finds you well. Thank you for everything.",
                                  "Hi [friend's name] I'm really sorry, but I can't lend you money again."])
def test_a_letter_with_a_title_or_a_placeholder_for_the_name_is_the_piece_asked_for(text):
    assert find_filler(text, LEXICON, prompt="Help me write a polite note to the midwives.") == []
    assert find_filler(text, LEXICON, prompt="Draft a fundraising appeal for our village hall.") == []


def test_a_greeting_like_hi_ends_no_title_and_an_understanding_is_of_a_feeling():
    text = "Hi. Here is the script:\n```\nprint(1)\n```\nHope this helps!"
    assert [s.category for s in find_filler(text, LEXICON, prompt="Write a Python script that prints 1")] == [
        "opener", "closer"]
    assert find_filler("I understand your code, and the bug is on line 3.", LEXICON, prompt="What's wrong?") == []
    assert [s.phrase for s in find_filler("I understand your frustration. Restart it.", LEXICON)] == [
        "I understand your frustration"]


@pytest.mark.parametrize(("text", "closer"), [("Happy to help. So, what brings you here today?", True),
                                               ("Happy to help. What brings you to our studio?", True),
                                               ("Lovely mountains. What brings you to the Lake District?", False)])
def test_an_invitation_to_say_what_brings_the_user_signs_off_but_a_question_about_their_trip_does_not(text, closer):
    assert ("closer" in {s.category for s in find_filler(text, LEXICON, prompt="Hello there!")}) is closer


def test_sentences_that_only_sympathise_leave_the_preamble_open():
    text = ("I'm so sorry to hear that. It's completely normal to feel lost after a move. I'm here to support you, "
            "and I'm happy to help. Join a club first.")
    assert [s.phrase for s in find_filler(text, LEXICON, prompt="I just moved to Leeds.")] == [
        "I'm here to support you", "I'm happy to help"]
    turned = ("I'm sorry for any confusion, but I can't see your screen. It's a common problem. I'm here to support "
              "you, and I'm happy to help. Restart it.")
    assert find_filler(turned, LEXICON, prompt="My laptop froze.") == []


def test_at_most_two_sympathy_sentences_are_passed_over_and_a_worry_with_content_is_no_sympathy():
    looping = "I'm so sorry to hear that. " * 5 + "Here is the fix. I'm here to help you, and more. Done."
    assert find_filler(looping, LEXICON, prompt="My sink leaks.") == []
    content = "Don't worry about the deposit. Landlords must protect it. I'm here to help you, and more. Done."
    assert find_filler(content, LEXICON, prompt="My landlord kept my deposit.") == []


def test_a_refusal_ends_the_preamble():
    refused = ("I'm sorry, but as a chatbot, I don't have the ability to browse the internet. I'm here to assist you "
               "with any other questions. Try the council's website.")
    assert _said("opener", refused) == []
    apology = "I'm sorry for the confusion. I'm here to assist you with any skill you like. First, pick one."
    assert _said("opener", apology) == ["I'm here to assist you with any skill you like"]


def test_a_request_said_back_from_its_verb_restates_it():
    prompt = "Draft an out-of-office for two weeks of paternity leave, with who to contact in the meantime."
    said = "Draft an out-of-office for two weeks of paternity leave, with who to contact in the meantime."
    assert _said("restatement", said, prompt) == [said]
    # the piece asked for, in the asker's words, is no restatement: it starts after the verb
    piece = "I'm on jury service and can't say when I'll be back. Call Sam."
    assert _said("restatement", piece, "Write an out-of-office saying I'm on jury service and can't say when I'll be "
                 "back.") == []


def test_an_offer_to_someone_unsure_signs_off():
    text = "Restart the router. If you're unsure about how I can assist you, please let me know your needs."
    assert _said("closer", text) == ["If you're unsure about how I can assist you, please let me know"]


def test_an_apology_leaves_the_preamble_open_and_a_turn_on_but_is_no_formula_of_its_own():
    apologies = ("I'm sorry for any inconvenience. I'm sorry for any mistakes. I'm here to help, and I'm happy to "
                 "assist. Try again.")
    assert _said("opener", apologies) == ["I'm here to help", "I'm happy to assist"]
    turned = "I'm sorry for the confusion, but I'm here to help you with whatever you're struggling with. Try this."
    assert _said("opener", turned) == ["I'm here to help you with whatever you're struggling with"]


def test_a_piece_wanted_without_a_verb_of_writing_is_the_answer():
    letter = "Dear [Team Manager's Name],\n\nI hope this message finds you well. We move to hybrid working."
    assert find_filler(letter, LEXICON, prompt="I need an email to my team announcing hybrid working.") == []
    assert _said("opener", letter) == ["Dear [Team Manager's Name],", "I hope this message finds you well"]


def test_a_greeting_that_ends_on_an_exclamation_opens_a_requested_piece_but_is_the_assistant_s_own_hello_unasked():
    text = "Hey there, little buddy!\n\nI'm so glad you're taking care of the dog. Walk him after school."
    assert find_filler(text, LEXICON, prompt="write a text to my son reminding him to walk the dog pls") == []
    assert _said("opener", text, prompt="Any tips for my dog?") == [
        "Hey there", "I'm so glad you're taking care of the dog"]


def test_review_findings_of_1_21_0():
    # "I can't believe..." and "I cannot stress this enough" turn nothing down
    party = "Wow, I can't believe it's your 50th! I'm happy to help you plan the party. First, book."
    assert _said("opener", party) == ["Wow", "I'm happy to help you plan the party"]
    # "Hello!" alone is the assistant's own hello, even when a piece was asked for
    hello = "Hello!\nSure! Here's a poem:\nLeaves fall.\nI hope this helps!"
    assert [s.category for s in find_filler(hello, LEXICON, prompt="Write a poem about autumn.")] == [
        "opener", "opener", "closer"]
    # text pasted to be edited is the material, not the request said back
    assert _said("restatement", "Make every day count, and help others.\nThat's shorter.",
                 "Make it shorter:\nMake every day count, and help others where you can.") == []
    said = "Draft an out-of-office for your jury service next week. Back soon."
    assert _said("restatement", said, "Please draft an out-of-office for my jury service next week.") == [
        "Draft an out-of-office for your jury service next week."]


def test_an_answer_that_opens_by_copying_the_user_s_message_returns_their_words():
    prompt = "Bonjour! Je m'appelle Claire et j'apprends l'anglais depuis six mois."
    assert _said("opener", prompt, prompt=prompt) == []
    assert _said("opener", prompt, prompt="Say hello to me in French.") == ["Bonjour"]
    # a greeting returned alone is the assistant's own, and so are openers after the copied sentences
    assert _said("opener", "Hello! Sure! Here's a recipe.", prompt="Hello! I need a pancake recipe.") == [
        "Hello", "Sure"]
    copied = "Morning! Sun's out in Galway for once."
    assert _said("opener", copied + " Sure! Take a walk.", prompt=copied) == ["Sure"]
    # nor does a sign-off in them sign off: the whole answer is the user's (elicit-u-0288)
    thanks = "Cheers, the millionaire's shortbread came out perfect, caramel and all."
    assert find_filler(thanks, LEXICON, prompt=thanks) == []
    assert _said("closer", "Paris is lovely. Cheers.", prompt="Paris in May, then.") == ["Cheers"]
    # a question copied is said back before an answer: its greeting still opens (elicit-d-0122)
    asked = "Hey there! We just adopted two goldfish, what size tank should we get?"
    assert _said("opener", asked + " A 20-gallon tank.", prompt=asked) == ["Hey there"]


def test_an_offer_to_help_with_something_opens_the_answer_after_an_apology_only():
    offer = "I'm here to help with any kind of creative writing, whether it's a story or a poem. What's your idea?"
    assert _said("opener", "I'm sorry for any confusion. " + offer) == [
        "I'm here to help with any kind of creative writing"]
    assert _said("opener", offer) == []  # first, it is the reply itself
    assert _said("opener", "I'm here to help with that. What's your number?") == ["I'm here to help with that"]


def test_an_offer_that_turns_on_but_to_something_else_does_not_sign_off():
    refusal = "I can't write sports commentary. "
    assert _said("closer", refusal + "I'm here to assist with other tasks, but in this case, try a sports app.") == []
    assert _said("closer", "Prune in spring. I'm happy to help with your wisteria, but I'm also happy to help with "
                           "your garden.") == ["I'm happy to help with your wisteria"]
    # a caveat after the offer still signs off, and a "but" in the answer after an opener takes nothing back
    assert _said("closer", "Drink water. I'm always here to help, but please see a doctor if it blisters.") == [
        "I'm always here to help"]
    assert _said("opener", "I'm happy to help with your question: lists are mutable, but tuples are not.",
                 "What's the difference between a list and a tuple?") == ["I'm happy to help with your question"]


def test_please_do_not_hesitate_and_go_ahead_and_share_sign_off():
    assert _said("closer", "Refunds take five days. Please do not hesitate to ask for more help.") == [
        "do not hesitate to ask"]
    assert _said("closer", "I can tighten your CV. Just go ahead and share your text, and I'll refine it.") == [
        "go ahead and share"]
    assert _said("closer", "I'll be your guide. So, what do you say?") == ["So, what do you say?"]
    assert _said("closer", "Hold the door. If someone holds a door for you, what do you say?") == []


# The sets the built-in lexicon's stated accuracy ("measured" in its JSON) was computed on: answers read only after it
# was frozen. The report quotes these figures, so they must be the lexicon's own, to the third decimal.
MEASURED_ON = [TWENTY_FOURTH, TWENTY_SIXTH, TWENTY_SEVENTH]


def test_the_built_in_lexicon_states_its_accuracy_as_measured_on_text_it_was_not_revised_on():
    measured = builtin_lexicon_raw()["measured"]
    rows = [json.loads(line) for path in MEASURED_ON for line in path.read_text(encoding="utf-8").splitlines()]
    assert measured["answers"] == len(rows)
    counts = _hits_flagged_labelled(rows)
    assert set(measured["categories"]) == set(counts)
    for category, stated in measured["categories"].items():
        hits, flagged, labels = counts[category]
        assert stated == {"precision": round(hits / flagged, 3), "recall": round(hits / labels, 3)}, category


def test_an_extended_lexicon_drops_the_built_in_accuracy_and_is_told_apart_by_its_phrases(tmp_path):
    rows = [{"prompt": "p", "response": "r"}]
    lexicons = []
    for phrase in ("howdy", "hiya"):
        (tmp_path / "lexicon.json").write_text(json.dumps({"categories": {"opener": {"phrases": [phrase]}}}))
        lexicons.append(prepare(load_suite(write_suite(
            tmp_path, MINIMAL_SUITE + "metrics:\n  filler: {lexicon: lexicon.json}\n", rows, rows))).lexicon)
    howdy, hiya = (lexicon.describe() for lexicon in lexicons)
    assert "measured" not in howdy and howdy["version"] == hiya["version"] and howdy["sha256"] != hiya["sha256"]
    assert LEXICON.describe()["measured"] == builtin_lexicon_raw()["measured"]
    assert "has not been measured" in accuracy_note(howdy)
    note = accuracy_note(LEXICON.describe())
    assert f"lexicon harness-filler {LEXICON.version}, measured on" in note
    rough = [c for c, f in LEXICON.measured["categories"].items()
             if f["precision"] < GOAL["precision"] or f["recall"] < GOAL["recall"]]
    assert rough and note.endswith(f"the {', '.join(rough)} rates are rough: compare them between variants, not as "
                                   "exact counts.")
    assert accuracy_note({"name": "harness-filler", "version": "1.3.0"}) == "Filler is found by the lexicon " \
        "harness-filler 1.3.0."  # a run from before 1.7 recorded neither phrases' hash nor accuracy


@pytest.mark.parametrize(("measured", "expected"), [
    ({"on": "my set", "answers": 10}, "exactly on, answers, categories"),
    ({"on": " ", "answers": 10, "categories": {"opener": {"precision": 1, "recall": 1}}}, "'on' must say"),
    ({"on": "x", "answers": True, "categories": {"opener": {"precision": 1, "recall": 1}}}, "positive whole number"),
    ({"on": "x", "answers": 3, "categories": {"jargon": {"precision": 1, "recall": 1}}}, "some of the lexicon's"),
    ({"on": "x", "answers": 3, "categories": {"opener": {"precision": 1.5, "recall": 1}}},
     "category 'opener': expected precision and recall, each from 0 to 1"),
    ({"on": "x", "answers": 3, "categories": {"opener": {"precision": 0.9}}}, "expected precision and recall"),
])
def test_a_lexicon_stating_its_accuracy_is_checked(measured, expected):
    with pytest.raises(ValueError, match=re.escape("my lexicon: measured: ") + ".*" + re.escape(expected)):
        parse_lexicon({"categories": {"opener": {"phrases": ["howdy"]}}, "measured": measured}, "my lexicon")
