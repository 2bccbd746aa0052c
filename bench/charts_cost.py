"""Benchmark: what the statistics, charts and croissant.json add to ``build``, measured in the same run.

Not a test: it prints figures and a ratio. Each build runs as a whole process (``chat-dataset-baseline
build``, so matplotlib's import is counted where users pay it) in two forms, interleaved, best of N:
as shipped, and with the stage replaced by one that writes nothing (the build before the stage
existed). The machine is shared, so timings are noisy: the best of N and the ratio are the figures.

    python bench/charts_cost.py [--corpus ../shared/seed-data/2024-05-06] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "seed-data" / "2024-05-06"

#: The build as a user runs it, with the stage of ``chatcorpus.release.build`` this benchmark measures
#: swapped out for the ``without`` form; the rest of the command is ``chatcorpus.cli.main``.
RUNNER = """
import sys
import chatcorpus.release.build as build
if sys.argv[1] == "without":
    build._write_statistics = lambda files, stats, charts: ""
    build.ChartRenderer.add_lengths = lambda self, config, lengths, unit: None
    build.croissant_bytes = lambda manifest, repo_id: b""
    original = build.ReleaseFileSet.write
    build.ReleaseFileSet.write = lambda self, path, kind, data: None if kind == "croissant" else original(self, path, kind, data)
from chatcorpus.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _build(form: str, corpus: Path, out: Path) -> float:
    command = [sys.executable, "-c", RUNNER, form, "build", "--source", str(corpus), "--out", str(out)]
    start = time.perf_counter()
    subprocess.run([*command, "--skip-invalid", "--quiet"], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    best = {"with": float("inf"), "without": float("inf")}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat):
            for form in best:
                seconds = _build(form, args.corpus, Path(tmp) / form / "release")
                best[form] = min(best[form], seconds)
                print(f"round {round_ + 1}: build {form:<8} the stage {seconds:6.2f} s", flush=True)
    added = best["with"] - best["without"]
    print(f"best of {args.repeat}: with {best['with']:.2f} s, without {best['without']:.2f} s")
    print(f"statistics + charts + croissant.json add {added:.2f} s, {added / best['without']:.1%} of build")


if __name__ == "__main__":
    main()
