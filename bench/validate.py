"""Validation speed against its peers, all measured in the same run: records/s, peak memory, ratios.

In process, on records already parsed: the compiled fast path (``schema_problems``),
``jsonschema`` collecting every error, and ``jsonschema_rs`` when it is installed.

End to end, as whole processes timed by wall clock: the ``validate`` command (JSON
report to /dev/null), the script one would write without this project (``json.load``
plus ``jsonschema`` on every record), and a script that only parses the files with
``orjson``: the floor for any validator that reads them.

The corpus is also replicated (``--replicate``): each copy of a file marks its records'
instructions with the copy's number, so copies are new records, not duplicates, and
the files keep their layout and their faults.

    python bench/validate.py [--corpus DIR] [--replicate N [N ...]] [--repeat K] [--runs R]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jsonschema

from chatcorpus.validation.record_schema import record_schema
from chatcorpus.validation.schema_check import schema_problems
from chatcorpus.validation.sources import SOURCE_SUFFIXES, discover, read_source
from chatcorpus.validation.validate import default_jobs

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "seed-data" / "2024-05-06"
SCHEMA_FILE = REPO / "schema" / "record.schema.json"
_INSTRUCTION = re.compile(rb'("instruction"\s*:\s*")')

# The peers, as scripts run with: <root> [<schema file>]. They walk the files as discover() does.
_FILES = "files = sorted(p for p in Path(sys.argv[1]).rglob('*') if p.suffix in ('.json', '.jsonl'))"
JSON_JSONSCHEMA = f"""
import json, sys
from pathlib import Path
import jsonschema
validator = jsonschema.Draft202012Validator(json.loads(Path(sys.argv[2]).read_text()))
{_FILES}
errors = 0
for path in files:
    text = path.read_text(encoding='utf-8', errors='replace')
    try:
        records = [json.loads(l) for l in text.splitlines() if l.strip()] if path.suffix == '.jsonl' else json.loads(text)
    except ValueError:
        continue
    for record in records if isinstance(records, list) else [records]:
        errors += sum(1 for _ in validator.iter_errors(record))
"""
ORJSON_PARSE = f"""
import sys
from pathlib import Path
import orjson
{_FILES}
for path in files:
    data = path.read_bytes()
    try:
        records = [orjson.loads(l) for l in data.splitlines() if l.strip()] if path.suffix == '.jsonl' else orjson.loads(data)
    except orjson.JSONDecodeError:
        continue
"""
# Runs ``-m module`` or ``-c code`` in this interpreter, then reports the peak memory.
_MEASURED = """
import atexit, os, runpy, sys

def report():
    if os.path.exists('/proc/self/status'):
        with open('/proc/self/status') as status:
            peak = next(line.split()[1] for line in status if line.startswith('VmHWM:'))
        sys.stderr.write(f'VmHWM-KiB {peak}\\n')

atexit.register(report)
how, target = sys.argv[1:3]
sys.argv = [target, *sys.argv[3:]]
if how == '-m':
    runpy.run_module(target, run_name='__main__', alter_sys=True)
else:
    exec(compile(target, '<bench>', 'exec'), {'__name__': '__main__'})
"""


@dataclass
class Timing:
    name: str
    seconds: float
    peak_mib: float | None = None  # of the process, for end-to-end runs
    cpu: float | None = None  # user + system seconds of the process and its workers, for end-to-end runs


def replicate(corpus: Path, copies: int, into: Path) -> Path:
    """``copies`` copies of every source file, each copy's instructions marked with its number."""
    for path in (p for p in corpus.rglob("*") if p.suffix in SOURCE_SUFFIXES):
        target = into / path.relative_to(corpus).parent
        target.mkdir(parents=True, exist_ok=True)
        data = path.read_bytes()
        for copy in range(copies):
            marked = _INSTRUCTION.sub(rb"\g<1>(copy %d) " % copy, data) if copy else data
            (target / f"{path.stem}-{copy}{path.suffix}").write_bytes(marked)
    return into


def parsed_records(root: Path) -> list[Any]:
    """The records ``validate`` checks: read by its own reader, broken files salvaged."""
    return [record for ref in discover([root]) for _, record in read_source(ref).records]


def best_time(check: Callable[[Any], Any], records: list[Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for record in records:
            check(record)
        best = min(best, time.perf_counter() - start)
    return best


def in_process(records: list[Any], repeat: int) -> list[Timing]:
    # the corpus is long-lived: keep the cyclic collector from re-walking it mid-timing
    gc.collect()
    gc.freeze()
    schema = record_schema()
    reference = jsonschema.Draft202012Validator(schema)
    checks: list[tuple[str, Callable[[Any], Any]]] = [
        ("fast path (schema_problems)", schema_problems),
        ("jsonschema iter_errors, all", lambda record: list(reference.iter_errors(record))),
    ]
    if importlib.util.find_spec("jsonschema_rs") is not None:
        import jsonschema_rs

        rs = jsonschema_rs.Draft202012Validator(schema)
        checks.append(("jsonschema_rs iter_errors, all", lambda record: list(rs.iter_errors(record))))
    timings = [Timing(name, best_time(check, records, repeat)) for name, check in checks]
    gc.unfreeze()
    return timings


def run_process(how: str, target: str, args: list[str]) -> tuple[float, float | None, float]:
    """Wall-clock seconds, peak resident MiB and CPU seconds of ``python <how> <target> <args>``.

    CPU seconds (user + system, the workers of ``--jobs`` included) say what a run costs
    whatever the other processes on a shared machine do to its wall-clock time.

    The child reports its own peak (VmHWM): a child's ru_maxrss on Linux starts at its
    parent's size when it was forked, and this parent holds the parsed corpus.
    """
    command = [sys.executable, "-c", _MEASURED, how, target, *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if run.returncode not in (0, 1):  # 1: the validate command found faults, as it should
        raise RuntimeError(f"{how} {target[:40]} failed ({run.returncode}):\n{run.stderr[-2000:]}")
    peak = re.search(r"VmHWM-KiB (\d+)", run.stderr)
    return seconds, int(peak.group(1)) / 1024 if peak else None, cpu


def end_to_end(root: Path, runs: int) -> list[Timing]:
    commands = [
        ("validate command", "-m", "chatcorpus.cli", ["validate", str(root), "--format", "json"]),
        ("json.load + jsonschema script", "-c", JSON_JSONSCHEMA, [str(root), str(SCHEMA_FILE)]),
        ("orjson parse only", "-c", ORJSON_PARSE, [str(root)]),
        ("validate --jobs 1", "-m", "chatcorpus.cli", ["validate", str(root), "--format", "json", "--jobs", "1"]),
    ]
    # round-robin: each run times every contender once, so that a change of the machine's
    # load (it is shared) weighs on all of them alike
    measured: list[list[tuple[float, float | None, float]]] = [[] for _ in commands]
    for _ in range(runs):
        for taken, (_, how, target, args) in zip(measured, commands, strict=True):
            taken.append(run_process(how, target, args))
    timings = []
    for (name, *_), taken in zip(commands, measured, strict=True):
        peaks = [peak for _, peak, _ in taken if peak is not None]
        best = min(taken)  # the run with the least wall-clock time
        timings.append(Timing(name, best[0], max(peaks) if peaks else None, min(cpu for *_, cpu in taken)))
    return timings


def print_table(title: str, records: int, timings: list[Timing], note: str) -> None:
    """One row per contender: records/s over the same records, and speed against the second row."""
    baseline = timings[1]
    print(f"\n{title}: {records:,} records; speed is relative to {baseline.name}")
    print(f"  {'':34}{'seconds':>9}{'records/s':>12}{'peak MiB':>10}{'speed':>8}{'CPU s':>8}{'CPU speed':>10}")
    for t in timings:
        peak = f"{t.peak_mib:,.0f}" if t.peak_mib is not None else "-"
        cpu = f"{t.cpu:8.2f}{baseline.cpu / t.cpu:9.1f}x" if t.cpu and baseline.cpu else ""
        print(
            f"  {t.name:34}{t.seconds:9.3f}{records / t.seconds:12,.0f}{peak:>10}"
            f"{baseline.seconds / t.seconds:7.1f}x{cpu}"
        )
    print(f"  {note}")


def bench(root: Path, copies: int, repeat: int, runs: int) -> None:
    records = parsed_records(root)
    timings = in_process(records, repeat)
    fast, reference = timings[0].seconds, timings[1].seconds
    note = f"fast path: {reference / fast:.1f}x jsonschema (target >= 30x)"
    print_table(f"{copies}x, in process, already parsed", len(records), timings, note)
    timings = end_to_end(root, runs)
    ours, peer, floor, serial = (t.seconds for t in timings)
    target = 5 if copies == 1 else 10
    note = f"validate: {peer / ours:.1f}x the script's speed (target >= {target}x), {ours / floor:.1f}x parsing's time (target <= 3x)"
    note += f"; --jobs (default: {default_jobs()} cores) is {serial / ours:.2f}x --jobs 1 (target >= 1.6x on 2 cores)"
    cpu_ours, cpu_peer, cpu_floor, cpu_serial = (t.cpu or float("nan") for t in timings)
    note += (
        f"; in CPU seconds, --jobs 1 is {cpu_peer / cpu_serial:.1f}x the script's speed and {cpu_serial / cpu_floor:.1f}x"
        f" parsing's time, --jobs costs {cpu_ours / cpu_serial:.2f}x its CPU"
    )
    note += f"; load average {_load()} (others' processes share the cores: the ratios hold only within this run)"
    print_table(f"{copies}x, end to end, whole processes", len(records), timings, note)


def _load() -> str:
    """The 1-minute load average now, and the cores it competes for."""
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores" if hasattr(os, "getloadavg") else "unknown"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help="source folder (default: the seed corpus beside the repo)"
    )
    parser.add_argument(
        "--replicate", type=int, nargs="+", default=[1, 10], metavar="N", help="corpus sizes, in copies (default: 1 10)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="in-process timings: best of this many (default 5)")
    parser.add_argument("--runs", type=int, default=1, help="end-to-end timings: best of this many (default 1)")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        parser.error(f"no corpus at {args.corpus}")
    print(f"python {sys.version.split()[0]}, jsonschema {version('jsonschema')}, corpus {args.corpus}, load {_load()}")
    for copies in args.replicate:
        if copies == 1:
            bench(args.corpus, copies, args.repeat, args.runs)
            continue
        with tempfile.TemporaryDirectory(prefix="bench-validate-") as folder:
            bench(replicate(args.corpus, copies, Path(folder)), copies, args.repeat, args.runs)


if __name__ == "__main__":
    main()
