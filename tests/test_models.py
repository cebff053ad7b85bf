"""Model sources: local folders, hub ids (resolved offline from a local HF cache), the smoke model."""

from __future__ import annotations

import shutil

import pytest

from harness.errors import HarnessError
from harness.models import load_model, load_tokenizer, resolve_model, resolve_numerics
from harness.smoke import SMOKE_ID


def test_local_folder_loads_and_is_identified_by_content(smoke_dir, tmp_path):
    copy_dir = tmp_path / "my-model"
    shutil.copytree(smoke_dir, copy_dir)
    source = resolve_model(str(copy_dir))
    assert source.folder == copy_dir and source.revision is None
    assert source.weights_hash == resolve_model(str(smoke_dir)).weights_hash
    assert load_tokenizer(source).chat_template
    assert load_model(source, resolve_numerics("float32", "none")).config.model_type == "qwen2"


def test_hub_id_resolves_through_the_hub_cache_offline(smoke_dir, tmp_path, monkeypatch):
    """The real hub path (snapshot_download + from_pretrained), served from a local HF cache."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--acme--tiny-instruct"
    shutil.copytree(smoke_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    source = resolve_model("acme/tiny-instruct")
    assert source.folder.name == commit and source.revision == commit
    assert source.name == "acme/tiny-instruct"
    model = load_model(source, resolve_numerics("float32", "nf4"))
    assert model.is_loaded_in_4bit


def test_unknown_hub_id_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(HarnessError, match="cannot load model 'nobody/nothing'"):
        resolve_model("nobody/nothing")


def test_smoke_flag_swaps_in_the_smoke_model():
    source = resolve_model("Qwen/Qwen2.5-0.5B-Instruct", smoke=True)
    assert source.smoke and source.name == SMOKE_ID


def test_auto_numerics_never_emulate_nf4_on_a_cpu_and_say_why(monkeypatch):
    monkeypatch.setattr("harness.models.device", lambda: "cpu")
    monkeypatch.setattr("harness.models._native_bf16", lambda where: False)
    plain = resolve_numerics("auto", "auto")
    assert (plain.dtype, plain.quantization) == ("float32", "none")
    assert any("NF4 is emulated" in note for note in plain.notes)
    monkeypatch.setattr("harness.models._native_bf16", lambda where: True)
    assert resolve_numerics("auto", "auto").dtype == "bfloat16"
    explicit = resolve_numerics("float32", "nf4")  # an explicit choice is honoured, with nothing to explain
    assert (explicit.dtype, explicit.quantization, explicit.notes) == ("float32", "nf4", ())


def test_auto_numerics_on_a_gpu_are_qlora(monkeypatch):
    monkeypatch.setattr("harness.models.device", lambda: "cuda")
    monkeypatch.setattr("harness.models._native_bf16", lambda where: True)
    numerics = resolve_numerics("auto", "auto")
    assert (numerics.device, numerics.dtype, numerics.quantization) == ("cuda", "bfloat16", "nf4")
