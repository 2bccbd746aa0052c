"""Who translated which range, and how far: the live version of the seed README's table.

Per English range (an alpaca-en file): its records, how many have a Chinese translation
linked to them, how many an untranslated copy, how many nothing (skipped, or not
reached yet), and the Chinese file's status and translator initials from its name. A
range without a Chinese file is listed too: it is where work is left.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chatcorpus.alignment.corpus import EN_CONFIG, TRANSLATED, UNTRANSLATED, Alignment, Link
from chatcorpus.alignment.ranges import name_range
from chatcorpus.validation import inert
from chatcorpus.validation.sources import config_sources, read_source


@dataclass(frozen=True)
class RangeCoverage:
    """One English range's row of the coverage table."""

    range: str  # "start-end", or the file name when it gives no range
    en_file: str
    records: int
    translated: int
    untranslated: int
    skipped: int
    zh_file: str  # "" when no Chinese file covers the range
    status: str  # done / unfinished / "" (the name says neither) / "missing" (no Chinese file)
    initials: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def coverage(root: Path, alignment: Alignment) -> list[RangeCoverage]:
    """One row per alpaca-en file of ``root``, in range order, from ``alignment`` of the same tree."""
    by_en = {part.en.ref.display: part for part in alignment.files if part.en is not None}
    rows = []
    for ref in config_sources(root, EN_CONFIG):
        named = name_range(ref)
        part = by_en.get(ref.display)
        if part is not None:
            records = part.en_records
            kinds = _originals(part.links)
            zh = part.zh
            assert zh is not None  # a part with an English file was paired by its range
            zh_file, status, initials = part.zh_ref.display, zh.status.value, zh.initials
        else:
            records = read_source(ref).records_read
            kinds = Counter()
            zh_file, status, initials = "", "missing", ""
        rows.append(
            RangeCoverage(
                range=named.label if named else ref.display.rsplit("/", 1)[-1],
                en_file=ref.display,
                records=records,
                translated=kinds[TRANSLATED],
                untranslated=kinds[UNTRANSLATED],
                skipped=records - kinds[TRANSLATED] - kinds[UNTRANSLATED],
                zh_file=zh_file,
                status=status,
                initials=initials,
            )
        )
    rows.sort(key=lambda row: (_start(row.range), row.en_file))
    return rows


def _originals(links: list[Link]) -> Counter[str]:
    """English records per kind, each counted once: translated if any record translates it, else untranslated.

    Two Chinese records may share an original (a copy beside its translation), so
    counting links would count the English record twice.
    """
    kind_of: dict[str, str] = {}
    for link in links:
        if link.en is not None and kind_of.get(link.en) != TRANSLATED:
            kind_of[link.en] = link.kind
    return Counter(kind_of.values())


def _start(label: str) -> int:
    start = label.split("-", 1)[0]
    return int(start) if start.isdigit() else -1


HEADER = ("range", "records", "translated", "untranslated", "skipped", "status", "translator")
_NUMERIC = (False, True, True, True, True, False, False)


def _cells(row: RangeCoverage) -> tuple[str, ...]:
    return (
        row.range,
        f"{row.records:,}",
        f"{row.translated:,}",
        f"{row.untranslated:,}",
        f"{row.skipped:,}",
        row.status or "unstated",
        row.initials or "-",
    )


def markdown_table(rows: list[RangeCoverage]) -> str:
    """The coverage as a Markdown table (the card's section), name-derived text escaped for the table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---:" if n else "---" for n in _NUMERIC) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(inert.markdown_text(cell) for cell in _cells(row)) + " |")
    return "\n".join(lines)


def text_table(rows: list[RangeCoverage]) -> str:
    """The coverage as aligned columns for a terminal; control characters in names are escaped."""
    table = [
        HEADER,
        *(
            tuple(
                cell.encode("unicode_escape").decode("ascii") if not cell.isprintable() else cell
                for cell in _cells(row)
            )
            for row in rows
        ),
    ]
    widths = [max(len(line[k]) for line in table) for k in range(len(HEADER))]
    return "\n".join(
        "  ".join(
            cell.rjust(w) if numeric else cell.ljust(w) for cell, w, numeric in zip(line, widths, _NUMERIC, strict=True)
        ).rstrip()
        for line in table
    )
