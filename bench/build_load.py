"""Benchmark: build the seed corpus and load it back, against peers measured in the same run.

Not a test: it prints figures and ratios. Each measurement runs in a fresh subprocess so
that peak memory (ru_maxrss, worker processes included) and cold start are its own; the
build is timed both inside the process (``build_release`` alone) and as the whole
process (imports included), best of ``--repeat``. Targets (issue #10): the build at most
2x the floor (orjson parse + ``pq.write_table``), the corpus replicated 10x at most 10.5x
the 1x build.

    python bench/build_load.py [--corpus ../shared/seed-data/2024-05-06] [--config alpaca-en]
        [--repeat 3] [--replicate 10] [--repeat-replicated 1] [--build-only]
"""

from __future__ import annotations

import argparse
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
report(time.perf_counter() - t, sum(c.read for c in result.counts.values()))
""",
    "build --jobs 2": """
from chatcorpus.release.build import BuildOptions, build_release
t = time.perf_counter()
result = build_release(Path(SRC), Path(OUT), options=BuildOptions(progress=False, skip_invalid=True, jobs=2))
report(time.perf_counter() - t, sum(c.read for c in result.counts.values()))
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


def replicate(corpus: Path, target: Path, times: int) -> None:
    """The corpus ``times`` over, each copy's text marked so no copy duplicates another, and
    each copy's alpaca files named with a range of their own, so the build aligns every copy
    as it aligns the corpus (copies with one range would overlap and get no links at all)."""
    import orjson

    for config in (p for p in corpus.iterdir() if p.is_dir() and p.name != "extras"):
        (target / config.name).mkdir(parents=True)
        for f in config.glob("*.json"):
            data = f.read_bytes()
            try:
                records = orjson.loads(data)
            except orjson.JSONDecodeError:
                for k in range(times):
                    (target / config.name / _copy_name(f.name, k)).write_bytes(data)
                continue
            for k in range(times):
                copy = [
                    {**r, "instruction": f"{r['instruction']} ({k})"}
                    if isinstance(r, dict) and isinstance(r.get("instruction"), str)
                    else r
                    for r in records
                ]
                (target / config.name / _copy_name(f.name, k)).write_bytes(
                    orjson.dumps(copy, option=orjson.OPT_INDENT_2)
                )


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
        if args.replicate:
            big = work / "big"
            replicate(args.corpus, big, args.replicate)
            repeat = args.repeat_replicated
            big_floor = run("floor: orjson + write_table", repeat, SRC=str(big), OUT=str(floor_out))
            big_build = run("build", repeat, SRC=str(big), OUT=str(work / "big-release" / "x"))
            big_build2 = run("build --jobs 2", repeat, SRC=str(big), OUT=str(work / "big-release2" / "x"))
            target = f"  (target <= {args.replicate * 1.05:g}x)"
            print(build_line(f"floor, corpus x{args.replicate}", big_floor, floor))
            print(build_line(f"build, corpus x{args.replicate}", big_build, build) + target)
            print(build_line(f"build --jobs 2, corpus x{args.replicate}", big_build2, build2) + target)
            print(build_line(f"build x{args.replicate} vs its floor", big_build, big_floor))
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
