"""The data-size curve: which prompting variant SFT must beat, and from which size its paired CI clears it."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT, snippet_suite
from doc_snippets import VALIDATE, cli, covers, snippet

from harness.cli import main
from harness.data_size import curves, loaded_name
from harness.metrics.registry import Metric
from harness.results import read_results

PASS = Metric(key="ok", behaviour="format", label="format pass rate", unit="", kind="binary", better="higher",
              value=lambda r: r, headline=True)
WORDS = Metric(key="words", behaviour="length", label="words", unit="words", kind="continuous", better="lower",
               value=lambda r: r, headline=True)


def test_sft_clears_the_best_prompting_variant_from_the_size_where_every_larger_one_wins_too():
    prompting = {"base": [0] * 40, "system": [1] * 20 + [0] * 20}
    sizes = [(0.25, 10, [1] * 20 + [0] * 20), (0.5, 20, [1] * 38 + [0] * 2), (1.0, 40, [1] * 40)]
    (curve,) = curves("sft", sizes, prompting, [PASS])
    assert curve.best == "system"  # the better of the two, by its mean
    assert [p.outcome for p in curve.points] == ["tie", "win", "win"]
    assert curve.clears_from == 20
    assert curve.sentence == ("Format pass rate: sft's paired 95% CI clears system (the best prompting variant) "
                              "from 20 training examples (50%) on.")
    band = {b.variant: b for b in curve.bands}["system"]
    assert band.mean == 0.5 and band.ci_low < 0.5 < band.ci_high
    assert curve.points[1].mean == pytest.approx(0.95) and curve.points[1].delta == pytest.approx(0.45)


def test_a_win_that_does_not_hold_at_larger_sizes_is_not_called_clearing():
    prompting = {"system": [1] * 20 + [0] * 20}
    sizes = [(0.5, 20, [1] * 40), (1.0, 40, [1] * 20 + [0] * 20)]
    (curve,) = curves("sft", sizes, prompting, [PASS])
    assert curve.clears_from is None and "at 20 training examples, but not at every larger size" in curve.sentence


def test_lower_is_better_picks_the_shortest_prompting_variant_and_holm_adjusts_across_metrics():
    from harness.stats import holm, paired_test

    short = Metric(key="short", behaviour="format", label="at most 30 words", unit="", kind="binary",
                   better="higher", value=lambda r: r <= 30, headline=True)
    prompting = {"base": [50.0 + i % 7 for i in range(30)], "system": [30.0 + i % 5 for i in range(30)]}
    sft = [29.0 + i % 5 for i in range(30)]
    length, fmt = curves("sft", [(1.0, 100, sft)], prompting, [WORDS, short])
    assert length.best == "system" and length.points[0].delta == pytest.approx(-1.0)
    assert fmt.best == "system" and fmt.points[0].mean == pytest.approx(12 / 30)
    raws = [paired_test(np.array([float(v <= 30) if binary else v for v in sft]),
                        np.array([float(v <= 30) if binary else v for v in prompting["system"]]),
                        "binary" if binary else "continuous").p_value for binary in (False, True)]
    assert [length.points[0].p_adjusted, fmt.points[0].p_adjusted] == pytest.approx(holm(raws))
    assert loaded_name("sft", 0.25) == "sft@0_25"


@pytest.mark.slow
def test_each_fraction_trains_a_cached_adapter_and_the_report_draws_the_curve(tmp_path, smoke_dir):
    model = smoke_dir
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"""\
name: sizes
model: {model}
system_prompt: Answer briefly.
data:
  train: {{path: {ROOT / 'suites/concise/train.jsonl'}, limit: 48}}
  eval: {{path: {ROOT / 'suites/concise/eval.jsonl'}, limit: 8}}
training: {{max_steps: 3, batch_size: 4, data_fractions: [0.25, 1.0]}}
decoding: {{max_new_tokens: 4}}
""")
    assert main(["run", str(suite), "--out", str(tmp_path / "run")]) == 0
    result = read_results(tmp_path / "run").data_size
    # 48 rows: 5 held out for validation, then a quarter of the 43 left (11), and all of them.
    assert [(a.fraction, a.examples) for a in result.adapters] == [(0.25, 11), (1.0, 43)]
    # No format rules here, so no format curve: length, filler and fit.
    assert [c.metric for c in result.curves] == ["words", "filler_any", "reference_nll"]
    assert all([p.examples for p in c.points] == [11, 43] for c in result.curves)
    assert all({b.variant for b in c.bands} == {"base", "system"} for c in result.curves)
    html = (tmp_path / "run" / "report.html").read_text()
    assert 'id="data-size"' in html and "training examples" in html
    # Cached: a re-run trains nothing; --panels none leaves the curve out.
    assert main(["run", str(suite), "--out", str(tmp_path / "again")]) == 0
    assert all(a.reused for a in read_results(tmp_path / "again").data_size.adapters)
    assert main(["run", str(suite), "--panels", "none", "--out", str(tmp_path / "none")]) == 0
    assert read_results(tmp_path / "none").data_size is None


SIZES_YAML = "```yaml training: # the data-size curve"


@covers("docs/training.md", SIZES_YAML, how=VALIDATE)
def test_the_documented_fractions_validate_and_repeats_are_refused(tmp_path, capsys):
    text = snippet("docs/training.md", SIZES_YAML)
    code, output = cli(["validate", str(snippet_suite(tmp_path, text))], capsys)
    assert code == 0, output
    for bad, said in (("[0.5, 0.5]", "each fraction may be named once"), ("[0, 1.0]", "greater than 0"),
                      ("[1.5]", "less than or equal to 1")):
        code, output = cli(["validate", str(snippet_suite(tmp_path, text.replace("[0.25, 0.5, 1.0]", bad)))], capsys)
        assert code == 2 and "training.data_fractions" in output and said in output, output
