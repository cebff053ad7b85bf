"""Real chat templates (tests/data/templates): the answer as each template renders it, and its default system
turn kept or cut as a whole, on the smoke tokenizer with each template's special tokens added."""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.examples import Example, ExampleSet
from harness.prompts import PromptRenderer, end_of_turn_token, render_target
from harness.suite import Training
from harness.tokens import encode_pair
from harness.training import IGNORE_INDEX, tokenize_training_set

TEMPLATES = Path(__file__).parent / "data" / "templates"
LLAMA = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
         "additional_special_tokens": ["<|start_header_id|>", "<|end_header_id|>"]}
# Per template: the special tokens its tokenizer has (added to the smoke tokenizer), and the answer "Four." as
# the template renders it after the generation prompt, up to its end-of-turn token.
MODELS = {
    "qwen2.5": ({}, "Four.<|im_end|>"),
    "smollm2": ({}, "Four.<|im_end|>"),
    "llama-3.1": (LLAMA, "Four.<|eot_id|>"),
    "llama-3.2": (LLAMA, "Four.<|eot_id|>"),
    "mistral-v0.3": ({"bos_token": "<s>", "eos_token": "</s>", "additional_special_tokens": ["[INST]", "[/INST]"]},
                     " Four.</s>"),
    "phi-3.5": ({"eos_token": "<|endoftext|>",
                 "additional_special_tokens": ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]}, "Four.<|end|>"),
    "gemma-2": ({"bos_token": "<bos>", "eos_token": "<eos>",
                 "additional_special_tokens": ["<start_of_turn>", "<end_of_turn>"]}, "Four.<end_of_turn>"),
}
WITH_SYSTEM = [name for name in MODELS if name != "gemma-2"]  # Gemma-2's template rejects a system message
QUESTION, ANSWER, PROMPT = "What is two plus two?", "Four.", "Be brief."


def tokenizer_for(smoke_tokenizer, name: str):
    clone = copy.deepcopy(smoke_tokenizer)
    specials, _ = MODELS[name]
    if specials:
        clone.add_special_tokens(specials)
    clone.chat_template = (TEMPLATES / f"{name}.jinja").read_text(encoding="utf-8")
    return clone


def template_rendering(tokenizer, messages, **kwargs) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, **kwargs)


@pytest.mark.parametrize("name", list(MODELS))
def test_target_is_the_answer_as_the_template_renders_it(smoke_tokenizer, name):
    tokenizer = tokenizer_for(smoke_tokenizer, name)
    expected = MODELS[name][1]
    eot = end_of_turn_token(tokenizer)
    target = render_target(tokenizer, QUESTION, ANSWER, "ex-1", end_of_turn=eot)
    assert target == expected
    assert render_target(tokenizer, QUESTION, ANSWER, "ex-1", end_of_turn=eot, include_end_of_turn=False) == (
        expected[: -len(eot)])
    # Generation prompt + target is, character for character, the start of the template's own conversation,
    # and so are its tokens.
    user = [{"role": "user", "content": QUESTION}]
    prompt = template_rendering(tokenizer, user, add_generation_prompt=True)
    conversation = template_rendering(tokenizer, user + [{"role": "assistant", "content": ANSWER}])
    assert conversation.startswith(prompt + target)
    pair = encode_pair(tokenizer, prompt, target)
    assert pair.input_ids == tokenizer(prompt + target, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(pair.completion_ids) == expected


@pytest.mark.parametrize("name", WITH_SYSTEM)
def test_renderer_targets_are_the_same_for_every_variant_and_policy(smoke_tokenizer, name):
    tokenizer = tokenizer_for(smoke_tokenizer, name)
    for policy in ("no_system", "template_default"):
        renderer = PromptRenderer(tokenizer, PROMPT, policy)
        assert renderer.target(QUESTION, ANSWER, "ex-1") == MODELS[name][1]
        # The answer's tokens are cut at the same place after either variant's prompt.
        completions = {tuple(encode_pair(tokenizer, renderer.render(QUESTION, system), renderer.target(
            QUESTION, ANSWER, "ex-1")).completion_ids) for system in (False, True)}
        assert len(completions) == 1


def test_mistral_training_labels_carry_the_space_the_template_renders(smoke_tokenizer):
    tokenizer = tokenizer_for(smoke_tokenizer, "mistral-v0.3")
    renderer = PromptRenderer(tokenizer, PROMPT, "no_system")
    train = ExampleSet(split="train", source="memory", examples=[Example(id="0", prompt=QUESTION, response=ANSWER)])
    row = tokenize_training_set(train, renderer, tokenizer, Training())[0]
    scored = [t for t in row["labels"] if t != IGNORE_INDEX]
    assert tokenizer.decode(scored) == " Four.</s>"
    assert tokenizer.decode(row["input_ids"]) == "<s>[INST] What is two plus two?[/INST] Four.</s>"


def test_llama_trims_the_answer_and_so_does_the_target(smoke_tokenizer):
    tokenizer = tokenizer_for(smoke_tokenizer, "llama-3.1")
    renderer = PromptRenderer(tokenizer, PROMPT, "no_system")
    assert renderer.target(QUESTION, "  Four.\n", "ex-1") == "Four.<|eot_id|>"


def test_a_conversation_that_does_not_start_with_the_generation_prompt_names_the_example(smoke_tokenizer):
    tokenizer = copy.deepcopy(smoke_tokenizer)
    tokenizer.chat_template = (  # a reasoning-style template: the generation prompt opens a block replies lack
        "{%- for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{%- endfor %}"
        "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n<think>\\n' }}{%- endif %}")
    renderer = PromptRenderer(tokenizer, PROMPT, "no_system")
    with pytest.raises(HarnessError, match="example 'ex-7'.*does not start with the prompt"):
        renderer.target(QUESTION, ANSWER, "ex-7")


# The system variant's extra text over base, per template and policy: the suite's prompt and the markup its
# turn needs, never the template's default (identity line, date header).
EXTRA = {
    ("qwen2.5", "no_system"): "<|im_start|>system\nBe brief.<|im_end|>\n",
    ("qwen2.5", "template_default"): "\n\nBe brief.",
    ("smollm2", "no_system"): "<|im_start|>system\nBe brief.<|im_end|>\n",
    ("smollm2", "template_default"): "\n\nBe brief.",
    ("llama-3.1", "no_system"): "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>",
    ("llama-3.1", "template_default"): "Be brief.",
    ("llama-3.2", "no_system"): "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>",
    ("llama-3.2", "template_default"): "Be brief.",
    ("mistral-v0.3", "no_system"): "Be brief.\n\n",
    ("mistral-v0.3", "template_default"): "Be brief.\n\n",
    ("phi-3.5", "no_system"): "<|system|>\nBe brief.<|end|>\n",
    ("phi-3.5", "template_default"): "<|system|>\nBe brief.<|end|>\n",
}
DEFAULTS = {
    "qwen2.5": "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
    "smollm2": "You are a helpful AI assistant named SmolLM, trained by Hugging Face",
    "llama-3.1": "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n",
    "llama-3.2": "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n",
    "mistral-v0.3": None,
    "phi-3.5": None,
}


@pytest.mark.parametrize(("name", "policy"), list(EXTRA))
def test_system_variant_adds_only_the_suite_prompt(smoke_tokenizer, name, policy):
    renderer = PromptRenderer(tokenizer_for(smoke_tokenizer, name), PROMPT, policy)
    base, system = renderer.render(QUESTION, system=False), renderer.render(QUESTION, system=True)
    assert system.replace(EXTRA[name, policy], "", 1) == base
    assert renderer.facts.default_system == DEFAULTS[name]
    default = DEFAULTS[name]
    if default is not None:  # the default turn is kept in both variants or cut from both, never in one only
        kept = policy == "template_default"
        for text in (base, system):
            assert (default.strip() in text) == kept


def test_llama_31_default_turn_is_cut_whole_under_no_system(smoke_tokenizer):
    renderer = PromptRenderer(tokenizer_for(smoke_tokenizer, "llama-3.1"), PROMPT, "no_system")
    assert renderer.render(QUESTION, system=False) == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is two plus two?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert renderer.render(QUESTION, system=True) == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nWhat is two plus two?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n")


def test_prompt_tax_in_tokens_is_the_suite_prompt_turn(smoke_tokenizer):
    tokenizer = tokenizer_for(smoke_tokenizer, "llama-3.2")
    count = lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    for policy in ("no_system", "template_default"):
        renderer = PromptRenderer(tokenizer, PROMPT, policy)
        tax = count(renderer.render(QUESTION, True)) - count(renderer.render(QUESTION, False))
        assert tax == count(EXTRA["llama-3.2", policy])


class _Tomorrow(datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2031, 1, 2)


def test_llama_32_gets_a_pinned_date_that_does_not_move(smoke_tokenizer, monkeypatch):
    import transformers.utils.chat_template_utils as chat_template_utils

    tokenizer = tokenizer_for(smoke_tokenizer, "llama-3.2")
    renderer = PromptRenderer(tokenizer, PROMPT, "template_default")
    today = [renderer.render(QUESTION, system) for system in (False, True)]
    assert all("Today Date: 26 Jul 2024\n" in prompt for prompt in today)
    assert renderer.describe()["pinned_date"] == "26 Jul 2024"
    monkeypatch.setattr(chat_template_utils, "datetime", _Tomorrow)
    user = [{"role": "user", "content": QUESTION}]
    assert "Today Date: 02 Jan 2031" in template_rendering(tokenizer, user, add_generation_prompt=True)
    tomorrow = PromptRenderer(tokenizer, PROMPT, "template_default")
    assert [tomorrow.render(QUESTION, system) for system in (False, True)] == today
    assert tomorrow.describe() == renderer.describe()


def test_a_template_calling_strftime_now_directly_is_pinned_too(smoke_tokenizer, monkeypatch):
    import transformers.utils.chat_template_utils as chat_template_utils

    tokenizer = copy.deepcopy(smoke_tokenizer)
    tokenizer.chat_template = (
        "{{- '<|im_start|>system\\nToday is ' + strftime_now('%Y-%m-%d') + '.<|im_end|>\\n' }}"
        "{%- for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{%- endfor %}"
        "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}")
    monkeypatch.setattr(chat_template_utils, "datetime", _Tomorrow)
    renderer = PromptRenderer(tokenizer, PROMPT, "template_default")
    assert "Today is 2024-07-26." in renderer.render(QUESTION, system=False)


def test_templates_without_dates_get_no_pinned_date(smoke_tokenizer):
    renderer = PromptRenderer(tokenizer_for(smoke_tokenizer, "qwen2.5"), PROMPT, "no_system")
    assert renderer.describe()["pinned_date"] is None


def test_gemma_2_system_variants_are_a_clear_error(smoke_tokenizer):
    with pytest.raises(HarnessError, match="rejects a system message"):
        PromptRenderer(tokenizer_for(smoke_tokenizer, "gemma-2"), PROMPT, "no_system")


@pytest.mark.parametrize("name", WITH_SYSTEM)
def test_truncation_keeps_each_templates_last_turn_whole_and_refuses_a_late_system_prompt(smoke_tokenizer, name):
    from harness.panel_checks import exchanges
    from harness.panels import conditions
    from harness.suite import Suite
    from harness.variants import Variant

    renderer = PromptRenderer(tokenizer_for(smoke_tokenizer, name), PROMPT, "no_system")
    suite = Suite.model_validate({"name": "t", "model": "m", "system_prompt": PROMPT, "panels": {
        "truncation": {"turns": 3, "budgets": [16]}}, "data": {"train": {"path": "t"}, "eval": {"path": "e"}}})
    question = f"{QUESTION} Think of two apples and two more apples on a table, then count them all."  # > 16 tokens
    examples = ExampleSet(split="eval", source="e", examples=[Example(id="q", prompt=question, response=ANSWER)])
    variant = Variant(name="system", arm="system", system=PROMPT, shots=(), adapter=None, base_prompt="no_system")
    if name == "mistral-v0.3":  # writes the system prompt into the last user turn: not a prompt said once
        with pytest.raises(HarnessError, match="does not put the system prompt at the start"):
            conditions(suite, renderer, [variant], examples, ["t"], exchanges(suite))
        return
    (condition,) = conditions(suite, renderer, [variant], examples, ["t"], exchanges(suite))
    cut = condition.job.prompts[0]
    alone = renderer.render(question, system=False)  # the last turn as the template writes it first
    assert PROMPT not in cut and question in cut
    assert alone.endswith(cut) and cut.lstrip().startswith(("<|", "<start", "[INST]")), cut
