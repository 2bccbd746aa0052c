"""duplicate.near: planted near-duplicates are found (precision and recall), look-alikes and exact copies are not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from planted_near_duplicates import planted_corpus, reports, score

from chatcorpus.cli import main
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.validation import near_duplicates
from chatcorpus.validation.near_duplicates import RULE, THRESHOLD, NearPair
from chatcorpus.validation.rules import RULES
from chatcorpus.validation.shingles import FIELD_BITS, Shingles, field_of, shingle
from chatcorpus.validation.validate import validate_paths

#: floors well under what the rule measures (README "Quality rules"), so that only a broken rule fails them
MIN_PRECISION, MIN_RECALL = 0.97, 0.9


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("planted") / "src"
    planted = planted_corpus(root, seed=3, bases=100)
    return root, planted, validate_paths([root], thorough=True).faults


def test_planted_near_duplicates_are_found_with_their_base(planted_run) -> None:
    root, planted, faults = planted_run
    precision, recall, reported = score(faults, planted, root)
    assert reported >= 0.9 * len(planted.near)
    assert precision >= MIN_PRECISION, precision
    assert recall >= MIN_RECALL, recall
    kinds_found = {planted.kinds[where] for where in reports(faults, root, RULE) if where in planted.near}
    assert kinds_found >= {"edit-1", "edit-2", "edit-3", "traditional+edit", "full-width+edit", "changed-word"}


def test_look_alikes_of_one_template_are_not_reported(planted_run) -> None:
    root, planted, faults = planted_run
    flagged = set(reports(faults, root, RULE))
    assert not flagged & planted.negatives, sorted(flagged & planted.negatives)[:5]


def test_form_only_copies_are_reported_once_as_normalized(planted_run) -> None:
    root, planted, faults = planted_run
    assert planted.normalized
    assert set(reports(faults, root, "duplicate.normalized")) >= planted.normalized
    assert not set(reports(faults, root, RULE)) & planted.normalized


def test_warning_is_located_and_names_earlier_record_and_similarity(planted_run) -> None:
    root, planted, faults = planted_run
    near = [fault for fault in faults if fault.rule == RULE]
    assert near and all(fault.severity.value == "warning" and fault.line > 0 and fault.column > 0 for fault in near)
    similarities = [float(fault.message.rsplit("similarity ", 1)[1].split()[0]) for fault in near]
    assert all(THRESHOLD <= value <= 1 for value in similarities)
    assert RULES[RULE].summary


def _write(root: Path, files: dict[str, list[dict[str, str]]]) -> Path:
    for relative, records in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return root


_LONG = "Describe the history of the river and the city that grew along both of its banks over many centuries of trade"


def test_across_files_and_configs_and_switched_off(tmp_path: Path) -> None:
    base = {"instruction": "Summarize the text.", "input": _LONG, "output": _LONG + " and war."}
    copy = dict(base, output=_LONG + " and peace.")
    root = _write(tmp_path / "src", {"alpaca-en/a.json": [base], "prompts/b.json": [copy]})
    near = [fault for fault in validate_paths([root], thorough=True).faults if fault.rule == RULE]
    assert [(fault.path, fault.index) for fault in near] == [(f"{root}/prompts/b.json", 0)]
    assert f"{root}/alpaca-en/a.json record 0" in near[0].message
    assert not [fault for fault in validate_paths([root], disabled=[RULE], thorough=True).faults if fault.rule == RULE]


def test_build_reports_the_same_near_duplicates(tmp_path: Path) -> None:
    base = {"instruction": "Summarize the text.", "input": _LONG, "output": _LONG + " and war."}
    files = {"alpaca-en/a.json": [base], "alpaca-zh/b.json": [dict(base, output=_LONG + " and peace.")]}
    root = _write(tmp_path / "src", files)
    result = build_release(root, tmp_path / "out", options=BuildOptions(progress=False))
    assert result.published  # a warning: both records are published
    built = [(f.path, f.index, f.message) for f in result.faults if f.rule == RULE]
    validated = [
        (f.path.removeprefix(f"{root}/"), f.index, f.message)
        for f in validate_paths([root], thorough=True).faults
        if f.rule == RULE
    ]
    assert built and built == [(p, i, m.replace(f"{root}/", "")) for p, i, m in validated]


def test_exact_copies_are_not_near_duplicates_too(tmp_path: Path) -> None:
    base = {"instruction": "Summarize the text.", "input": _LONG, "output": _LONG}
    root = _write(tmp_path / "src", {"alpaca-en/a.json": [base, dict(base)], "alpaca-zh/b.json": [dict(base)]})
    rules = sorted(
        fault.rule for fault in validate_paths([root], thorough=True).faults if fault.rule.startswith("duplicate.")
    )
    assert len(rules) == 2 and RULE not in rules, rules  # the two copies, each reported once


def test_same_report_with_worker_processes(tmp_path: Path, planted_run) -> None:
    root, _, faults = planted_run
    parallel = validate_paths([root], jobs=2, thorough=True).faults
    assert [f for f in parallel if f.rule == RULE] == [f for f in faults if f.rule == RULE]


def test_a_hostile_file_of_one_repeated_template_stays_linear(tmp_path: Path) -> None:
    """Thousands of records in one LSH band: each is compared with a few before it, and all are found."""
    names = ["".join(chr(97 + (i // 26**p) % 26) for p in range(3)) for i in range(3000)]
    records = [{"instruction": "Repeat after me.", "output": f"{_LONG} {name}"} for name in names]
    root = _write(tmp_path / "src", {"alpaca-en/a.json": records})
    near = [fault for fault in validate_paths([root], thorough=True).faults if fault.rule == RULE]
    assert len(near) == 2999


def _copy_groups(rng: np.random.Generator, groups: int, copies: int) -> Shingles:
    """Groups of edited copies of random shingle sets spread over fields, some with other numbers."""
    sets, numbers = [], []
    for _ in range(groups):
        size = int(rng.integers(1, 60))
        base = rng.integers(0, 1 << 32, size, dtype=np.uint64).astype(np.uint32)
        for _ in range(copies):
            edited = base.copy()
            changed = int(rng.integers(0, max(1, size // 3) + 1))
            edited[:changed] = rng.integers(0, 1 << 32, changed, dtype=np.uint64).astype(np.uint32)
            if rng.random() < 0.2:  # a field dropped: the field guard must see it
                field = edited >> np.uint32(32 - FIELD_BITS)
                edited = edited[field != field[0]] if (field != field[0]).any() else edited
            sets.append(np.unique(edited))
            numbers.append(int(rng.integers(0, 3)) if rng.random() < 0.3 else 0)
    sizes = np.array([len(part) for part in sets])
    offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    return Shingles(np.concatenate(sets), offsets, np.array(numbers, dtype=np.uint64))


def similarity_of(first: np.ndarray, second: np.ndarray) -> float:
    """The rule's measure of one pair, by definition: the Jaccard similarity of two sorted
    shingle sets, or 0 when a field either fills shares nothing."""
    shared = np.intersect1d(first, second, assume_unique=True)
    if _fields(first) | _fields(second) != _fields(shared):
        return 0.0
    return len(shared) / (len(first) + len(second) - len(shared))


def _fields(hashes: np.ndarray) -> int:
    return int(np.bitwise_or.reduce(np.left_shift(1, field_of(hashes).astype(np.int64)), initial=0))


def _verified_pair_by_pair(records: Shingles, earlier: np.ndarray, later: np.ndarray) -> list[NearPair]:
    """The rule's definition, one pair at a time: the best earlier record (the first on a tie) per later one."""
    best: dict[int, tuple[float, int]] = {}
    for first, second in zip(earlier.tolist(), later.tolist(), strict=True):
        a, b = records.of(first), records.of(second)
        if records.numbers[first] != records.numbers[second] or min(len(a), len(b)) < THRESHOLD * max(len(a), len(b)):
            continue
        similarity = similarity_of(a, b)
        if similarity >= THRESHOLD and (
            second not in best or (similarity, -first) > (best[second][0], -best[second][1])
        ):
            best[second] = (similarity, first)
    return [NearPair(second * 7, first * 7, sim) for second, (sim, first) in sorted(best.items())]


@pytest.mark.parametrize("seed", range(4))
def test_candidate_pairs_measured_at_once_agree_with_the_pair_by_pair_definition(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All pairs of each group of copies, plus random pairs across groups, in slices smaller than the run."""
    rng = np.random.default_rng(seed)
    records = _copy_groups(rng, groups=60, copies=int(rng.integers(2, 9)))
    count = len(records)
    within = [(a, b) for a in range(count) for b in range(a + 1, min(count, a + 9))]
    across = {tuple(sorted(pair)) for pair in rng.integers(0, count, (300, 2)).tolist() if pair[0] != pair[1]}
    earlier, later = (np.array(side, dtype=np.int64) for side in zip(*sorted(set(within) | across), strict=True))
    monkeypatch.setattr(near_duplicates, "_SLICE_HASHES", 997)
    found = near_duplicates._verified(records, np.arange(count) * 7, earlier, later)
    assert found == _verified_pair_by_pair(records, earlier, later)
    assert found  # the groups hold near-duplicates, so an empty answer is a broken check


def test_no_candidate_pairs_find_nothing() -> None:
    records = _copy_groups(np.random.default_rng(0), groups=3, copies=1)
    assert near_duplicates._verified(records, np.arange(3), np.zeros(0, np.int64), np.zeros(0, np.int64)) == []


def test_shingles_keep_numbers_and_fields_apart() -> None:
    texts = [
        "91-33=\x1f\x1f58",
        "91-34=\x1f\x1f57",
        "把这句话翻译成英文\x1f我喜欢猫\x1f",
        "把这句话翻译成英文\x1f今天天气很好\x1f",
    ]
    sets = shingle(texts, np.array([False, False, False, False]))
    assert sets.numbers[0] != sets.numbers[1]
    assert similarity_of(sets.of(2), sets.of(3)) == 0.0  # the inputs share nothing
    assert similarity_of(sets.of(2), sets.of(2)) == 1.0


def test_cli_lists_the_rule_and_disables_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--list-rules"]) == 0
    assert (
        f"{RULE}" in (listed := capsys.readouterr().out)
        and "--thorough and build only" in listed.split(RULE)[1].split("\n")[0]
    )
    base = {"instruction": "Summarize the text.", "input": _LONG, "output": _LONG + " and war."}
    root = _write(tmp_path / "src", {"alpaca-en/a.json": [base, dict(base, output=_LONG + " and peace.")]})
    main(["validate", str(root), "--format", "json"])
    assert RULE not in capsys.readouterr().out  # too costly for every run: --thorough, and every build
    main(["validate", str(root), "--format", "json", "--thorough"])
    assert RULE in capsys.readouterr().out
    main(["validate", str(root), "--format", "json", "--thorough", "--disable", RULE])
    assert RULE not in capsys.readouterr().out
