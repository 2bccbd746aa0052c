"""The aligner on generated trees: records deleted, inserted, repeated and left in English; and bad file names."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from alignment_fixtures import Tree, generate

from chat_dataset_baseline import TRANSLATED, UNTRANSLATED
from chatcorpus.alignment.corpus import align_tree
from chatcorpus.alignment.lexicon import InstructionWords, Vocabulary
from chatcorpus.alignment.ranges import Status, name_range
from chatcorpus.validation.records import content_id
from chatcorpus.validation.sources import SourceRef

ZH = "alpaca-zh/alpaca_data-0-{n}-中文-已完成.json"
EN = "alpaca-en/alpaca_data-0-{n}-英文.json"


def _write_tree(write_source: Callable[..., Path], tree: Tree, zh_name: str = ZH, en_name: str = EN) -> Path:
    n = len(tree.english)
    return write_source({zh_name.format(n=n): tree.chinese, en_name.format(n=n): tree.english})


def _measure(root: Path, tree: Tree) -> tuple[float, float]:
    """(precision, recall) of the links against the tree's truth."""
    links = list(align_tree(root).links)
    assert len(links) == len(tree.chinese)
    found = {int(link.zh.rsplit("#", 1)[1]): int(link.en.rsplit("#", 1)[1]) for link in links if link.en}
    truth = {k: j for k, j in enumerate(tree.truth) if j is not None}
    right = sum(found.get(k) == j for k, j in truth.items())
    return right / max(len(found), 1), right / max(len(truth), 1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_deleted_inserted_and_repeated_records_are_aligned(write_source: Callable[..., Path], seed: int) -> None:
    tree = generate(seed)
    precision, recall = _measure(_write_tree(write_source, tree), tree)
    assert precision >= 0.99 and recall >= 0.98, (precision, recall)


def test_a_file_with_many_skips_in_long_stretches(write_source: Callable[..., Path]) -> None:
    tree = generate(7, n=600, skip=0.25, insert=0.0, duplicate=0.0, untranslated=0.3)
    precision, recall = _measure(_write_tree(write_source, tree), tree)
    assert precision >= 0.99 and recall >= 0.98, (precision, recall)


def test_every_link_says_translated_or_untranslated_and_names_the_english_id(
    write_source: Callable[..., Path],
) -> None:
    tree = generate(4, untranslated=0.2)
    root = _write_tree(write_source, tree)
    links = list(align_tree(root).links)
    for k, link in enumerate(links):
        j = tree.truth[k]
        if link.en is None or j is None or link.en != f"alpaca-en/alpaca_data-0-400-英文.json#{j}":
            continue
        copy = tree.chinese[k] == tree.english[j]
        assert link.kind == (UNTRANSLATED if copy else TRANSLATED)
        assert link.en_id == content_id(tree.english[j])
        assert 0.0 < link.score <= 1.0


def test_duplicates_get_no_second_link(write_source: Callable[..., Path]) -> None:
    tree = generate(5, duplicate=0.2, skip=0.0, insert=0.0)
    links = [link for link in align_tree(_write_tree(write_source, tree)).links if link.en]
    targets = [link.en for link in links]
    assert len(targets) == len(set(targets))  # one-to-one


def test_the_output_is_the_same_on_every_run(write_source: Callable[..., Path]) -> None:
    root = _write_tree(write_source, generate(6))
    assert list(align_tree(root).links) == list(align_tree(root).links)


# --- bad input: located warnings, no guesses -------------------------------------------------


def _rules(root: Path) -> dict[str, str]:
    return {fault.rule: fault.path for fault in align_tree(root).faults}


def test_a_zh_file_whose_name_gives_no_range_gets_no_links(write_source: Callable[..., Path]) -> None:
    tree = generate(8, n=50)
    root = _write_tree(write_source, tree, zh_name="alpaca-zh/translated-中文.json")
    alignment = align_tree(root)
    assert _rules(root) == {"align.no-range": "alpaca-zh/translated-中文.json"}
    assert [link.en for link in alignment.links] == [None] * len(tree.chinese)


def test_a_range_without_an_english_file_gets_no_links(write_source: Callable[..., Path]) -> None:
    tree = generate(9, n=50)
    root = _write_tree(write_source, tree, en_name="alpaca-en/alpaca_data-50-100-英文.json")
    faults = align_tree(root).faults
    assert [(f.rule, f.path) for f in faults] == [
        ("align.missing-original", "alpaca-zh/alpaca_data-0-50-中文-已完成.json")
    ]
    assert all(link.en is None for link in align_tree(root).links)


def test_overlapping_ranges_get_no_links_and_one_warning_each(write_source: Callable[..., Path]) -> None:
    tree = generate(10, n=60)
    root = write_source(
        {
            "alpaca-zh/alpaca_data-0-60-中文.json": tree.chinese,
            "alpaca-zh/alpaca_data-40-100-中文.json": tree.chinese[:5],
            "alpaca-zh/alpaca_data-100-160-中文.json": tree.chinese,
            "alpaca-en/alpaca_data-0-60-英文.json": tree.english,
            "alpaca-en/alpaca_data-40-100-英文.json": tree.english[:5],
            "alpaca-en/alpaca_data-100-160-英文.json": tree.english,
        }
    )
    alignment = align_tree(root)
    overlapping = sorted(f.path for f in alignment.faults if f.rule == "align.overlapping-range")
    assert overlapping == [
        "alpaca-en/alpaca_data-0-60-英文.json",
        "alpaca-en/alpaca_data-40-100-英文.json",
        "alpaca-zh/alpaca_data-0-60-中文.json",
        "alpaca-zh/alpaca_data-40-100-中文.json",
    ]
    by_file = {part.zh_ref.display: part for part in alignment.files}
    assert all(link.en is None for link in by_file["alpaca-zh/alpaca_data-0-60-中文.json"].links)
    assert any(link.en for link in by_file["alpaca-zh/alpaca_data-100-160-中文.json"].links)


def test_records_that_are_not_alpaca_records_are_left_out_and_the_rest_aligned(
    write_source: Callable[..., Path],
) -> None:
    tree = generate(11, n=40, skip=0.0, insert=0.0, duplicate=0.0)
    deep: object = []
    for _ in range(300):  # deeper than any serializer goes: no record, and no RecursionError
        deep = [deep]
    odd_histories = [[["a"]], [["a", 1]], [["a", "b", "c"]], ["ab"], deep]
    not_records = [{"instruction": 5}, None, [], *({**tree.chinese[0], "history": h} for h in odd_histories)]
    hostile: list[object] = [*tree.chinese[:10], *not_records, *tree.chinese[10:]]
    english = [*tree.english[:5], {**tree.english[5], "history": deep}, *tree.english[6:]]
    n = len(tree.english)
    root = write_source({ZH.format(n=n): hostile, EN.format(n=n): english})
    links = list(align_tree(root).links)
    assert len(links) == len(tree.chinese)
    shift = len(not_records)
    assert links[10].zh.endswith(f"#{10 + shift}") and links[10].en and links[10].en.endswith("#10")
    assert links[5].en is None  # its original is no record


def test_an_empty_or_unreadable_file_aligns_nothing(write_source: Callable[..., Path]) -> None:
    root = write_source({ZH.format(n=3): "", EN.format(n=3): "[1, 2"})
    assert list(align_tree(root).links) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alpaca_data-0-3252-中文-已完成.json", (0, 3252, Status.DONE, "")),
        ("alpaca_data-18280-21320-中文-wys未完成.json", (18280, 21320, Status.UNFINISHED, "wys")),
        ("alpaca_data-6382-9407-（jlh）中文-已完成.json", (6382, 9407, Status.DONE, "jlh")),
        ("alpaca_data-12345-15323-中文.json", (12345, 15323, Status.UNKNOWN, "")),
        ("alpaca_data-9-3-中文.json", None),  # an empty range
        ("alpaca_data-١-٣-中文.json", None),  # Arabic-Indic digits are not a range
        ("中文.json", None),
    ],
)
def test_what_a_file_name_says(name: str, expected: tuple[int, int, Status, str] | None) -> None:
    found = name_range(SourceRef(Path(name), f"alpaca-zh/{name}", "alpaca-zh"))
    got = None if found is None else (found.start, found.end, found.status, found.initials)
    assert got == expected


def test_the_json_line_of_a_link(write_source: Callable[..., Path]) -> None:
    tree = generate(12, n=20, skip=0.0, insert=0.0, duplicate=0.0)
    link = next(iter(align_tree(_write_tree(write_source, tree)).links))
    line = json.loads(json.dumps(link.to_json()))
    assert set(line) == {"zh", "en", "score"}
    assert line["zh"] == "alpaca-zh/alpaca_data-0-20-中文-已完成.json#0"


def test_words_are_numbered_in_the_order_first_seen() -> None:
    """A set's order changes with PYTHONHASHSEED; numbering in it made the alignment vary between runs."""
    words = [f"zz{chr(97 + n // 26)}{chr(97 + n % 26)}" for n in range(50)]
    vocabulary = Vocabulary()
    InstructionWords.of_english([" ".join(words)], vocabulary)
    found = InstructionWords.of_english(words, vocabulary)  # look each word's number up, one an instruction
    assert found.codes.tolist() == list(range(50)) and found.rows.tolist() == list(range(50))


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_a_block_pasted_twice_keeps_its_links_on_the_first_copy(write_source: Callable[..., Path], seed: int) -> None:
    """Blocks of 3-15 records repeated (exactly or up to form); the copies face the skipped English records."""
    tree = generate(seed, n=500, skip=0.15, insert=0.0, block=0.03)
    assert sum(t is None for t in tree.truth) >= 30  # the tree really holds repeated blocks
    root = _write_tree(write_source, tree)
    precision, recall = _measure(root, tree)
    assert precision >= 0.99 and recall >= 0.98, (precision, recall)
    links = list(align_tree(root).links)
    copies = [k for k, t in enumerate(tree.truth) if t is None and tree.chinese[k] in tree.chinese[:k]]
    assert copies and all(links[k].en is None for k in copies)


def test_a_repeated_block_next_to_skipped_english_records_gets_no_link(write_source: Callable[..., Path]) -> None:
    """The seed's case: a block pasted twice, and the English records after it skipped, so the copy
    faces English records as many as itself; an order-keeping path would pair them."""
    tree = generate(24, n=120, skip=0.0, insert=0.0, duplicate=0.0, untranslated=0.0)
    block = list(range(40, 55))
    chinese = [*tree.chinese[:55], *(dict(tree.chinese[k]) for k in block), *tree.chinese[70:]]
    truth: list[int | None] = [*range(55), *([None] * len(block)), *range(70, 120)]
    n = len(tree.english)
    root = write_source({ZH.format(n=n): chinese, EN.format(n=n): tree.english})
    found = [link.en for link in align_tree(root).links]
    assert found == [None if j is None else f"alpaca-en/alpaca_data-0-{n}-英文.json#{j}" for j in truth]


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_neighbours_translated_in_the_other_order_are_both_linked(write_source: Callable[..., Path], seed: int) -> None:
    tree = generate(seed, swap=0.06)
    pairs = [(k, tree.truth[k], tree.truth[k + 1]) for k in range(len(tree.truth) - 1)]
    crossed = [k for k, a, b in pairs if a is not None and b is not None and a > b]
    assert len(crossed) >= 10
    root = _write_tree(write_source, tree)
    precision, recall = _measure(root, tree)
    assert precision >= 0.99 and recall >= 0.98, (precision, recall)
    links = {int(link.zh.rsplit("#", 1)[1]): link.en for link in align_tree(root).links}
    n = len(tree.english)
    both = [
        k
        for k in crossed
        if all(links[m] == f"alpaca-en/alpaca_data-0-{n}-英文.json#{tree.truth[m]}" for m in (k, k + 1))
    ]
    assert len(both) >= 0.9 * len(crossed), (len(both), len(crossed))


def test_bigrams_stay_inside_one_instruction_and_one_run_of_han() -> None:
    """The vectorized bigrams against their definition: a record's last character never pairs with the
    next record's first; Latin, punctuation, astral characters and compatibility ideographs break or join runs."""
    instructions = ["原子结构", "构造", "", "a原b子", "原子。原子", "\U00020000原子", "豈更", "x"]
    words = InstructionWords.of_chinese(instructions)
    han = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
    expected = {
        (k, (ord(run[i]) << 21) | ord(run[i + 1]))
        for k, text in enumerate(instructions)
        for run in han.findall(text)
        for i in range(len(run) - 1)
    }
    got = list(zip(words.rows.tolist(), words.codes.tolist(), strict=True))
    assert set(got) == expected and len(got) == len(expected)  # each bigram once per record
    assert words.count == len(instructions)
