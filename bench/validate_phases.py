"""Where a ``validate`` run's time goes: wall-clock and CPU time per phase, one process (``--jobs 1``).

Not a comparison (``bench/validate.py`` compares the command with its peers): this one
says what is left to make faster, and what a faster validator could not avoid. It times
the imports of the validate path (numpy, pyarrow, msgspec, RE2 and the rules' compiled
patterns), then wraps the functions a run calls with the timers of ``build_phases.py``
and runs ``validate_paths`` and the JSON report as the command does. A name the code no
longer has is left out, not guessed.

    python bench/validate_phases.py [--corpus ../shared/seed-data/2024-05-06] [--thorough]
"""

from __future__ import annotations

import time

STARTED = time.process_time()  # the interpreter's own start is in it

import argparse  # noqa: E402  (after the clock: the imports are measured)
import os  # noqa: E402
import resource  # noqa: E402
from pathlib import Path  # noqa: E402

from build_phases import DEFAULT_CORPUS, install, print_phases  # noqa: E402

_VALIDATION = "chatcorpus.validation"
# (module, class or None, attribute, phase name): the names validate.py calls, as it imports them
PHASES = [
    (f"{_VALIDATION}.validate", "Validator", "_judged", "judge a file (everything but duplicates across files)"),
    (f"{_VALIDATION}.validate", None, "read_source", "read: orjson parse, repeated keys, broken JSON"),
    (f"{_VALIDATION}.validate", None, "typed_records", "schema: msgspec Records (a whole file at once)"),
    (f"{_VALIDATION}.schema_check", None, "schema_problems", "schema: every violation (files msgspec refuses)"),
    (f"{_VALIDATION}.validate", None, "_text_frame", "text columns"),
    (f"{_VALIDATION}.validate", None, "languages_of", "languages (Han and Latin counts)"),
    (f"{_VALIDATION}.validate", "Validator", "_lint_frame", "lint rules: pre-filters and checks"),
    (f"{_VALIDATION}.rules", "Screen", "candidates", "screened patterns (Hyperscan or RE2)"),
    (f"{_VALIDATION}.validate", None, "_folded_texts", "fold: NFKC, OpenCC t2s"),
    (f"{_VALIDATION}.validate", None, "letters_and_digits", "duplicate keys: case, spacing, punctuation"),
    (f"{_VALIDATION}.validate", None, "exact_keys", "exact keys"),
    (f"{_VALIDATION}.validate", None, "shingle_texts", "shingles (duplicate.near, --thorough)"),
    (f"{_VALIDATION}.sources", "ParsedSource", "record_faults", "place faults in their records"),
    (f"{_VALIDATION}.sources", None, "positions", "lines and columns of the faults"),
    (f"{_VALIDATION}.validate", "Validator", "_deduplicate", "duplicates across files"),
    (f"{_VALIDATION}.validate", "Validator", "finish", "after the last file: untranslated copies, near pairs"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--thorough", action="store_true", help="also the rules of validate --thorough")
    args = parser.parse_args()
    import chatcorpus.cli  # noqa: F401  (the command's own first import)
    from chatcorpus.validation.report import FORMATS, ReportOptions
    from chatcorpus.validation.validate import validate_paths

    imported = time.process_time() - STARTED
    install(PHASES)
    wall, cpu = time.perf_counter(), time.process_time()
    report = validate_paths([args.corpus], thorough=args.thorough, jobs=1)
    checked = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        FORMATS["json"](report, devnull, ReportOptions.from_environment(None))
    written = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"validate of {args.corpus.name}: {report.records:,} records, {len(report.faults):,} faults; "
        f"interpreter and imports {imported:.2f} s CPU; validate_paths {checked[0]:.2f} s wall, {checked[1]:.2f} s "
        f"CPU; JSON report {written[1]:.2f} s CPU; peak {peak:.0f} MiB; "
        f"load average {Path('/proc/loadavg').read_text().split()[0]}"
    )
    print_phases()


if __name__ == "__main__":
    main()
