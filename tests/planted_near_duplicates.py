"""A generated corpus with planted near-duplicates and look-alikes that are not, and how to score a run on it.

Base records are random text (Chinese from a pool of common characters, English from a
word list), so two bases share next to nothing. Each planted copy of a base is one of the
edits a near-duplicate rule must see through: 1-3 changed, added or removed characters,
a changed word, an added sentence, or a Traditional, NFD or full-width copy with one
character changed (a form-only copy with no edit is a ``duplicate.normalized``, which the
near rule must not report a second time). The look-alikes share a template but differ in
substance: ``91-33=`` and ``91-34=``, a list task over other numbers, one long instruction
with different inputs. Used by ``tests/test_near_duplicates.py`` and ``bench/quality.py``.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opencc

_HAN = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后"
    "多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还"
    "因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结"
    "解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级"
    "少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处府研"
)
_TRADITIONAL_ONLY = "国说发时经学动会这过对现实还进关门车长马鸟鱼书开"  # Simplified characters OpenCC s2t changes
_WORDS = [
    "time",
    "person",
    "year",
    "way",
    "day",
    "thing",
    "man",
    "world",
    "life",
    "hand",
    "part",
    "child",
    "eye",
    "woman",
    "place",
    "work",
    "week",
    "case",
    "point",
    "government",
    "company",
    "number",
    "group",
    "problem",
    "fact",
    "river",
    "garden",
    "window",
    "letter",
    "market",
    "answer",
    "paper",
    "music",
    "system",
    "program",
    "question",
    "family",
    "money",
    "story",
    "month",
    "lot",
    "right",
    "study",
    "book",
    "job",
    "word",
    "business",
    "issue",
    "side",
    "kind",
    "head",
    "house",
    "service",
    "friend",
    "father",
    "power",
    "hour",
    "game",
    "line",
    "end",
    "member",
    "law",
    "car",
    "city",
    "community",
    "name",
    "president",
    "team",
    "minute",
    "idea",
    "kid",
    "body",
    "information",
    "back",
    "parent",
    "face",
    "others",
    "level",
    "office",
    "door",
    "health",
    "art",
    "war",
    "history",
    "party",
    "result",
    "change",
    "morning",
    "reason",
    "research",
    "girl",
    "guy",
    "moment",
    "air",
    "teacher",
    "force",
    "education",
    "foot",
    "boy",
    "age",
    "policy",
    "process",
    "music",
    "market",
    "sense",
    "nation",
    "plan",
    "college",
    "interest",
    "death",
    "experience",
    "effect",
    "use",
    "class",
    "control",
    "care",
    "field",
    "development",
    "role",
    "effort",
    "rate",
]


@dataclass
class Planted:
    """Where the planted near-duplicates are: (file, record index) of each copy -> (file, index) of its base."""

    near: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    #: copies that differ only in form: a ``duplicate.normalized`` each, never a near-duplicate
    normalized: set[tuple[str, int]] = field(default_factory=set)
    #: look-alikes of another record that must not be reported
    negatives: set[tuple[str, int]] = field(default_factory=set)
    kinds: dict[tuple[str, int], str] = field(default_factory=dict)


def _chinese(rng: random.Random, low: int, high: int) -> str:
    text = "".join(rng.choice(_HAN) for _ in range(rng.randint(low, high)))
    # a Traditional-sensitive character now and then, so the s2t copies differ in script
    return text[:5] + rng.choice(_TRADITIONAL_ONLY) + text[5:]


def _english(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(low, high))).capitalize() + "."


def _edit_characters(rng: random.Random, text: str, edits: int) -> str:
    """``edits`` single-character substitutions, insertions or deletions away from digits."""
    chars = list(text)
    for _ in range(edits):
        places = [i for i, c in enumerate(chars) if not c.isdigit() and c not in " ."]
        at = rng.choice(places)
        kind = rng.choice(("substitute", "insert", "delete"))
        if kind == "substitute":
            chars[at] = rng.choice([c for c in _HAN if c != chars[at]])
        elif kind == "insert":
            chars.insert(at, rng.choice(_HAN))
        else:
            del chars[at]
    return "".join(chars)


def _change_word(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    at = rng.randrange(len(words))
    words[at] = rng.choice([w for w in _WORDS if w != words[at].lower().strip(".")]) + (
        "." if at == len(words) - 1 else ""
    )
    return " ".join(words)


_FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789,.:;!?()"}


def planted_corpus(root: Path, seed: int = 0, bases: int = 120) -> Planted:
    """Write an alpaca-zh and an alpaca-en file under ``root`` with bases, copies and look-alikes."""
    rng = random.Random(seed)
    to_traditional = opencc.OpenCC("s2t")
    planted = Planted()
    files: dict[str, list[dict[str, Any]]] = {"alpaca-zh/planted.json": [], "alpaca-en/planted.json": []}

    def add(path: str, record: dict[str, Any]) -> tuple[str, int]:
        files[path].append(record)
        return path, len(files[path]) - 1

    zh, en = "alpaca-zh/planted.json", "alpaca-en/planted.json"
    zh_bases = [
        add(zh, {"instruction": _chinese(rng, 6, 30), "input": "", "output": _chinese(rng, 15, 200)})
        for _ in range(bases)
    ]
    en_bases = [
        add(en, {"instruction": _english(rng, 6, 16), "input": _english(rng, 0, 10), "output": _english(rng, 8, 70)})
        for _ in range(bases)
    ]
    for base in zh_bases:
        record = files[base[0]][base[1]]
        kind = rng.choice(
            (
                "edit-1",
                "edit-2",
                "edit-3",
                "added-sentence",
                "traditional+edit",
                "nfd+edit",
                "full-width+edit",
                "form-only",
            )
        )
        copy = dict(record)
        edited = _edit_characters(rng, copy["output"], 1)
        if kind.startswith("edit-"):  # in the instruction or the output, as a slip would be
            name = rng.choice(("instruction", "output"))
            copy[name] = _edit_characters(rng, copy[name], int(kind[-1]))
        elif kind == "added-sentence":
            copy["output"] += "。" + _chinese(rng, 8, 16)
        elif kind == "traditional+edit":
            copy = {name: to_traditional.convert(value) for name, value in copy.items()}
            copy["output"] = to_traditional.convert(edited)
        elif kind == "nfd+edit":
            copy = {name: unicodedata.normalize("NFD", value) for name, value in copy.items()}
            copy["output"] = edited
        elif kind == "full-width+edit":
            copy["output"] = (edited + "(1, 2)").translate(_FULL_WIDTH)
            record["output"] += "(1, 2)"
        else:  # form only: Traditional script, full-width punctuation
            copy = {name: to_traditional.convert(value).translate(_FULL_WIDTH) for name, value in copy.items()}
        where = add(zh, copy)
        (planted.normalized.add(where) if kind == "form-only" else planted.near.__setitem__(where, base))
        planted.kinds[where] = kind
    for base in en_bases:
        record = files[base[0]][base[1]]
        kind = rng.choice(("changed-word", "added-sentence", "typo", "nfd+typo"))
        copy = dict(record)
        if kind == "changed-word":
            copy["output"] = _change_word(rng, copy["output"])
        elif kind == "added-sentence":
            copy["output"] += " " + _english(rng, 5, 10)
        elif kind == "typo":
            copy["output"] = copy["output"].replace("e", "ë", 1).replace("a", "", 1)
        else:  # decomposed (NFD) throughout, and one word with an accent it did not have
            copy["output"] = copy["output"].replace("e", "é", 1)
            copy = {name: unicodedata.normalize("NFD", value) for name, value in copy.items()}
        where = add(en, copy)
        planted.near[where] = base
        planted.kinds[where] = kind
    _add_look_alikes(rng, planted, files, add)
    for relative, records in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return planted


def _add_look_alikes(rng: random.Random, planted: Planted, files: dict[str, list[dict[str, Any]]], add: Any) -> None:
    """Records one template apart: other numbers, other inputs. None of them is a near-duplicate."""
    zh, en = "alpaca-zh/planted.json", "alpaca-en/planted.json"
    for a in range(91, 96):  # 整数加减法: one instruction, other operands
        for b in range(30, 36):
            planted.negatives.add(add(zh, {"instruction": f"{a}-{b}=", "input": "", "output": str(a - b)}))
            planted.negatives.add(
                add(
                    zh,
                    {
                        "instruction": f"计算{a}加{b}等于多少？请写出计算过程。",
                        "input": "",
                        "output": f"{a}加{b}等于{a + b}。",
                    },
                )
            )
    numbers = [rng.randint(10, 99) for _ in range(12)]
    for step in range(8):  # a list task over other numbers
        listed = numbers[step:] + numbers[:step]
        listed[step % 12] += 1 + step
        planted.negatives.add(
            add(
                en,
                {
                    "instruction": "Sort the following list of numbers in ascending order and explain each step.",
                    "input": ", ".join(map(str, listed)),
                    "output": ", ".join(map(str, sorted(listed))),
                },
            )
        )
    instruction = "Translate the following sentence into French, keeping the tone and the register of the original sentence as close as possible."
    for _ in range(8):  # one long instruction with different inputs
        planted.negatives.add(
            add(en, {"instruction": instruction, "input": _english(rng, 3, 6), "output": _english(rng, 3, 6)})
        )
    zh_instruction = "请把下面这句话翻译成英文，尽量保持原文的语气和风格，不要遗漏任何信息。"
    for _ in range(8):
        planted.negatives.add(
            add(zh, {"instruction": zh_instruction, "input": _chinese(rng, 4, 8), "output": _english(rng, 3, 6)})
        )


def score(faults: list[Any], planted: Planted, root: Path, rule: str = "duplicate.near") -> tuple[float, float, int]:
    """(precision, recall, reported) of ``rule`` on the corpus written under ``root``; naming the wrong base is wrong."""
    reported = reports(faults, root, rule)
    right = sum(1 for where, earlier in reported.items() if planted.near.get(where) == earlier)
    precision = right / len(reported) if reported else 1.0
    return precision, right / len(planted.near), len(reported)


def reports(faults: list[Any], root: Path, rule: str) -> dict[tuple[str, int], tuple[str, int] | None]:
    """(file, index) of each record ``rule`` reported -> the earlier record its message names, paths relative to ``root``."""
    prefix = f"{root}/"
    found: dict[tuple[str, int], tuple[str, int] | None] = {}
    for fault in faults:
        if fault.rule == rule:
            match = re.search(r"as (\S+) record (\d+)", fault.message) or re.search(
                r"to (\S+) record (\d+)", fault.message
            )
            earlier = (match.group(1).removeprefix(prefix), int(match.group(2))) if match else None
            found[(fault.path.removeprefix(prefix), fault.index)] = earlier
    return found
