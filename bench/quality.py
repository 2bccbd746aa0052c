"""What the quality rules cost `validate`, measured in one run.

Whole processes, wall clock, best of ``--runs``: ``validate`` on the corpus with every
rule, against the same command with the new rules switched off (``--disable``). The
duplicate key's own cost (NFKC + OpenCC on top of case/punctuation folding) cannot be
switched off, so it is timed in process against the old key, over the same columns.

The near-duplicate rule (``duplicate.near``) is timed the same way (``validate`` with and
without ``--disable duplicate.near``, peak memory of each process too), and its MinHash
libraries against each other in process on the same shingle sets: rensa (the one used:
signature matrix and LSH band flags in Rust) and datasketch (``MinHash.bulk`` and
``MinHashLSH``, which hash and band in Python), on ``--sample`` records of the corpus.
The machine is shared: the commands alternate, and only ratios are meaningful.

    python bench/quality.py [--corpus DIR] [--runs N] [--sample N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from chatcorpus.validation import near_duplicates as near
from chatcorpus.validation import validate as engine
from chatcorpus.validation.normalize import duplicate_keys
from chatcorpus.validation.rules import RULES, TEXT_FIELDS
from chatcorpus.validation.shingles import Shingles, shingle_texts
from chatcorpus.validation.sources import discover, read_source
from chatcorpus.validation.textstats import letters_and_digits

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "seed-data" / "2024-05-06"
NEW_RULES = sorted(rule for rule in RULES if rule.startswith(("clean.", "quality.", "script.")))


# the CLI in a process that reports its own peak memory (the near-duplicate index lives in this one, not in --jobs workers)
_MEASURED_CLI = (
    "import resource, sys\n"
    "from chatcorpus.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]\n"
    "cpu = sum(u.ru_utime + u.ru_stime for u in usage)\n"
    "sys.stderr.write(f'peak-rss-kb {usage[0].ru_maxrss} cpu-s {cpu}\\n')\n"
    "sys.exit(code)\n"
)


def _validate_run(corpus: Path, disabled: list[str], thorough: tuple[str, ...] = ()) -> tuple[float, int, float]:
    """Wall-clock seconds, peak RSS (kB) and CPU seconds (with its ``--jobs`` workers) of one ``validate`` process."""
    command = [sys.executable, "-c", _MEASURED_CLI, "validate", str(corpus), "--format", "json", *thorough]
    for rule in disabled:
        command += ["--disable", rule]
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    seconds = time.perf_counter() - start
    measured = [line.split() for line in done.stderr.splitlines() if line.startswith("peak-rss-kb ")]
    return seconds, int(measured[0][1]) if measured else 0, float(measured[0][3]) if measured else 0.0


def _validate_seconds(corpus: Path, disabled: list[str]) -> float:
    return _validate_run(corpus, disabled)[0]


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


def _corpus_shingles(corpus: Path) -> list[Shingles]:
    """Every file's records as the near-duplicate rule shingles them."""
    found = []
    for ref in discover([corpus]):
        records = [r if isinstance(r, dict) else {} for _, r in read_source(ref).records]
        frame = engine._text_frame(records, ref.config)
        found.append(shingle_texts(engine._folded_texts(frame), records, frame.languages, list(range(len(records)))))
    return found


def _libraries(corpus: Path, sample: int) -> None:
    """rensa against datasketch on the same shingle sets: signatures, then LSH."""
    import rensa

    try:
        from datasketch import LeanMinHash, MinHash, MinHashLSH
    except ImportError:
        print("datasketch is not installed (pip install datasketch): only rensa is measured")
        MinHash = None  # noqa: N806

    records = Shingles.join(_corpus_shingles(corpus))
    records = records.select(records.sizes() > 0)
    part = records.select(np.arange(len(records)) < sample)
    print(
        f"MinHash libraries on {len(part):,} of {len(records):,} records ({len(part.hashes):,} shingles), in process:"
    )
    start = time.perf_counter()
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
        part.hashes.astype(np.uint64), part.offsets.astype(np.uint64), near.NUM_PERM, 1
    )
    signed = time.perf_counter()
    flags = rensa.RMinHashLSH(near.THRESHOLD, near.NUM_PERM, near.BANDS).query_duplicate_flags_matrix_one_shot(matrix)
    banded = time.perf_counter()
    print(
        f"  rensa 0.5      signatures {signed - start:6.2f} s   LSH flags {banded - signed:6.2f} s ({sum(flags):,} flagged)"
    )
    start = time.perf_counter()
    # the shingle hashes are already hashed: datasketch's per-item hashfunc is the identity
    sketches = MinHash.bulk((part.of(i).tolist() for i in range(len(part))), num_perm=near.NUM_PERM, hashfunc=int)
    signed = time.perf_counter()
    index = MinHashLSH(num_perm=near.NUM_PERM, params=(near.BANDS, near.NUM_PERM // near.BANDS))
    candidates = 0
    for key, sketch in enumerate(sketches):
        lean = LeanMinHash(sketch)
        candidates += bool(index.query(lean))
        index.insert(key, lean, check_duplication=False)
    banded = time.perf_counter()
    print(f"  datasketch 2.0 signatures {signed - start:6.2f} s   LSH insert+query {banded - signed:6.2f} s")


def _parameters(corpus: Path) -> None:
    """Planted-duplicate precision and recall, and seed warnings, for the chosen parameters and their neighbours."""
    import tempfile

    sys.path.insert(0, str(REPO / "tests"))
    from planted_near_duplicates import planted_corpus, score

    from chatcorpus.validation import shingles

    chosen = (shingles.CHINESE_SHINGLE, shingles.ENGLISH_SHINGLE, near.THRESHOLD)
    print("shingles (zh chars, en words), threshold: planted precision / recall, seed warnings")
    for chinese, english, threshold in (chosen, (4, 3, 0.7), (3, 3, 0.7), (5, 2, 0.7), (5, 3, 0.6), (5, 3, 0.8)):
        shingles.CHINESE_SHINGLE, shingles.ENGLISH_SHINGLE, near.THRESHOLD = chinese, english, threshold
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder) / "src"
            planted = planted_corpus(root, seed=0, bases=150)
            precision, recall, reported = score(engine.validate_paths([root], thorough=True).faults, planted, root)
        seed = sum(fault.rule == near.RULE for fault in engine.validate_paths([corpus], thorough=True).faults)
        mark = "  (chosen)" if (chinese, english, threshold) == chosen else ""
        print(
            f"  {chinese}, {english}, {threshold}: {precision:.1%} / {recall:.1%} "
            f"({reported} reported of {len(planted.near)} planted), seed {seed:,}{mark}"
        )
    shingles.CHINESE_SHINGLE, shingles.ENGLISH_SHINGLE, near.THRESHOLD = chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=20_000, help="records for the in-process library comparison")
    parser.add_argument("--near-only", action="store_true", help="only the near-duplicate measurements")
    parser.add_argument("--parameters", action="store_true", help="also planted precision/recall per parameter set")
    parser.add_argument("--copies", type=int, default=2_000, help="groups of ten near-copies in the linearity case")
    args = parser.parse_args()
    _near_duplicate_cost(args.corpus, args.runs)
    _copies_linearity(args.copies, args.runs)
    _libraries(args.corpus, args.sample)
    if args.parameters:
        _parameters(args.corpus)
    if args.near_only:
        return
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


def _near_duplicate_cost(corpus: Path, runs: int) -> None:
    with_rule, without = [], []
    for _ in range(runs):
        without.append(_validate_run(corpus, [near.RULE], ("--thorough",)))
        with_rule.append(_validate_run(corpus, [], ("--thorough",)))
    (base, base_kb, base_cpu), (timed, timed_kb, timed_cpu) = min(without), min(with_rule)
    print(
        f"validate without duplicate.near: {base:.2f} s wall, {base_cpu:.2f} s CPU, peak {base_kb / 1024:.0f} MB (best of {runs})"
    )
    print(
        f"validate --thorough with it:                {timed:.2f} s wall, {timed_cpu:.2f} s CPU, peak {timed_kb / 1024:.0f} MB  "
        f"(+{timed - base:.2f} s wall = {timed / base:.2f}x, +{timed_cpu - base_cpu:.2f} s CPU, "
        f"+{(timed_kb - base_kb) / 1024:.0f} MB)"
    )


def _copies_file(path: Path, groups: int) -> None:
    """Groups of ten records that differ in one word: each record pairs with nine others in every band."""
    import orjson

    rng = np.random.default_rng(7)
    letters = np.array(list("etaoinshrdlucmfwypvbgk"))
    words = ["".join(rng.choice(letters, int(rng.integers(3, 9))).tolist()) for _ in range(5_000)]
    records = []
    for group in range(groups):
        text, answer = (" ".join(rng.choice(words, size).tolist()) for size in (60, 40))
        for copy in range(10):
            records.append(
                {"instruction": f"Rewrite the text {group}.", "input": f"{text} {words[copy]}", "output": answer}
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(records))


def _copies_linearity(groups: int, runs: int) -> None:
    """``validate --thorough`` on n and 2n records in groups of near-copies, whole processes: the
    near-duplicates found grow with the records, and the time must grow no faster."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        times = []
        for scale in (1, 2):
            corpus = Path(scratch) / f"x{scale}"
            _copies_file(corpus / "alpaca-en" / "copies.json", groups * scale)
            times.append(min(_validate_run(corpus, [], ("--thorough",))[0] for _ in range(runs)))
    print(
        f"validate --thorough, {groups * 10:,} records in groups of ten near-copies: {times[0]:.2f} s; "
        f"{groups * 20:,}: {times[1]:.2f} s  ratio {times[1] / times[0]:.2f}x (linear: 2x)"
    )


if __name__ == "__main__":
    main()
