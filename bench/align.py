"""Benchmark: align the seed's alpaca-zh with alpaca-en, against peers measured in the same run.

Not a test: it prints figures and ratios. The target (issue #13) is the whole 2024-05-06
seed aligned in at most 2 s. The machine is shared, so each figure is the best of
``--repeat`` runs (wall time, CPU time and peak memory each their own best), and every
measurement is a fresh process:

- ``align_tree``: the alignment in process, after imports (what ``build`` pays);
- ``align command``: ``chat-dataset-baseline align SRC`` as a user runs it, imports included
  (it imports neither ``datasets`` nor pandas), with its peak resident memory;
- ``peer: json.load``: only parsing the same files with the standard library, the floor
  any aligner pays before it does anything;
- ``peer: read_source``: the project's own located reader over the same files, which the
  aligner uses.

    python bench/align.py [--corpus ../shared/seed-data/2024-05-06] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "seed-data" / "2024-05-06"

SNIPPETS = {
    "align_tree": """
from chatcorpus.alignment.corpus import align_tree
wall, cpu = time.perf_counter(), time.process_time()
links = sum(1 for link in align_tree(Path(SRC)).links if link.en)
""",
    "peer: json.load": """
wall, cpu = time.perf_counter(), time.process_time()
links = 0
for folder in ("alpaca-zh", "alpaca-en"):
    for path in sorted((Path(SRC) / folder).iterdir()):
        try:
            links += len(json.loads(path.read_bytes()))
        except ValueError:
            pass
""",
    "peer: read_source": """
from chatcorpus.validation.sources import config_sources, read_source
wall, cpu = time.perf_counter(), time.process_time()
links = sum(len(read_source(ref).records) for c in ("alpaca-zh", "alpaca-en") for ref in config_sources(Path(SRC), c))
""",
}
EPILOGUE = """
import resource
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "count": links, "rss": peak}))
"""
# the command as ``python -m chatcorpus.cli`` runs it, reporting its peak memory on stderr as it exits
COMMAND = """
import atexit, json, resource, runpy, sys
atexit.register(lambda: print(json.dumps({"rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), file=sys.stderr))
sys.argv = ["chat-dataset-baseline", *sys.argv[1:]]
runpy.run_module("chatcorpus.cli", run_name="__main__")
"""


def _snippet(name: str, corpus: Path) -> dict[str, float]:
    code = f"import json, time\nfrom pathlib import Path\nSRC = {str(corpus)!r}\n{SNIPPETS[name]}{EPILOGUE}"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _command(corpus: Path) -> dict[str, float]:
    """The whole process, imports included; its CPU time from the children's resource usage."""
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [sys.executable, "-c", COMMAND, "align", str(corpus), "--format", "jsonl"],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    rss = json.loads(done.stderr.strip().splitlines()[-1])["rss"]
    return {"wall": wall, "cpu": _children_cpu() - cpu, "count": done.stdout.count('"en": "'), "rss": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not (args.corpus / "alpaca-zh").is_dir():
        sys.exit(f"no seed corpus at {args.corpus}")
    results: dict[str, dict[str, float]] = {}
    load_before = os.getloadavg()[0]
    for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits every peer alike
        runs = {name: _snippet(name, args.corpus) for name in SNIPPETS}
        runs["align command"] = _command(args.corpus)
        for name, run in runs.items():
            best = results.setdefault(name, run)
            for key in ("wall", "cpu", "rss"):  # each the best of its own: a busy moment hits wall time most
                best[key] = min(best[key], run[key])
    floor = results["peer: json.load"]["wall"]
    load = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    print(f"best of {args.repeat}, {args.corpus}; load average (1 min) {load}, on {os.cpu_count()} cores")
    print(f"{'measurement':<22}{'wall s':>8}{'cpu s':>8}{'x json.load':>13}{'count':>9}{'peak MiB':>10}")
    for name, run in results.items():
        print(
            f"{name:<22}{run['wall']:>8.2f}{run['cpu']:>8.2f}{run['wall'] / floor:>13.1f}{int(run['count']):>9,}"
            f"{run['rss']:>10.0f}"
        )
    tree = results["align_tree"]
    for kind in ("cpu", "wall"):
        print(f"target: align_tree <= 2.00 s {kind}: {'met' if tree[kind] <= 2.0 else 'NOT met'} ({tree[kind]:.2f} s)")


if __name__ == "__main__":
    main()
