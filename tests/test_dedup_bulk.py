"""Deduplication in bulk (``Validator._deduplicate``) finds what the record-by-record check finds,
and ``--jobs`` gives the same report as one process on files whose duplicates workers cannot see."""

from __future__ import annotations

import json
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatcorpus.cli import main
from chatcorpus.validation.sources import SourceRef
from chatcorpus.validation.validate import Validator, schedule

DUPLICATE_RULES = ("duplicate.exact", "duplicate.cross-config", "duplicate.normalized")
# few distinct keys, so that keys repeat within a file, across files and across configs
_FILES = st.lists(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=8), max_size=5)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(_FILES, st.sets(st.sampled_from(DUPLICATE_RULES)))
def test_bulk_deduplication_equals_the_record_by_record_check(
    files: list[list[tuple[int, int]]], disabled: set[str]
) -> None:
    bulk, plain = Validator(disabled), Validator(disabled)
    for number, keys in enumerate(files):
        ref = SourceRef(Path(f"{number}.json"), f"{number}.json", ("alpaca-zh", "chatglm-issues")[number % 2])
        triples = [(3 * position + 1, exact, near) for position, (exact, near) in enumerate(keys)]
        bulk._files.append(ref)
        plain._files.append(ref)
        found = bulk._deduplicate(ref, tuple(map(list, zip(*triples, strict=True))) if triples else ([], [], []))
        expected = [(index, p) for index, exact, near in triples if (p := plain._duplicates(exact, near, ref, index))]
        assert found == expected
    assert bulk._exact == plain._exact and bulk._normalized == plain._normalized


def _record(n: int, spaced: bool = False) -> dict[str, str]:
    text = f"Tell me about topic {n}."
    return {"instruction": text.replace(" ", "  ") if spaced else text, "output": f"Topic {n} is fine."}


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_jobs_place_the_duplicates_of_every_kind_of_file_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """The parent places duplicates in files it never parsed: JSONL (with CR line ends), an
    array with a BOM, a broken array read element by element, in sizes out of file order."""
    root = tmp_path / "contrib"
    (root / "alpaca-en").mkdir(parents=True)
    (root / "chatglm-issues").mkdir()
    big = [_record(n) for n in range(300)]
    (root / "alpaca-en" / "a-big.json").write_text(json.dumps(big, indent=2), encoding="utf-8")
    lines = [json.dumps(_record(n)) for n in (5, 400, 401, 400)] + [json.dumps(_record(7, spaced=True))]
    (root / "alpaca-en" / "b.jsonl").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    bom = "\ufeff" + json.dumps([_record(402), _record(9), _record(403)], indent=1)
    (root / "alpaca-en" / "c-bom.json").write_bytes(bom.encode("utf-8"))
    broken = json.dumps([_record(11), _record(404)], indent=1)[:-1] + ",\n {broken},\n" + json.dumps(_record(12)) + "]"
    (root / "alpaca-en" / "d-broken.json").write_text(broken, encoding="utf-8")
    (root / "chatglm-issues" / "e.json").write_text(json.dumps([_record(13), _record(401)]), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    outputs = []
    for jobs in ("1", "2", "3"):
        assert main(["validate", "contrib", "--format", fmt, "--jobs", jobs]) == 1
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2]
    if fmt == "json":
        faults = json.loads(outputs[0])["faults"]
        placed = {(f["path"].split("/")[-1], f["rule"], f["line"]) for f in faults if f["rule"].startswith("duplicate")}
        assert ("b.jsonl", "duplicate.exact", 1) in placed  # record 5 of a-big.json
        assert ("b.jsonl", "duplicate.exact", 4) in placed  # line 2 again
        assert ("b.jsonl", "duplicate.normalized", 5) in placed
        assert ("c-bom.json", "duplicate.exact", 6) in placed  # its second record, after the BOM
        assert ("d-broken.json", "duplicate.exact", 2) in placed
        assert ("d-broken.json", "duplicate.exact", 12) in placed  # after the element that does not parse
        assert ("e.json", "duplicate.cross-config", 1) in placed


_RIVER = "Describe the history of the river and the city that grew along both of its banks over many centuries"


def test_jobs_place_what_only_the_whole_run_finds_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Near-duplicates and untranslated copies are found after the last file and placed from the
    record spans kept when each file was read (a JSONL file with CR line ends, an array with a BOM,
    a broken array read element by element), never by parsing a file twice: same places, any --jobs."""
    root = tmp_path / "contrib"
    for config in ("alpaca-en", "alpaca-zh", "chatglm-issues"):
        (root / config).mkdir(parents=True)
    english = [{"instruction": f"Name colour number {'I' * (n + 1)}.", "output": f"Blue {n}."} for n in range(4)]
    (root / "alpaca-en" / "alpaca_data-0-4-英文.json").write_text(json.dumps(english), encoding="utf-8")
    chinese = [{"instruction": "说出一种颜色。", "output": "蓝色。"}, english[1], english[2]]
    (root / "alpaca-zh" / "alpaca_data-0-4-中文.json").write_bytes(
        ("\ufeff" + json.dumps(chinese, ensure_ascii=False, indent=1)).encode()
    )
    river = {"instruction": "Summarize the text.", "input": _RIVER, "output": _RIVER + " and of war."}
    lines = [json.dumps(_record(n)) for n in (1, 2)] + [json.dumps(dict(river, output=_RIVER + " and of peace."))]
    (root / "chatglm-issues" / "a.json").write_text(json.dumps([river]), encoding="utf-8")
    (root / "chatglm-issues" / "b.jsonl").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    broken = "[" + json.dumps(_record(3)) + ",\n{broken},\n" + json.dumps(dict(river, output=_RIVER + ".")) + "]"
    (root / "chatglm-issues" / "c-broken.json").write_text(broken, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    outputs = []
    for jobs in ("1", "2", "3"):
        assert main(["validate", "contrib", "--thorough", "--format", "json", "--jobs", jobs]) == 1
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2]
    placed = {(f["path"].split("/")[-1], f["rule"], f["line"]) for f in json.loads(outputs[0])["faults"]}
    assert ("b.jsonl", "duplicate.near", 3) in placed
    assert ("c-broken.json", "duplicate.near", 3) in placed  # after the element that does not parse
    assert ("alpaca_data-0-4-中文.json", "translation.untranslated", 6) in placed  # its first copy, after the BOM


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.integers(0, 10**6), max_size=12), st.integers(1, 4))
def test_files_go_to_workers_in_file_order_but_the_big_ones_first(sizes: list[int], jobs: int) -> None:
    """Every file exactly once; those over a quarter of a worker's share of the bytes first, the
    largest first; the rest in file order, so that each can be settled as soon as it is judged."""
    refs = [SourceRef(Path(f"{n}.json"), f"{n}.json", "alpaca-en") for n in range(len(sizes))]
    with patch("chatcorpus.validation.validate._size", side_effect=lambda path: sizes[int(path.stem)]):
        order = [position for position, _ in schedule(refs, jobs)]
    assert sorted(order) == list(range(len(sizes)))
    big = [p for p in order if sizes[p] > sum(sizes) / (4 * jobs)]
    assert order[: len(big)] == big and [sizes[p] for p in big] == sorted((sizes[p] for p in big), reverse=True)
    assert order[len(big) :] == sorted(order[len(big) :])
