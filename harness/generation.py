"""Batched generation with every decoding setting explicit, and no row kept waiting for another.

`generate` keeps up to `decoding.batch_size` rows decoding at once. A row that ends (end-of-turn or
max_new_tokens) leaves the batch at once and a waiting prompt takes its place, so one long answer never
holds fifteen finished ones decoding to max_new_tokens (continuous batching over one KV cache, rows
left-padded to a common length). Models whose cache is not a plain per-layer key/value store (sliding
windows, recurrent state) fall back to `model.generate` on length-sorted batches.

Nothing is inherited from the model's generation_config: greedy unless `do_sample`, and for sampling the
temperature, top-k, top-p and repetition penalty come from the suite, seeded.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from pydantic import BaseModel

from harness.models import last_positions
from harness.suite import Decoding


class Output(BaseModel):
    """One variant's answer to one example."""

    text: str
    tokens: int  # generated tokens, end-of-turn excluded
    stopped: bool  # ended on an end-of-turn token
    truncated: bool  # hit max_new_tokens without end-of-turn


def generate(model, tokenizer, prompts: list[str], decoding: Decoding, stop_ids: list[int],
             on_done: Callable[[int], None] | None = None) -> list[Output]:
    """One Output per prompt, in the order given. `on_done(n)` is called as n more rows finish."""
    import torch

    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    new_ids: list[list[int]] = [[] for _ in prompts]
    torch.manual_seed(decoding.seed)
    with torch.inference_mode():
        if _plain_cache(model):
            _Decoder(model, decoding, stop_ids, tokenizer.pad_token_id).run(encoded, new_ids, on_done)
        else:
            _generate_in_batches(model, encoded, new_ids, decoding, stop_ids, tokenizer.pad_token_id, on_done)
    return [to_output(ids, tokenizer, stop_ids, decoding.max_new_tokens) for ids in new_ids]


def _plain_cache(model) -> bool:
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    cache = DynamicCache(config=_config(model))
    return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)


def _cache_argument(model) -> str:
    """transformers 5.2x renamed `past_key_values` to `cache`; use whichever this version's model takes."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def _config(model):
    return (model.get_base_model() if hasattr(model, "get_base_model") else model).config


# Padded prompt tokens per prefill pass. Activations grow with the prompt tokens in one pass (a prefill of
# 32 prompts of 169 tokens took 0.4 GB above the loaded model on a CPU); prefilling in groups of at most
# this many tokens bounds that, while decoding still runs decoding.batch_size rows together.
PREFILL_TOKENS = 1024


@dataclass
class _Decoder:
    """Continuous batching: prefill waiting prompts into free slots, decode one token for every live row."""

    model: object
    decoding: Decoding
    stop_ids: list[int]
    pad_id: int
    rows: list[int] = field(default_factory=list)  # example index of each live row
    cache: object = None
    mask: object = None  # [rows, cache length], 0 on left padding
    last: object = None  # [rows, 1], the token each row feeds next

    def run(self, encoded: list[list[int]], new_ids: list[list[int]], on_done) -> None:
        self.encoded, self.new_ids, self.on_done = encoded, new_ids, on_done
        self.select = _token_selector(self.decoding)
        self.cache_argument = _cache_argument(self.model)  # looked up once, not on every step
        # Similar lengths prefill together with little padding; the longest wait last.
        waiting = sorted(range(len(encoded)), key=lambda i: len(encoded[i]), reverse=True)
        width = self.decoding.batch_size
        while waiting or self.rows:
            free = width - len(self.rows)
            # Refill in groups, not one row a step: each prefill is a forward pass of its own.
            if waiting and (free >= max(1, width // 4) or not self.rows):
                self._admit(self._next_group(waiting, free))
            else:
                self._step()

    def _next_group(self, waiting: list[int], free: int) -> list[int]:
        """The shortest waiting prompts, as many as fit the free rows and PREFILL_TOKENS (one at least)."""
        group = [waiting.pop()]
        while waiting and len(group) < free and (len(group) + 1) * len(self.encoded[waiting[-1]]) <= PREFILL_TOKENS:
            group.append(waiting.pop())
        return group

    def _admit(self, indices: list[int]) -> None:
        import torch
        from transformers import DynamicCache

        width = max(len(self.encoded[i]) for i in indices)
        ids = torch.tensor([[self.pad_id] * (width - len(self.encoded[i])) + self.encoded[i] for i in indices])
        mask = torch.tensor([[0] * (width - len(self.encoded[i])) + [1] * len(self.encoded[i]) for i in indices])
        cache = DynamicCache(config=_config(self.model))
        logits = self._forward(ids, mask, cache)
        self._merge(indices, cache, mask)
        self._emit(logits, first=len(self.rows) - len(indices))

    def _step(self) -> None:
        import torch

        self.mask = torch.cat([self.mask, torch.ones(len(self.rows), 1, dtype=self.mask.dtype)], dim=1)
        logits = self._forward(self.last, self.mask, self.cache)
        self._emit(logits, first=0)

    def _forward(self, ids, mask, cache):
        import torch

        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, -ids.shape[1]:]
        device = _device(self.model)
        out = self.model(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                         use_cache=True, logits_to_keep=last_positions(ids.shape[1], 1).to(device),
                         **{self.cache_argument: cache})
        return out.logits[:, -1, :].to(torch.float32).cpu()

    def _merge(self, indices: list[int], cache, mask) -> None:
        """Append prefilled rows to the live batch, left-padding whichever side is shorter."""
        import torch
        import torch.nn.functional as F

        if not self.rows:
            self.rows, self.cache, self.mask = list(indices), cache, mask
            return
        width = max(self.mask.shape[1], mask.shape[1])

        def pad(tensor, to, dim):  # left-pad `dim` (counted from the end) with zeros up to `to`
            short = to - tensor.shape[dim]
            return tensor if short == 0 else F.pad(tensor, [0] * (2 * (-dim - 1)) + [short, 0])

        for live, new in zip(self.cache.layers, cache.layers, strict=True):
            live.keys = torch.cat([pad(live.keys, width, -2), pad(new.keys, width, -2)])
            live.values = torch.cat([pad(live.values, width, -2), pad(new.values, width, -2)])
        self.mask = torch.cat([pad(self.mask, width, -1), pad(mask, width, -1)])
        self.rows += indices

    def _emit(self, logits, first: int) -> None:
        """Pick the next token for rows[first:], retire the rows that are done, drop dead cache columns."""
        import torch

        rows = self.rows[first:]
        chosen = self.select(logits, lambda: [self.encoded[i] + self.new_ids[i] for i in rows]).tolist()
        for index, token in zip(rows, chosen, strict=True):
            self.new_ids[index].append(token)
        tokens = [self.new_ids[i][-1] for i in self.rows]
        keep = [k for k, i in enumerate(self.rows)
                if tokens[k] not in self.stop_ids and len(self.new_ids[i]) < self.decoding.max_new_tokens]
        done = len(self.rows) - len(keep)
        self.last = torch.tensor([[tokens[k]] for k in keep], dtype=torch.long)
        if done:
            self.rows = [self.rows[k] for k in keep]
            if self.rows:
                index = torch.tensor(keep)
                self.cache.batch_select_indices(index.to(_device(self.model)))
                self.mask = self.mask[index]
                self._trim()
            else:
                self.cache = self.mask = None
            if self.on_done:
                self.on_done(done)

    def _trim(self) -> None:
        """Drop leading cache columns that are padding in every live row (left by rows that left)."""
        dead = int((self.mask.sum(0) == 0).int().cumprod(0).sum())
        if dead:
            self.mask = self.mask[:, dead:]
            for layer in self.cache.layers:
                layer.keys, layer.values = layer.keys[:, :, dead:], layer.values[:, :, dead:]


def _token_selector(decoding: Decoding):
    """greedy argmax, or seeded sampling after repetition penalty, temperature, top-k and top-p."""
    import torch
    from transformers import (
        LogitsProcessorList,
        RepetitionPenaltyLogitsProcessor,
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    processors = LogitsProcessorList()
    if decoding.repetition_penalty != 1.0:
        processors.append(RepetitionPenaltyLogitsProcessor(decoding.repetition_penalty))
    if decoding.do_sample:
        processors.append(TemperatureLogitsWarper(decoding.temperature))
        if decoding.top_k:
            processors.append(TopKLogitsWarper(decoding.top_k))
        if decoding.top_p < 1.0:
            processors.append(TopPLogitsWarper(decoding.top_p))
    generator = torch.Generator().manual_seed(decoding.seed)

    def select(logits, rows_history):
        """`rows_history()` gives each row's prompt and answer so far; built only when a processor needs it."""
        if processors:
            history = rows_history()
            width = max(map(len, history))
            # Right-aligned history; padding repeats a row's own first token, so it adds no new id to penalise.
            ids = torch.tensor([[h[0]] * (width - len(h)) + h for h in history])
            logits = processors(ids, logits)
        if not decoding.do_sample:
            return logits.argmax(-1)
        return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).squeeze(-1)

    return select


def _generate_in_batches(model, encoded, new_ids, decoding: Decoding, stop_ids, pad_id, on_done) -> None:
    """For caches that cannot be merged row by row: model.generate on length-sorted, left-padded batches."""
    import torch

    config = generation_config(decoding, stop_ids, pad_id)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    device = _device(model)
    with _only(model, config):
        for start in range(0, len(order), decoding.batch_size):
            chunk = order[start:start + decoding.batch_size]
            width = max(len(encoded[i]) for i in chunk)
            ids = torch.tensor([[pad_id] * (width - len(encoded[i])) + encoded[i] for i in chunk], device=device)
            mask = torch.tensor([[0] * (width - len(encoded[i])) + [1] * len(encoded[i]) for i in chunk],
                                device=device)
            generated = model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
            for row, index in enumerate(chunk):
                new_ids[index] = generated[row, width:].tolist()
            if on_done:
                on_done(len(chunk))


def generation_config(decoding: Decoding, stop_ids: list[int], pad_id: int):
    from transformers import GenerationConfig

    sampling = {"temperature": decoding.temperature, "top_p": decoding.top_p, "top_k": decoding.top_k} \
        if decoding.do_sample else {"temperature": None, "top_p": None, "top_k": None}
    return GenerationConfig(
        max_new_tokens=decoding.max_new_tokens, min_new_tokens=0, do_sample=decoding.do_sample,
        num_beams=1, repetition_penalty=decoding.repetition_penalty, no_repeat_ngram_size=0,
        length_penalty=1.0, eos_token_id=stop_ids, pad_token_id=pad_id, bos_token_id=None,
        forced_bos_token_id=None, forced_eos_token_id=None, suppress_tokens=None, begin_suppress_tokens=None,
        bad_words_ids=None, renormalize_logits=False, **sampling,
    )


@contextmanager
def _only(model, config):
    """Swap the model's generation_config for ours so no field can fall back to the shipped one."""
    target = model.get_base_model() if hasattr(model, "get_base_model") else model
    shipped = target.generation_config
    target.generation_config = config
    try:
        yield
    finally:
        target.generation_config = shipped


def _device(model):
    return next(model.parameters()).device


def to_output(new_ids: list[int], tokenizer, stop_ids: list[int], max_new_tokens: int) -> Output:
    """New token ids as an answer: cut at the first stop token, decoded with special tokens kept."""
    stop_at = next((i for i, t in enumerate(new_ids) if t in stop_ids), None)
    kept = new_ids if stop_at is None else new_ids[:stop_at]
    return Output(
        text=tokenizer.decode(kept, skip_special_tokens=False),
        tokens=len(kept),
        stopped=stop_at is not None,
        truncated=stop_at is None and len(new_ids) >= max_new_tokens,
    )


def stop_token_ids(tokenizer, model, end_of_turn: str) -> list[int]:
    """End-of-turn of the template, plus the eos ids the model and tokenizer declare."""
    ids = [tokenizer.convert_tokens_to_ids(end_of_turn)]
    declared = model.generation_config.eos_token_id
    ids += declared if isinstance(declared, list) else [declared] if declared is not None else []
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return list(dict.fromkeys(i for i in ids if i is not None))
