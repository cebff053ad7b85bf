"""Named baselines: a run's results and manifest kept under a name, to gate later runs against."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from harness.errors import HarnessError
from harness.results import Results
from harness.run_folder import read_run, staged_folder

# A name is one folder inside the store, never a path: no '/', and no '.' or '..' (it cannot start with '.').
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
FILES = ("results.json", "manifest.json")


def store() -> Path:
    """Baselines live in ./baselines (commit them next to the suites), or HARNESS_BASELINES."""
    return Path(os.environ.get("HARNESS_BASELINES", "baselines"))


def _baseline_file(name: str) -> bool:
    return name in FILES or (name.startswith(".") and name.endswith(".tmp"))


def _checked(name: str) -> str:
    if not NAME.match(name):
        raise HarnessError(f"--name {name!r}: expected 1 to 64 lowercase letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit")
    return name


def save(run_dir: Path, name: str) -> Path:
    """Copy a complete run's results and manifest to the store; a baseline of the same name is replaced whole."""
    final = store() / _checked(name)
    read_run(run_dir)  # refuse anything that is not a complete run
    with staged_folder(final, _baseline_file, f"--name {name}") as staging:
        for file in FILES:
            if (Path(run_dir) / file).is_file():
                shutil.copy2(Path(run_dir) / file, staging / file)
    return final


def load(reference: str) -> tuple[Results, str]:
    """A baseline by run folder path or by saved name."""
    candidate = Path(reference)
    if (candidate / "results.json").is_file():
        return read_run(candidate), str(candidate)
    named = store() / reference
    if NAME.match(reference) and (named / "results.json").is_file():
        return read_run(named), reference
    raise HarnessError(f"--baseline {reference!r}: neither a run folder nor a saved baseline in {store()}/")
