"""Variant prompts: the template's default system prompt is detected and handled explicitly."""

from __future__ import annotations

import copy

import pytest

from harness.errors import HarnessError
from harness.examples import ExampleSet
from harness.prompts import PromptRenderer, detect_template
from harness.suite import Suite
from harness.variants import resolve

QWEN25_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if (message.role == 'user') or (message.role == 'system' and not loop.first) or "
    "(message.role == 'assistant') %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    "{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
PLAIN_CHATML = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
LLAMA_LIKE = (
    "{{- bos_token }}"
    "{%- if messages[0]['role'] == 'system' %}{%- set system = messages[0]['content'] %}"
    "{%- set rest = messages[1:] %}{%- else %}{%- set system = 'Cutting Knowledge Date: December 2023' %}"
    "{%- set rest = messages %}{%- endif %}"
    "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' + system + '<|eot_id|>' }}"
    "{%- for message in rest %}"
    "{{- '<|start_header_id|>' + message.role + '<|end_header_id|>\\n\\n' + message.content + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)


def with_template(tokenizer, template: str, extra_tokens: tuple[str, ...] = ()):
    clone = copy.deepcopy(tokenizer)
    if extra_tokens:
        clone.add_special_tokens({"additional_special_tokens": list(extra_tokens)})
    clone.chat_template = template
    return clone


def test_qwen25_default_system_prompt_is_detected_and_cut(smoke_tokenizer):
    tokenizer = with_template(smoke_tokenizer, QWEN25_TEMPLATE)
    renderer = PromptRenderer(tokenizer, "Be brief.", "no_system")
    assert renderer.facts.default_system == "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
    assert renderer.render("Hi?", system=False) == "<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n"
    assert renderer.render("Hi?", system=True) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n")


def test_template_default_policy_keeps_the_injected_prompt(smoke_tokenizer):
    tokenizer = with_template(smoke_tokenizer, QWEN25_TEMPLATE)
    renderer = PromptRenderer(tokenizer, "Be brief.", "template_default")
    assert "You are Qwen" in renderer.render("Hi?", system=False)
    assert renderer.describe()["template_default_system_prompt"].startswith("You are Qwen")


def test_template_without_default_is_left_alone(smoke_tokenizer):
    tokenizer = with_template(smoke_tokenizer, PLAIN_CHATML)
    facts = detect_template(tokenizer)
    assert facts.default_system is None
    assert PromptRenderer(tokenizer, "S", "no_system").render("Hi?", system=False) == (
        "<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n")


def test_header_style_template_keeps_bos_and_cuts_the_system_turn(smoke_tokenizer):
    specials = ("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")
    tokenizer = with_template(smoke_tokenizer, LLAMA_LIKE, specials)
    tokenizer.bos_token = "<|begin_of_text|>"
    renderer = PromptRenderer(tokenizer, "S", "no_system")
    assert renderer.facts.default_system == "Cutting Knowledge Date: December 2023"
    assert renderer.facts.end_of_turn == "<|eot_id|>"
    assert renderer.render("Hi?", system=False) == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n")


SUITE = Suite.model_validate({"name": "s", "model": "m", "system_prompt": "Be brief.",
                              "data": {"train": {"path": "t.jsonl"}, "eval": {"path": "e.jsonl"}}})
EMPTY = ExampleSet(split="eval", source="e", examples=[])


def test_smoke_template_behaves_like_qwen(smoke_tokenizer):
    renderer = PromptRenderer(smoke_tokenizer, "Be brief.", "no_system")
    assert renderer.facts.default_system == "You are a smoke-test assistant."
    assert renderer.facts.end_of_turn == "<|im_end|>"
    described = renderer.describe(resolve(SUITE, EMPTY, EMPTY))["example"]
    assert set(described) == {"base", "system", "sft", "sft+system"}
    assert described["base"] == described["sft"] and described["system"] == described["sft+system"]
    assert renderer.describe()["example"] == {"base": described["base"], "system": described["system"]}
    assert "smoke-test" not in described["base"]


def test_template_rejecting_system_messages_is_a_clear_error(smoke_tokenizer):
    template = ("{%- for m in messages %}{%- if m.role == 'system' %}{{ raise_exception('no system') }}"
                "{%- endif %}{{ m.content }}{%- endfor %}")
    with pytest.raises(HarnessError, match="rejects a system message"):
        detect_template(with_template(smoke_tokenizer, template))


def test_template_dropping_system_messages_is_a_clear_error(smoke_tokenizer):
    template = ("{%- for m in messages %}{%- if m.role != 'system' %}{{ m.role }}: {{ m.content }}\n{%- endif %}"
                "{%- endfor %}")
    with pytest.raises(HarnessError, match="drops the system message"):
        detect_template(with_template(smoke_tokenizer, template))


def test_a_default_turn_that_cannot_be_cut_is_an_error_only_when_the_policy_cuts_it(smoke_tokenizer):
    template = ("{%- if messages[0].role != 'system' %}{{ 'SYSTEM: Be helpful.\\n' }}{%- endif %}"
                "{%- for m in messages %}{{ m.role | upper + ': ' + m.content + '\\n' }}{%- endfor %}"
                "{%- if add_generation_prompt %}{{ 'ASSISTANT:' }}{%- endif %}")
    tokenizer = with_template(smoke_tokenizer, template)
    with pytest.raises(HarnessError, match="cannot cut out"):
        PromptRenderer(tokenizer, "S", "no_system")
    kept = PromptRenderer(tokenizer, "S", "template_default")
    assert kept.render("Hi?", system=False) == "SYSTEM: Be helpful.\nUSER: Hi?\nASSISTANT:"
    assert kept.render("Hi?", system=True) == "SYSTEM: Be helpful.\n\nS\nUSER: Hi?\nASSISTANT:"
