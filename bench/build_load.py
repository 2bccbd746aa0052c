"""Benchmark: build the seed corpus and load it back, against peers measured in the same run.

Not a test: it prints figures and ratios. Each measurement runs in a fresh subprocess so
that peak memory (ru_maxrss, worker processes included) and cold start are its own; the
build is timed both inside the process (``build_release`` alone) and as the whole
process (imports included), best of ``--repeat``. Targets (issue #10): the build at most
2x the floor (orjson parse + ``pq.write_table``), the corpus replicated 10x at most 10.5x
the 1x build.

    python bench/build_load.py [--corpus ../shared/seed-data/2024-05-06] [--config alpaca-en]
        [--repeat 3] [--replicate 10] [--repeat-replicated 1] [--copies distinct|marked|both] [--build-only]

The replicated corpus's copies are ``distinct`` by default: each copy's text mapped by a
character bijection of its own (``replicate``), so no copy is a near-duplicate of another;
``marked`` copies differ only by a number after the instruction, and the build reports
every record as a near-duplicate of its copies (the figures before 2026-12-01 18:40 UTC).
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "seed-data" / "2024-05-06"

# Each snippet prints one JSON object: {"seconds": ..., "rows": ...}; the runner adds peak memory.
PRELUDE = """
import json, resource, sys, time
from pathlib import Path
def report(seconds, rows, **extra):
    print(json.dumps({"seconds": seconds, "rows": rows, **extra}))
"""

SNIPPETS = {
    "build": """
from chatcorpus.release.build import BuildOptions, build_release
t = time.perf_counter()
result = build_release(Path(SRC), Path(OUT), options=BuildOptions(progress=False, skip_invalid=True))
report(time.perf_counter() - t, sum(c.read for c in result.counts.values()), faults=len(result.faults),
       near=sum(f.rule == "duplicate.near" for f in result.faults))
""",
    "build --jobs 2": """
from chatcorpus.release.build import BuildOptions, build_release
t = time.perf_counter()
result = build_release(Path(SRC), Path(OUT), options=BuildOptions(progress=False, skip_invalid=True, jobs=2))
report(time.perf_counter() - t, sum(c.read for c in result.counts.values()), faults=len(result.faults),
       near=sum(f.rule == "duplicate.near" for f in result.faults))
""",
    "floor: orjson + write_table": """
import orjson, pyarrow as pa, pyarrow.parquet as pq
t = time.perf_counter()
rows = 0
for config in sorted(p for p in Path(SRC).iterdir() if p.is_dir() and p.name != "extras"):
    records = []
    for f in sorted(config.glob("*.json")):
        try:
            value = orjson.loads(f.read_bytes())
        except orjson.JSONDecodeError:
            continue
        records.extend(r for r in value if isinstance(r, dict))
    columns = {k: [str(r.get(k, "")) for r in records] for k in ("instruction", "input", "output")}
    pq.write_table(pa.table(columns), str(Path(OUT) / (config.name + ".parquet")), compression="zstd")
    rows += len(records)
report(time.perf_counter() - t, rows)
""",
    "load_dataset(OUT)": """
import datasets
t = time.perf_counter()
ds = datasets.load_dataset(OUT, CONFIG, split="train", cache_dir=CACHE)
report(time.perf_counter() - t, ds.num_rows)
""",
    "load_dataset('parquet')": """
import datasets
files = json.loads(Path(OUT, "manifest.json").read_text())["configs"][CONFIG]["shards"]
t = time.perf_counter()
ds = datasets.load_dataset("parquet", data_files=[str(Path(OUT, s["path"])) for s in files], split="train", cache_dir=CACHE)
report(time.perf_counter() - t, ds.num_rows)
""",
    "builder (verified)": """
from chat_dataset_baseline import ChatDatasetBaseline
t = time.perf_counter()
b = ChatDatasetBaseline(config_name=CONFIG, data_source=OUT, cache_dir=CACHE)
b.download_and_prepare()
ds = b.as_dataset(split="train")
report(time.perf_counter() - t, ds.num_rows)
""",
    "load_dataset('json') raw": """
import datasets
files = [str(p) for p in sorted(Path(SRC, CONFIG).glob("*.json"))]
t = time.perf_counter()
try:
    ds = datasets.load_dataset("json", data_files=files, split="train", cache_dir=CACHE)
    report(time.perf_counter() - t, ds.num_rows)
except Exception as err:  # the raw corpus has files datasets cannot read
    report(time.perf_counter() - t, 0, error=type(err).__name__)
""",
    "pq.read_table": """
import pyarrow.parquet as pq
files = json.loads(Path(OUT, "manifest.json").read_text())["configs"][CONFIG]["shards"]
t = time.perf_counter()
rows = sum(pq.read_table(str(Path(OUT, s["path"]))).num_rows for s in files)
report(time.perf_counter() - t, rows)
""",
    "stream rows: builder": """
from chat_dataset_baseline import ChatDatasetBaseline
b = ChatDatasetBaseline(config_name=CONFIG, data_source=OUT, cache_dir=CACHE)
t = time.perf_counter()
rows = sum(1 for _ in b.as_streaming_dataset(split="train"))
report(time.perf_counter() - t, rows)
""",
    "stream rows: datasets parquet": """
import datasets
files = json.loads(Path(OUT, "manifest.json").read_text())["configs"][CONFIG]["shards"]
ds = datasets.load_dataset("parquet", data_files=[str(Path(OUT, s["path"])) for s in files], split="train", streaming=True)
t = time.perf_counter()
rows = sum(1 for _ in ds)
report(time.perf_counter() - t, rows)
""",
    "stream batches: builder": """
from chat_dataset_baseline import ChatDatasetBaseline
b = ChatDatasetBaseline(config_name=CONFIG, data_source=OUT, cache_dir=CACHE)
t = time.perf_counter()
rows = sum(len(batch["id"]) for batch in b.as_streaming_dataset(split="train").iter(batch_size=1000))
report(time.perf_counter() - t, rows)
""",
    "stream batches: pyarrow": """
import pyarrow.parquet as pq
files = json.loads(Path(OUT, "manifest.json").read_text())["configs"][CONFIG]["shards"]
t = time.perf_counter()
rows = 0
for s in files:
    for batch in pq.ParquetFile(str(Path(OUT, s["path"]))).iter_batches(1000):
        rows += len(batch.to_pylist())
report(time.perf_counter() - t, rows)
""",
}


def run(name: str, repeats: int = 3, **variables: str) -> dict:
    """Best time of ``repeats`` fresh processes (the least disturbed by the machine), highest peak memory."""
    runs = [_run_once(name, **{k: v.replace("{run}", str(i)) for k, v in variables.items()}) for i in range(repeats)]
    best = min(runs, key=lambda r: r["seconds"])
    return {
        **best,
        "peak_mib": max(r["peak_mib"] for r in runs),
        "process_seconds": min(r["process_seconds"] for r in runs),
        "cpu_seconds": min(r["cpu_seconds"] for r in runs),
    }


def _run_once(name: str, **variables: str) -> dict:
    code = PRELUDE + "".join(f"{k} = {v!r}\n" for k, v in variables.items()) + textwrap.dedent(SNIPPETS[name])
    wrapper = f"import resource, runpy, sys\nexec(compile({code!r}, 'bench', 'exec'))\n"
    peak = "max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))"
    started, cpu_before = time.perf_counter(), _children_cpu()
    proc = subprocess.run(
        [sys.executable, "-c", wrapper + f"print({peak})"],
        capture_output=True,
        text=True,
        env={**_env()},
    )
    process_seconds, cpu_seconds = time.perf_counter() - started, _children_cpu() - cpu_before
    if proc.returncode:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-2000:]}")
    lines = proc.stdout.strip().splitlines()
    result = json.loads(lines[-2])
    result["peak_mib"] = int(lines[-1]) / 1024
    result["process_seconds"] = process_seconds
    result["cpu_seconds"] = cpu_seconds
    return result


def _children_cpu() -> float:
    """User + system CPU of the finished child processes (their own workers included):
    what a loaded machine disturbs least, and the measure of linear growth."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _env() -> dict:
    import os

    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }


#: The Alpaca index range in an alpaca file's name (``alignment.ranges``); a copy gets its own
#: range, ALPACA_RECORDS further on, so every copy's Chinese file still pairs with its English one.
_RANGE = re.compile(r"(?<![0-9])([0-9]{1,9})-([0-9]{1,9})(?![0-9])")
ALPACA_RECORDS = 52_002


def _copy_name(name: str, k: int) -> str:
    found = _RANGE.search(name)
    if found is None:
        return f"{k}-{name}"
    start, end = (int(found[i]) + k * ALPACA_RECORDS for i in (1, 2))
    return f"{name[: found.start()]}{start}-{end}{name[found.end() :]}"


#: How ``replicate`` makes a copy different from the others (``--copies``).
COPY_KINDS = ("distinct", "marked")
_HAN_BLOCK = (0x4E00, 0x9FFF)  # CJK Unified Ideographs, every one assigned
_HAN_STRIDE = 2_113  # prime, so the nine copies' shifts are nine different ones


@functools.cache
def copy_table(k: int) -> dict[int, int]:
    """Copy ``k``'s character mapping (``str.translate``): Latin letters rotated by ``k``
    within their case, digits by ``k`` (mod 10), the Simplified (and shared) Han
    characters of the main CJK block rotated by ``k`` strides among themselves. A
    bijection of each class onto itself, so every text keeps its length, script and shape
    (letters stay letters of the same case, Han stays Han and no Simplified character
    becomes a Traditional one, which would send the record through OpenCC; spaces,
    punctuation and every other character stay as they are), while no word, number or Han
    n-gram of one copy is one of another copy's: the copies are not near-duplicates of
    each other (digits too: the seed's arithmetic records hold nothing else)."""
    from chatcorpus.validation.normalize import traditional_characters

    table = {}
    for first, size in ((ord("a"), 26), (ord("A"), 26), (ord("0"), 10)):
        table.update({first + i: first + (i + k) % size for i in range(size)})
    traditional = {ord(char) for char in traditional_characters()}
    han = [code for code in range(_HAN_BLOCK[0], _HAN_BLOCK[1] + 1) if code not in traditional]
    shift = k * _HAN_STRIDE % len(han)
    table.update(zip(han, han[shift:] + han[:shift], strict=True))
    return table


#: A JSON string (closed or cut off by the end of the file), and after it whether it is an object key.
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)("?)(\s*:)?', re.DOTALL)
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)


def map_json_text(text: str, table: dict[int, int]) -> str:
    """The JSON ``text`` with every string value's characters mapped by ``table``, object
    keys (the records' field names) and escapes (``\\n``, ``\\"``) kept, a ``\\uXXXX`` escape
    mapped as the character it stands for. Works on the text, not on parsed values, so a
    file keeps its layout (lines, columns, sizes) and a file that is not valid JSON keeps
    its fault at the same place while its readable records change like the others."""

    def value(found: re.Match[str]) -> str:
        body, close, colon = found[1], found[2], found[3]
        if colon is not None and close:
            return found[0]  # a key
        return f'"{_mapped_body(body, table)}{close}{colon or ""}'

    return _STRING.sub(value, text)


def _mapped_body(body: str, table: dict[int, int]) -> str:
    parts, at = [], 0
    for escape in _ESCAPE.finditer(body):
        parts.append(body[at : escape.start()].translate(table))
        code = escape[1]
        if code is None:
            parts.append(escape[0])
        else:
            mapped = table.get(int(code, 16), int(code, 16))
            parts.append("\\u" + (f"{mapped:04x}" if code.islower() or code.isdigit() else f"{mapped:04X}"))
        at = escape.end()
    parts.append(body[at:].translate(table))
    return "".join(parts)


def _marked(record: Any, k: int) -> Any:
    """The record with `` (k)`` after its instruction: a copy that is a near-duplicate of the others."""
    if isinstance(record, dict) and isinstance(record.get("instruction"), str):
        return {**record, "instruction": f"{record['instruction']} ({k})"}
    return record


def replicate(corpus: Path, target: Path, times: int, copies: str = "distinct") -> None:
    """The corpus ``times`` over, each copy's alpaca files named with a range of their own,
    so the build aligns every copy as it aligns the corpus (copies with one range would
    overlap and get no links at all).

    ``copies="distinct"``: copy ``k`` is each file's text with every string value mapped
    by ``copy_table(k)`` (``map_json_text``; copy 0 is the corpus itself, byte for byte),
    so no copy duplicates or nearly duplicates another, as in a real corpus ten times
    larger, and every file keeps its size and layout, a broken file its fault. Faults of
    the text's structure (schema, JSON syntax, exact duplicates within a copy, echoes,
    empty texts, language) recur in every copy; those that match English or Chinese words
    (URLs, media requests, markers) mostly only in copy 0. A file that is not UTF-8 is
    copied as it is. ``copies="marked"`` (the benchmark before 2026-12-01): each file
    re-written with `` (k)`` after each instruction; every record is then reported as a
    near-duplicate of its copies (``duplicate.near``), and the records of a file that is
    not JSON repeat in every copy (``duplicate.exact``).
    """
    import orjson

    if copies not in COPY_KINDS:
        raise ValueError(f"copies: one of {', '.join(COPY_KINDS)}, not {copies!r}")
    for config in (p for p in corpus.iterdir() if p.is_dir() and p.name != "extras"):
        (target / config.name).mkdir(parents=True)
        for f in config.glob("*.json"):
            data = f.read_bytes()
            for k in range(times):
                (target / config.name / _copy_name(f.name, k)).write_bytes(_copy_bytes(data, k, copies, orjson))


def _copy_bytes(data: bytes, k: int, copies: str, orjson: Any) -> bytes:
    """Copy ``k`` of a file's bytes."""
    if copies == "distinct":
        if k == 0:
            return data
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return data
        return map_json_text(text, copy_table(k)).encode("utf-8")
    try:
        records = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data
    copy = [_marked(r, k) for r in records] if isinstance(records, list) else records
    return orjson.dumps(copy, option=orjson.OPT_INDENT_2)


def line(name: str, r: dict, base: dict | None = None) -> str:
    rate = r["rows"] / r["seconds"] if r["seconds"] else float("inf")
    ratio = f"{r['seconds'] / base['seconds']:6.2f}x time" if base else ""
    return f"  {name:<32}{r['seconds']:8.2f} s {rate:>12,.0f} rows/s {r['peak_mib']:8.0f} MiB  {ratio}"


def build_line(name: str, r: dict, base: dict | None = None) -> str:
    """In-process, whole-process and CPU time, with the three ratios to ``base``."""
    keys = ("seconds", "process_seconds", "cpu_seconds")
    ratios = "  " + " / ".join(f"{r[k] / base[k]:5.2f}x" for k in keys) if base else ""
    times = "".join(f"{r[k]:8.2f} s" for k in keys)
    return f"  {name:<34}{times} {r['rows']:>9,} rows {r['peak_mib']:7.0f} MiB{ratios}"


def faults_line(name: str, r: dict) -> str:
    """How much the build reported: a replicated corpus should report about N times the corpus's faults."""
    return f"  faults of the {name} build: {r['faults']:,} ({r['near']:,} duplicate.near)"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--config", default="alpaca-en")
    parser.add_argument("--replicate", type=int, default=10, help="also build the corpus replicated N times (0: skip)")
    parser.add_argument("--repeat", type=int, default=3, help="processes per measurement; the best counts")
    parser.add_argument("--repeat-replicated", type=int, default=1, help="--repeat for the replicated corpus")
    parser.add_argument(
        "--copies",
        choices=(*COPY_KINDS, "both"),
        default="distinct",
        help="how the replicated corpus's copies differ (see replicate); both: build each",
    )
    parser.add_argument("--build-only", action="store_true", help="measure the build only, not loading and streaming")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"no corpus at {args.corpus}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        out = work / "release" / "chat-dataset-baseline"
        src = str(args.corpus)
        print(
            f"build ({args.corpus.name}, best of {args.repeat}, x{args.replicate} best of {args.repeat_replicated}, "
            f"load average {load_average()}); "
            "the floor parses with orjson and writes with pyarrow"
        )
        print(f"  {'':<34}{'in proc':>10}{'process':>10}{'CPU':>10}{'peak':>26}  ratios: in proc / process / CPU")
        floor_out = work / "floor"
        floor_out.mkdir()
        floor = run("floor: orjson + write_table", args.repeat, SRC=src, OUT=str(floor_out))
        build = run("build", args.repeat, SRC=src, OUT=str(out))  # each repeat rebuilds the same release in place
        build2 = run("build --jobs 2", args.repeat, SRC=src, OUT=str(work / "release2" / "x"))
        print(build_line("floor: orjson + write_table", floor))
        print(build_line("build (--jobs 1)", build, floor) + "  (target <= 2x)")
        print(build_line("build --jobs 2", build2, floor))
        print(faults_line("1x", build))
        kinds = COPY_KINDS if args.copies == "both" else (args.copies,)
        for copies in kinds if args.replicate else ():
            big = work / "big"
            replicate(args.corpus, big, args.replicate, copies)
            repeat, x = args.repeat_replicated, f"x{args.replicate} {copies}"
            big_floor = run("floor: orjson + write_table", repeat, SRC=str(big), OUT=str(floor_out))
            big_build = run("build", repeat, SRC=str(big), OUT=str(work / "big-release" / "x"))
            big_build2 = run("build --jobs 2", repeat, SRC=str(big), OUT=str(work / "big-release2" / "x"))
            target = f"  (target <= {args.replicate * 1.05:g}x)"
            print(build_line(f"floor, corpus {x}", big_floor, floor))
            print(build_line(f"build, corpus {x}", big_build, build) + target)
            print(build_line(f"build --jobs 2, corpus {x}", big_build2, build2) + target)
            print(build_line(f"build {x} vs its floor", big_build, big_floor))
            print(faults_line(x, big_build))
            shutil.rmtree(big)
        if args.build_only:
            return

        print(f"\nload {args.config} (cold: empty cache; warm: second load, same cache)")
        results = {}
        for name in ("load_dataset('parquet')", "load_dataset(OUT)", "builder (verified)", "load_dataset('json') raw"):
            cache = str(work / f"cache-{len(results)}")
            cold = run(name, OUT=str(out), SRC=src, CONFIG=args.config, CACHE=cache + "-{run}")
            warm = run(name, OUT=str(out), SRC=src, CONFIG=args.config, CACHE=cache + "-0")
            results[name] = (cold, warm)
        results["pq.read_table"] = (run("pq.read_table", OUT=str(out), CONFIG=args.config),) * 2
        base_cold, base_warm = results["load_dataset('parquet')"]
        for name, (cold, warm) in results.items():
            print(line(f"{name} cold", cold, base_cold))
            print(line(f"{name} warm", warm, base_warm))

        print(f"\nstream {args.config}")
        cache = str(work / "cache-stream")
        rows_peer = run("stream rows: datasets parquet", OUT=str(out), CONFIG=args.config)
        rows_ours = run("stream rows: builder", OUT=str(out), CONFIG=args.config, CACHE=cache)
        batches_peer = run("stream batches: pyarrow", OUT=str(out), CONFIG=args.config)
        batches_ours = run("stream batches: builder", OUT=str(out), CONFIG=args.config, CACHE=cache)
        print(line("rows: datasets parquet", rows_peer))
        print(line("rows: builder", rows_ours, rows_peer))
        print(line("batches(1000): pyarrow iter_batches", batches_peer))
        print(line("batches(1000): builder .iter", batches_ours, batches_peer))
        print(f"\nrow streaming speed-up over datasets parquet: {rows_peer['seconds'] / rows_ours['seconds']:.2f}x")


if __name__ == "__main__":
    main()
