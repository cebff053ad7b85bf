"""Command line. Exit 0: done, every gate passes; 1: a gate failed; 2: bad input, or any other error, as one
line per problem (never a traceback, unless --debug)."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from harness import __version__
from harness.errors import HarnessError, InputErrors

if TYPE_CHECKING:
    from harness.runs import GateOutputs

EXIT_OK, EXIT_GATE_FAILED, EXIT_BAD_INPUT = 0, 1, 2
NO_CUSTOM_CODE = ("refuse a suite with custom metrics, whose Python would be imported and run "
                  "(for CI on suites from pull requests)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description=(
        "Does a system prompt get a small instruct model there, or does a LoRA adapter do better?"))
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an unexpected error")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="train (or reuse) the adapter, evaluate every variant, write a report")
    run.add_argument("suite", type=Path, help="suite YAML file")
    run.add_argument("--out", type=Path, help="run folder (default: reports/<suite>-<time>)")
    run.add_argument("--smoke", action="store_true",
                     help="use the built-in tiny randomly initialised model, with CPU-sized step counts")
    run.add_argument("--model", help="run this model instead of the suite's: a hub id, a local folder, a .gguf file "
                     "or a packaged alias such as smollm2-135m-instruct (recorded in the manifest)")
    run.add_argument("--profile", choices=["quick"],
                     help="quick: 1 epoch, 24 eval examples, 128 new tokens; a first look, labelled as such")
    run.add_argument("--adapter", dest="adapters", action="append", metavar="[NAME=]PATH",
                     help="evaluate a PEFT LoRA adapter trained elsewhere (a folder or hub id) in place of the "
                     "suite's adapter NAME (default: its first, `sft`); nothing is trained for it (repeatable)")
    run.add_argument("--variants", type=_names, help="run only these variants, e.g. base,system,sft "
                     "(recorded; compare and baseline gates need the same selection)")
    run.add_argument("--limit", type=_positive, metavar="N",
                     help="evaluate only the first N eval examples (recorded, like --variants)")
    run.add_argument("--panels", metavar="NAMES",
                     help="run only these of the suite's panels (e.g. canary), or none (recorded in the manifest)")
    run.add_argument("--no-custom-code", action="store_true", help=NO_CUSTOM_CODE)
    run.add_argument("--gate", dest="run_gate", action="store_true",
                     help="check the gates after the run (implied by any of the gate options below)")
    _gate_options(run)

    validate = commands.add_parser("validate", help="check a suite and its data without loading a model")
    validate.add_argument("suite", type=Path)
    validate.add_argument("--no-custom-code", action="store_true", help=NO_CUSTOM_CODE)

    report = commands.add_parser("report", help="re-render a run's report.html from its results.json")
    report.add_argument("run_dir", type=Path)
    report.add_argument("--out", type=Path, help="where to write (default: RUN_DIR/report.html)")

    compare = commands.add_parser("compare", help="compare two runs on the same examples (e.g. adapter v1 vs v2)")
    compare.add_argument("run_a", type=Path, help="the reference run (e.g. the adapter that shipped)")
    compare.add_argument("run_b", type=Path, help="the new run")
    compare.add_argument("--variants", default="sft,sft+system", help="variants to compare (default: %(default)s)")
    compare.add_argument("--out", type=Path, help="where to write (default: RUN_B/compare-<RUN_A>.html)")
    compare.add_argument("--force", action="store_true",
                         help="compare even when base model, eval set or decoding differ (marked in the report)")
    check = commands.add_parser("check", help="evaluate the gates on a saved run (exit 0 pass, 1 fail, 2 bad input)")
    check.add_argument("run_dir", type=Path)
    _gate_options(check)

    baseline = commands.add_parser("baseline", help="keep runs as named baselines")
    baseline_commands = baseline.add_subparsers(dest="baseline_command", required=True)
    save = baseline_commands.add_parser("save", help="save RUN_DIR as a named baseline (in ./baselines)")
    save.add_argument("run_dir", type=Path)
    save.add_argument("--name", required=True)

    export = commands.add_parser("export", help="write the run's adapter in PEFT format with a model card")
    export.add_argument("run_dir", type=Path)
    export.add_argument("dest", type=Path)
    export.add_argument("--adapter", help="which of the run's adapters (default: its first, e.g. sft)")
    export.add_argument("--merge", action="store_true",
                        help="also write the adapter merged into a float32 copy of its base (DEST/merged), checked "
                        "against the adapter on its base by greedy answers to the eval prompts")
    return parser


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected variant names separated by commas, e.g. base,system,sft")
    return names


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of at least 1")
    return value


def _gate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--baseline", help="a run folder or saved baseline name for 'not worse than baseline' gates")
    parser.add_argument("--set-gate", dest="gates", action="append", default=[], metavar="EXPR",
                        help="add a gate, or replace the suite's gate on the same subject (repeatable)")
    parser.add_argument("--force", action="store_true",
                        help="compare with a baseline whose model, eval set or decoding differ (marked)")
    parser.add_argument("--junit", type=Path, help="JUnit XML path (default: RUN_DIR/junit.xml)")
    parser.add_argument("--markdown", type=Path, help="Markdown summary path (default: RUN_DIR/gate-summary.md)")
    parser.add_argument("--json", type=Path, help="gate results JSON path (default: RUN_DIR/gates.json)")


def _outputs(args: argparse.Namespace) -> GateOutputs:
    from harness.runs import GateOutputs

    return GateOutputs(args.junit, args.markdown, args.json)


def _check(run_dir: Path, args: argparse.Namespace) -> int:
    from harness.runs import check_run

    report, summary = check_run(run_dir, args.baseline, args.gates, args.force, _outputs(args))
    print(summary, end="")
    return EXIT_OK if report.passed else EXIT_GATE_FAILED


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in argv:  # accepted anywhere on the line, where a user appends it to re-run
        argv = ["--debug", *(arg for arg in argv if arg != "--debug")]
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors already; keep its code
        return int(exc.code or 0)
    try:
        return _dispatch(args)
    except InputErrors as exc:
        for line in exc.lines():
            print(f"error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except HarnessError as exc:
        print(f"error: {exc.line()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; finished stages are cached and reused on the next run", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk, a folder without write permission: the file and the reason
        where = f"{exc.filename}: " if exc.filename else ""
        return _unexpected(args.debug, f"{where}{exc.strerror or _one_line(exc)}")
    except Exception as exc:  # anything no check foresaw: still one line and exit 2, never 1 ("a gate failed")
        detail = f": {_one_line(exc)}" if str(exc) else ""
        return _unexpected(args.debug, f"{type(exc).__name__}{detail} (re-run with --debug for the traceback)")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:299] + "…"


def _unexpected(debug: bool, line: str) -> int:
    if debug:
        traceback.print_exc()
    print(f"error: {line}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _before_run(args: argparse.Namespace) -> None:
    """Before any model work: the run folder is new or one harness wrote, and the gates can be checked.
    Any gate option implies --gate, so a failing gate is never silently left unchecked."""
    from harness.run_folder import refuse_folder, run_file
    from harness.runs import preflight_gates

    if args.out:
        refuse_folder(args.out, run_file, "--out")
    args.run_gate = args.run_gate or any((args.gates, args.baseline, args.force, args.junit, args.markdown,
                                          args.json))
    if args.run_gate:
        preflight_gates(args.suite, args.gates, args.baseline, _outputs(args))


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "validate":
        from harness.run import check_against_model
        from harness.scorers import prepare
        from harness.suite import load_suite

        prepared = prepare(load_suite(args.suite), custom_code=not args.no_custom_code)
        checked = check_against_model(prepared)  # gates, context length, adapters trained elsewhere
        from harness.compare import family_line
        from harness.panel_checks import most_passes

        variants = [v.name for v in prepared.suite.variant_specs()]
        panels = most_passes(prepared.suite)
        said = (f"; panels: {', '.join(panels)} (at most {sum(panels.values())} extra passes of the model, "
                "each priced before it runs)" if panels else "")
        print(f"ok: {args.suite}: {len(prepared.train.examples)} train and {len(prepared.eval.examples)} eval "
              f"examples, {len(variants)} variants ({', '.join(variants)}), {len(prepared.rules)} suite-wide "
              f"format rules, lexicon {prepared.lexicon.name} {prepared.lexicon.version}{said}; "
              f"{family_line(prepared.suite)}; {checked}")
        return EXIT_OK
    if args.command == "run":
        from harness.progress import quiet_libraries

        quiet_libraries()
        from harness.run import run

        _before_run(args)
        if args.no_custom_code:
            from harness.scorers import refuse_custom_code
            from harness.suite import load_suite

            refuse_custom_code(load_suite(args.suite))
        run_dir = run(args.suite, out=args.out, smoke=args.smoke, model=args.model, profile=args.profile,
                      adapters=args.adapters, variants=args.variants, limit=args.limit,
                       panels=args.panels)
        if run_dir is None:  # not the main process of several: the main one writes and checks the run
            return EXIT_OK
        return _check(run_dir, args) if args.run_gate else EXIT_OK
    if args.command == "report":
        from harness.runs import rerender

        print(rerender(args.run_dir, args.out))
        return EXIT_OK
    if args.command == "compare":
        from harness.runs import compare_runs

        variants = [v.strip() for v in args.variants.split(",") if v.strip()]
        print(compare_runs(args.run_a, args.run_b, args.out, variants, args.force))
        return EXIT_OK
    if args.command == "check":
        return _check(args.run_dir, args)
    if args.command == "baseline":
        from harness.baselines import save

        print(save(args.run_dir, args.name))
        return EXIT_OK
    if args.command == "export":
        from harness.export import export

        print(export(args.run_dir, args.dest, args.adapter, args.merge))
        return EXIT_OK
    raise AssertionError(args.command)
