"""``chat-dataset-baseline``: validate contributions, build releases, check what was built.

Exit codes: 0 clean, 1 faults found in the data, 2 usage or environment error. Set
``CHAT_DATASET_BASELINE_DEBUG=1`` to see the traceback behind an error message.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from chatcorpus import __version__
from chatcorpus.release import DEFAULT_SHARD_ROWS
from chatcorpus.validation import inert

# The builder's names, from the module generated from it: importing the builder (and so
# chatcorpus.errors) imports datasets and pandas (1.5 s), which validate never uses.
# Each command imports what it needs.
from chatcorpus.validation.corpus_shape import CONFIG_NAMES as CONFIGS
from chatcorpus.validation.corpus_shape import DEFAULT_REPO_ID, RELEASE_VERSION

EXIT_OK, EXIT_FAULTS, EXIT_USAGE = 0, 1, 2
DEBUG_VARIABLE = "CHAT_DATASET_BASELINE_DEBUG"


def error_exits() -> tuple[tuple[type[BaseException], int, str], ...]:
    """The one place an error becomes an exit code and a message, most specific class first
    (the first ``isinstance`` match wins, as in ``huggingface_hub``'s ``CLI_ERROR_MAPPINGS``).
    Each class's docstring in ``chatcorpus.errors`` states the code it gets here.

    Built when an error needs it, not at import: the error classes import the builder, and
    with it ``datasets``, which a clean ``validate`` run never loads.
    """
    from chatcorpus.errors import ChatDatasetError, ReleaseRefused

    return (
        # the release itself must change (a new version, a new base): the data's fault
        (ReleaseRefused, EXIT_FAULTS, "refused: "),
        (ChatDatasetError, EXIT_USAGE, ""),
        # a file or folder that cannot be read or written, a network failure
        (OSError, EXIT_USAGE, ""),
    )


def __getattr__(name: str) -> Any:
    """``ERROR_EXITS``: the table of ``error_exits``, under the name it has as a constant."""
    if name == "ERROR_EXITS":
        return error_exits()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def exit_for(error: BaseException) -> tuple[int, str] | None:
    """The exit code and message prefix of an error the CLI reports, or None to let it propagate."""
    for kind, code, prefix in error_exits():
        if isinstance(error, kind):
            return code, prefix
    return None


def _validate(args: argparse.Namespace) -> int:
    from chatcorpus.validation.report import FORMATS, ReportOptions
    from chatcorpus.validation.rules import RULES, THOROUGH_RULES
    from chatcorpus.validation.validate import default_jobs, validate_paths

    if args.list_rules:
        for rule in RULES.values():
            costly = " (--thorough and build only)" if rule.id in THOROUGH_RULES else ""
            print(f"{rule.id:<30}{rule.severity.value:<9}{rule.summary}{costly}")
        return EXIT_OK
    if not args.paths:
        from chatcorpus.errors import UsageError

        raise UsageError("validate needs at least one PATH (or --list-rules)")
    if args.deleted and not args.against:
        from chatcorpus.errors import UsageError

        raise UsageError("--deleted says which files of the release a change removes; it needs --against")
    if args.against:
        from chatcorpus.release.against import open_reference, validate_against

        report = validate_against(args.paths, open_reference(args.against), disabled=args.disable, deleted=args.deleted)
    else:
        report = validate_paths(
            args.paths, disabled=args.disable, thorough=args.thorough, jobs=args.jobs or default_jobs()
        )
    FORMATS[args.format](report, sys.stdout, ReportOptions.from_environment(args.max_faults))
    failed = report.errors or (args.strict and report.warnings)
    return EXIT_FAULTS if failed else EXIT_OK


def _build(args: argparse.Namespace) -> int:
    from chatcorpus.release.build import BuildOptions, build_release
    from chatcorpus.validation.report import format_fault
    from chatcorpus.validation.validate import default_jobs

    options = BuildOptions(
        version=args.version,
        skip_invalid=args.skip_invalid,
        shard_rows=args.shard_rows,
        disabled_rules=args.disable,
        repo_id=args.repo or _repo_of(args.base) or DEFAULT_REPO_ID,
        rejects_path=args.rejects,
        progress=not args.quiet,
        base=args.base,
        remove_configs=tuple(args.remove_config),
        jobs=args.jobs or default_jobs(),
    )
    result = build_release(args.source, args.out, options=options)
    for fault in result.error_faults:
        print(format_fault(fault), file=sys.stderr)
    warnings = len(result.faults) - len(result.error_faults)
    if warnings:
        print(
            f"{warnings:,} warning(s) not shown; `chat-dataset-baseline validate {args.source}` lists them",
            file=sys.stderr,
        )
    # a build that published nothing wrote no rows: its table counts the rows it accepted
    kept = "written" if result.published else "accepted"
    print(f"{'config':<16}{'files':>6}{'read':>9}{kept:>9}{'rejected':>9}")
    for config, c in result.counts.items():
        print(f"{config:<16}{c.files:>6}{c.read:>9,}{c.written:>9,}{c.rejected:>9,}")
    if result.rejects_path:
        print(f"every error and rejected record is listed in {result.rejects_path}")
    if result.published:
        print(f"release v{args.version} written to {args.out}")
        return EXIT_OK
    print(
        f"{len(result.error_faults):,} error(s), {result.rejected:,} record(s) rejected: nothing written to {args.out} "
        "(use --skip-invalid to publish the rest)",
        file=sys.stderr,
    )
    return EXIT_FAULTS


def _repo_of(base: str | None) -> str | None:
    """The Hub repo of ``--base ORG/NAME@vX.Y.Z``: a release built on it is pushed there, so its card names it."""
    from chatcorpus.release.verify import ReleaseLocation

    return ReleaseLocation.parse(base).repo_id if base else None


def _inspect(args: argparse.Namespace) -> int:
    from chatcorpus.release.summary import format_summary, summarize_release

    summaries = summarize_release(args.release, cache_dir=args.cache_dir)
    print(format_summary(summaries))
    return EXIT_OK if all(s.ok for s in summaries) else EXIT_FAULTS


def _stats(args: argparse.Namespace) -> int:
    from chatcorpus.errors import PublishError
    from chatcorpus.release.measures import CHARACTERS, token_measure
    from chatcorpus.release.stats import format_text, open_release_stats
    from chatcorpus.release.verify import HUB_ERRORS

    measure = token_measure(args.tokenizer) if args.tokenizer else CHARACTERS
    try:
        stats = open_release_stats(args.release, measure, cache_dir=args.cache_dir)
    except HUB_ERRORS as err:
        raise PublishError(f"cannot reach the Hub to read {args.release}: {err}") from err
    print(stats.format_json() if args.format == "json" else format_text(stats))
    return EXIT_OK


def _push(args: argparse.Namespace) -> int:
    from chatcorpus.release.publish import push_release

    push_release(args.release, args.repo, revision=args.revision, create_pr=args.create_pr, dry_run=args.dry_run)
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from chatcorpus.errors import PublishError
    from chatcorpus.release.verify import HUB_ERRORS, verify_release

    with tempfile.TemporaryDirectory(prefix="chat-dataset-baseline-verify-") as fresh:
        try:  # a fresh cache: what is checked is what the Hub serves now, not an earlier download
            report = verify_release(args.release, cache_dir=args.cache_dir or fresh)
            if args.lock is not None:
                from chatcorpus.release.lock import Lock, check_lock

                check_lock(report, Lock.read(args.lock))
        except HUB_ERRORS as err:
            raise PublishError(f"cannot reach the Hub to verify {args.release}: {err}") from err
    print(report.format())
    return EXIT_OK if report.ok else EXIT_FAULTS


def _lock(args: argparse.Namespace) -> int:
    from chatcorpus.release.lock import lock_release

    lock = lock_release(args.release)
    lock.write(args.out)
    print(f"locked {lock.repo_id}@{lock.tag}: commit {lock.commit}, manifest sha256 {lock.manifest_sha256}")
    print(f"written to {args.out}; commit it with your training code and load with --lock {args.out}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from chatcorpus.release.lock import Lock
    from chatcorpus.training.export import ExportOptions, export_release

    lock = Lock.read(args.lock) if args.lock is not None else None
    options = ExportOptions(
        release=args.release or (lock.repo_id if lock else DEFAULT_REPO_ID),
        revision=args.revision,
        configs=tuple(args.config) if args.config else None,
        name=args.name,
        author=args.author,
        hub_repo=args.repo,
        hub_entries=args.hub_entries,
        lock=lock,
        manifest_sha256=args.manifest_sha256,
    )
    result = export_release(args.out, args.format, options=options)
    print(f"{'config':<16}{'rows':>8}  file")
    for file in result.files:
        print(f"{file.config:<16}{file.rows:>8,}  {file.path}")
    if result.dataset_info:
        print(f"LLaMA-Factory entries added to {result.dataset_info}")
    if result.missing:
        print(f"note: the release has no {', '.join(result.missing)}; exported the configs it has", file=sys.stderr)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if result.unrendered(options):
        print(
            "note: the prompts config still holds NAME and AUTHOR; give --name and --author to fill them before training",
            file=sys.stderr,
        )
    return EXIT_OK


def _align(args: argparse.Namespace) -> int:
    import json

    from chatcorpus.alignment.corpus import align_tree
    from chatcorpus.validation.report import format_fault

    _check_source(args.source)
    _check_rules(args.disable)
    alignment = align_tree(args.source)
    for fault in alignment.faults:
        if fault.rule not in args.disable:
            print(format_fault(fault), file=sys.stderr)
    links = list(alignment.links)
    if args.format == "jsonl":
        for link in links:
            print(json.dumps(link.to_json(), ensure_ascii=False))
        return EXIT_OK
    # for a person to check: the least certain pairs first, then the records left without an original
    for link in sorted(links, key=lambda link: (link.en is None, link.score, link.zh.encode("utf-8"))):
        en = link.en or "-"
        print(f"{link.score:.3f}  {_printable(link.zh)}  ->  {_printable(en)}  {link.kind}".rstrip())
        print(f"       zh: {json.dumps(link.zh_instruction[:_EXCERPT], ensure_ascii=False)}")
        if link.en:
            print(f"       en: {json.dumps(link.en_instruction[:_EXCERPT], ensure_ascii=False)}")
    linked = sum(link.en is not None for link in links)
    print(f"{len(links):,} alpaca-zh records, {linked:,} linked to an alpaca-en original", file=sys.stderr)
    return EXIT_OK


_EXCERPT = 100  # characters of each instruction the text format shows


def _coverage(args: argparse.Namespace) -> int:
    import json

    from chatcorpus.alignment.corpus import align_tree
    from chatcorpus.alignment.coverage import coverage, text_table

    _check_source(args.source)
    rows = coverage(args.source, align_tree(args.source))
    if args.format == "json":
        print(json.dumps([row.to_json() for row in rows], ensure_ascii=False, indent=2))
    else:
        print(text_table(rows))
    return EXIT_OK


def _check_rules(disabled: list[str]) -> None:
    """``--disable`` of ``align``: only the alignment's own rules can be switched off there."""
    from chatcorpus.validation.rules import RULES

    unknown = sorted(rule for rule in disabled if not rule.startswith("align.") or rule not in RULES)
    if unknown:
        from chatcorpus.errors import UsageError

        raise UsageError(f"not an align rule: {', '.join(unknown)}; see `validate --list-rules` (align.*)")


def _check_source(source: Path) -> None:
    if not (source / "alpaca-zh").is_dir() and not (source / "alpaca-en").is_dir():
        from chatcorpus.errors import SourceLayoutError

        raise SourceLayoutError(f"{source} has neither an alpaca-zh nor an alpaca-en folder")


def _printable(text: str) -> str:
    """A file name as a terminal shows it safely: control characters escaped."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from chatcorpus.release.lock import LOCK_FILENAME

    parser = argparse.ArgumentParser(
        prog="chat-dataset-baseline",
        description="Validate, build and publish the chat-dataset-baseline corpus.",
        epilog=f"Exit codes: 0 clean, 1 faults in the data, 2 usage or environment error (a closed stdout, as in | head, ends a command quietly with 2). {DEBUG_VARIABLE}=1 shows tracebacks.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser(
        "validate",
        help="report every fault in contributed JSON/JSONL files",
        description="Check JSON-array and JSONL files (or folders of them, one subfolder per config) "
        "against schema/record.schema.json and the lint rules; report every fault with file, line and column.",
    )
    validate.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or folders to check")
    validate.add_argument(
        "--format",
        choices=("text", "github", "json", "sarif"),
        default="text",
        help="text: file:line:col: rule-id message, then counts per rule (default); github: Actions annotations "
        "(10 errors and 10 warnings, spread over files), every fault as a log line, and a job summary when "
        "GITHUB_STEP_SUMMARY is set; json: one report; sarif: SARIF 2.1.0 for GitHub code scanning",
    )
    validate.add_argument(
        "--max-faults",
        type=_positive,
        metavar="N",
        help="print at most N fault lines (text and github); the counts, the exit code and json/sarif stay complete",
    )
    validate.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="RULE",
        help="switch a rule off (repeatable)",
    )
    validate.add_argument(
        "--against",
        metavar="FOLDER|ORG/NAME@vX.Y.Z|ORG/NAME",
        help="check only PATH's files, and their duplicates against that release's records (through the duplicate "
        "index it ships; ORG/NAME alone: its latest vX.Y.Z). A given file replaces its earlier version in the "
        "release, so an edited record is never a duplicate of itself",
    )
    validate.add_argument(
        "--deleted",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="with --against: a file of the release that the change deletes (repeatable); its records are no "
        "longer in the release, so nothing is a duplicate of them",
    )
    validate.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    validate.add_argument(
        "--jobs",
        type=_positive,
        metavar="N",
        help="check files in N processes (default: the number of cores); the report is the same for any N",
    )
    validate.add_argument("--list-rules", action="store_true", help="list rule ids, severities and what they check")
    validate.add_argument(
        "--thorough",
        action="store_true",
        help="also run the costly rules build always runs (data-juicer's ratios, duplicate.near: the "
        "near-duplicate pass over all files; see --list-rules)",
    )
    validate.set_defaults(handler=_validate)

    build = commands.add_parser(
        "build",
        help="turn a source folder into a Hub-layout release (shards, manifest, card)",
        description="SRC holds one subfolder per config (" + ", ".join(CONFIGS) + ") of JSON/JSONL files. "
        "OUT becomes a dataset repository that load_dataset(OUT, config) reads. By default nothing is written "
        "when any record is rejected.",
    )
    build.add_argument("--source", required=True, type=Path, metavar="SRC", help="source folder")
    build.add_argument("--out", required=True, type=Path, metavar="OUT", help="release folder to (re)create")
    build.add_argument(
        "--version", default=RELEASE_VERSION, metavar="X.Y.Z", help=f"release version (default {RELEASE_VERSION})"
    )
    build.add_argument(
        "--skip-invalid", action="store_true", help="publish the accepted rows even when some were rejected"
    )
    build.add_argument(
        "--rejects",
        type=Path,
        metavar="FILE",
        help="where to list rejected records (default OUT.rejects.jsonl beside OUT)",
    )
    build.add_argument(
        "--shard-rows",
        type=_positive,
        default=DEFAULT_SHARD_ROWS,
        metavar="N",
        help=f"rows per Parquet shard (default {DEFAULT_SHARD_ROWS})",
    )
    build.add_argument("--disable", action="append", default=[], metavar="RULE", help="switch a validation rule off")
    build.add_argument(
        "--repo",
        metavar="ORG/NAME",
        help="the Hub repo the release will be pushed to, named in the card's examples (push refuses another); "
        f"default: the repo of --base, else {DEFAULT_REPO_ID}",
    )
    build.add_argument(
        "--base",
        metavar="FOLDER|ORG/NAME@vX.Y.Z",
        help="build on that release: its unchanged shards are kept as they are, new rows go into new shards, "
        "and the manifest records the parent version and a changelog",
    )
    build.add_argument(
        "--remove-config",
        action="append",
        default=[],
        choices=list(CONFIGS),
        metavar="CONFIG",
        help="with --base: leave this config of the base out of the release (repeatable); a base config "
        "the source holds no records for is refused otherwise",
    )
    build.add_argument(
        "--jobs",
        type=_positive,
        metavar="N",
        help="processes (default: the number of cores): with 2 or more, the translation alignment runs in a "
        "second process while the configs are validated (not with --base); the release is the same for any N",
    )
    build.add_argument("--quiet", action="store_true", help="no progress bars")
    build.set_defaults(handler=_build)

    inspect = commands.add_parser(
        "inspect",
        help="load every config of a built release back and print a summary",
        description="Loads each config with load_dataset (streaming and not) and with the verifying builder, "
        "checks they agree on rows and schema, and prints rows, shards and languages per config.",
    )
    inspect.add_argument("release", type=Path, metavar="OUT", help="a folder written by build")
    inspect.add_argument("--cache-dir", metavar="DIR", help="datasets cache folder (default: the datasets default)")
    inspect.set_defaults(handler=_inspect)

    stats = commands.add_parser(
        "stats",
        help="count what a release holds: rows, languages, categories, lengths, what the rules found",
        description="Reads every shard of a release (each verified against the manifest first) and prints per "
        "config its rows, rejected records, languages, categories, length distributions (min, p50, p90, p99, max, "
        "mean of instruction, input, output and total) and the build's fault counts per rule. The card's "
        "Statistics section shows the same. Lengths are in characters unless --tokenizer names a tokenizer.",
    )
    stats.add_argument(
        "release",
        metavar="FOLDER|ORG/NAME@vX.Y.Z",
        help="a release folder, or a Hub release (a revision after @, main if none)",
    )
    stats.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    stats.add_argument(
        "--tokenizer",
        metavar="NAME_OR_PATH",
        help="count tokens instead of characters: a tokenizer.json file (read with tokenizers), or a tokenizer "
        "folder or Hub model id (read with transformers.AutoTokenizer); special tokens are not counted",
    )
    stats.add_argument("--cache-dir", metavar="DIR", help="download into DIR (default: a fresh temporary folder)")
    stats.set_defaults(handler=_stats)

    push = commands.add_parser(
        "push",
        help="publish a built release to a Hub dataset repo: one atomic commit, then its tag vX.Y.Z",
        description="Uploads what the repo does not have yet, deletes the previous release's files this one no longer has, "
        "all in one commit guarded by the branch head it was planned against, then tags it vX.Y.Z (from OUT/manifest.json). "
        "A published version is never changed; pushing the same release again does nothing. The token comes from HF_TOKEN "
        "or `hf auth login`, never from the command line.",
    )
    push.add_argument("release", type=Path, metavar="OUT", help="a folder written by build")
    push.add_argument(
        "--repo", required=True, metavar="ORG/NAME", help="the Hub dataset repo (created if it does not exist)"
    )
    push.add_argument("--revision", default="main", metavar="BRANCH", help="the branch to commit to (default main)")
    push.add_argument(
        "--create-pr",
        action="store_true",
        help="open a pull request with the release instead of committing to the branch (no tag)",
    )
    push.add_argument(
        "--dry-run", action="store_true", help="print what would be added, kept and deleted, with bytes; change nothing"
    )
    push.set_defaults(handler=_push)

    verify = commands.add_parser(
        "verify",
        help="check a published release end to end (or a release folder)",
        description="Checks that the tag exists, the manifest is valid and names the tagged version, the card's YAML "
        "data_files list exactly the manifest's shards, and every shard has the manifest's bytes, sha256 and rows. "
        "Reports every problem; exit 1 if there is any.",
    )
    verify.add_argument(
        "release",
        metavar="ORG/NAME@vX.Y.Z|FOLDER",
        help="a Hub release (a revision after @, main if none) or a release folder",
    )
    verify.add_argument("--cache-dir", metavar="DIR", help="download into DIR (default: a fresh temporary folder)")
    verify.add_argument(
        "--lock", type=Path, metavar="FILE", help="also report a tag that no longer points where this lock says"
    )
    verify.set_defaults(handler=_verify)

    lock = commands.add_parser(
        "lock",
        help="pin a Hub release by its commit and manifest sha256, in a small file a training repo commits",
        description="A tag can be deleted and re-created; a lock cannot. Records the commit ORG/NAME@vX.Y.Z points "
        "at and the sha256 of its manifest.json (which pins every shard's sha256). export --lock, load_view(lock=) "
        "and load_recipe(lock=) then read that commit and refuse any other manifest; verify --lock reports a tag "
        "that moved.",
    )
    lock.add_argument("release", metavar="ORG/NAME@vX.Y.Z", help="the Hub release to lock, by its version tag")
    lock.add_argument(
        "--out",
        type=Path,
        default=Path(LOCK_FILENAME),
        metavar="FILE",
        help=f"where to write the lock (default ./{LOCK_FILENAME})",
    )
    lock.set_defaults(handler=_lock)

    _add_export_parser(commands)
    _add_alignment_parsers(commands)
    return parser


def _add_alignment_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    align = commands.add_parser(
        "align",
        help="link every alpaca-zh record to its alpaca-en original (or none), with a score",
        description="Pairs each alpaca-zh file with the alpaca-en file of the index range in its name and aligns "
        "their records in order, with gaps (records skipped, added or repeated by translators). jsonl: one line per "
        'alpaca-zh record, {"zh": "alpaca-zh/<file>#<index>", "en": "alpaca-en/<file>#<index>" or null, '
        '"score": 0..1}; text: the least certain pairs first, for a person to check. A file name without a range, '
        "a range with no English file and overlapping ranges are warned about on stderr, and their records get no link.",
    )
    align.add_argument("source", type=Path, metavar="SRC", help="source folder with alpaca-zh/ and alpaca-en/")
    align.add_argument("--format", choices=("jsonl", "text"), default="jsonl", help="output format (default jsonl)")
    align.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="RULE",
        help="do not print an align.* warning (repeatable; `validate --list-rules` lists them)",
    )
    align.set_defaults(handler=_align)

    coverage = commands.add_parser(
        "coverage",
        help="per English range: records, translated, untranslated copies, skipped, status and translator",
        description="For each alpaca-en file (an index range of Stanford Alpaca): its records, how many have a "
        "Chinese translation, how many an untranslated copy, how many neither, and the alpaca-zh file's status "
        "(done, unfinished, unstated, or missing when no file covers the range) and translator initials.",
    )
    coverage.add_argument("source", type=Path, metavar="SRC", help="source folder with alpaca-zh/ and alpaca-en/")
    coverage.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    coverage.set_defaults(handler=_coverage)


def _add_export_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from chatcorpus.training import FORMATS, LLAMA_FACTORY

    export = commands.add_parser(
        "export",
        help="write a release as files trainers read: LLaMA-Factory data + dataset_info.json, or JSONL of a view",
        description="Reads each config of a release (verified, pinned) and writes it into OUT_DIR. llama-factory: "
        "<config>.alpaca.jsonl and <config>.sharegpt.jsonl, registered in OUT_DIR/dataset_info.json (merged into an "
        "existing one): the files are the pinned release. The other formats write <config>.jsonl of that view "
        "(jsonl: the shared schema). A release that lacks a config exports the configs it has.",
    )
    export.add_argument("out", type=Path, metavar="OUT_DIR", help="folder to write into (created if missing)")
    export.add_argument(
        "--format", choices=FORMATS, default=LLAMA_FACTORY, help=f"what to write (default {LLAMA_FACTORY})"
    )
    export.add_argument(
        "--release",
        metavar="PATH_OR_REPO",
        help=f"a release folder or a Hub dataset repo (default: the lock's repo, else {DEFAULT_REPO_ID})",
    )
    export.add_argument(
        "--lock",
        type=Path,
        metavar="FILE",
        help="a file written by `lock`: read the locked commit, refuse a release whose manifest differs",
    )
    export.add_argument(
        "--manifest-sha256",
        metavar="SHA256",
        help="refuse the release unless its manifest.json has this sha256",
    )
    export.add_argument(
        "--revision",
        metavar="vX.Y.Z",
        help=f"the Hub revision to read (default: v{RELEASE_VERSION}, the release this package was published with)",
    )
    export.add_argument(
        "--config",
        action="append",
        choices=list(CONFIGS),
        metavar="CONFIG",
        help="a config to export (repeatable; default every config the release has)",
    )
    export.add_argument("--name", help="fill NAME in the prompts config (with --author)")
    export.add_argument("--author", help="fill AUTHOR in the prompts config (with --name)")
    export.add_argument(
        "--repo",
        metavar="ORG/NAME",
        help="the Hub repo LLaMA-Factory's Hub entries name (default: --release when it is a repo)",
    )
    export.add_argument(
        "--hub-entries",
        action="store_true",
        help="also register <config>-hub entries that load the Hub repo; LLaMA-Factory reads no revision, so they "
        "load its main branch, not the pinned release (a warning says so)",
    )
    export.set_defaults(handler=_export)


class _StdoutHandler(logging.StreamHandler):
    """Writes each record to ``sys.stdout`` as it is at that moment (tests swap it), message only."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


@contextmanager
def _showing_library_log() -> Iterator[None]:
    """The library logs what it does (``logging``); while a command runs, its INFO messages go to stdout.

    Removed afterwards, so a program that calls ``main`` leaves its logging as it was."""
    library = logging.getLogger("chatcorpus")
    handler, level = _StdoutHandler(), library.level
    library.addHandler(handler)
    library.setLevel(logging.INFO)
    try:
        yield
    finally:
        library.removeHandler(handler)
        library.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code comes from ``ERROR_EXITS`` when it fails.

    A closed stdout (``chat-dataset-baseline align SRC | head -1``) ends the command
    quietly, as Python's documentation recommends for SIGPIPE: stdout is pointed at
    devnull so the flush at exit cannot fail again, and the exit code is the table's
    for ``OSError``. stdout is flushed here, inside ``main``, so that output still
    buffered when the command returns meets the closed pipe here, not at interpreter exit.
    """
    try:
        try:
            return _run(argv)
        finally:
            if sys.stdout is not None:
                sys.stdout.flush()
    except BrokenPipeError as err:
        if not _stdout_closed():
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        mapped = exit_for(err)
        return mapped[0] if mapped else EXIT_USAGE


def _stdout_closed() -> bool:
    """Whether stdout's reader is gone: a pipe's write end polls as an error once no one reads it.

    A broken pipe to anything else (a socket, a child process) stays an error with its message.
    """
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows) or no real stdout (captured)
        return False


def _run(argv: Sequence[str] | None) -> int:
    _readable_output()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _showing_library_log():
            return int(args.handler(args))
    except Exception as err:
        if isinstance(err, BrokenPipeError) and _stdout_closed():
            raise  # main ends the command quietly
        mapped = exit_for(err)
        if mapped is None or os.environ.get(DEBUG_VARIABLE):
            raise
        code, prefix = mapped
        # a message may quote input (a path in a manifest, a field of a release): made inert
        print(f"chat-dataset-baseline {args.command}: {prefix}{inert.escape(str(err))}", file=sys.stderr)
        return code


def _readable_output() -> None:
    """Never die on a terminal that cannot show Chinese; show escapes instead."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


if __name__ == "__main__":
    sys.exit(main())
