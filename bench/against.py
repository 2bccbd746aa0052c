"""``validate --against``: a pull request's cost against validating the whole corpus, same run.

A release is built from the seed snapshot replicated 10x (``validate.py``'s ``replicate``:
each copy's instructions are marked, so copies are new records), then a pull request of
1,000 new records (alpaca-en records marked as the pull request's own) is validated, as
whole processes timed by wall clock, best of ``--runs``:

* ``validate PR --against RELEASE``: the pull request's file, duplicates through the
  release's index;
* ``validate CORPUS+PR``: the whole corpus with the pull request's file in it, the check
  one would run without ``--against``;
* ``python -c "import chatcorpus.cli"``: what starting the command costs before any work.

Targets (issue #10): at most 1.5 s for the first, at least 10x faster than the second.
The machine is shared, so timings are noisy: every contender is measured in this run,
alternately, and the best of each is kept.

    python bench/against.py [--corpus DIR] [--replicate N] [--records N] [--runs R]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))

from validate import replicate  # noqa: E402  # bench/validate.py: the one way the corpus is replicated

from chatcorpus.release.build import BuildOptions, build_release  # noqa: E402

SEED = REPO.parent / "shared" / "seed-data" / "2024-05-06"
TARGET_SECONDS, TARGET_SPEEDUP = 1.5, 10.0


def pull_request(corpus: Path, records: int, into: Path) -> Path:
    """``records`` new alpaca-en records in one new file, as a contributor would add them."""
    pool: list[dict[str, str]] = []
    for path in sorted((corpus / "alpaca-en").glob("*.json")):
        try:
            pool.extend(r for r in json.loads(path.read_bytes()) if isinstance(r, dict) and "output" in r)
        except ValueError:
            continue
        if len(pool) >= records:
            break
    new = [dict(r, instruction=f"(pull request {n}) {r.get('instruction', '')}") for n, r in enumerate(pool[:records])]
    target = into / "alpaca-en" / "new-contributions.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(new, ensure_ascii=False, indent=1), encoding="utf-8")
    return into


def run(args: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{args} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def counts(report: str) -> str:
    document = json.loads(report)
    return f"{document['records']:,} records, {document['errors']:,} errors, {document['warnings']:,} warnings"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=SEED)
    parser.add_argument("--replicate", type=int, default=10, metavar="N")
    parser.add_argument("--records", type=int, default=1000, metavar="N", help="new records in the pull request")
    parser.add_argument("--runs", type=int, default=5, metavar="R", help="runs of the pull-request check (best kept)")
    parser.add_argument("--full-runs", type=int, default=2, metavar="R", help="runs of the whole-corpus check")
    options = parser.parse_args(argv)
    if not options.corpus.is_dir():
        sys.exit(f"no corpus at {options.corpus}")
    with tempfile.TemporaryDirectory(prefix="bench-against-") as folder:
        root = Path(folder)
        corpus = replicate(options.corpus, options.replicate, root / "corpus")
        start = time.perf_counter()
        built = build_release(
            corpus, root / "release" / "chat-dataset-baseline", BuildOptions(skip_invalid=True, progress=False)
        )
        rows = sum(config["rows"] for config in built.manifest.configs.values()) if built.manifest else 0
        index_bytes = sum(p.stat().st_size for p in (built.out / "index").glob("*.parquet"))
        print(
            f"release: {options.replicate}x {options.corpus.name}, {rows:,} rows, built in {time.perf_counter() - start:.1f} s; "
            f"duplicate index {index_bytes / 2**20:.1f} MiB ({index_bytes / max(rows, 1):.1f} B a row)"
        )
        pr = pull_request(options.corpus, options.records, root / "pr")
        pull_file = pr / "alpaca-en" / "new-contributions.json"
        merged = corpus / "alpaca-en" / pull_file.name
        merged.write_bytes(pull_file.read_bytes())
        against = ["-m", "chatcorpus.cli", "validate", str(pr), "--against", str(built.out), "--format", "json"]
        full = ["-m", "chatcorpus.cli", "validate", str(corpus), "--format", "json"]
        startup = ["-c", "import chatcorpus.cli"]
        times: dict[str, list[float]] = {"against": [], "full": [], "startup": []}
        reports: dict[str, str] = {}
        for n in range(max(options.runs, options.full_runs)):
            if n < options.runs:
                seconds, reports["against"] = run(against)
                times["against"].append(seconds)
                times["startup"].append(run(startup)[0])
            if n < options.full_runs:
                seconds, reports["full"] = run(full)
                times["full"].append(seconds)
    best = {name: min(values) for name, values in times.items()}
    speedup = best["full"] / best["against"]
    print(
        f"pull request: {options.records:,} new records; best of {options.runs} (whole corpus: best of {options.full_runs}), whole processes"
    )
    print(f"  {'validate PR --against RELEASE':<36}{best['against']:>8.2f} s   {counts(reports['against'])}")
    print(f"  {'validate CORPUS+PR (no --against)':<36}{best['full']:>8.2f} s   {counts(reports['full'])}")
    startup_name = 'python -c "import chatcorpus.cli"'
    print(f"  {startup_name:<36}{best['startup']:>8.2f} s   (start-up before any work)")
    met_time = "met" if best["against"] <= TARGET_SECONDS else "MISSED"
    met_speed = "met" if speedup >= TARGET_SPEEDUP else "MISSED"
    print(
        f"  --against: {best['against']:.2f} s (target <= {TARGET_SECONDS} s: {met_time}); "
        f"{speedup:.1f}x faster than the whole corpus (target >= {TARGET_SPEEDUP:.0f}x: {met_speed})"
    )


if __name__ == "__main__":
    main()
