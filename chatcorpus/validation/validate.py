"""Validate contributed files: schema, lint rules and duplicates, every fault located.

This is the one place records are judged. ``chat-dataset-baseline validate`` reports
what it finds; ``build`` takes the accepted records of the same check, so what CI
accepts and what a release publishes can never differ.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chatcorpus.validation import schema_check
from chatcorpus.validation.faults import Fault, Problem, Severity
from chatcorpus.validation.near_duplicates import RULE as NEAR_RULE
from chatcorpus.validation.near_duplicates import NearDuplicateIndex
from chatcorpus.validation.normalize import fold
from chatcorpus.validation.records import LANGUAGE_FIELDS, content_id, languages_of
from chatcorpus.validation.rules import (
    MANDATORY_PREFIXES,
    RULES,
    TEXT_FIELDS,
    THOROUGH_RULES,
    RecordContext,
    Rule,
    TextFrame,
)
from chatcorpus.validation.shingles import Shingles, shingle_texts
from chatcorpus.validation.sources import ParsedSource, SourceRef, read_source, reopen, scan
from chatcorpus.validation.textstats import letters_and_digits, string_array, string_scalar
from chatcorpus.validation.typed_records import Record, exact_key, exact_keys, typed_records
from chatcorpus.validation.untranslated import RULE as UNTRANSLATED_RULE
from chatcorpus.validation.untranslated import SUPERSEDED, UntranslatedCopies, same_range_pair


@dataclass
class AcceptedRecord:
    """A record a build may publish. Its ``id`` (a sha256 of the content) is computed when
    first read: ``validate`` never reads it, and deduplicates by ``exact_key`` instead."""

    index: int
    record: dict[str, Any]
    language: str
    #: what near-duplicates are compared by (``near_duplicate_key``); a release's duplicate index holds its hash
    near_key: str = ""

    @cached_property
    def id(self) -> str:
        return content_id(self.record)


@dataclass
class FileResult:
    """One file's verdict: the records a build may publish and every fault found."""

    source: ParsedSource
    accepted: list[AcceptedRecord] = field(default_factory=list)
    rejected: int = 0
    faults: list[Fault] = field(default_factory=list)

    @property
    def records_read(self) -> int:
        return self.source.records_read


@dataclass
class ValidationReport:
    """All faults of a run, sorted by file, line and column, with the counts they came from."""

    faults: list[Fault]
    files: int
    records: int
    rejected: int

    @property
    def errors(self) -> int:
        return sum(fault.is_error for fault in self.faults)

    @property
    def warnings(self) -> int:
        return len(self.faults) - self.errors


@dataclass
class _Candidates:
    """The records of one file with no error, waiting to be deduplicated: columns in file order."""

    indices: list[int]
    records: list[dict[str, Any]]
    exacts: list[int]  # exact_key of each
    languages: list[str]
    near_keys: list[str]

    def __len__(self) -> int:
        return len(self.indices)

    def keys(self) -> Keys:
        return self.indices, self.exacts, list(map(hash, self.near_keys))


#: Each record's index, exact key and near-duplicate key hash, as three columns in file order.
Keys = tuple[list[int], list[int], list[int]]


@dataclass
class Judged:
    """One file judged in a worker process: its faults but duplicates, and the keys the
    parent deduplicates by, in file order. No record text crosses between processes."""

    ref: SourceRef
    faults: list[Fault]
    records_read: int
    rejected: int
    keys: Keys
    layout: tuple[Any, Any]  # where the records lie, as far as the worker found it (``ParsedSource.layout``)
    shingles: Shingles | None = None  # the candidates' shingle sets, in ``keys`` order (``duplicate.near``)


#: ``ParsedSource.layout`` as kept for every file of a run: the spans as an (n, 2) array (16 bytes a
#: record, not a list of tuples), the separators as they are
Layout = tuple[np.ndarray | None, np.ndarray | None]


def _compact(layout: tuple[list[tuple[int, int]] | None, np.ndarray | None]) -> Layout:
    spans, separators = layout
    return (None if spans is None else np.array(spans, dtype=np.int64).reshape(-1, 2)), separators


def _expanded(layout: Layout) -> tuple[list[tuple[int, int]] | None, np.ndarray | None]:
    spans, separators = layout
    return (None if spans is None else [(start, end) for start, end in spans.tolist()]), separators


_INDEX_BITS = 32  # a place is one int: (file number << 32) | record index


class Validator:
    """Checks files one at a time, remembering records across files to find duplicates.

    Memory grows with the number of distinct records (two int-to-int dict entries each,
    about 200 bytes), never with the text of files already checked.
    """

    def __init__(self, disabled: Iterable[str] = (), *, thorough: bool = False, errors_only: bool = False) -> None:
        """``errors_only``: decide acceptance only, as ``build`` needs for the alignment's
        originals; warning rules and the near-duplicate keys (warnings too) are skipped,
        so ``accepted`` is the same as with every rule and the faults lack the warnings."""
        self.disabled = frozenset(disabled)
        self.errors_only = errors_only
        unknown = self.disabled - RULES.keys()
        if unknown:
            raise _usage_error(f"unknown rule id(s): {', '.join(sorted(unknown))}; see `validate --list-rules`")
        mandatory = sorted(rule for rule in self.disabled if rule.startswith(MANDATORY_PREFIXES))
        if mandatory:
            raise _usage_error(
                f"{', '.join(mandatory)} cannot be switched off: a record it rejects would have no reason"
            )
        self._lint: list[Rule] = [
            rule
            for rule in RULES.values()
            if rule.check is not None
            and rule.id not in self.disabled
            and (thorough or rule.id not in THOROUGH_RULES)
            and (not errors_only or rule.severity is Severity.ERROR)
        ]
        self._files: list[SourceRef] = []
        self._layouts: list[Layout] = []  # each file's, for placing what ``finish`` finds without parsing it again
        near = NEAR_RULE not in self.disabled and (thorough or NEAR_RULE not in THOROUGH_RULES)
        self._near = NearDuplicateIndex() if near else None
        # with translation.untranslated off, the copies are reported one by one as duplicates, as before it
        self._copies = UntranslatedCopies() if UNTRANSLATED_RULE not in self.disabled else None
        self._exact: dict[int, int] = {}  # exact key -> place of its first occurrence
        self._normalized: dict[int, int] = {}  # hash of the near-duplicate key -> place

    def check(self, ref: SourceRef) -> FileResult:
        """Judge one file and deduplicate its records against every file checked before."""
        return self._check(ref, keep_accepted=True)

    def _check(self, ref: SourceRef, keep_accepted: bool) -> FileResult:
        """``check``; without ``keep_accepted`` (``validate``, which only reports) the accepted
        records are counted, not listed."""
        source, candidates, shingles = self._judged(ref)
        self._files.append(ref)
        result = FileResult(source, rejected=source.records_read - len(candidates))
        keys = candidates.keys()
        duplicates = self._deduplicate(ref, keys)
        self._remember_shingles(keys, shingles)
        refused: set[int] = set()
        for index, found in duplicates:  # in file order
            source.record_faults(index, [(p, _severity(p)) for p in found], flat=True)  # it passed the schema
            if any(_severity(p) is Severity.ERROR for p in found):
                refused.add(index)
        if not ref.publishable_name:
            result.rejected += len(candidates)
        else:
            result.rejected += len(refused)
            if keep_accepted:
                result.accepted = [
                    AcceptedRecord(index, record, language, near_key)
                    for index, record, language, near_key in zip(
                        candidates.indices, candidates.records, candidates.languages, candidates.near_keys, strict=True
                    )
                    if index not in refused
                ]
        result.faults = [fault for fault in source.faults if fault.rule not in self.disabled]
        self._layouts.append(_compact(source.layout))
        return result

    def _judged(self, ref: SourceRef) -> tuple[ParsedSource, _Candidates, Shingles | None]:
        """Read one file and check each record alone (schema, lint), placing what is found.

        The records with no error are returned, for ``check`` to deduplicate: the only
        step that needs the other files, so ``--jobs`` runs this part in parallel.
        """
        source = read_source(ref)
        values = list(map(itemgetter(1), source.records))
        typed = typed_records(values)
        # every value is an object when the schema passed them all
        records = values if typed is not None else [record if isinstance(record, dict) else {} for record in values]
        frame = _text_frame(records, ref.config, typed)
        problems: dict[int, list[Problem]] = {}  # by position, for the records that have any
        if typed is None:  # some record breaks the schema: name every violation of every record
            problems = {
                position: found
                for position, value in enumerate(values)
                if (found := schema_check.schema_problems(value))
            }
        self._lint_frame(frame, records, problems)
        refused: set[int] = set()
        for position in sorted(problems):
            found = problems[position]
            index = source.records[position][0]
            shown = [p for p in found if p.rule not in self.disabled]
            if shown:
                source.record_faults(index, [(p, _severity(p)) for p in shown], flat=typed is not None)
            if any(_severity(p) is Severity.ERROR for p in found):  # rejected, even when that rule is switched off
                refused.add(position)
        kept = [position for position in range(len(records)) if position not in refused] if refused else None
        if typed is not None:
            exacts = exact_keys(typed)
        else:  # the schema passed the records that are kept: each has its Record
            exacts = [exact_key(records[p]) for p in (range(len(records)) if kept is None else kept)]
        folded = None if self.errors_only else _folded_texts(frame)
        near_keys = [""] * len(records) if folded is None else near_duplicate_keys(records, letters_and_digits(folded))
        indices = list(map(itemgetter(0), source.records))
        languages = frame.languages
        if kept is not None:
            indices = [indices[p] for p in kept]
            records = [records[p] for p in kept]
            languages = [languages[p] for p in kept]
            near_keys = [near_keys[p] for p in kept]
            if typed is not None:
                exacts = [exacts[p] for p in kept]
        shingles = None
        if self._near is not None and folded is not None:
            positions = list(range(len(frame))) if kept is None else kept
            shingles = shingle_texts(folded, records, frame.languages, positions)
        return source, _Candidates(indices, records, exacts, languages, near_keys), shingles

    def settle(self, judged: Judged) -> tuple[list[Fault], int]:
        """``check`` for a file judged in another process: its faults, duplicates added, and rejected count."""
        self._files.append(judged.ref)
        rejected, late = judged.rejected, []
        for index, found in self._deduplicate(judged.ref, judged.keys):
            late += [(index, p, _severity(p)) for p in found]
            rejected += judged.ref.publishable_name and any(_severity(p) is Severity.ERROR for p in found)
        self._remember_shingles(judged.keys, judged.shingles)
        if not late:
            self._layouts.append(_compact(judged.layout))
            return judged.faults, rejected
        # the duplicates' places are found from the file's bytes and the worker's record spans
        reopened = reopen(judged.ref, *judged.layout)
        placed = reopened.place(late)
        self._layouts.append(_compact(reopened.layout))
        return judged.faults + placed, rejected

    def _deduplicate(self, ref: SourceRef, keys: Keys) -> list[tuple[int, list[Problem]]]:
        """(record index, problems) of each record of ``ref`` that repeats an earlier one, from
        the records' keys in file order; every record is remembered.

        Only the records whose key was seen before (in an earlier file, or earlier in this
        one) go through ``_duplicates`` one by one, in file order; the others, nearly all,
        cannot be duplicates nor have any (their keys are unique), so they are remembered
        in bulk at C speed. Which is which is decided by whole-file set operations.
        """
        indices, exacts, nears = keys
        suspects: set[int] = set()
        compared = ((self._exact, exacts),) if self.errors_only else ((self._exact, exacts), (self._normalized, nears))
        for seen, column in compared:  # errors only: the near keys are all "", and never reported
            distinct = set(column)
            if len(distinct) < len(column):  # a key repeats within the file: all but its first place
                first = dict(zip(reversed(column), range(len(column) - 1, -1, -1), strict=True))
                suspects.update(position for position, key in enumerate(column) if first[key] != position)
            clashes = distinct & seen.keys()
            if clashes:
                suspects.update(position for position, key in enumerate(column) if key in clashes)
        if suspects:
            alone = [position for position in range(len(indices)) if position not in suspects]
            indices, exacts, nears = ([column[p] for p in alone] for column in keys)
        base = (len(self._files) - 1) << _INDEX_BITS
        places = [base | index for index in indices]
        self._exact.update(zip(exacts, places, strict=True))
        self._normalized.update(zip(nears, places, strict=True))
        every, exact_column, near_column = keys
        found = ((every[p], self._duplicates(exact_column[p], near_column[p], ref, every[p])) for p in sorted(suspects))
        return [(index, problems) for index, problems in found if problems]

    def _remember_shingles(self, keys: Keys, shingles: Shingles | None) -> None:
        """Keep the shingle sets of the last file's records that repeat no earlier record (those are reported
        by the duplicate rules, whatever of them is switched off)."""
        if self._near is None or shingles is None:
            return
        base = (len(self._files) - 1) << _INDEX_BITS
        places = np.array([base | index for index in keys[0]], dtype=np.int64)
        first = np.array(
            [
                self._exact.get(exact) == here and self._normalized.get(near) == here
                for here, exact, near in zip(places.tolist(), keys[1], keys[2], strict=True)
            ],
            dtype=bool,
        )
        self._near.add(places[first], shingles.select(first))

    def finish(self, faults: list[Fault]) -> list[Fault]:
        """The run's ``faults`` with those that need every file added, located (``duplicate.near``,
        ``translation.untranslated``), and the per-record warnings a file's summary replaces removed.

        Call once, after the last file.
        """
        by_file: dict[int, list[tuple[int, Problem, Severity]]] = {}
        if self._copies is not None:
            copies = {(self._files[number].display, index) for number, index in self._copies.places()}
            faults = [f for f in faults if f.rule != SUPERSEDED or (f.path, f.index) not in copies]
            for number, index, problem in self._copies.summaries():
                by_file.setdefault(number, []).append((index, problem, Severity.WARNING))
            self._copies = UntranslatedCopies()
        for pair in self._near.pairs() if self._near is not None else []:
            first, first_index = self._place(pair.earlier)
            message = (
                f"nearly the same record as {first.display} record {first_index} "
                f"(Jaccard similarity {pair.similarity:.2f} of their shingles)"
            )
            file_number, index = pair.later >> _INDEX_BITS, pair.later & ((1 << _INDEX_BITS) - 1)
            by_file.setdefault(file_number, []).append((index, Problem(NEAR_RULE, message), Severity.WARNING))
        # placed from each such file's bytes and the record spans found when it was read: they are few
        return faults + [
            fault
            for number, found in by_file.items()
            for fault in reopen(self._files[number], *_expanded(self._layouts[number])).place(found)
        ]

    def _lint_frame(self, frame: TextFrame, records: list[dict[str, Any]], problems: dict[int, list[Problem]]) -> None:
        """Run each lint rule on the records its pre-filter selects."""
        for rule in self._lint:
            check, prefilter = rule.check, rule.prefilter
            if check is None:  # applied elsewhere
                continue
            candidates = prefilter(frame) if prefilter is not None else np.ones(len(frame), dtype=bool)
            for position in np.flatnonzero(candidates).tolist():
                if records[position]:
                    ctx = RecordContext(frame.config, frame.languages[position])
                    found = list(check(records[position], ctx))
                    if found:
                        problems.setdefault(position, []).extend(found)

    def _duplicates(self, exact: int, near: int, ref: SourceRef, index: int) -> list[Problem]:
        """A duplicate problem (if switched on) when an equal record was seen before; else records this one."""
        here = (len(self._files) - 1) << _INDEX_BITS | index
        earlier = self._exact.setdefault(exact, here)
        if earlier != here:
            first, first_index = self._place(earlier)
            if first.config == ref.config:
                problem = Problem("duplicate.exact", f"the same record as {first.display} record {first_index}")
            elif self._copies is not None and (pair := same_range_pair(first, ref)) is not None:
                zh_place = earlier if first is pair[0] else here  # reported once per alpaca-zh file, at the end
                self._copies.add(zh_place >> _INDEX_BITS, zh_place & ((1 << _INDEX_BITS) - 1), pair[1])
                return []
            else:
                problem = Problem(
                    "duplicate.cross-config",
                    f"the same record is in {first.config} ({first.display} record {first_index})",
                )
            return [problem] if problem.rule not in self.disabled else []
        if self.errors_only:  # a near duplicate is only ever a warning
            return []
        # keys live for one run only, so Python's own string hash serves (64 bits); --jobs
        # forks its workers, which inherit this process's hash seed
        earlier = self._normalized.setdefault(near, here)
        if earlier != here and "duplicate.normalized" not in self.disabled:
            first, first_index = self._place(earlier)
            return [
                Problem(
                    "duplicate.normalized",
                    f"equal, up to case, spacing, punctuation, Unicode and full-width forms and Traditional "
                    f"script, to {first.display} record {first_index}",
                )
            ]
        return []

    def _place(self, place: int) -> tuple[SourceRef, int]:
        return self._files[place >> _INDEX_BITS], place & ((1 << _INDEX_BITS) - 1)


def _usage_error(message: str) -> Exception:
    from chatcorpus.errors import UsageError  # imports the builder, and so datasets: only on this error path

    return UsageError(message)


def _text_frame(records: list[dict[str, Any]], config: str | None, typed: list[Record] | None = None) -> TextFrame:
    """The records' text fields as columns (a field that is absent or not a string as ""), with
    each record's language. ``typed``: the same records as ``Record``s, when all passed the schema;
    their fields are strings (absent ones ""), read in C by ``attrgetter``."""
    if typed is not None:
        columns = {name: string_array(list(map(attrgetter(name), typed))) for name in TEXT_FIELDS}
        has_history = np.fromiter(map(bool, map(attrgetter("history"), typed)), dtype=bool, count=len(typed))
    else:
        columns = {
            name: string_array([value if isinstance(value := record.get(name), str) else "" for record in records])
            for name in TEXT_FIELDS
        }
        has_history = np.array([bool(record.get("history")) for record in records], dtype=bool)
    texts = pc.binary_join_element_wise(*(columns[name] for name in LANGUAGE_FIELDS), string_scalar("\n"))
    return TextFrame(columns, has_history, languages_of(texts), config)


def near_duplicate_key(record: dict[str, Any], normalized: str) -> str:
    """What near-duplicates are compared by: the text without case, spacing and punctuation, then the turns."""
    return near_duplicate_keys([record], [normalized])[0]


def near_duplicate_keys(records: list[dict[str, Any]], normalized: list[str]) -> list[str]:
    """``near_duplicate_key`` of each record, its ``letters_and_digits`` text given (most have no history)."""
    histories = [record.get("history") for record in records]
    return [text + repr(history) if history else text for text, history in zip(normalized, histories, strict=True)]


def _folded_texts(frame: TextFrame) -> pa.Array:
    """Each record's text fields joined and folded (``normalize.fold``): the duplicate key
    (``letters_and_digits`` of it, as ``normalize.duplicate_keys``) and the shingles are made from it."""
    joined = pc.binary_join_element_wise(*(frame.columns[name] for name in TEXT_FIELDS), string_scalar("\x1f"))
    return fold(joined)


def _severity(problem: Problem) -> Severity:
    rule = RULES.get(problem.rule)
    return rule.severity if rule is not None else Severity.ERROR


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a long validation run.

    The run allocates nothing cyclic, but the collector still re-walks the ever larger
    dedup maps on every collection, which made a corpus ten times larger cost more than
    ten times the time. Reference counting frees everything as usual meanwhile.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def validate_paths(
    paths: list[Path], *, disabled: Iterable[str] = (), thorough: bool = False, jobs: int = 1
) -> ValidationReport:
    """Check every source file under ``paths`` and gather all their faults, sorted.

    Args:
        paths: files (``.json``/``.jsonl``) and folders (a source root or a config folder).
        disabled: lint rule ids to switch off for this run.
        thorough: also run the slower rules of ``THOROUGH_RULES``.
        jobs: judge files in this many worker processes; duplicates are settled here in
            file order, so the report is the same for any number.

    Returns:
        Every fault, located (the source tree's own included), with the counts of files,
        records read and records rejected. Faults in the data are in the report, never raised.

    Raises:
        SourceLayoutError: a path does not exist.
        UsageError: a file named on its own is not ``.json``/``.jsonl``, or a rule that
            explains a rejection is switched off.
    """
    validator = Validator(disabled, thorough=thorough)
    found = scan(paths)
    faults = list(found.faults)
    files = records = rejected = 0
    with without_cycle_collection():
        for file_faults, read, file_rejected in _checked(validator, found.refs, jobs, thorough):
            files += 1
            records += read
            rejected += file_rejected
            faults.extend(file_faults)
        faults = validator.finish(faults)
    faults.sort(key=Fault.sort_key)
    return ValidationReport(faults, files, records, rejected)


def default_jobs() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _checked(
    validator: Validator, refs: list[SourceRef], jobs: int, thorough: bool
) -> Iterator[tuple[list[Fault], int, int]]:
    """(faults, records read, rejected) per file, in order; judged in ``jobs`` forked processes.

    Fork, not spawn: workers inherit the loaded modules (no second import) and the hash
    seed the near-duplicate keys are compared by. Where fork is missing, one process.
    """
    if jobs <= 1 or len(refs) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for ref in refs:
            result = validator._check(ref, keep_accepted=False)
            yield result.faults, result.records_read, result.rejected
        return
    context = multiprocessing.get_context("fork")
    waiting: dict[int, Judged] = {}
    settled = 0
    with context.Pool(min(jobs, len(refs)), _start_worker, (validator.disabled, thorough)) as pool:
        for position, judged in pool.imap_unordered(_judge_at, schedule(refs, jobs)):
            waiting[position] = judged
            while settled in waiting:
                judged = waiting.pop(settled)
                settled += 1
                faults, rejected = validator.settle(judged)
                yield faults, judged.records_read, rejected


#: a file over this share of a run's bytes per worker is judged first (``schedule``)
_BIG_FILE_SHARE = 0.25


def schedule(refs: list[SourceRef], jobs: int) -> list[tuple[int, SourceRef]]:
    """(position, file) in the order the workers take them.

    Duplicates are settled in file order, in this process, each file as soon as those
    before it are in: so files go in file order, and the settling overlaps the judging
    (with the largest files first, as before, nothing could be settled until nearly
    every file was judged, and the settling then ran alone). A file big enough to keep
    one worker busy long after the others are done (over a quarter of a worker's share
    of the bytes) is judged first instead, the largest first.
    """
    sizes = [_size(ref.path) for ref in refs]
    big = _BIG_FILE_SHARE * sum(sizes) / max(jobs, 1)
    first = sorted((p for p, size in enumerate(sizes) if size > big), key=lambda p: -sizes[p])
    rest = [p for p, size in enumerate(sizes) if size <= big]
    return [(position, refs[position]) for position in first + rest]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # reading it will report why
        return 0


_worker: Validator | None = None  # each worker process's own


def _start_worker(disabled: frozenset[str], thorough: bool) -> None:
    global _worker
    _worker = Validator(disabled, thorough=thorough)


def _judge_at(item: tuple[int, SourceRef]) -> tuple[int, Judged]:
    position, ref = item
    return position, _judge(ref)


def _judge(ref: SourceRef) -> Judged:
    """A worker's part of ``Validator.check``: everything but deduplication."""
    assert _worker is not None, "the pool's initializer sets the worker's validator"
    source, candidates, shingles = _worker._judged(ref)
    faults = [fault for fault in source.faults if fault.rule not in _worker.disabled]
    keys = candidates.keys()
    rejected = source.records_read - len(candidates) + (0 if ref.publishable_name else len(candidates))
    return Judged(ref, faults, source.records_read, rejected, keys, source.layout, shingles)
