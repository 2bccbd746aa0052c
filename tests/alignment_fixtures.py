"""Generated alpaca-en files and their "translations", with the truth of which record came from which.

The English records are made up from a small vocabulary; the "Chinese" is a fixed
word-by-word cipher into Han characters that keeps numbers and capitalized names, as
translators do. That gives the aligner every signal of real data (lengths, kept tokens,
empty inputs, a lexicon to learn) without copying a line of the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

WORDS = [
    "explain",
    "describe",
    "list",
    "compare",
    "summarize",
    "translate",
    "classify",
    "rewrite",
    "calculate",
    "generate",
    "suggest",
    "identify",
    "name",
    "find",
    "design",
    "create",
    "convert",
    "analyze",
    "write",
    "evaluate",
    "tree",
    "river",
    "market",
    "planet",
    "music",
    "health",
    "energy",
    "computer",
    "history",
    "language",
    "ocean",
    "city",
    "garden",
    "story",
    "poem",
    "recipe",
    "budget",
    "school",
    "travel",
    "weather",
    "animal",
    "science",
    "business",
    "color",
    "number",
    "movie",
    "sport",
    "letter",
    "email",
    "policy",
    "water",
    "food",
    "friend",
    "family",
    "country",
    "problem",
    "solution",
    "reason",
    "benefit",
    "risk",
    "idea",
    "plan",
]
NAMES = ("Paris", "Einstein", "Python", "NASA", "Tesla", "Shakespeare", "Amazon", "Tokyo", "Mozart", "Linux")
_HAN_START = 0x4E00


def cipher(word: str) -> str:
    """The same two Han characters for a word every time: a stand-in for its translation."""
    value = sum(ord(c) * 31**k for k, c in enumerate(word))
    return chr(_HAN_START + value % 5000) + chr(_HAN_START + (value // 5000) % 5000)


def translate(text: str) -> str:
    out = []
    for token in text.split(" "):
        core = token.strip(".,:?")
        if not core or core[0].isdigit() or core[0].isupper():
            out.append(token)
        else:
            out.append(cipher(core.lower()))
    return "".join(out)


def english_record(rng: random.Random, n: int) -> dict[str, str]:
    words = [rng.choice(WORDS) for _ in range(rng.randint(3, 12))]
    if rng.random() < 0.4:
        words.insert(rng.randrange(len(words)), rng.choice(NAMES))
    if rng.random() < 0.3:
        words.append(str(rng.randint(2, 9999)))
    instruction = " ".join([words[0].capitalize(), *words[1:]])
    has_input = rng.random() < 0.4
    input_text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))) if has_input else ""
    lines = rng.randint(1, 4)
    output = "\n".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30))) + (f" {n}" if rng.random() < 0.2 else "")
        for _ in range(lines)
    )
    return {"instruction": f"{instruction} {n % 7}", "input": input_text, "output": output}


def translated(record: dict[str, str]) -> dict[str, str]:
    return {key: translate(value) for key, value in record.items()}


@dataclass
class Tree:
    """A generated pair of files and, for each zh record, the index of its en original (None: none)."""

    english: list[dict[str, str]]
    chinese: list[dict[str, Any]] = field(default_factory=list)
    truth: list[int | None] = field(default_factory=list)


def generate(
    seed: int,
    n: int = 400,
    skip: float = 0.05,
    insert: float = 0.02,
    duplicate: float = 0.02,
    untranslated: float = 0.05,
    swap: float = 0.0,
    block: float = 0.0,
) -> Tree:
    """English records; the Chinese translate them in order, skipping, inserting, repeating and leaving some in English.

    ``swap``: the chance that a record and the next are translated in the other order.
    ``block``: the chance that, after a record, the last 3 to 15 Chinese records are
    pasted again (every other one with a space and a full stop added: a copy up to form);
    the copies have no original of their own, the first copy keeps the link.
    """
    rng = random.Random(seed)
    tree = Tree([english_record(rng, k) for k in range(n)])
    order = list(range(n))
    k = 0
    while swap and k < n - 1:  # no rng call without swaps: the other trees stay as they were
        if rng.random() < swap:
            order[k], order[k + 1] = order[k + 1], order[k]
            k += 1
        k += 1
    for k in order:
        record = tree.english[k]
        if rng.random() < insert:  # a record written in Chinese with no English original
            tree.chinese.append(translated(english_record(rng, 10_000 + k)))
            tree.truth.append(None)
        if rng.random() < skip:
            continue
        copy = rng.random() < untranslated
        tree.chinese.append(dict(record) if copy else translated(record))
        tree.truth.append(k)
        if rng.random() < duplicate:  # the same record twice: the second has no original of its own
            tree.chinese.append(dict(tree.chinese[-1]))
            tree.truth.append(None)
        if block and rng.random() < block:
            pasted = tree.chinese[-rng.randint(3, 15) :]
            for m, again in enumerate(pasted):
                tree.chinese.append(_restyled(again) if m % 2 else dict(again))
                tree.truth.append(None)
    return tree


def _restyled(record: dict[str, Any]) -> dict[str, Any]:
    """The same record up to form: spacing and punctuation added, as a re-pasted copy often has."""
    return {**record, "instruction": record["instruction"] + " 。", "output": " " + record["output"]}
