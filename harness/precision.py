"""How the base model is held while each variant is evaluated, and how far NF4 moves it.

- **`evaluation.precision: full`** (the default) evaluates every variant on the unquantised base, in the
  suite's compute dtype: an adapter ships onto a bf16 (or merged, full-precision) model, whatever it was
  trained on, so that is what the run measures. **`training`** evaluates on the base as training held it
  (NF4 under QLoRA): what training saw, not what ships. The manifest, report and model card say which
  each variant ran in.
- **The quantisation check** runs where an adapter trained on an NF4 base: the base model's user-only prompts
  on the NF4 base and on the unquantised one. It reports the ratio of their reference NLL per token, the
  share of greedy answers that open with the same 10 words, and the share that are identical, and warns past
  the thresholds below (docs/training.md: the QLoRA paper measured NF4 on 7B to 65B models; these come from
  our measurements at 135M).
"""

from __future__ import annotations

from dataclasses import replace

from pydantic import BaseModel

from harness.evaluation import Job, VariantRun, reference_targets
from harness.examples import ExampleSet
from harness.models import Numerics, resolve_numerics
from harness.prompts import PromptRenderer
from harness.suite import ExternalAdapter, Suite
from harness.variants import Variant

# Warn past these (docs/training.md, "The quantisation check"). The reference NLL per token, NF4 over
# unquantised, and the share of answers that open with the same words. Measured on SmolLM2-135M (117 concise
# prompts): bf16 against float32, 0.999 and 77%; NF4 against bf16, 1.081 and 13%.
NLL_RATIO_WARNING = 1.05
OPENING_WARNING = 0.5
OPENING_WORDS = 10  # whole answers diverge late even between bf16 and float32 (27% identical): compare openings


def training_numerics(suite: Suite, adapter: str) -> Numerics:
    entry = suite.adapter_settings()[adapter]
    return resolve_numerics(suite.precision, entry.quantization, "training")


def variant_numerics(suite: Suite, adapter: str | None) -> Numerics:
    """How the base is held for a variant with `adapter` (None: the base alone) under evaluation.precision."""
    if suite.evaluation.precision == "full":
        return resolve_numerics(suite.precision, "none", "evaluation")
    entry = suite.adapter_settings().get(adapter) if adapter else None
    quantization = entry.quantization if entry is not None and not isinstance(entry, ExternalAdapter) else \
        suite.training.quantization
    return resolve_numerics(suite.precision, quantization, "evaluation")


def with_numerics(suite: Suite, jobs: list[Job]) -> list[Job]:
    """Each job with the numerics its adapter is evaluated in (a job that names its own keeps them)."""
    return [job if job.numerics is not None else replace(job, numerics=variant_numerics(suite, job.variant.adapter))
            for job in jobs]


def nf4_adapters(suite: Suite, variants: list[Variant]) -> list[str]:
    """The adapters a chosen variant uses that the suite trains on an NF4 base."""
    settings = suite.adapter_settings()
    return [name for name in dict.fromkeys(v.adapter for v in variants if v.adapter)
            if not isinstance(settings[name], ExternalAdapter) and training_numerics(suite, name).quantization == "nf4"]


def check_jobs(suite: Suite, renderer: PromptRenderer, eval_set: ExampleSet) -> list[Job]:
    """The base model's user-only prompts on the NF4 base and on the unquantised one."""
    base = Variant(name="base", arm="none", system=None, shots=(), adapter=None, base_prompt=suite.base_prompt)
    prompts = [renderer.for_variant(base, e.prompt) for e in eval_set.examples]
    targets, texts = reference_targets(suite, renderer, eval_set), [e.response for e in eval_set.examples]
    return [Job(f"quantisation/{name}", base, prompts, targets, texts=texts,
                numerics=resolve_numerics(suite.precision, quantization, "evaluation"))
            for name, quantization in (("nf4", "nf4"), ("full", "none"))]


class QuantisationCheck(BaseModel):
    """The base model on the NF4 base against the unquantised base, on the eval prompts."""

    n: int
    compute_dtype: str
    nll_nf4: float  # mean NLL per reference token
    nll_full: float
    nll_ratio: float  # nf4 over full
    opening_agreement: float  # share of the answers whose first OPENING_WORDS words are the same
    agreement: float  # share of the answers that are identical
    greedy: bool  # answers compared under greedy decoding (sampled answers differ by chance too)
    thresholds: dict[str, float]
    warnings: list[str]


def _same_opening(a: str, b: str) -> bool:
    first, second = a.split(), b.split()
    n = min(OPENING_WORDS, len(first), len(second))
    return first[:n] == second[:n] and (n == OPENING_WORDS or len(first) == len(second))


def check_result(runs: dict[str, VariantRun], numerics: Numerics, greedy: bool) -> QuantisationCheck:
    nf4, full = runs["quantisation/nf4"], runs["quantisation/full"]
    per_token = [sum(r.nll for r in run.references) / max(1, sum(r.tokens for r in run.references))
                 for run in (nf4, full)]
    pairs = list(zip((o.text for o in nf4.outputs), (o.text for o in full.outputs), strict=True))
    n = len(pairs)
    ratio = per_token[0] / per_token[1] if per_token[1] else float("inf")
    opening = sum(_same_opening(a, b) for a, b in pairs) / n if n else 0.0
    warnings = []
    if ratio > NLL_RATIO_WARNING:
        warnings.append(f"NF4 raises the base model's reference NLL by {ratio - 1:.1%} per token (warning above "
                        f"{NLL_RATIO_WARNING - 1:.0%}): an adapter trained on it learned against a different model "
                        "than the one it ships onto")
    if greedy and opening < OPENING_WARNING:
        warnings.append(f"only {opening:.0%} of the base model's greedy answers open with the same "
                        f"{OPENING_WORDS} words in NF4 as unquantised (warning below {OPENING_WARNING:.0%})")
    return QuantisationCheck(n=n, compute_dtype=numerics.dtype, nll_nf4=per_token[0], nll_full=per_token[1],
                             nll_ratio=ratio, opening_agreement=opening,
                             agreement=sum(a == b for a, b in pairs) / n if n else 0.0, greedy=greedy,
                             thresholds={"nll_ratio": NLL_RATIO_WARNING, "opening_agreement": OPENING_WARNING},
                             warnings=warnings)


POLICY = {"full": "evaluation.precision: full, as the adapter ships onto an unquantised base",
          "training": "evaluation.precision: training, on the base as training held it"}


def precision_lines(manifest) -> list[str]:
    """Which precision each variant ran in, in words; variants that share one on one line. A run from before
    1.6 recorded one precision for all."""
    groups: dict[str, list[str]] = {}
    for name, record in manifest.evaluation.items():
        held = record.numerics or manifest.numerics or {}
        quantised = "in NF4 (4-bit)" if held.get("quantization") == "nf4" else "unquantised"
        words = (f"{str(held.get('compute_dtype', '?')).replace('torch.', '')} compute, base {quantised}, "
                 f"on {held.get('device', '?')}")
        groups.setdefault(words, []).append(name)
    policy = POLICY.get(manifest.evaluation_precision or "", "")
    return [f"{', '.join(names)}: {words}" for words, names in groups.items()] + ([f"({policy})"] if policy else [])
