"""results.json is typed: the documented JSON Schema matches the records, and results round-trip."""

from __future__ import annotations

import json

from conftest import ROOT

from harness.results import Results


def test_documented_schema_is_current():
    documented = json.loads((ROOT / "docs" / "results.schema.json").read_text())
    assert documented == json.loads(json.dumps(Results.model_json_schema(), sort_keys=True)), \
        "docs/results.schema.json is out of date: run `nox -s schema`"
