"""Comparisons and the verdict on crafted paired data: direction, the primary family and Holm, win/tie/loss
and the words that explain it, the headline."""

from __future__ import annotations

import numpy as np
from factory import spec

from harness.compare import compare, verdict
from harness.scoring import Distribution, prompt_tax

SHORTER = spec("words", "length", "words per answer", "continuous", "lower", lambda v: v, primary=True)
PASSES = spec("format_pass", "format", "format pass", "binary", "higher", lambda v: v, primary=True)
NOT_APPLICABLE = spec("format_pass_loose", "format", "loose", "binary", "higher", lambda v: None)


def _pairs(a, b):
    return list(zip(a, b, strict=True))


def test_win_loss_and_tie_follow_each_metric_direction():
    rng = np.random.default_rng(0)
    short, long_ = rng.normal(10, 2, 60), rng.normal(30, 2, 60)
    found = {c.metric: c for c in compare({("sft", "system"): _pairs(short, long_)}, [SHORTER])}
    assert found["words"].outcome == "win" and found["words"].stats.delta < 0
    found = {c.metric: c for c in compare({("sft", "system"): _pairs(long_, short)}, [SHORTER])}
    assert found["words"].outcome == "loss"
    same = rng.normal(10, 2, 60)
    found = compare({("sft", "system"): _pairs(same, same + rng.normal(0, 0.01, 60))}, [SHORTER])
    assert found[0].outcome == "tie"


def test_holm_adjusts_within_the_primary_family_only_and_none_values_are_skipped():
    a = [True] * 9 + [False] * 51
    b = [False] * 60
    comparisons = compare({("sft", "system"): _pairs(a, b), ("sft", "base"): _pairs(a, b)}, [PASSES, NOT_APPLICABLE],
                          primary_pairs=(("sft", "system"),))
    assert len(comparisons) == 2  # the metric with no values is left out, not compared as zeros
    primary, secondary = comparisons
    assert (primary.family, primary.family_size, secondary.family, secondary.family_size) == ("primary", 1,
                                                                                           "secondary", 1)
    assert primary.p_adjusted == primary.stats.p_value == secondary.p_adjusted < 0.05
    assert all(c.outcome == "win" for c in comparisons)
    assert all(c.stats.power_warning is None for c in comparisons)  # detected, so power was not the problem
    both = compare({("sft", "system"): _pairs(a, b), ("sft", "base"): _pairs(a, b)}, [PASSES])
    assert [c.family_size for c in both] == [2, 2] and both[0].p_adjusted == min(1.0, 2 * both[0].stats.p_value)
    [tie] = compare({("sft", "system"): _pairs(a[:3] + [False] * 57, b)}, [PASSES])
    assert tie.outcome == "tie" and "is small" in tie.stats.power_warning


def test_secondary_metrics_and_pairs_do_not_dilute_the_verdict():
    rng = np.random.default_rng(3)
    gain = rng.random(200) < 0.6, rng.random(200) < 0.5
    secondary = spec("tokens", "length", "tokens", "continuous", "lower", lambda v: v)
    pairs = {("sft", "system"): _pairs(*gain), ("system", "base"): _pairs(*gain), ("sft", "base"): _pairs(*gain)}
    rows = compare(pairs, [PASSES, secondary], primary_pairs=(("sft", "system"),))
    family = [c for c in rows if c.family == "primary"]
    assert [(c.a, c.b, c.metric) for c in family] == [("sft", "system", "format_pass")]
    assert family[0].family_size == 1 and family[0].p_adjusted == family[0].stats.p_value
    assert all(c.family == "secondary" and c.family_size == 1 and c.p_adjusted == c.stats.p_value
               for c in rows if c is not family[0])


def test_a_ci_that_excludes_zero_with_an_adjusted_test_that_does_not_reject_is_explained():
    """The real-model case of issue 9: +15 points, CI clear of zero, but adjusted p above 0.05."""
    a = [True] * 14 + [False] * 4 + [True] * 20 + [False] * 22
    b = [False] * 14 + [True] * 4 + [True] * 20 + [False] * 22
    others = [spec(f"m{i}", f"b{i}", f"m{i}", "binary", "higher", lambda v: v, primary=True) for i in range(3)]
    rows = compare({("sft", "system"): _pairs(a, b)}, [PASSES, *others])
    found = rows[0]
    assert found.stats.ci_low > 0 and found.stats.p_value < 0.05 and found.p_adjusted >= 0.05
    assert found.outcome == "tie" and found.family_size == 4
    assert found.note.startswith("the 95% CI excludes zero, but after adjusting for 4 comparisons the test does not "
                                 "reject")
    [headline] = verdict(rows[:1])
    assert found.note in headline.answer
    alone = compare({("sft", "system"): _pairs(a, b)}, [PASSES])[0]
    assert alone.outcome == "win" and alone.note is None


def test_verdict_answers_the_headline_per_behaviour():
    rng = np.random.default_rng(1)
    comparisons = compare({
        ("sft", "system"): [(x, y) for x, y in zip(rng.normal(10, 2, 80), rng.normal(20, 2, 80), strict=True)],
    }, [SHORTER])
    [headline] = verdict(comparisons)
    assert headline.behaviour == "length" and headline.outcome == "win"
    assert headline.answer.startswith("length: yes: sft beat system.")
    assert "95% CI" in headline.answer and "p = " in headline.answer  # a family of one: nothing to adjust


def test_prompt_tax_is_the_extra_prompt_tokens_per_request():
    base = Distribution(n=2, mean=20.0, median=20.0, p90=21.0, min=19.0, max=21.0)
    system = Distribution(n=2, mean=45.0, median=45.0, p90=46.0, min=44.0, max=46.0)
    tax = prompt_tax(base, system)
    assert tax.extra_tokens_per_request == 25.0 and tax.extra_fraction == 1.25
    assert "adds 25.0 prompt tokens to every request" in tax.statement


def test_a_significant_rank_test_with_a_mean_pulled_by_one_outlier_is_a_tie():
    """sft is one word longer on 20 examples and 100 shorter on one: Wilcoxon says longer, the mean says
    shorter; the outcome must not claim a win."""
    sft = [11] * 20 + [0]
    system = [10] * 20 + [100]
    [result] = compare({("sft", "system"): _pairs(sft, system)}, [SHORTER])
    assert result.stats.p_value < 0.05 and result.stats.delta < 0 and result.stats.ci_high > 0
    assert result.outcome == "tie" and "includes zero" in result.note


def test_runs_in_another_precision_or_model_are_not_comparable_example_by_example():
    from harness.compare import comparability_problems

    def manifest(weights="w", dtype="torch.bfloat16", quantization="none"):
        return {"model": {"weights_sha256": weights}, "data": {"eval_sha256": "e"}, "decoding": {"seed": 0},
                "numerics": {"device": "cpu", "compute_dtype": dtype, "quantization": quantization, "notes": ["x"]}}

    assert comparability_problems(manifest(), {**manifest(), "numerics": {**manifest()["numerics"], "notes": []}}) == []
    assert comparability_problems(manifest(), manifest(weights="other")) == ["the base model differs"]
    assert comparability_problems(manifest(), manifest(dtype="torch.float32")) == ["the precision differs"]
    assert comparability_problems(manifest(), manifest(quantization="nf4")) == ["the precision differs"]
    newer = {**manifest(), "lexicon": {"name": "harness-filler", "version": "1.5.1"}}
    older = {**manifest(), "lexicon": {"name": "harness-filler", "version": "1.3.0"}}
    assert comparability_problems(older, newer) == ["the filler lexicon differs"]
    # One version, extended by two suites' own phrases; a run from before 1.7 has no hash and is not held against it.
    house = {**manifest(), "lexicon": {"name": "harness-filler", "version": "1.5.1+suite-0", "sha256": "a" * 64}}
    other = {**house, "lexicon": {**house["lexicon"], "sha256": "b" * 64}}
    assert comparability_problems(house, other) == ["the filler lexicon's phrases differ"]
    assert comparability_problems(house, {**house, "lexicon": {**house["lexicon"], "measured": {}}}) == []
    assert comparability_problems(house, {**manifest(), "lexicon": {"name": "harness-filler",
                                                                     "version": "1.5.1+suite-0"}}) == []


def test_the_whole_verdict_reads_as_one_sentence():
    from types import SimpleNamespace as Row

    from harness.compare import headline

    def rows(**outcomes):
        return [Row(behaviour=b, outcome=o) for b, o in outcomes.items()]

    assert headline(rows(length="win", format="win")) == (
        "sft beat system on every headline behaviour: length and format (2 primary comparisons, Holm-adjusted).")
    assert headline([Row(behaviour="length", outcome="tie", family_size=1)]) == (
        "No clear difference between sft and system on length (1 primary comparison, tested alone at 0.05).")
    assert headline([Row(behaviour="format", outcome="win", family_size=1)]) == (
        "sft beat system on format (1 primary comparison, tested alone at 0.05).")
    # A run before schema 1.2 has no family size: it was adjusted over every comparison, so it never says alone.
    assert headline(rows(length="loss")) == "system beat sft on length (1 primary comparison, Holm-adjusted)."
    assert headline(rows(length="win", format="loss", filler="tie", fit="win")) == (
        "sft beat system on length and fit; system beat sft on format; no clear difference on filler "
        "(4 primary comparisons, Holm-adjusted).")
    assert headline(rows(fit="loss", length="loss"), "A·sft", "B·sft").startswith("B·sft beat A·sft on every")
    assert headline([]) == ""


def test_declared_behaviours_are_the_whole_family_and_the_rest_are_secondary():
    rng = np.random.default_rng(3)
    a, b = rng.normal(10, 2, 80), rng.normal(20, 2, 80)
    passes = [True] * 50 + [False] * 30
    fails = [False] * 50 + [True] * 30
    rows = compare({("sft", "system"): _pairs(list(zip(a, passes, strict=True)),
                                              list(zip(b, fails, strict=True)))},
                   [spec("words", "length", "words", "continuous", "lower", lambda v: v[0], primary=True),
                    spec("format_pass", "format", "format", "binary", "higher", lambda v: v[1], primary=True)],
                   behaviours=["format"])
    family = {c.metric: c.family for c in rows}
    assert family == {"words": "secondary", "format_pass": "primary"}
    assert [c.family_size for c in rows if c.family == "primary"] == [1]
    assert [v.behaviour for v in verdict(rows)] == ["format"]


def test_validate_says_what_the_verdict_will_test_and_how_to_keep_its_power(tmp_path):
    from conftest import MINIMAL_SUITE, write_suite

    from harness.compare import family_line
    from harness.suite import load_suite

    rows = [{"prompt": "Hi?", "response": "Hello."}]
    default = load_suite(write_suite(tmp_path, MINIMAL_SUITE, rows, rows))
    line = family_line(default)
    assert line.startswith("verdict: sft vs system on length, format, filler, fit (Holm over 4, the first test at "
                           "0.05 / 4)") and "verdict.behaviours" in line, line
    declared = load_suite(write_suite(tmp_path, MINIMAL_SUITE + "verdict: {behaviours: [format]}\n", rows, rows))
    assert family_line(declared) == "verdict: sft vs system on format (at the full 0.05)"
    two = load_suite(write_suite(tmp_path, MINIMAL_SUITE + "adapters: {a: {}, b: {}}\n"
                                 "verdict: {behaviours: [format]}\n", rows, rows))
    assert family_line(two) == ("verdict: a vs system, b vs system on format (Holm over 2, the first test at "
                                "0.05 / 2)")
    several = load_suite(write_suite(tmp_path, MINIMAL_SUITE + "adapters: {a: {}, b: {}}\n", rows, rows))
    assert family_line(several).endswith("tests it at 0.05 / 2, once per comparison"), family_line(several)


def test_the_console_shows_the_behaviours_the_verdict_leaves_out_as_secondary_rows(capsys):
    from harness.compare import outside_verdict
    from harness.console import print_verdict

    rng = np.random.default_rng(0)
    words_a, words_b = rng.normal(20, 5, 40), rng.normal(40, 5, 40)
    passes_a, passes_b = (rng.random(40) < 0.9).astype(float), (rng.random(40) < 0.5).astype(float)
    pairs = [((wa, pa), (wb, pb)) for wa, pa, wb, pb in zip(words_a, passes_a, words_b, passes_b, strict=True)]
    specs = [spec("words", "length", "words per answer", "continuous", "lower", lambda v: v[0], primary=True),
             spec("format_pass", "format", "format pass", "binary", "higher", lambda v: v[1], primary=True)]
    comparisons = compare({("sft", "system"): pairs}, specs, behaviours=["length"])
    [line] = outside_verdict(comparisons)
    assert line.startswith("format: yes: sft beat system. format pass: ") and "p = " in line
    print_verdict(verdict(comparisons), comparisons)
    out = " ".join(capsys.readouterr().err.split())
    assert out.startswith("Verdict: sft beat system on length (1 primary comparison, tested alone at 0.05).")
    assert "Outside the verdict" in out and out.index("format: yes") > out.index("length: yes")
