"""Comparisons and the verdict on crafted paired data: direction, Holm, win/tie/loss, the headline."""

from __future__ import annotations

import numpy as np

from harness.compare import MetricSpec, compare, verdict
from harness.scoring import Distribution, prompt_tax

SHORTER = MetricSpec("words", "length", "words per answer", "continuous", "lower", lambda v: v, primary=True)
PASSES = MetricSpec("format_pass", "format", "format pass", "binary", "higher", lambda v: v, primary=True)
NOT_APPLICABLE = MetricSpec("format_pass_loose", "format", "loose", "binary", "higher", lambda v: None)


def _pairs(a, b):
    return list(zip(a, b, strict=True))


def test_win_loss_and_tie_follow_each_metric_direction():
    rng = np.random.default_rng(0)
    short, long_ = rng.normal(10, 2, 60), rng.normal(30, 2, 60)
    found = {c.metric: c for c in compare({("sft", "system"): _pairs(short, long_)}, [SHORTER], resamples=2000)}
    assert found["words"].outcome == "win" and found["words"].stats.delta < 0
    found = {c.metric: c for c in compare({("sft", "system"): _pairs(long_, short)}, [SHORTER], resamples=2000)}
    assert found["words"].outcome == "loss"
    same = rng.normal(10, 2, 60)
    found = compare({("sft", "system"): _pairs(same, same + rng.normal(0, 0.01, 60))}, [SHORTER], resamples=2000)
    assert found[0].outcome == "tie"


def test_holm_adjusts_across_the_family_and_none_values_are_skipped():
    a = [True] * 9 + [False] * 51
    b = [False] * 60
    comparisons = compare({("sft", "system"): _pairs(a, b), ("sft", "base"): _pairs(a, b)}, [PASSES, NOT_APPLICABLE],
                          resamples=2000)
    assert len(comparisons) == 2  # the metric with no values is left out, not compared as zeros
    raw = comparisons[0].stats.p_value
    assert raw < 0.05 and comparisons[0].p_adjusted == min(1.0, 2 * raw)
    assert all(c.outcome == "win" for c in comparisons)
    assert all(c.stats.power_warning is None for c in comparisons)  # detected, so power was not the problem
    [tie] = compare({("sft", "system"): _pairs(a[:3] + [False] * 57, b)}, [PASSES], resamples=2000)
    assert tie.outcome == "tie" and "is small" in tie.stats.power_warning


def test_verdict_answers_the_headline_per_behaviour():
    rng = np.random.default_rng(1)
    comparisons = compare({
        ("sft", "system"): [(x, y) for x, y in zip(rng.normal(10, 2, 80), rng.normal(20, 2, 80), strict=True)],
    }, [SHORTER], resamples=2000)
    [headline] = verdict(comparisons)
    assert headline.behaviour == "length" and headline.outcome == "win"
    assert headline.answer.startswith("length: yes: sft beat system.")
    assert "95% CI" in headline.answer and "adjusted p" in headline.answer


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
    [result] = compare({("sft", "system"): _pairs(sft, system)}, [SHORTER], resamples=2000)
    assert result.stats.p_value < 0.05 and result.stats.delta < 0 and result.stats.ci_high > 0
    assert result.outcome == "tie"


def test_runs_in_another_precision_or_model_are_not_comparable_example_by_example():
    from harness.compare import comparability_problems

    def manifest(weights="w", dtype="torch.bfloat16", quantization="none"):
        return {"model": {"weights_sha256": weights}, "data": {"eval_sha256": "e"}, "decoding": {"seed": 0},
                "numerics": {"device": "cpu", "compute_dtype": dtype, "quantization": quantization, "notes": ["x"]}}

    assert comparability_problems(manifest(), {**manifest(), "numerics": {**manifest()["numerics"], "notes": []}}) == []
    assert comparability_problems(manifest(), manifest(weights="other")) == ["the base model differs"]
    assert comparability_problems(manifest(), manifest(dtype="torch.float32")) == ["the precision differs"]
    assert comparability_problems(manifest(), manifest(quantization="nf4")) == ["the precision differs"]
