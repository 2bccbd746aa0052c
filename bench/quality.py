"""What the cleaning, script and normalization rules cost `validate`, measured in one run.

Whole processes, wall clock, best of ``--runs``: ``validate`` on the corpus with every
rule, against the same command with the new rules switched off (``--disable``). The
duplicate key's own cost (NFKC + OpenCC on top of case/punctuation folding) cannot be
switched off, so it is timed in process against the old key, over the same columns.
The machine is shared: the two commands alternate, and only ratios are meaningful.

    python bench/quality.py [--corpus DIR] [--runs N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc

from chatcorpus.validation import validate as engine
from chatcorpus.validation.normalize import duplicate_keys
from chatcorpus.validation.rules import RULES, TEXT_FIELDS
from chatcorpus.validation.sources import discover, read_source
from chatcorpus.validation.textstats import letters_and_digits

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "seed-data" / "2024-05-06"
NEW_RULES = sorted(rule for rule in RULES if rule.startswith(("clean.", "quality.", "script.")))


def _validate_seconds(corpus: Path, disabled: list[str]) -> float:
    command = [sys.executable, "-m", "chatcorpus.cli", "validate", str(corpus), "--format", "json"]
    for rule in disabled:
        command += ["--disable", rule]
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def _key_seconds(corpus: Path) -> tuple[float, float]:
    joined = []
    for ref in discover([corpus]):
        source = read_source(ref)
        frame = engine._text_frame([r if isinstance(r, dict) else {} for _, r in source.records], ref.config)
        joined.append(pc.binary_join_element_wise(*(frame.columns[name] for name in TEXT_FIELDS), "\x1f"))
    timings = []
    for key in (letters_and_digits, duplicate_keys):
        start = time.perf_counter()
        for column in joined:
            key(column)
        timings.append(time.perf_counter() - start)
    return timings[0], timings[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with_rules, without = [], []
    for _ in range(args.runs):
        without.append(_validate_seconds(args.corpus, NEW_RULES))
        with_rules.append(_validate_seconds(args.corpus, []))
    old_key, new_key = min(_key_seconds(args.corpus) for _ in range(args.runs))
    base = min(without)
    print(f"validate without the new rules: {base:.2f} s (best of {args.runs})")
    print(f"validate with them:             {min(with_rules):.2f} s  ratio {min(with_rules) / base:.2f}x")
    print(f"duplicate key: old {old_key:.2f} s, new {new_key:.2f} s in process (+{new_key - old_key:.2f} s)")
    total = min(with_rules) - base + new_key - old_key
    print(f"cleaning + normalization on validate: +{total:.2f} s = +{total / (base - (new_key - old_key)):.0%}")


if __name__ == "__main__":
    main()
