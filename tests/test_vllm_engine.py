"""The vLLM backend's paths that need no GPU: the refusal, the sampling settings, the adapters as LoRA slots,
the prompts as token ids, and vLLM's outputs as answers read exactly as the transformers backend reads its own."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from conftest import validated_snippet, write_suite
from doc_snippets import VALIDATE, covers

from harness import vllm_engine
from harness.cli import main
from harness.generation import to_output
from harness.suite import Decoding, Suite
from harness.training import Adapter


def _suite(**decoding) -> Suite:
    return Suite.model_validate({"name": "v", "model": "m", "system_prompt": "Be brief.",
                                 "data": {"train": {"path": "t.jsonl"}, "eval": {"path": "e.jsonl"}},
                                 "decoding": {"backend": "vllm", **decoding}})


def test_the_backend_is_refused_in_one_line_without_vllm_or_a_gpu(monkeypatch):
    monkeypatch.setattr(vllm_engine, "installed", lambda: False)
    said = vllm_engine.refusal(_suite(), 1, False)
    assert said.startswith("decoding.backend: vllm needs the vllm package") and "harness[vllm]" in said
    monkeypatch.setattr(vllm_engine, "installed", lambda: True)
    assert "needs a GPU and this machine has none" in vllm_engine.refusal(_suite(), 1, False, gpu=False)
    assert "expected one process, not 2" in vllm_engine.refusal(_suite(), 2, False, gpu=True)
    assert "expected evaluation.precision: full" in vllm_engine.refusal(_suite(), 1, True, gpu=True)
    assert vllm_engine.refusal(_suite(), 1, False, gpu=True) is None
    assert vllm_engine.refusal(Suite.model_validate({**_suite().model_dump(), "decoding": {}}), 2, True) is None


def test_a_run_asking_for_vllm_here_stops_before_any_model_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(vllm_engine, "installed", lambda: False)
    rows = [{"prompt": f"q{i}", "response": "a"} for i in range(4)]
    suite = write_suite(tmp_path, "name: v\nmodel: nobody/not-here\nsystem_prompt: Be brief.\ndata:\n"
                        "  train: {path: train.jsonl}\n  eval: {path: eval.jsonl}\ndecoding: {backend: vllm}\n",
                        rows, rows)
    assert main(["run", str(suite), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "suite.yaml:7: decoding.backend: vllm needs the vllm package" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_sampling_settings_are_explicit_and_greedy_is_temperature_zero():
    greedy = vllm_engine.sampling(Decoding(max_new_tokens=64, top_k=50, top_p=0.9, temperature=0.7), [7, 2])
    assert greedy == {"max_tokens": 64, "stop_token_ids": [7, 2], "seed": 0, "repetition_penalty": 1.0,
                      "skip_special_tokens": False, "temperature": 0.0, "top_p": 1.0}
    sampled = vllm_engine.sampling(Decoding(do_sample=True, temperature=0.7, top_p=0.9, top_k=50, seed=3), [7])
    assert (sampled["temperature"], sampled["top_p"], sampled["top_k"], sampled["seed"]) == (0.7, 0.9, 50, 3)
    assert "top_k" not in vllm_engine.sampling(Decoding(do_sample=True), [7])  # 0: no top-k, vLLM's default


def test_each_adapter_is_a_lora_slot_numbered_from_one_with_room_for_the_largest_rank():
    adapters = {name: Adapter(Path(f"/cache/{name}"), name, {"training": {"lora": {"r": r}}}, reused=True)
                for name, r in (("sft", 16), ("r8", 8), ("r32", 32))}
    slots = vllm_engine.lora_slots(adapters)
    assert [(s.name, s.id, s.path) for s in slots.values()] == [("sft", 1, "/cache/sft"), ("r8", 2, "/cache/r8"),
                                                                ("r32", 3, "/cache/r32")]
    assert vllm_engine.max_rank(adapters) == 32
    assert vllm_engine.max_rank({"r4": Adapter(Path("/x"), "r4", {"training": {"lora": {"r": 4}}}, True)}) == 8
    assert vllm_engine.max_rank({"r20": Adapter(Path("/x"), "r20", {"training": {"lora": {"r": 20}}}, True)}) == 32


def test_an_adapter_trained_elsewhere_is_sized_by_its_own_config(tmp_path):
    (tmp_path / "adapter_config.json").write_text('{"r": 64, "lora_alpha": 128}')
    assert vllm_engine.max_rank({"shipped": Adapter(tmp_path, "shipped", {"external": {}}, reused=True)}) == 64


def test_prompts_are_the_token_ids_the_transformers_backend_decodes_from(smoke_tokenizer):
    prompt = "<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n"
    (ids,) = vllm_engine.prompt_ids(smoke_tokenizer, [prompt])
    assert ids == smoke_tokenizer(prompt, add_special_tokens=False)["input_ids"]
    assert ids[0] == smoke_tokenizer.convert_tokens_to_ids("<|im_start|>")  # no BOS or other token added


def test_outputs_read_as_the_transformers_backend_reads_its_own(smoke_tokenizer):
    end = smoke_tokenizer.convert_tokens_to_ids("<|im_end|>")
    words = smoke_tokenizer("Four.", add_special_tokens=False)["input_ids"]

    def request(ids, reason, stop_reason=None):
        return SimpleNamespace(outputs=[SimpleNamespace(token_ids=ids, finish_reason=reason, stop_reason=stop_reason)])

    found = vllm_engine.answers([request(words + [end], "stop", end),  # the stop token kept in the ids
                                 request(words, "stop", end),  # left out: put back, so it reads as stopped
                                 request(words * 3, "length")], smoke_tokenizer, [end], max_new_tokens=len(words) * 3)
    assert found[0] == found[1] == to_output(words + [end], smoke_tokenizer, [end], len(words) * 3)
    assert (found[0].text, found[0].tokens, found[0].stopped, found[0].truncated) == ("Four.", len(words), True, False)
    assert found[2].truncated and not found[2].stopped


BACKEND_YAML = "```yaml decoding:"


@covers("docs/scaling.md", BACKEND_YAML, how=VALIDATE)
def test_the_documented_backend_setting_validates_and_is_recorded(tmp_path, capsys):
    decoding = validated_snippet(tmp_path, capsys, "docs/scaling.md", BACKEND_YAML).decoding
    assert decoding.backend == "vllm" and decoding.key()["backend"] == "vllm"
    assert "backend" not in Decoding().key()  # the default leaves the cache keys made before the choice
