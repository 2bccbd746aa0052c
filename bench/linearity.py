"""Time per MB of validation on the hostile shapes, at two sizes: doubling the input must at most
about double the time (target: at most 2.2x).

The shapes (``tests/hostile_corpus.py`` ``SHAPES``) are the inputs that cost O(n^2) when
some step is careless: one record with n unknown fields, a broken array of n tokens that
never form a value, n unterminated strings, n records without commas, n faults on one
line, n bad history turns, n lines before a fault, lines ended by a lone CR. Each is
validated in this process (``validate_paths``, the code the command runs), timed by CPU
time, best of ``--repeat``: the machine is shared, and CPU time is what other processes
disturb least.

    python bench/linearity.py [--size N] [--repeat K]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hostile_corpus import SHAPES, Shape  # noqa: E402

from chatcorpus.validation.validate import validate_paths  # noqa: E402

TARGET = 2.2


def best_seconds(path: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        validate_paths([path])
        best = min(best, time.process_time() - start)
    return best


def measure(shape: Shape, n: int, folder: Path, repeat: int) -> tuple[float, float]:
    """(MB, seconds) of validating the shape built at size ``n``."""
    path = folder / f"{shape.name}-{n}{shape.suffix}"
    path.write_bytes(shape.build(n))
    return path.stat().st_size / 1e6, best_seconds(path, repeat)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=50_000, help="n of the smaller file (default 50,000)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs per size (default 3)")
    args = parser.parse_args(argv)
    print(f"{'shape':<22}{'MB':>7}{'s/MB':>8}{'MB':>8}{'s/MB':>8}{'time 2x/1x':>12}  target <= {TARGET}x")
    missed = 0
    with tempfile.TemporaryDirectory(prefix="bench-linearity-") as folder:
        for shape in SHAPES:
            small_mb, small_s = measure(shape, args.size, Path(folder), args.repeat)
            large_mb, large_s = measure(shape, 2 * args.size, Path(folder), args.repeat)
            ratio = large_s / small_s
            missed += ratio > TARGET
            verdict = "ok" if ratio <= TARGET else "MISSED"
            print(
                f"{shape.name:<22}{small_mb:7.2f}{small_s / small_mb:8.3f}{large_mb:8.2f}{large_s / large_mb:8.3f}"
                f"{ratio:11.2f}x  {verdict}"
            )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
