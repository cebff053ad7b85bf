"""`decoding.backend: vllm`: every variant's answers from one vLLM engine, the base model loaded once with LoRA
enabled and one `LoRARequest` per adapter; reference scoring stays in transformers (harness/evaluation.py).

The engine gets what the transformers backend decodes: the same rendered prompts, as the same token ids
(`TokensPrompt`, no special tokens added), the same explicit sampling settings (greedy is temperature 0;
nothing comes from the model's generation_config), and the same stop token ids; its token ids become
answers through the same `generation.to_output`, cut at the first stop token. vLLM is an optional extra
(`pip install 'harness[vllm]'`) and needs a GPU: without either the run stops before any model work with one
line saying which.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.generation import Output, to_output
from harness.suite import Decoding, Suite

if TYPE_CHECKING:
    from harness.training import Adapter

# The engine's share of GPU memory: transformers loads the base again afterwards, for reference scoring.
GPU_MEMORY_SHARE = 0.6


def installed() -> bool:
    return importlib.util.find_spec("vllm") is not None


def problem(gpu: bool | None = None) -> str | None:
    """Why the vllm backend cannot run here, in one line; None where it can."""
    if not installed():
        return ("decoding.backend: vllm needs the vllm package, which is not installed here; expected "
                "`pip install 'harness[vllm]'` on a machine with a GPU, or backend: transformers")
    if gpu is None:
        import torch

        gpu = torch.cuda.is_available()
    if not gpu:
        return "decoding.backend: vllm needs a GPU and this machine has none; expected backend: transformers"
    return None


def refusal(suite: Suite, processes: int, quantised: bool, gpu: bool | None = None) -> str | None:
    """Why this run cannot use the vllm backend, in one line; None where it can (or does not ask to)."""
    if suite.decoding.backend != "vllm":
        return None
    if (missing := problem(gpu)) is not None:
        return missing
    if processes > 1:
        return (f"decoding.backend: vllm runs one engine for the whole run; expected one process, not {processes} "
                "(launch the run without accelerate or torchrun)")
    if quantised:
        return ("decoding.backend: vllm answers on the unquantised base; expected evaluation.precision: full "
                "(the NF4 base is the transformers backend's)")
    return None


def sampling(decoding: Decoding, stop_ids: list[int]) -> dict:
    """vLLM SamplingParams fields for `decoding`, every one set: greedy is temperature 0; top-k and top-p
    apply only when sampling, as in the transformers backend."""
    settings = {"max_tokens": decoding.max_new_tokens, "stop_token_ids": list(stop_ids), "seed": decoding.seed,
                "repetition_penalty": decoding.repetition_penalty, "skip_special_tokens": False,
                "temperature": decoding.temperature if decoding.do_sample else 0.0,
                "top_p": decoding.top_p if decoding.do_sample else 1.0}
    if decoding.do_sample and decoding.top_k:
        settings["top_k"] = decoding.top_k
    return settings


@dataclass(frozen=True)
class LoraSlot:
    """One adapter as the engine knows it: a name, an id from 1 (0 is reserved), the folder."""

    name: str
    id: int
    path: str


def lora_slots(adapters: dict[str, Adapter]) -> dict[str, LoraSlot]:
    return {name: LoraSlot(name, index, str(adapter.folder)) for index, (name, adapter) in
            enumerate(adapters.items(), start=1)}


# The ranks vLLM's LoRA kernels are built for (LoRAConfig refuses any other max_lora_rank).
ENGINE_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def max_rank(adapters: dict[str, Adapter]) -> int:
    """The engine's rank per slot: the smallest it supports that holds the largest adapter's rank. An adapter
    trained elsewhere has no training record; its adapter_config.json says its rank."""
    ranks = [_rank(a) for a in adapters.values()]
    largest = max(ranks, default=8)
    return next((r for r in ENGINE_RANKS if r >= largest), largest)


def _rank(adapter: Adapter) -> int:
    import json

    trained = (adapter.manifest.get("training") or {}).get("lora", {}).get("r")
    if trained is not None:
        return int(trained)
    config = adapter.folder / "adapter_config.json"
    return int(json.loads(config.read_text()).get("r", 8)) if config.is_file() else 8


def prompt_ids(tokenizer, prompts: list[str]) -> list[list[int]]:
    """The rendered prompts as the transformers backend encodes them: no special tokens added."""
    return [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]


def answers(request_outputs, tokenizer, stop_ids: list[int], max_new_tokens: int) -> list[Output]:
    """vLLM's outputs (one per prompt, in order) as the harness's answers. Where vLLM stopped on a stop token
    and left it out of the token ids, it is put back, so the answer reads `stopped` as in transformers."""
    found = []
    for request in request_outputs:
        completion = request.outputs[0]
        ids = list(completion.token_ids)
        if completion.finish_reason == "stop" and not any(t in stop_ids for t in ids):
            reason = completion.stop_reason
            ids.append(reason if isinstance(reason, int) else stop_ids[0])
        found.append(to_output(ids, tokenizer, stop_ids, max_new_tokens))
    return found


def generate_all(folder, dtype: str, tokenizer, adapters: dict[str, Adapter], passes: list[tuple],
                 stop_ids: list[int]) -> list[list[Output]]:
    """Each pass (prompts, adapter name or None, decoding) answered by one engine. Needs vLLM and a GPU."""
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt
    from vllm.lora.request import LoRARequest

    slots = lora_slots(adapters)
    engine = LLM(model=str(folder), tokenizer=str(folder), dtype=dtype, enable_lora=bool(slots),
                 max_loras=max(1, len(slots)), max_lora_rank=max_rank(adapters),
                 gpu_memory_utilization=GPU_MEMORY_SHARE, seed=0)
    found = []
    try:
        for prompts, adapter, decoding in passes:
            slot = slots.get(adapter) if adapter else None
            request = LoRARequest(slot.name, slot.id, slot.path) if slot else None
            outputs = engine.generate([TokensPrompt(prompt_token_ids=ids) for ids in prompt_ids(tokenizer, prompts)],
                                      SamplingParams(**sampling(decoding, stop_ids)), lora_request=request,
                                      use_tqdm=False)
            found.append(answers(outputs, tokenizer, stop_ids, decoding.max_new_tokens))
    finally:
        del engine
        _release()
    return found


def _release() -> None:
    """Hand the engine's GPU memory back before transformers loads the base for reference scoring."""
    import gc

    import torch

    try:
        from vllm.distributed.parallel_state import cleanup_dist_env_and_memory
    except ImportError:  # moved or gone in this vLLM version: collecting is what is left
        cleanup_dist_env_and_memory = None
    if cleanup_dist_env_and_memory is not None:
        cleanup_dist_env_and_memory()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
