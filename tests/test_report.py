"""The report as HTML text: self-contained, escaped, re-rendered and compared from saved results."""

from __future__ import annotations

import re

import pytest
from factory import crafted_results, manifest

from harness.cli import main
from harness.report import render_report
from harness.results import write_results

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"></style></textarea>'


def _run_dir(tmp_path, name="run", **kwargs):
    folder = tmp_path / name
    folder.mkdir()
    results = crafted_results(8, lambda i, v: f"answer {i} from {v}" + (" extra words" * i if v == "base" else ""),
                              **kwargs)
    write_results(results, folder)
    return folder, results


def test_no_external_resources_of_any_kind():
    html = render_report(crafted_results(5, lambda i, v: "x"))
    assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", html, re.I)
    assert "<link" not in html and "<iframe" not in html
    assert "default-src 'none'" in html  # the CSP forbids network requests even if something slipped in


def test_every_string_is_escaped_in_the_html_text():
    html = render_report(crafted_results(3, lambda i, v: HOSTILE, prompt=lambda i: HOSTILE, reference=lambda i: HOSTILE,
                                         rules=[{"check": "must_contain", "value": "</script>"}]))
    assert html.count("<script") == 2  # the JSON data block and the page's own script, nothing else
    assert "<img" not in html and "</textarea>" not in html and html.count("</style>") == 1


def test_report_command_rerenders_without_a_model(tmp_path, capsys):
    folder, _ = _run_dir(tmp_path)
    assert main(["report", str(folder)]) == 0
    html = (folder / "report.html").read_text()
    assert "crafted: prompting vs SFT" in html and "Prompt tax" in html


def test_compare_command_pairs_two_runs(tmp_path):
    a, _ = _run_dir(tmp_path, "v1")
    b, _ = _run_dir(tmp_path, "v2", nll=lambda i, v: 0.5 if v.startswith("sft") else 1.0)
    out = tmp_path / "cmp.html"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0
    html = out.read_text()
    assert "crafted: v2 vs v1" in html and "v2·sft vs v1·sft" in html


def test_compare_refuses_mismatched_runs_unless_forced(tmp_path, capsys):
    a, _ = _run_dir(tmp_path, "v1")
    b, _ = _run_dir(tmp_path, "v2", run_manifest=manifest(decoding={"max_new_tokens": 12}))
    assert main(["compare", str(a), str(b)]) == 2
    assert "the decoding settings differ" in capsys.readouterr().err
    assert main(["compare", str(a), str(b), "--force"]) == 0
    assert "Forced comparison" in (b / "compare-v1.html").read_text()


def test_report_of_a_missing_run_is_a_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no results.json" in capsys.readouterr().err


@pytest.mark.parametrize("n", [1000])
def test_a_thousand_examples_render_to_one_file(n):
    html = render_report(crafted_results(n, lambda i, v: f"answer {i} " * (i % 7 + 1)))
    assert html.count("ex-0999") == 1  # once, in the data block


def test_filler_offsets_reach_the_page_in_utf16_units():
    from harness.report import example_payload

    results = crafted_results(1, lambda i, v: "\U0001F60A Sure! Paris is the capital.")
    [example] = example_payload(results.examples, {"sft": (0, "sft")}, [results.examples])
    start, end, category = example["out"]["sft"]["filler"][0]
    text = example["out"]["sft"]["text"]
    assert category == "opener" and text.encode("utf-16-le")[2 * start:2 * end].decode("utf-16-le") == "Sure"


def _verdict_section(html: str) -> str:
    return html[html.index('<section id="verdict">'):html.index('<section id="distributions">')]


def test_the_verdict_table_holds_the_primary_family_and_secondary_rows_are_labelled():
    html = _verdict_section(render_report(crafted_results(20, lambda i, v: f"answer {i} from {v}",
                                                          rules=[{"check": "words", "at_most": 3}])))
    primary = html[html.index('id="verdict-primary"'):html.index("</table>")]
    assert "Primary comparisons: 4 tests, Holm-adjusted together" in primary
    assert primary.count('data-family="primary"') == 4 and "sft vs system" in primary
    assert "5% / 4 = 1.2%" in html  # the power notes' level
    for pair in ("sft vs system", "sft vs base", "system vs base", "sft+system vs system"):
        assert f"<h3>{pair} <span class=\"muted\">secondary, not adjusted</span></h3>" in html
    assert "p (not adjusted)" in html


def test_the_verdict_opens_the_page_in_one_sentence():
    results = crafted_results(20, lambda i, v: f"answer {i} from {v}", rules=[{"check": "words", "at_most": 3}])
    html = render_report(results)
    sentence = re.search(r'<p class="headline" id="headline"><strong>Verdict:</strong> (.*?)</p>', html)
    assert sentence and sentence.start() < html.index('<section id="verdict">')
    assert "(4 primary comparisons, Holm-adjusted)." in sentence.group(1)
    for v in results.verdict:
        assert v.behaviour in sentence.group(1)


def test_a_ci_clear_of_zero_that_the_adjusted_test_does_not_confirm_is_explained_on_the_page():
    import numpy as np
    from factory import spec

    from harness.compare import compare

    a = [True] * 14 + [False] * 4 + [True] * 20 + [False] * 22
    b = [False] * 14 + [True] * 4 + [True] * 20 + [False] * 22
    specs = [spec(f"m{i}", f"b{i}", f"metric {i}", "binary", "higher", lambda v: v, primary=True)
             for i in range(4)]
    rows = compare({("sft", "system"): list(zip(np.array(a), np.array(b), strict=True))}, specs)
    results = crafted_results(3, lambda i, v: "x")
    results.comparisons = rows
    html = _verdict_section(render_report(results))
    assert rows[0].stats.ci_low > 0 and rows[0].p_adjusted >= 0.05
    assert '<span class="badge tie">inconclusive</span>' in html
    assert "the 95% CI excludes zero, but after adjusting for 4 comparisons the test does not reject" in html


def test_a_run_from_before_schema_1_2_still_renders(tmp_path):
    import json

    folder, results = _run_dir(tmp_path)
    raw = json.loads((folder / "results.json").read_text())
    raw["schema_version"] = "1.1"
    for row in raw["comparisons"]:
        for key in ("family", "family_size", "note"):
            row.pop(key)
        row["stats"]["test"] = row["stats"]["test"].replace("mcnemar_midp", "mcnemar_exact")
    (folder / "results.json").write_text(json.dumps(raw))
    assert main(["report", str(folder)]) == 0
    html = _verdict_section((folder / "report.html").read_text())
    assert "predates schema 1.2" in html and "adjusted p" in html


def test_the_console_says_the_verdict_in_one_sentence_before_the_rows(capsys):
    from harness.compare import headline
    from harness.console import print_verdict

    results = crafted_results(20, lambda i, v: f"answer {i} from {v}", rules=[{"check": "words", "at_most": 3}])
    print_verdict(results.verdict)
    out = " ".join(capsys.readouterr().err.split())  # the console writes to stderr
    assert out.startswith("Verdict: " + headline(results.verdict))
    assert out.index(results.verdict[0].answer.split(".")[0]) > len(headline(results.verdict))


def test_the_training_panel_shows_validation_loss_overfitting_and_each_variants_precision():
    from harness.results import EvaluationRecord

    results = crafted_results(4, lambda i, v: "x")
    timing = {"cached": False, "generation_seconds": 1.0, "generated_tokens": 4, "scoring_seconds": 1.0}
    full = {"device": "cpu", "compute_dtype": "torch.bfloat16", "quantization": "none"}
    results.manifest.numerics = {**full, "notes": []}
    results.manifest.evaluation_precision = "training"
    results.manifest.evaluation = {
        "base": EvaluationRecord(**timing),  # a variant recorded before 1.6: the run's one precision
        "system": EvaluationRecord(**timing, numerics=full),
        "sft": EvaluationRecord(**timing, numerics={**full, "quantization": "nf4"})}
    html = render_report(results)
    training = html[html.index('<section id="training">'):html.index('<section id="manifest">')]
    assert "<title>sft validation</title>" in training and "<title>sft train</title>" in training
    assert "8 held-out training rows, scored every 2 steps · best 1.9000 at step 4" in training
    assert "overfitting: validation loss rose 3 evaluations in a row from step 4 (flagged at step 10)" in training
    manifest_panel = html[html.index('<section id="manifest">'):]
    assert "base, system: bfloat16 compute, base unquantised, on cpu<br>" in manifest_panel
    assert "sft: bfloat16 compute, base in NF4 (4-bit), on cpu<br>" in manifest_panel
    assert "(evaluation.precision: training, on the base as training held it)" in manifest_panel


def test_the_page_says_which_lexicon_found_the_filler_and_how_well_it_was_measured_to():
    from harness.metrics.lexicon import builtin_lexicon_raw, parse_lexicon

    results = crafted_results(4, lambda i, v: "Sure! Paris. I hope this helps!")
    lexicon = parse_lexicon(builtin_lexicon_raw(), "builtin")
    results.manifest.lexicon = lexicon.describe()
    html = render_report(results)
    distributions = html[html.index('<section id="distributions">'):html.index('<section id="examples">')]
    opener = lexicon.measured["categories"]["opener"]
    assert f"Filler is found by the lexicon harness-filler {lexicon.version}, measured on" in distributions
    assert f"opener {100 * opener['precision']:.0f}% / {100 * opener['recall']:.0f}%" in distributions
    results.manifest.lexicon = {"name": "harness-filler", "version": "1.21.1+house-2", "sha256": "c" * 64}
    assert "its accuracy has not been measured" in render_report(results)
