"""What the user's message asks for, as the filler detector reads it (harness/metrics/intent.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT

from harness.metrics.filler import find_filler
from harness.metrics.intent import INTENTS, features, model, probabilities, prompt_intent, read_intent, rule_intent
from harness.metrics.lexicon import builtin_lexicon_raw, parse_lexicon

LABELLED = Path(__file__).parent / "data" / "prompt_intents.jsonl"
LEXICON = parse_lexicon(builtin_lexicon_raw(), "builtin")


def _labelled():
    return [json.loads(line) for line in LABELLED.read_text("utf-8").splitlines()]


def test_the_labelled_messages_are_the_filler_sets_and_suites_prompts_and_written_ones_each_with_one_intent():
    rows = _labelled()
    assert len(rows) == len({r["id"] for r in rows}) >= 7500
    assert {r["intent"] for r in rows} == set(INTENTS)
    asked = {json.loads(line)["id"]: json.loads(line).get("prompt")
             for path in LABELLED.parent.glob("filler_real_model*.jsonl") if "reader2" not in path.name
             for line in path.read_text("utf-8").splitlines()}
    asked |= {"suite-" + json.loads(line)["id"]: json.loads(line).get("prompt")
              for path in (ROOT / "suites").glob("*/*.jsonl") for line in path.read_text("utf-8").splitlines()}
    sources = Counter(r["id"].split("-")[0] for r in rows)
    assert sources["suite"] >= 400 and sources["written"] == 600
    assert all(asked.get(r["id"]) == r["prompt"] for r in rows if not r["id"].startswith("written-"))


def test_the_shipped_model_fits_its_labels_and_beats_the_rules_on_them():
    """A model file out of step with features() (a feature renamed, the rules changed) fails here."""
    rows = _labelled()
    said = Counter((r["intent"], prompt_intent(r["prompt"])) for r in rows)
    rules = Counter((r["intent"], rule_intent(r["prompt"])) for r in rows)
    accuracy = sum(v for (a, b), v in said.items() if a == b) / len(rows)
    assert accuracy >= ACCURACY_IN_SAMPLE > sum(v for (a, b), v in rules.items() if a == b) / len(rows)
    for intent in INTENTS[1:]:
        assert said[intent, intent] / sum(v for (a, _), v in said.items() if a == intent) >= 0.93, intent


ACCURACY_IN_SAMPLE = 0.95  # 95.6% (the rules alone: 89.9%)


def test_probabilities_are_a_distribution_and_the_rules_reading_is_a_feature():
    chances = probabilities("Draft a short note for my neighbour about the party noise.")
    assert set(chances) == set(INTENTS) and abs(sum(chances.values()) - 1) < 1e-9
    assert max(chances, key=chances.get) == "writing"
    names = features("Thanks, that worked!")
    assert "rx:social" in names and "f:thanks" in names and "l:!" in names and "b:that worked" in names
    assert model()["intents"] == list(INTENTS)


@pytest.mark.parametrize(("prompt", "intent"), [
    ("Draft a character reference for my neighbour, who's applying to foster.", "writing"),
    ("Something short and sweet for a card to go with flowers for my mum on Mother's Day.", "writing"),
    ("When should I use you, and when should I just pick up the phone to a person?", "about_assistant"),
    ("Who at the company behind you could read what I type here?", "about_assistant"),
    ("ty v helpful", "other"),  # the model leans to thanks (48%), not surely enough to overrule the rules
    ("Brilliant, the cover letter got me an interview!", "social"),
    ("How do I write a cover letter?", "other"),
    ("Could you review my essay?", "other"),
    ("Not that Portland. The one in Maine, with the lobster.", "other"),
    ("Can you check my maths homework?", "other"),  # the model leans (50%) to "about the assistant"; the rules read it
    ("I need a new SIM card", "other"),
])
def test_messages_the_rules_misread(prompt, intent):
    assert prompt_intent(prompt) == intent


def test_the_filler_detector_reads_what_was_asked():
    letter = "Dear Mum,\n\nI hope this finds you well. Happy Mother's Day, with all my love."
    assert find_filler(letter, LEXICON, prompt="Something short and sweet for a card for my mum.") == []
    assert [s.category for s in find_filler(letter, LEXICON, prompt="What should I cook tonight?")][:1] == ["opener"]
    offer = "I'm here to help with any question you have, big or small. Ask me about anything at all."
    assert not [s for s in find_filler(offer, LEXICON, prompt="When should I use you rather than a person?")
                if s.category == "opener"]
    glad = "I'm glad to hear that. Interviews reward preparation: list three stories that show your skills."
    assert not find_filler(glad, LEXICON, prompt="Brilliant, the cover letter got me an interview!")
    assert [s.category for s in find_filler(glad, LEXICON, prompt="I have an interview on Monday.")] == ["opener"]


@pytest.mark.slow
def test_the_training_script_remakes_the_shipped_model(tmp_path):
    out = tmp_path / "intent.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "filler" / "train_intent.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    remade = json.loads(out.read_text())
    assert remade["trained_on"] == model()["trained_on"]
    prompts = [r["prompt"] for r in _labelled()]
    same = sum(read_intent(p, remade) == prompt_intent(p) for p in prompts)
    assert same / len(prompts) >= 0.998
