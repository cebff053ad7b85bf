"""Progress a person can follow: when stderr is not a terminal (CI logs), bars become plain lines with ETA."""

from __future__ import annotations

from harness import progress


def test_plain_lines_at_each_tenth_with_eta_and_detail(monkeypatch):
    printed = []
    monkeypatch.setattr(progress, "_interactive", lambda: False)
    monkeypatch.setattr(progress.console, "print", lambda text, *a, **k: printed.append(text))
    with progress.Bar("sft answers", 20) as bar:
        for _ in range(20):
            bar.advance(1, detail="loss 1.5")
    assert len(printed) == 10  # one line per tenth, no duplicate final line
    assert printed[0].startswith("  sft answers: 2/20 (10%)") and "left" in printed[0] and "loss 1.5" in printed[0]
    assert printed[-1].startswith("  sft answers: 20/20 (100%)") and "left" not in printed[-1]


def test_a_slow_stage_still_prints_between_tenths(monkeypatch):
    printed, now = [], [0.0]
    monkeypatch.setattr(progress, "_interactive", lambda: False)
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    monkeypatch.setattr(progress.console, "print", lambda text, *a, **k: printed.append(text))
    bar = progress.Bar("training", 1000, " steps")
    now[0] = 5.0
    bar.update(1)  # neither a tenth nor 15 s: silent
    assert printed == []
    now[0] = 20.0
    bar.update(2)  # 20 s after the start: a line although not a tenth yet
    assert printed == ["  training: 2/1000 steps (0%), 20s elapsed, about 2h46m left"]


def test_stage_heading_names_the_stage(monkeypatch):
    printed = []
    monkeypatch.setattr(progress.console, "print", lambda text, *a, **k: printed.append(text))
    progress.stage("variant sft", "72 answers")
    assert "variant sft" in printed[0] and "72 answers" in printed[0]
