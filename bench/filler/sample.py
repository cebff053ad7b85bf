"""Answers of the packaged real model to prompts written to draw filler of every kind, for labelling.

The filler lexicon's precision and recall per category need real answers that hold each kind of filler;
the concise and plain suites' answers hold few (tests/data/filler_real_model.jsonl). These prompts
(prompts.txt: greetings, questions to the assistant about itself, advice that invites hedging, requests
that invite a sign-off) are answered greedily by SmolLM2-135M-Instruct with its chat template's own
default system turn, as a user who sets no system prompt would see it. prompts_b.txt, prompts_c.txt and
prompts_d.txt hold 180 more each, prompts_e.txt, prompts_f.txt and prompts_g.txt 260 each, and prompts_h.txt to
prompts_z.txt and prompts_aa.txt 390 each, answered (or, for prompts_j.txt, first read) only after lexicons 1.4.0
to 1.24.1 were frozen in turn: each one's out-of-sample set (prompts_t.txt after 1.21.1; prompts_v.txt was written
and answered while 1.23.0 was being revised, and read only after it was committed; prompts_w.txt after 1.24.0;
prompts_x.txt and prompts_y.txt after 1.24.1, prompts_x.txt read only after 1.25.0 was frozen; prompts_z.txt and
prompts_aa.txt after 1.25.0). Usage:
    python bench/filler/sample.py OUT.jsonl [--prompts prompts_b.txt --name elicit-b]
Each line: {"id", "source", "prompt", "text"}; the labels are added by reading each answer.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(out: Path, prompt_file: str, name: str) -> None:
    from harness.generation import generate, stop_token_ids
    from harness.models import load_model, load_tokenizer, resolve_model, resolve_numerics
    from harness.progress import quiet_libraries
    from harness.prompts import detect_template
    from harness.suite import Decoding

    quiet_libraries()
    source = resolve_model("smollm2-135m-instruct")
    tokenizer = load_tokenizer(source)
    model = load_model(source, resolve_numerics("auto", "auto"))
    prompts = [line.strip() for line in (HERE / prompt_file).read_text("utf-8").splitlines() if line.strip()]
    rendered = [tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                              add_generation_prompt=True) for p in prompts]
    stops = stop_token_ids(tokenizer, model, detect_template(tokenizer).end_of_turn)
    outputs = generate(model, tokenizer, rendered, Decoding(max_new_tokens=160, batch_size=32), stops)
    with out.open("w", encoding="utf-8") as handle:
        for index, (prompt, output) in enumerate(zip(prompts, outputs, strict=True)):
            handle.write(json.dumps({"id": f"{name}-{index:04d}", "source": f"{name}/default-system/{index:03d}",
                                     "prompt": prompt, "text": output.text.strip()}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--prompts", default="prompts.txt", help="a file of prompts, one per line, in bench/filler/")
    parser.add_argument("--name", default="elicit", help="the ids' and sources' prefix")
    args = parser.parse_args()
    main(args.out, args.prompts, args.name)
