"""The panels' settings, checked before any model (with the data and the variants, harness/checks.py): the
neutral exchanges that persistence and truncation put before the eval prompt, the prompt names the
sensitivity panel runs, the variants the canary needs; and each panel's most passes, for `harness validate`.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from harness.data_files import raise_all
from harness.errors import HarnessError
from harness.suite import ExternalAdapter, Suite
from harness.variants import Shot, Variant, field_path


def exchanges(suite: Suite) -> list[Shot]:
    """The neutral earlier turns: the suite's `panels.exchanges` file, or the built-in ones."""
    path = suite.resolve(suite.panels.exchanges) if suite.panels.exchanges else None
    try:
        text = (path.read_text("utf-8") if path is not None else
                resources.files("harness").joinpath("data", "neutral_turns.jsonl").read_text("utf-8"))
    except OSError as exc:
        raise HarnessError(f"panels.exchanges: cannot read it ({exc.strerror}); expected a JSONL file of "
                           "{user, assistant} rows", file=path) from None
    label, found, errors = path or Path("harness/data/neutral_turns.jsonl"), [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(HarnessError(f"invalid JSON: {exc.msg}", file=label, where=str(number)))
            continue
        if not (isinstance(row, dict) and set(row) == {"user", "assistant"}
                and all(isinstance(v, str) and v.strip() for v in row.values())):
            errors.append(HarnessError("expected an object with exactly 'user' and 'assistant', each non-empty "
                                       "text", file=label, where=str(number)))
            continue
        found.append(Shot(f"exchange-{number}", row["user"], row["assistant"]))
    raise_all(errors)
    return found


def problems(suite: Suite, turns: list[Shot] | None) -> list[HarnessError]:
    """Each panel's settings fit the suite: enough exchanges, known prompt names."""
    panels, errors = suite.panels, []

    def error(message: str, *loc: str | int) -> None:
        errors.append(HarnessError(f"{field_path(('panels', *loc))}: {message}", file=suite.path,
                                   where=suite.line_of("panels", *loc)))

    deepest = max([*(panels.persistence.turns if panels.persistence else []),
                   panels.truncation.turns if panels.truncation else 0])
    if turns is not None and deepest - 1 > len(turns):
        error(f"turn {deepest} needs {deepest - 1} earlier exchanges; the exchanges file has {len(turns)}",
              "persistence" if panels.persistence and deepest in panels.persistence.turns else "truncation")
    if panels.sensitivity:
        for index, name in enumerate(panels.sensitivity.prompts):
            if name != "system" and name not in suite.prompts:
                named = f"one of prompts: {', '.join(suite.prompts)}" if suite.prompts else "names from prompts:"
                error(f"unknown prompt {name!r}; expected system or {named}", "sensitivity", "prompts", index)
        if len(set(panels.sensitivity.prompts)) != len(panels.sensitivity.prompts):
            error("a prompt is named twice; expected each phrasing once", "sensitivity", "prompts")
    return errors


def canary_variants(variants: list[Variant]) -> list[Variant]:
    """The variants the canary runs on: those that add nothing to the user prompt, the base model first."""
    plain = [v for v in variants if v.system is None and not v.shots]
    return sorted(plain, key=lambda v: v.adapter is not None)


def canary_problem(variants: list[Variant]) -> str | None:
    """Why the canary cannot run on these variants, or None."""
    plain = canary_variants(variants)
    if not plain or plain[0].adapter is not None or len(plain) < 2:
        return ("panels.canary: needs a variant of the base model with no prompt arm (e.g. base) and one of at "
                "least one adapter (e.g. sft) among the variants that run; expected both")
    return None


def most_passes(suite: Suite) -> dict[str, int]:
    """Each opt-in panel and at most how many extra passes of the model it makes over the suite's variants
    (fewer where a condition equals a variant or another condition; the run says the exact cost first)."""
    specs, panels = suite.variant_specs(), suite.panels
    models = 1 + len({v.adapter for v in specs if v.adapter})
    found = {}
    if panels.persistence:
        found["persistence"] = len(specs) * len(set(panels.persistence.turns) - {1})
    if panels.truncation:
        found["truncation"] = len(specs) * len(panels.truncation.budgets)
    if panels.sensitivity:
        found["sensitivity"] = len(panels.sensitivity.prompts) * models
    if panels.canary:
        found["canary"] = 2 * models
    # The data-size curve: one pass (and one more adapter trained) per fraction below 1 of each trained adapter.
    sizes = sum(len([f for f in entry.data_fractions if f < 1]) for entry in suite.adapter_settings().values()
                if not isinstance(entry, ExternalAdapter) and entry.data_fractions)
    if sizes:
        found["data_size"] = sizes
    return found


def panel_choice(suite: Suite, given: str | None) -> dict:
    """`--panels NAMES|none` as overrides that turn the suite's other panels off."""
    if given is None:
        return {}
    sized = [name for name, entry in suite.adapter_settings().items()
             if not isinstance(entry, ExternalAdapter) and entry.data_fractions]
    declared = suite.panels.declared() + (["data_size"] if sized else [])
    names = [] if given.strip() == "none" else [n.strip() for n in given.split(",") if n.strip()]
    unknown = [n for n in names if n not in declared]
    if unknown or (not names and given.strip() != "none"):
        raise HarnessError(f"--panels {given}: expected none, or names from the suite's panels "
                           f"({', '.join(declared) or 'it declares none'})")
    off = {f"panels.{name}": None for name in declared if name not in names and name != "data_size"}
    if sized and "data_size" not in names:  # training.data_fractions, and any adapter's own
        off.update({"training.data_fractions": None, **{f"adapters.{name}.data_fractions": None for name in sized
                                                        if suite.adapters and name in suite.adapters}})
    return off
