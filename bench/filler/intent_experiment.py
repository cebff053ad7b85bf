"""Can a model learned from labelled messages read what a prompt asks for better than the rules of
harness/metrics/asked.py? An experiment, not shipped (docs/metrics.md, Filler, gives its figures and why).

The filler detector needs to know whether the user's message asks for a piece of writing (then "Dear Sam, I hope
this finds you well" is the letter asked for), asks about the assistant itself (then "I'm here to help" is the
reply), or only thanks it (then a pleasantry back is the reply). tests/data/prompt_intents.jsonl holds 7,598
messages, each given one of those intents or "other": the 6,559 prompts of the labelled filler sets and the
suites' 439, each read by one reader (ids as in the sets, and "suite-" + the suite's id), and 600 ("written-")
written, intent first, by a helper asked for the forms the sets hold few of (services asked with "can you",
thanks that ask for more, "you" in the asker's own matter, a card or letter named but no writing asked).

The model is a multinomial logistic regression over a message's words, word pairs, first and last words, length
and the rules' own reading, with an L2 penalty and each intent's loss weighted by (n / (k * n_intent)) ** 0.5,
fitted full-batch with Adam from zero weights. For each set held out in turn, it is trained on the rest and
three readers are scored on the held-out messages: the rules, the model's most probable intent, and the model
where it is at least 60% sure of writing, the assistant or thanks, else the rules ("hybrid"). With --filler, the
filler detector's opener precision and recall on the labelled filler sets held out, with the rules and with the
hybrid reading. Usage:
    python bench/filler/intent_experiment.py [--held-out s,t,u,suite,written] [--filler s,t,u]
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
INTENTS = ("other", "writing", "about_assistant", "social")
TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[?!]")
L2, STEPS, BALANCE, MIN_COUNT, CONFIDENT = 1e-3, 300, 0.5, 2, 0.6


def rule_intent(prompt: str) -> str:
    from harness.metrics.asked import addresses_assistant, asks_for_writing, only_social

    if asks_for_writing(prompt):
        return "writing"
    if addresses_assistant(prompt):
        return "about_assistant"
    return "social" if only_social(prompt) else "other"


def features(prompt: str, rules: str) -> list[str]:
    words = TOKEN.findall(prompt.replace("\u2019", "'").lower())
    found = {f"w:{w}" for w in words} | {f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False)}
    if words:
        found |= {f"f:{words[0]}", f"l:{words[-1]}", f"f2:{' '.join(words[:2])}"}
    return sorted(found | {f"len:{min(len(words) // 5, 6)}", f"rx:{rules}"})


def train(rows: list[dict]) -> dict:
    import torch

    counts = Counter(name for row in rows for name in row["features"])
    vocabulary = {name: i for i, name in enumerate(sorted(n for n, c in counts.items() if c >= MIN_COUNT))}
    flat, offsets = [], []
    for row in rows:
        offsets.append(len(flat))
        flat.extend(vocabulary[n] for n in row["features"] if n in vocabulary)
    table = torch.nn.EmbeddingBag(len(vocabulary), len(INTENTS), mode="sum")
    torch.nn.init.zeros_(table.weight)
    bias = torch.zeros(len(INTENTS), requires_grad=True)
    index, starts = torch.tensor(flat), torch.tensor(offsets)
    target = torch.tensor([INTENTS.index(row["intent"]) for row in rows])
    share = torch.bincount(target, minlength=len(INTENTS)).clamp(min=1).float()
    weight = (len(rows) / (len(INTENTS) * share)) ** BALANCE
    optimiser = torch.optim.Adam([table.weight, bias], lr=0.05)
    for _ in range(STEPS):
        optimiser.zero_grad()
        fit = torch.nn.functional.cross_entropy(table(index, starts) + bias, target, weight=weight)
        (fit + L2 * table.weight.pow(2).sum()).backward()
        optimiser.step()
    weights = table.weight.detach()
    return {"bias": bias.detach().tolist(), "weights": {n: weights[i].tolist() for n, i in vocabulary.items()}}


def readings(row: dict, model: dict) -> dict[str, str]:
    """The rules', the model's and the hybrid reading of one message."""
    scores = list(model["bias"])
    for name in row["features"]:
        if name in model["weights"]:
            scores = [s + w for s, w in zip(scores, model["weights"][name], strict=True)]
    top = max(scores)
    chances = [math.exp(s - top) for s in scores]
    best = max(range(len(INTENTS)), key=chances.__getitem__)
    sure = best and chances[best] / sum(chances) >= CONFIDENT
    return {"rules": row["rules"], "model": INTENTS[best], "hybrid": INTENTS[best] if sure else row["rules"]}


def labelled_set(row_id: str) -> str:
    """"elicit-k-0012" is filler set k, the first set's ids start "smol"; "suite-…" and "written-…" are sets."""
    if row_id.startswith(("suite-", "written-")):
        return row_id.split("-")[0]
    return "a" if row_id.startswith("smol") else row_id.split("-")[1]


def filler_openers(held: str, model: dict) -> dict[str, tuple[int, int, int]]:
    """Opener (hits, flagged, labelled) on filler set `held`, with the rules' reading and with the hybrid."""
    from harness.metrics import filler
    from harness.metrics.lexicon import builtin_lexicon_raw, parse_lexicon

    lexicon = parse_lexicon(builtin_lexicon_raw(), "builtin")
    rows = [json.loads(line) for line in (DATA / f"filler_real_model_{held}.jsonl").read_text("utf-8").splitlines()]
    said = {}
    for prompt in {r["prompt"] for r in rows if r.get("prompt")}:
        rules = rule_intent(prompt)
        said[prompt] = readings({"rules": rules, "features": features(prompt, rules)}, model)
    counts = {}
    for reader in ("rules", "hybrid"):
        reading = {p: r[reader] for p, r in said.items()}
        filler.asks_for_writing = lambda p, reading=reading: reading.get(p, rule_intent(p)) == "writing"
        filler.addresses_assistant = lambda p, reading=reading: reading.get(p, rule_intent(p)) == "about_assistant"
        filler.only_social = lambda p, reading=reading: reading.get(p, rule_intent(p)) == "social"
        flags = [any(s.category == "opener" for s in filler.find_filler(r["text"], lexicon, prompt=r.get("prompt")))
                 for r in rows]
        labels = ["opener" in r["categories"] for r in rows]
        counts[reader] = (sum(a and b for a, b in zip(flags, labels, strict=True)), sum(flags), sum(labels))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held-out", default="s,t,u,suite,written", help="sets to hold out in turn ('all': every one)")
    parser.add_argument("--filler", default="", help="filler sets (among those held out) to score openers on")
    args = parser.parse_args()
    rows = [json.loads(line) for line in (DATA / "prompt_intents.jsonl").read_text("utf-8").splitlines()]
    for row in rows:
        row["rules"] = rule_intent(row["prompt"])
        row["features"] = features(row["prompt"], row["rules"])
    sets = sorted({labelled_set(r["id"]) for r in rows}) if args.held_out == "all" else args.held_out.split(",")
    tally = {reader: Counter() for reader in ("rules", "model", "hybrid")}
    for held in sets:
        model = train([r for r in rows if labelled_set(r["id"]) != held])
        said = {r["prompt"]: readings(r, model) for r in rows if labelled_set(r["id"]) == held}
        right = {reader: 0 for reader in tally}
        for row in (r for r in rows if labelled_set(r["id"]) == held):
            for reader, intent in said[row["prompt"]].items():
                tally[reader][row["intent"], intent] += 1
                right[reader] += intent == row["intent"]
        line = f"set {held} ({sum(labelled_set(r['id']) == held for r in rows)} labelled): intent right, " + ", ".join(
            f"{reader} {right[reader]}" for reader in right)
        if held in args.filler.split(","):
            for reader, (hits, flagged, labelled) in filler_openers(held, model).items():
                line += f" | opener {reader} {100 * hits / flagged:.1f}% / {100 * hits / labelled:.1f}%"
        print(line, flush=True)
    for reader, table in tally.items():
        right = sum(v for (truth, said), v in table.items() if truth == said)
        line = f"{reader}: {100 * right / sum(table.values()):.1f}% right"
        for intent in INTENTS[1:]:
            hits = table[intent, intent]
            flagged = sum(v for (_, s), v in table.items() if s == intent)
            labelled = sum(v for (t, _), v in table.items() if t == intent)
            shares = f"{100 * hits / max(flagged, 1):.1f}% / {100 * hits / max(labelled, 1):.1f}%"
            line += f" | {intent} {shares} of {labelled}"
        print(line)


if __name__ == "__main__":
    main()
