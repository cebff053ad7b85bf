"""The built-in smoke model: a tiny, randomly initialised Qwen2-architecture model, built on this machine.

It has its own byte-level BPE tokenizer (merges learned from a corpus shipped with the package, with
deterministic tie-breaking) and a ChatML chat template that, like Qwen2.5's, injects a default system
prompt when none is given. It is built with no download, and cached by the hash of what it is built from.
Its numbers show that the pipeline works, not how real models behave.
"""

from __future__ import annotations

from collections import Counter
from importlib import resources
from pathlib import Path

from harness.cache import verified_folder
from harness.files import cache_root, sha256_bytes, sha256_json

SMOKE_ID = "harness/smoke-qwen2"
SMOKE_NOTICE = (
    "Smoke model: a tiny randomly initialised Qwen2-architecture model built on this machine. "
    "Its numbers show that the pipeline works end to end, not how real models behave."
)
BUILDER_VERSION = 1
MERGES = 1200
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
DEFAULT_SYSTEM = "You are a smoke-test assistant."

# ChatML, with Qwen2.5's behaviour of inserting a default system turn when the conversation has none.
CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}{{- '<|im_start|>system\\n" + DEFAULT_SYSTEM + "<|im_end|>\\n' }}{%- endif %}"
    "{%- for message in messages %}"
    "{%- if not (message['role'] == 'system' and loop.first) %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

MODEL_SHAPE = {
    "hidden_size": 64,
    "intermediate_size": 192,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 2048,
    "tie_word_embeddings": True,
    # Larger than the usual 0.02 so the tied output layer can express peaked distributions at all.
    "initializer_range": 0.1,
}

# Qwen2.5 ships sampling defaults in generation_config.json; the smoke model does too, so tests can
# prove the harness never inherits them.
SHIPPED_GENERATION_DEFAULTS = {
    "do_sample": True, "temperature": 0.7, "top_p": 0.8, "top_k": 20, "repetition_penalty": 1.1,
}


def smoke_model_dir(root: Path | None = None) -> Path:
    """The cached smoke model folder, built first if missing."""
    import torch
    import transformers

    corpus = _corpus_bytes()
    key = sha256_json({
        "builder": BUILDER_VERSION, "corpus": sha256_bytes(corpus), "merges": MERGES, "shape": MODEL_SHAPE,
        "template": CHAT_TEMPLATE, "torch": torch.__version__.split("+")[0],
        "transformers": transformers.__version__,
    })[:16]
    final = (root or cache_root()) / "smoke" / key

    def make(staging: Path) -> dict:
        _build(staging, corpus.decode("utf-8"))
        return {"key": key}

    return verified_folder(final, make, what="smoke model",
                           waiting="waiting for another run building the smoke model")[0]


def _corpus_bytes() -> bytes:
    return resources.files("harness").joinpath("data/smoke_corpus.txt").read_bytes()


def _build(folder: Path, corpus: str) -> None:
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    tokenizer = build_tokenizer(corpus)
    tokenizer.save_pretrained(folder)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    config = Qwen2Config(vocab_size=len(tokenizer), bos_token_id=None, eos_token_id=ids["<|im_end|>"],
                         pad_token_id=ids["<|endoftext|>"], **MODEL_SHAPE)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config)
    torch.random.set_rng_state(generator_state)
    model.generation_config = GenerationConfig(
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]], pad_token_id=ids["<|endoftext|>"],
        **SHIPPED_GENERATION_DEFAULTS,
    )
    model.save_pretrained(folder)
    (folder / "SMOKE_MODEL.md").write_text(SMOKE_NOTICE + "\n", encoding="utf-8")


def build_tokenizer(corpus: str):
    """A byte-level BPE tokenizer whose merges are learned here, deterministically."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    words = Counter(piece for piece, _ in pre.pre_tokenize_str(corpus))
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    merges = learn_merges(words, MERGES)
    vocab = {symbol: index for index, symbol in enumerate(alphabet)}
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    core = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    core.pre_tokenizer = pre
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens(SPECIAL_TOKENS)
    return PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        chat_template=CHAT_TEMPLATE, model_max_length=MODEL_SHAPE["max_position_embeddings"],
        clean_up_tokenization_spaces=False,
    )


def learn_merges(word_counts: Counter, count: int) -> list[tuple[str, str]]:
    """Classic BPE merge learning. Ties go to the lexicographically smallest pair, so runs agree."""
    words = [(list(word), freq) for word, freq in sorted(word_counts.items())]
    pairs: Counter = Counter()
    where: dict[tuple[str, str], set[int]] = {}
    for index, (symbols, freq) in enumerate(words):
        for pair in zip(symbols, symbols[1:], strict=False):
            pairs[pair] += freq
            where.setdefault(pair, set()).add(index)
    merges: list[tuple[str, str]] = []
    while len(merges) < count and pairs:
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        if pairs[best] < 2:
            break
        merges.append(best)
        for index in sorted(where.pop(best, ())):
            symbols, freq = words[index]
            for pair in zip(symbols, symbols[1:], strict=False):
                pairs[pair] -= freq
            merged = _merge(symbols, best)
            words[index] = (merged, freq)
            for pair in zip(merged, merged[1:], strict=False):
                pairs[pair] += freq
                where.setdefault(pair, set()).add(index)
        pairs = +pairs  # drop pairs whose count fell to zero
    return merges


def _merge(symbols: list[str], pair: tuple[str, str]) -> list[str]:
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def is_smoke(model_dir: Path) -> bool:
    return (Path(model_dir) / "SMOKE_MODEL.md").exists()
