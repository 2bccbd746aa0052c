"""The lint pre-filters' screens with Hyperscan and with RE2, measured in the same run.

In process, on the corpus's files read and turned into text frames once: CPU seconds
(best of N) of each screen (``rules.Screen``: every text field stacked, and the
instruction) on both paths, the Hyperscan matches each reports (a Python call each),
compiling the triggers, and every lint rule's pre-filter plus check over the corpus
(``Validator._lint_frame``). As whole processes, in turns: ``validate --jobs 1`` with
Hyperscan and with it switched off (the path of an install without ``[fast]``), CPU
seconds (user + system), best of N. The rows each screen selects are compared too.

    python bench/prefilters.py [--corpus DIR] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from chatcorpus.validation import multiscan, rules
from chatcorpus.validation.rules import SCREENS, TEXT_FIELDS, TextFrame
from chatcorpus.validation.sources import read_source, scan
from chatcorpus.validation.validate import Validator, _text_frame

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "seed-data" / "2024-05-06"
_VALIDATE = "import sys; from chatcorpus.cli import main; sys.exit(main(sys.argv[1:]))"
_WITHOUT_HYPERSCAN = (
    "import sys; from chatcorpus.validation import multiscan; multiscan.trigger_scan = lambda triggers: None; "
    + _VALIDATE
)


def frames_of(root: Path) -> list[tuple[TextFrame, list[dict[str, Any]]]]:
    found = []
    for ref in scan([root]).refs:
        records = [record if isinstance(record, dict) else {} for _, record in read_source(ref).records]
        found.append((_text_frame(records, ref.config), records))
    return found


def best_cpu(work: Callable[[], Any], runs: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.process_time()
        result = work()
        best = min(best, time.process_time() - start)
    return best, result


def screen_texts(frame: TextFrame, screen: rules.Screen) -> pa.Array:
    if screen.field is None:
        return pa.concat_arrays([frame.columns[name].cast(pa.large_string()) for name in TEXT_FIELDS])
    return frame.columns[screen.field]


def in_process(frames: list[tuple[TextFrame, list[dict[str, Any]]]], runs: int) -> None:
    print(f"in process, CPU s best of {runs}: {len(frames)} files, {sum(len(f) for f, _ in frames):,} records")
    for screen in SCREENS.values():
        measure_screen(screen, [screen_texts(frame, screen) for frame, _ in frames], runs)
    validator = Validator()
    for label, patched in (("Hyperscan", False), ("RE2", True)):
        with _without_hyperscan(patched):
            lint_s, _ = best_cpu(lambda: [_lint(validator, frame, records) for frame, records in frames], runs)
        print(f"  every lint rule, pre-filters and checks, {label:9s} {lint_s:8.3f} s")


def measure_screen(screen: rules.Screen, texts: list[pa.Array], runs: int) -> None:
    """One screen over every file's texts, on both paths: CPU, and the candidate rows per pattern."""
    size = sum(t.nbytes for t in texts) / 2**20
    start = time.process_time()
    multiscan.trigger_scan.cache_clear()
    compiled = multiscan.trigger_scan(tuple(screen.triggers))
    compile_s = time.process_time() - start
    with _without_hyperscan(True):
        re2_s, re2_rows = best_cpu(lambda: [screen.candidates(t) for t in texts], runs)
    name = "every text field" if screen.field is None else screen.field
    print(f"  screen of {name} ({len(screen.patterns)} patterns, {size:.1f} MiB of text):")
    print(f"    RE2 alternation, then each pattern   {re2_s:8.3f} s, rows {_counts(re2_rows)}")
    if compiled is None:
        print("    Hyperscan                            not installed")
        return
    hs_s, hs_rows = best_cpu(lambda: [compiled.rows(t) for t in texts], runs)
    print(f"    Hyperscan triggers                   {hs_s:8.3f} s, rows {_counts(hs_rows)}")
    print(f"    ({re2_s / hs_s:.1f}x less CPU; compiling the triggers: {compile_s:.3f} s once per process)")


def _counts(per_file: list[list[np.ndarray] | None]) -> list[int]:
    found = [rows for rows in per_file if rows is not None]
    return [sum(len(rows[i]) for rows in found) for i in range(len(found[0]))] if found else []


@contextmanager
def _without_hyperscan(switched_off: bool) -> Iterator[None]:
    saved = multiscan.trigger_scan
    if switched_off:
        multiscan.trigger_scan = lambda triggers: None  # type: ignore[assignment]
    try:
        yield
    finally:
        multiscan.trigger_scan = saved  # type: ignore[assignment]


def _lint(validator: Validator, frame: TextFrame, records: list[dict[str, Any]]) -> None:
    frame._screened = {}  # the screens are cached per frame: run them again
    validator._lint_frame(frame, records, {})


def whole_processes(root: Path, runs: int) -> None:
    variants = {"validate --jobs 1, Hyperscan": _VALIDATE, "validate --jobs 1, RE2 only": _WITHOUT_HYPERSCAN}
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(runs):  # in turns, so that a change of the machine's load weighs on both alike
        for name, code in variants.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            command = [sys.executable, "-c", code, "validate", str(root), "--format", "json", "--jobs", "1"]
            subprocess.run(command, stdout=subprocess.DEVNULL, cwd=REPO, check=False)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            best[name] = min(best[name], cpu)
    print(f"whole processes, CPU s (user + system) best of {runs}, load average {os.getloadavg()[0]:.2f}:")
    for name, cpu in best.items():
        print(f"  {name:34s} {cpu:6.3f} s")
    first, second = best.values()
    print(f"  ratio (RE2 only / Hyperscan)       {second / first:6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if multiscan.trigger_scan(tuple(SCREENS[None].triggers)) is None:
        print("hyperscan is not installed (pip install .[fast]): only the RE2 path can be measured")
    in_process(frames_of(args.corpus), args.runs)
    whole_processes(args.corpus, args.runs)


if __name__ == "__main__":
    main()
