"""`harness export --merge`: the adapter merged into a full-precision copy of its base model (PEFT's
`merge_and_unload`, the seed's last step), written with its tokenizer and chat template, and checked.

The check: the eval prompts of the adapter's user-only variant, answered greedily by the adapter on its base
and by the merged model, both in float32 on this machine. Merging adds B·A into each weight once, in a
different order of floating-point operations, so a few answers can part where two tokens were nearly tied;
the agreement goes into the model card as measured, never assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.generation import generate, stop_token_ids
from harness.models import Numerics, device, load_model, load_tokenizer, resolve_model
from harness.progress import console, stage
from harness.prompts import end_of_turn_token
from harness.suite import Decoding

DTYPE = "float32"  # full precision: what a user converts to bf16 or a serving format from


@dataclass(frozen=True)
class MergeCheck:
    folder: str  # the merged model's folder, relative to DEST
    dtype: str
    variant: str  # whose eval prompts were answered
    prompts: int
    agreeing: int  # greedy answers of the merged model equal to the adapter-on-base ones


def merge(results, adapter_name: str, adapter_folder: Path, into: Path) -> MergeCheck:
    """Merge the run's adapter into its base, write it to `into`, and compare the two greedily."""
    from peft import PeftModel

    manifest = results.manifest
    variant = variant_of(results, adapter_name)
    prompts = [e.variants[variant].prompt for e in results.examples]
    stage("merge", f"{adapter_name} into {manifest.model.name} ({DTYPE}), then {len(prompts)} answers from each")
    source = resolve_model(manifest.model.name, manifest.model.revision, smoke=manifest.model.smoke,
                           suite_dir=Path(manifest.suite.file).parent, announce=lambda line: console.print(f"  {line}"))
    if source.weights_hash != manifest.model.weights_sha256:
        raise HarnessError(f"the base model {manifest.model.name} on this machine is not the one the run used "
                           "(weights hash differs); expected the same weights", file=Path(manifest.suite.file))
    tokenizer = load_tokenizer(source)
    model = PeftModel.from_pretrained(load_model(source, Numerics(device(), DTYPE, "none")), adapter_folder)
    model.eval()
    decoding = Decoding(**{**manifest.decoding, "do_sample": False})
    stops = stop_token_ids(tokenizer, model, end_of_turn_token(tokenizer))
    before = generate(model, tokenizer, prompts, decoding, stops)
    merged = model.merge_and_unload()
    after = generate(merged, tokenizer, prompts, decoding, stops)
    merged.save_pretrained(into, safe_serialization=True)
    tokenizer.save_pretrained(into)  # with its chat template
    agreeing = sum(a.text == b.text for a, b in zip(before, after, strict=True))
    console.print(f"  merged model: {agreeing} of {len(prompts)} greedy answers equal the adapter's on its base")
    return MergeCheck(folder=into.name, dtype=DTYPE, variant=variant, prompts=len(prompts), agreeing=agreeing)


def variant_of(results, adapter_name: str) -> str:
    """The variant that runs the adapter on the user prompt alone, else the first that runs it at all: the
    one whose prompts the merge check and the model card's usage take."""
    grid = results.variant_grid()
    own = [v.name for v in grid if v.adapter == adapter_name]
    plain = [v.name for v in grid if v.adapter == adapter_name and v.arm == "none"]
    if not own:
        raise HarnessError(f"no variant of this run uses the adapter {adapter_name!r}; expected one to take its "
                           "eval prompts from")
    return (plain or own)[0]
