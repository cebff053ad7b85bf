"""Train the prompt-intent model the filler detector reads (harness/metrics/intent.py) from labelled messages.

tests/data/prompt_intents.jsonl holds 7,598 user messages, each given one intent: writing, about_assistant, social
or other (the brief is in docs/metrics.md, Filler). 6,559 are the prompts of the labelled filler sets and 439 the
suites' prompts, each read by one reader (ids as in the sets, and "suite-" + the suite's id); 600 ("written-")
were written, intent first, by a helper asked for the forms the sets hold few of: services asked with "can you"
("Could you review my essay?"), thanks that ask for more, "you" in the asker's own matter ("The code you gave me
throws a TypeError"), a card or letter named but no writing asked ("I need a new SIM card"). The model is a
multinomial logistic regression with an L2 penalty, fitted full-batch with Adam from zero weights, so the same
data and library versions give the same weights. Usage:
    python bench/filler/train_intent.py [--out harness/data/prompt_intent.json] [--held-out]
--held-out trains once per labelled set without it and reports, on each left-out set, the model's and the rules'
(harness/metrics/asked.py) precision and recall per intent: the figures docs/metrics.md states.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "prompt_intents.jsonl"
L2 = 1e-3
STEPS = 300
MIN_COUNT = 2  # a feature seen once cannot generalise; dropping them keeps the shipped file small
# Each intent's loss weighs (n / (k * n_intent)) ** BALANCE: thanks are 2% of messages, and unweighted the model
# would rarely say so; fully balanced (1), it reads "Could you review my essay?" as about the assistant.
BALANCE = 0.5


def train(rows: list[dict], l2: float = L2, steps: int = STEPS, balance: float = BALANCE) -> dict:
    import torch

    from harness.metrics.intent import INTENTS, features

    named = [features(row["prompt"]) for row in rows]
    counts = Counter(name for names in named for name in names)
    vocabulary = {name: i for i, name in enumerate(sorted(n for n, c in counts.items() if c >= MIN_COUNT))}
    flat, offsets = [], []
    for names in named:
        offsets.append(len(flat))
        flat.extend(vocabulary[n] for n in names if n in vocabulary)
    table = torch.nn.EmbeddingBag(len(vocabulary), len(INTENTS), mode="sum")
    torch.nn.init.zeros_(table.weight)
    bias = torch.zeros(len(INTENTS), requires_grad=True)
    index, starts = torch.tensor(flat), torch.tensor(offsets)
    target = torch.tensor([INTENTS.index(row["intent"]) for row in rows])
    share = torch.bincount(target, minlength=len(INTENTS)).clamp(min=1).float()
    weight = (len(rows) / (len(INTENTS) * share)) ** balance
    optimiser = torch.optim.Adam([table.weight, bias], lr=0.05)
    for _ in range(steps):
        optimiser.zero_grad()
        fit = torch.nn.functional.cross_entropy(table(index, starts) + bias, target, weight=weight)
        loss = fit + l2 * table.weight.pow(2).sum()
        loss.backward()
        optimiser.step()
    weights = table.weight.detach()
    return {"intents": list(INTENTS), "bias": [round(b, 4) for b in bias.detach().tolist()],
            "weights": {name: [round(w, 4) for w in weights[i].tolist()] for name, i in vocabulary.items()
                        if weights[i].abs().max() >= 1e-3}}


def labelled_set(row_id: str) -> str:
    """The set a message came from: "elicit-k-0012" is filler set k, and the first set's ids start "smol";
    "suite-..." and "written-..." are sets of their own."""
    if row_id.startswith(("suite-", "written-")):
        return row_id.split("-")[0]
    return "a" if row_id.startswith("smol") else row_id.split("-")[1]


def held_out(rows: list[dict]) -> None:
    from harness.metrics.intent import INTENTS, probabilities, rule_intent

    sets = sorted({labelled_set(row["id"]) for row in rows})
    learned, rules = Counter(), Counter()
    for name in sets:
        model = train([row for row in rows if labelled_set(row["id"]) != name])
        for row in (row for row in rows if labelled_set(row["id"]) == name):
            chances = probabilities(row["prompt"], model)
            learned[row["intent"], max(chances, key=chances.__getitem__)] += 1
            rules[row["intent"], rule_intent(row["prompt"])] += 1
    for label, table in (("model", learned), ("rules", rules)):
        right = sum(v for (truth, said), v in table.items() if truth == said)
        line = f"{label}: accuracy {100 * right / sum(table.values()):.1f}%"
        for intent in INTENTS[1:]:
            hits = table[intent, intent]
            said = sum(v for (_, s), v in table.items() if s == intent)
            truth = sum(v for (t, _), v in table.items() if t == intent)
            line += f" | {intent} {100 * hits / max(said, 1):.1f} / {100 * hits / max(truth, 1):.1f} (n={truth})"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "harness" / "data" / "prompt_intent.json")
    parser.add_argument("--held-out", action="store_true", help="report leave-one-set-out figures; write nothing")
    args = parser.parse_args()
    rows = [json.loads(line) for line in DATA.read_text("utf-8").splitlines() if line.strip()]
    if args.held_out:
        held_out(rows)
        return
    model = {"name": "harness-prompt-intent", "trained_on": f"{DATA.relative_to(ROOT)}: {len(rows)} messages",
             **train(rows)}
    args.out.write_text(json.dumps(model, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(model['weights'])} features")


if __name__ == "__main__":
    main()
