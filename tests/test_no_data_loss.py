"""No command deletes or overwrites what it does not own: every name or path that leads to a write, a
replace or a delete is tried with '.', '..', '/', absolute paths, symlinks and other people's files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from run_folders import saved_run, snapshot

from harness import files
from harness.cli import main
from harness.errors import HarnessError
from harness.run_folder import staged_run_folder

GATE = "sft.words.mean <= 5"  # passes on the crafted runs


@pytest.fixture(scope="module")
def crafted_run(tmp_path_factory) -> Path:
    return saved_run(tmp_path_factory.mktemp("crafted") / "run")


@pytest.fixture
def workspace(tmp_path, monkeypatch, crafted_run):
    """A project folder (the current one, with .git and notes), a folder elsewhere, two runs, a baseline."""
    work = tmp_path / "work"
    (work / ".git").mkdir(parents=True)
    (work / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (work / "notes.txt").write_text("mine\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "precious.txt").write_text("keep me\n")
    (tmp_path / "empty").mkdir()
    (work / "link-to-precious").symlink_to(tmp_path / "elsewhere" / "precious.txt")
    (work / "link-to-empty").symlink_to(tmp_path / "empty")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HARNESS_BASELINES", str(work / "baselines"))
    shutil.copytree(crafted_run, tmp_path / "run")
    shutil.copytree(crafted_run, tmp_path / "run2")
    assert main(["baseline", "save", str(tmp_path / "run"), "--name", "keep"]) == 0
    return tmp_path


def _refused(root: Path, argv: list[str], capsys) -> str:
    before = snapshot(root)
    assert main(argv) == 2
    assert snapshot(root) == before, "a refused command changed files"
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    return err


@pytest.mark.parametrize("name", [".", "..", "/", "../escape", "a/b", "/tmp/abs", "", ".hidden", "-dash",
                                  "Upper", "x" * 65, "new\nline"])
def test_a_baseline_name_is_a_slug_and_nothing_is_deleted(workspace, capsys, name):
    assert "--name" in _refused(workspace, ["baseline", "save", str(workspace / "run"), f"--name={name}"], capsys)


def test_an_absolute_path_as_baseline_name_is_refused(workspace, capsys):
    _refused(workspace, ["baseline", "save", str(workspace / "run"), "--name", str(workspace / "elsewhere")], capsys)


@pytest.mark.parametrize("entry", ["symlink", "stranger"])
def test_a_baseline_is_never_saved_over_a_link_or_a_folder_harness_did_not_write(workspace, capsys, entry):
    target = workspace / "work" / "baselines" / "taken"
    if entry == "symlink":
        target.symlink_to(workspace / "elsewhere")
    else:
        target.mkdir()
        (target / "results.json").write_text("{}")
        (target / "plan.md").write_text("not a baseline file\n")
    err = _refused(workspace, ["baseline", "save", str(workspace / "run"), "--name", "taken"], capsys)
    assert ("symbolic link" if entry == "symlink" else "plan.md") in err


def test_saving_a_baseline_again_replaces_it_whole(workspace):
    store = workspace / "work" / "baselines"
    (store / "keep" / ".results.json.abc.tmp").write_text("left by an interrupted write")
    assert main(["baseline", "save", str(workspace / "run2"), "--name", "keep"]) == 0
    assert sorted(p.name for p in (store / "keep").iterdir()) == ["manifest.json", "results.json"]
    assert (store / "keep" / "results.json").read_bytes() == (workspace / "run2" / "results.json").read_bytes()
    assert [p.name for p in store.iterdir()] == ["keep"]  # no staging or old folder left beside it


DESTS = [".", "..", "/", "{root}/elsewhere", "link-to-empty", "notes.txt", ""]


@pytest.mark.parametrize("dest", DESTS)
def test_export_never_writes_into_a_folder_it_did_not_create(workspace, capsys, dest):
    _refused(workspace, ["export", str(workspace / "run"), dest.format(root=workspace)], capsys)


def test_export_writes_a_new_or_empty_folder_and_then_refuses_to_overwrite_it(workspace):
    assert main(["export", str(workspace / "run"), str(workspace / "empty")]) == 0
    assert (workspace / "empty" / "adapter_model.safetensors").read_bytes() == b"weights"
    assert main(["export", str(workspace / "run"), "new/adapter"]) == 0
    assert (workspace / "work" / "new" / "adapter" / "README.md").is_file()
    assert main(["export", str(workspace / "run"), str(workspace / "empty")]) == 2


FILES = [".", "..", "/", "{root}/elsewhere/precious.txt", "link-to-precious", "notes.txt", "{root}/run/results.json"]
COMMANDS = {
    "report --out": ["report", "{root}/run", "--out"],
    "compare --out": ["compare", "{root}/run", "{root}/run2", "--out"],
    "check --junit": ["check", "{root}/run2", "--set-gate", GATE, "--junit"],
    "check --markdown": ["check", "{root}/run2", "--set-gate", GATE, "--markdown"],
    "check --json": ["check", "{root}/run2", "--set-gate", GATE, "--json"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("path", FILES)
def test_an_output_file_never_replaces_a_folder_a_link_or_a_file_harness_did_not_write(workspace, capsys,
                                                                                      command, path):
    argv = [part.format(root=workspace) for part in COMMANDS[command]] + [path.format(root=workspace)]
    _refused(workspace, argv, capsys)


@pytest.mark.parametrize("command", COMMANDS)
def test_an_output_file_harness_wrote_is_replaced_on_the_next_run(workspace, command):
    argv = [part.format(root=workspace) for part in COMMANDS[command]] + [str(workspace / "out" / "file")]
    assert main(argv) == 0
    first = (workspace / "out" / "file").read_text()
    assert main(argv) == 0
    assert (workspace / "out" / "file").read_text() == first


@pytest.mark.parametrize("out", [".", "..", "/", "{root}/elsewhere", "link-to-empty", "notes.txt"])
def test_run_refuses_an_out_folder_it_does_not_own_before_any_model_work(workspace, capsys, monkeypatch, out):
    (workspace / "work" / "suite.yaml").write_text("name: s\n")

    def no_run(*args, **kwargs):
        raise AssertionError("refused --out must stop the run before it starts")

    monkeypatch.setattr("harness.run.run", no_run)
    assert "--out" in _refused(workspace, ["run", "suite.yaml", "--out", out.format(root=workspace)], capsys)


def test_run_may_write_into_a_run_folder_harness_wrote(workspace, monkeypatch):
    (workspace / "work" / "suite.yaml").write_text("name: s\n")
    monkeypatch.setattr("harness.run.run", lambda suite, out, **kwargs: out)
    assert main(["run", "suite.yaml", "--out", str(workspace / "run")]) == 0


def _old_run(folder: Path) -> dict:
    folder.mkdir()
    for name in ("results.json", "report.html", "junit.xml"):
        (folder / name).write_text(f"old {name}")
    return snapshot(folder)


def test_a_rerun_into_a_folder_swaps_it_in_whole(tmp_path):
    _old_run(tmp_path / "run")
    with staged_run_folder(tmp_path / "run") as staging:
        (staging / "results.json").write_text("new")
        assert not (tmp_path / "run" / "results.json").read_text().startswith("new")
    assert snapshot(tmp_path / "run") == {"results.json": b"new"}  # no old junit.xml left beside new results
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_rerun_killed_mid_write_leaves_the_old_folder_as_it_was(tmp_path):
    before = _old_run(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt), staged_run_folder(tmp_path / "run") as staging:
        (staging / "results.json").write_text("new")
        raise KeyboardInterrupt
    assert snapshot(tmp_path / "run") == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_bad_input_found_late_still_publishes_the_generations_whole(tmp_path):
    _old_run(tmp_path / "run")
    with pytest.raises(HarnessError), staged_run_folder(tmp_path / "run") as staging:
        (staging / "generations.jsonl").write_text("{}\n")
        raise HarnessError("a format rule cannot run on an output")
    assert snapshot(tmp_path / "run") == {"generations.jsonl": b"{}\n"}


def test_a_file_put_into_the_folder_during_the_run_is_kept_and_so_is_the_new_run(tmp_path):
    before = _old_run(tmp_path / "run")
    with pytest.raises(HarnessError, match="plan.md") as caught, staged_run_folder(tmp_path / "run") as staging:
        (staging / "results.json").write_text("new")
        (tmp_path / "run" / "plan.md").write_text("someone's notes")
    assert snapshot(tmp_path / "run") == before | {"plan.md": b"someone's notes"}
    [kept] = [p for p in tmp_path.iterdir() if p.name != "run"]
    assert re.fullmatch(r"run\.unpublished-\d{8}-\d{6}", kept.name)  # visible, and never swept as a temporary
    assert str(kept) in str(caught.value) and (kept / "results.json").read_text() == "new"
    assert files.sweep_stale(tmp_path) == [] and kept.is_dir()
