"""bench/build_load.py's replicated corpus: copies as different as a larger corpus's records, faults kept.

The benchmark's 10x figure is only honest if the copies are neither duplicates nor
near-duplicates of each other (else the build does work a real corpus would not ask for)
and still hold the corpus's faults at the same places.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from chatcorpus.validation import near_duplicates
from chatcorpus.validation.normalize import traditional_characters
from chatcorpus.validation.validate import validate_paths

BENCH = Path(__file__).resolve().parent.parent / "bench" / "build_load.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_load"] = module
    spec.loader.exec_module(module)
    return module


def test_copy_table_is_a_bijection_within_each_class(bench: ModuleType) -> None:
    traditional = set(map(ord, traditional_characters()))
    for k in (1, 2, 9):
        table = bench.copy_table(k)
        assert sorted(table) == sorted(table.values())  # onto itself: nothing merges
        for code, mapped in table.items():
            assert chr(code).isalpha() == chr(mapped).isalpha() and chr(code).isdigit() == chr(mapped).isdigit()
            assert chr(code).isupper() == chr(mapped).isupper()
            assert (code in traditional) == (mapped in traditional)  # a Simplified text stays Simplified
        assert sum(code != mapped for code, mapped in table.items()) == len(table)  # k < 10: nothing fixed


def test_map_json_text_keeps_keys_escapes_and_layout(bench: ModuleType) -> None:
    text = '[\n  {"instruction": "Say \\"hi\\"\\n\\u4e2d 3", "input" : "", "output": "中文 abc"}\n]\n'
    mapped = bench.map_json_text(text, bench.copy_table(1))
    assert len(mapped) == len(text) and mapped.count("\n") == text.count("\n")
    (record,) = json.loads(mapped)
    assert list(record) == ["instruction", "input", "output"]
    original = json.loads(text)[0]
    table = bench.copy_table(1)
    assert record == {key: value.translate(table) for key, value in original.items()}  # \u4e2d mapped as 中
    assert record["instruction"].startswith('Tbz "ij"\n')


@pytest.mark.parametrize(
    "broken",
    [
        '[{"instruction": "abc", "output": "x"}, {"instruction": "def\n',  # cut inside a string
        '[{"instruction": "abc", "output": "x"},, {"instruction": "d"}]',
        '[{"instruction": "a\\',  # cut inside an escape
        '{"instruction": [1, "x": "y"]}',
        '"',
    ],
)
def test_a_broken_file_keeps_its_fault_where_it_was(bench: ModuleType, broken: str) -> None:
    mapped = bench.map_json_text(broken, bench.copy_table(3))
    assert len(mapped) == len(broken)
    with pytest.raises(json.JSONDecodeError) as original:
        json.loads(broken)
    with pytest.raises(json.JSONDecodeError) as copy:
        json.loads(mapped)
    assert (copy.value.lineno, copy.value.colno) == (original.value.lineno, original.value.colno)


def _words(rng: random.Random, count: int) -> str:
    return " ".join(
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 8))) for _ in range(count)
    )


def _corpus(root: Path) -> None:
    """Two configs of records distinct from each other, a broken file and a non-UTF-8 one."""
    rng = random.Random(7)
    for config in ("alpaca-en", "prompts"):
        (root / config).mkdir(parents=True)
    records: list[dict[str, Any]] = [
        {"instruction": _words(rng, 12), "input": "", "output": _words(rng, 30)} for _ in range(40)
    ]
    records.append({"instruction": "12+30=", "input": "", "output": "42"})  # digits only
    records.append({"instruction": 5, "output": "x"})  # a schema fault
    (root / "alpaca-en" / "alpaca_data-0-42-英文.json").write_text(json.dumps(records, indent=2), "utf-8")
    prompts = [
        {"instruction": "写一首关于" + "春夏秋冬山水"[i % 6] + _words(rng, 5), "output": _words(rng, 20)}
        for i in range(20)
    ]
    text = json.dumps(prompts, ensure_ascii=False)
    (root / "prompts" / "poems.json").write_text(text[: len(text) // 2], "utf-8")  # broken: cut in half
    (root / "prompts" / "latin1.json").write_bytes('[{"instruction": "caf\u00e9", "output": "x"}]'.encode("latin-1"))


def _candidate_pairs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many candidate pairs the near-duplicate pass measures, per run (``near_duplicates._verified``)."""
    counts: list[int] = []
    verified = near_duplicates._verified

    def counting(records: Any, places: Any, earlier: Any, later: Any) -> Any:
        counts.append(len(earlier))
        return verified(records, places, earlier, later)

    monkeypatch.setattr(near_duplicates, "_verified", counting)
    return counts


def test_distinct_copies_keep_the_faults_and_duplicate_nothing(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _corpus(tmp_path / "corpus")
    candidates = _candidate_pairs(monkeypatch)
    once = validate_paths([tmp_path / "corpus"], thorough=True)
    bench.replicate(tmp_path / "corpus", tmp_path / "x3", 3, "distinct")
    thrice = validate_paths([tmp_path / "x3"], thorough=True)
    sizes = [sum(p.stat().st_size for p in (tmp_path / name).rglob("*.json")) for name in ("corpus", "x3")]
    assert sizes[1] == 3 * sizes[0]
    assert len(list((tmp_path / "x3").rglob("*.json"))) == 3 * len(list((tmp_path / "corpus").rglob("*.json")))
    rules = Counter(fault.rule for fault in once.faults)
    assert {"schema.type", "json.syntax", "encoding.invalid-utf8"} <= set(rules), rules
    # every fault recurs once per copy, and no copy repeats (exactly or nearly) a record of another
    assert Counter(fault.rule for fault in thrice.faults) == Counter({rule: 3 * n for rule, n in rules.items()})
    assert thrice.records == 3 * once.records and thrice.rejected == 3 * once.rejected
    assert candidates[1] <= 3 * candidates[0] + 3


def test_marked_copies_are_candidate_near_duplicates_of_each_other(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmark's copies before: they differ by a number only, so the near-duplicate pass
    measures each record against its copies (the number keeps the pair from being reported)."""
    _corpus(tmp_path / "corpus")
    bench.replicate(tmp_path / "corpus", tmp_path / "x3", 3, "marked")
    candidates = _candidate_pairs(monkeypatch)
    validate_paths([tmp_path / "x3"], thorough=True)
    assert candidates[0] >= 2 * 40  # each of the 40 records of the later copies, against an earlier copy
    instructions = [
        record["instruction"]
        for path in (tmp_path / "x3" / "alpaca-en").glob("*.json")
        for record in json.loads(path.read_text("utf-8"))
        if isinstance(record.get("instruction"), str)
    ]
    assert Counter(text[-4:] for text in instructions) == Counter({f" ({k})": 41 for k in range(3)})
