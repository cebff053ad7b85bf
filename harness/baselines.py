"""Named baselines: a run's results and manifest kept under a name, to gate later runs against."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness.errors import HarnessError
from harness.files import publish_dir, staging_dir
from harness.results import Results, read_results

NAME = r"^[A-Za-z0-9_.-]+$"


def store() -> Path:
    """Baselines live in ./baselines (commit them next to the suites), or HARNESS_BASELINES."""
    return Path(os.environ.get("HARNESS_BASELINES", "baselines"))


def save(run_dir: Path, name: str) -> Path:
    import re

    if not re.match(NAME, name):
        raise HarnessError(f"--name {name!r}: expected letters, digits, '.', '_' or '-'")
    read_results(run_dir)  # refuse anything that is not a complete run
    final = store() / name
    staging = staging_dir(final)
    for file in ("results.json", "manifest.json"):
        if (Path(run_dir) / file).exists():
            shutil.copy2(Path(run_dir) / file, staging / file)
    if final.exists():
        shutil.rmtree(final)
    publish_dir(staging, final)
    return final


def load(reference: str) -> tuple[Results, str]:
    """A baseline by run folder path or by saved name."""
    candidate = Path(reference)
    if (candidate / "results.json").is_file():
        return read_results(candidate), str(candidate)
    named = store() / reference
    if (named / "results.json").is_file():
        return read_results(named), reference
    raise HarnessError(f"--baseline {reference!r}: neither a run folder nor a saved baseline in {store()}/")
