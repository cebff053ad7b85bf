"""Library versions, recorded in manifests and part of cache keys."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

LIBRARIES = ("harness", "torch", "transformers", "peft", "trl", "bitsandbytes", "accelerate", "datasets")


def library_versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
