"""The documented GitHub Actions workflow installs the harness, runs with --gate, uploads report and JUnit."""

from __future__ import annotations

import yaml
from conftest import ROOT


def test_workflow_runs_the_gate_and_uploads_the_artifacts():
    workflow = yaml.safe_load((ROOT / "docs" / "ci" / "github-actions.yml").read_text())
    steps = workflow["jobs"]["gate"]["steps"]
    commands = "\n".join(step.get("run", "") for step in steps)
    assert "pip install -c constraints.txt -e ." in commands
    assert "harness run suites/concise.yaml --smoke --gate" in commands
    uploads = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
    assert uploads and {"reports/ci/report.html", "reports/ci/junit.xml"} <= set(uploads[0]["with"]["path"].split())
