"""Where a build's time goes: wall-clock and CPU time per phase of one single-process build.

Not a test, and not a comparison: ``bench/build_load.py`` compares the build with its
peers. This one wraps the functions a build calls (reading, validation and its parts,
the alignment and its parts, rows, Arrow tables, Parquet, the duplicate index, the card)
with timers and prints each phase nested under the phases that call it. The timers cost
about a microsecond a call, so the per-row phases read a little high. A name the code no
longer has is left out, not guessed.

    python bench/build_phases.py [--corpus ../shared/seed-data/2024-05-06] [--jobs 1]
"""

from __future__ import annotations

import argparse
import functools
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "seed-data" / "2024-05-06"
_wall: dict[str, float] = defaultdict(float)
_cpu: dict[str, float] = defaultdict(float)
_calls: dict[str, int] = defaultdict(int)
_stack: list[str] = []

# (module, class or None, attribute, phase name): build.py's own names first, then what they call
PHASES = [
    ("chatcorpus.release.build", None, "_translation_links", "alignment (own errors-only validation included)"),
    ("chatcorpus.alignment.corpus", None, "_prepare", "read and signal a file pair"),
    ("chatcorpus.alignment.corpus", "Lexicon", "learn", "learn the lexicon"),
    ("chatcorpus.alignment.corpus", None, "align_many", "align the file pairs (one pass)"),
    ("chatcorpus.release.build", None, "coverage", "coverage table"),
    ("chatcorpus.release.build", None, "_build_config", "config: validate + rows + shards"),
    ("chatcorpus.validation.validate", "Validator", "check", "validate a file"),
    ("chatcorpus.validation.validate", None, "read_source", "parse (orjson)"),
    ("chatcorpus.validation.validate", None, "_text_frame", "Arrow text columns + language"),
    ("chatcorpus.validation.validate", "Validator", "_lint_frame", "lint rules"),
    ("chatcorpus.validation.validate", None, "_folded_texts", "folded texts (near-duplicate keys, shingles)"),
    ("chatcorpus.validation.validate", None, "near_duplicate_keys", "near-duplicate keys"),
    ("chatcorpus.validation.validate", None, "shingle_texts", "shingles (duplicate.near)"),
    (
        "chatcorpus.validation.validate",
        "Validator",
        "finish",
        "duplicates across files (duplicate.near pairs, placing)",
    ),
    ("chatcorpus.validation.near_duplicates", "NearDuplicateIndex", "pairs", "near-duplicate pairs (MinHash, Jaccard)"),
    ("chatcorpus.validation.validate", None, "content_id", "content id (sha256)"),
    ("chatcorpus.release.build", None, "row_values", "row values"),
    ("chatcorpus.release.shards", None, "table_from_values", "Arrow table"),
    ("chatcorpus.release.shards", None, "parquet_bytes", "Parquet (page index, CDC)"),
    ("chatcorpus.release.duplicate_index", "IndexWriter", "add_file", "duplicate index rows"),
    ("chatcorpus.release.duplicate_index", "IndexWriter", "to_parquet", "duplicate index file"),
    ("chatcorpus.release.stats", "ShardCounts", "of", "statistics of a shard (from its table)"),
    ("chatcorpus.release.charts", None, "length_chart", "length chart (matplotlib; first one imports it)"),
    ("chatcorpus.release.build", None, "_write_statistics", "statistics section and the category chart"),
    ("chatcorpus.release.charts", None, "category_chart", "category chart"),
    ("chatcorpus.release.build", None, "croissant_bytes", "croissant.json"),
    ("chatcorpus.release.manifest", "Manifest", "write", "manifest"),
    ("chatcorpus.release.build", None, "render_card", "card"),
]
_order: dict[str, None] = {}  # phases in the order they were first entered


def _timed(function: Any, name: str) -> Any:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        _stack.append(name)
        key = " > ".join(_stack)
        _order.setdefault(key)
        try:
            return function(*args, **kwargs)
        finally:
            _stack.pop()
            _wall[key] += time.perf_counter() - wall
            _cpu[key] += time.process_time() - cpu
            _calls[key] += 1

    return timed


def install(phases: list[tuple[str, str | None, str, str]]) -> None:
    """Wrap each (module, class or None, attribute, phase name) of ``phases`` with the timers."""
    import importlib

    for module_name, owner_name, attribute, name in phases:
        owner: Any = importlib.import_module(module_name)
        if owner_name is not None:
            owner = getattr(owner, owner_name, None)
        if owner is None or not hasattr(owner, attribute):
            print(f"  (no {module_name}.{owner_name or ''}.{attribute}: {name} not measured)", file=sys.stderr)
            continue
        setattr(owner, attribute, _timed(getattr(owner, attribute), name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--jobs", type=int, default=1, help="2: the alignment runs in a second process (not timed)")
    args = parser.parse_args()
    started = time.perf_counter()
    from chatcorpus.release.build import BuildOptions, build_release

    imported = time.perf_counter() - started
    install(PHASES)
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = time.perf_counter(), time.process_time()
        result = build_release(
            args.corpus, Path(tmp) / "release", options=BuildOptions(progress=False, skip_invalid=True, jobs=args.jobs)
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows = sum(c.written for c in result.counts.values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"build of {args.corpus.name}: {rows:,} rows; import {imported:.2f} s; build_release {wall:.2f} s wall, "
        f"{cpu:.2f} s CPU; peak {peak:.0f} MiB; load average {Path('/proc/loadavg').read_text().split()[0]}"
    )
    print_phases()


def print_phases() -> None:
    """One line per phase entered, nested under the phases that called it, in the order first entered."""
    rank = {key: number for number, key in enumerate(_order)}

    def tree_order(key: str) -> tuple[int, ...]:  # under its caller, even when first entered later
        parts = key.split(" > ")
        return tuple(rank[" > ".join(parts[: depth + 1])] for depth in range(len(parts)))

    print(f"  {'phase':<78}{'wall s':>8}{'CPU s':>8}{'calls':>9}")
    for key in sorted(_order, key=tree_order):
        depth = key.count(" > ")
        name = "  " * depth + key.rsplit(" > ", 1)[-1]
        print(f"  {name:<78}{_wall[key]:8.2f}{_cpu[key]:8.2f}{_calls[key]:9,}")


if __name__ == "__main__":
    main()
