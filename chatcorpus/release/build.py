"""Build a release: contributed JSON in, a Hub-layout dataset repository out.

``OUT`` gets Parquet shards per config, ``manifest.json``, ``README.md`` (the card, whose
YAML makes ``load_dataset(OUT, config)`` work with no code) and ``schema/``. The release
is assembled in a staging folder beside ``OUT`` and moved into place only when it is
complete and accepted, so a failed or rejected build never leaves half a release.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from huggingface_hub.utils import tqdm

from chat_dataset_baseline import CARD_FILENAME, CONFIGS, DEFAULT_REPO_ID, MANIFEST_FILENAME, RELEASE_VERSION
from chatcorpus.alignment.corpus import EN_CONFIG, ZH_CONFIG, align_tree
from chatcorpus.alignment.coverage import coverage, markdown_table
from chatcorpus.errors import BuildRefused, SourceLayoutError, UsageError
from chatcorpus.release.card import Rejections, render_card
from chatcorpus.release.card_statistics import statistics_section
from chatcorpus.release.charts import IMAGE_KIND, ChartRenderer
from chatcorpus.release.croissant import CROISSANT_KIND, CROISSANT_PATH, croissant_bytes
from chatcorpus.release.duplicate_index import INDEX_KIND, IndexWriter, index_path
from chatcorpus.release.fileset import ReleaseFileSet
from chatcorpus.release.incremental import BaseRelease, Ledger, ShardReuse, changelog, check_newer, open_base
from chatcorpus.release.manifest import Manifest, check_version, fault_counts, manifest_schema_text
from chatcorpus.release.measures import CHARACTERS
from chatcorpus.release.shards import (
    DEFAULT_SHARD_ROWS,
    DeferredShardWriter,
    ShardInfo,
    ShardWriter,
    Translations,
    shard_folder,
)
from chatcorpus.release.staging import publishing, replace_file, replace_folder, staging_folder
from chatcorpus.release.stats import ConfigStats, ReleaseStats, ShardCounts
from chatcorpus.release.stats import config_stats as stats_of_config
from chatcorpus.validation.faults import Fault
from chatcorpus.validation.record_schema import record_schema_text
from chatcorpus.validation.records import ROW_FIELDS, category_of, row_values
from chatcorpus.validation.sources import SourceRef, scan_config, scan_root
from chatcorpus.validation.validate import Validator, without_cycle_collection

_NO_LINK = ("", "")  # translation_of, translation_kind of a row with no original


@dataclass
class ConfigCounts:
    """Rows read = rows written + rows rejected, per config."""

    files: int = 0
    read: int = 0
    written: int = 0
    rejected: int = 0


@dataclass
class BuildResult:
    out: Path
    counts: dict[str, ConfigCounts]
    faults: list[Fault]
    published: bool
    rejects_path: Path | None = None
    manifest: Manifest | None = None

    @property
    def rejected(self) -> int:
        return sum(c.rejected for c in self.counts.values())

    @property
    def error_faults(self) -> list[Fault]:
        return [f for f in self.faults if f.is_error]


@dataclass
class BuildOptions:
    version: str = RELEASE_VERSION
    skip_invalid: bool = False
    shard_rows: int = DEFAULT_SHARD_ROWS
    disabled_rules: Iterable[str] = ()
    repo_id: str = DEFAULT_REPO_ID
    rejects_path: Path | None = None
    progress: bool = True
    configs: tuple[str, ...] = field(default_factory=lambda: tuple(CONFIGS))
    #: FOLDER or ORG/NAME@vX.Y.Z: build on that release, keeping its unchanged shards as they are
    base: str | None = None
    #: configs of the base release to leave out of this one; any other base config the source lacks is refused
    remove_configs: tuple[str, ...] = ()
    #: processes: with 2 or more (and no ``base``), the alignment runs in a second process
    #: while this one validates and writes the configs; the release is the same for any number
    jobs: int = 1


@dataclass
class ConfigBuild:
    """One config's part of a release: its counts, its shards, and its changelog against the base."""

    counts: ConfigCounts
    shards: list[ShardInfo]
    #: every row's id and near-duplicate key, for ``validate --against`` this release
    index: IndexWriter
    changes: dict[str, list[str]] | None = None  # None without a base
    #: rows waiting for their translation link (``shards`` is empty until it is closed)
    deferred: DeferredShardWriter | None = None


def build_release(source: Path, out: Path, *, options: BuildOptions | None = None) -> BuildResult:
    """Validate every source file, write accepted rows as shards and publish ``out``.

    With any error (a rejected record, or a file that could not be read at all) and no
    ``skip_invalid``, nothing is written to ``out``; either way a rejects report listing
    every error is written beside it.

    Args:
        source: a folder with one subfolder of JSON/JSONL files per config.
        out: the release folder to create or replace (only a release is ever replaced).
        options: version, base release, shard size, rules switched off, ``skip_invalid``;
            ``BuildOptions()`` when omitted.

    Returns:
        The counts per config, every fault, whether ``out`` was published, and where the
        rejects report was written.

    Raises:
        SourceLayoutError: ``source`` is not a folder, or has none of the config folders.
        UsageError: a bad version, or ``out`` exists and is not a release.
        BaseReleaseError: the ``--base`` release cannot be read or does not verify.
        BuildRefused: the build would drop data without being asked.
    """
    options = options or BuildOptions()
    check_version(options.version)
    base = open_base(options.base) if options.base else None
    if base is not None:
        check_newer(options.version, base)
    if not source.is_dir():
        what = "is a file, not a folder" if source.exists() else "no such folder"
        raise SourceLayoutError(f"{source}: {what}; --source takes a folder with one subfolder per config")
    present = [config for config in options.configs if (source / config).is_dir()]
    if not present:
        near = "".join(f"; {fault.path} {fault.message}" for fault in scan_root(source, configs=()).faults[:4])
        raise SourceLayoutError(f"{source} has none of the config folders {', '.join(CONFIGS)}{near}")
    _check_replaceable(out)
    with staging_folder(out) as staging:
        with without_cycle_collection():
            result = _write_release(source, staging, out, present, options, base)
        if options.skip_invalid or not result.error_faults:  # it would be published
            _check_nothing_dropped(result, base, options.remove_configs)
        with publishing(out):
            if options.skip_invalid or not result.error_faults:
                _check_replaceable(out)  # again: another build may have published meanwhile
                replace_folder(out, staging)
                result.published = True
            rejects = options.rejects_path or out.parent / f"{out.name}.rejects.jsonl"
            if result.error_faults:
                result.rejects_path = _write_rejects(result, rejects)
            elif rejects.is_file() and not rejects.is_symlink():
                rejects.unlink()  # an earlier build's report would describe a release that is no longer there
    return result


def _write_release(
    source: Path, staging: Path, out: Path, configs: list[str], options: BuildOptions, base: BaseRelease | None
) -> BuildResult:
    validator = Validator(options.disabled_rules, thorough=True)  # a release gets every rule
    faults: list[Fault] = scan_root(source, configs=()).faults  # the root's entries that are no config
    aligner_faults_at = len(faults)  # the aligner's warnings go here, wherever it runs
    #: each shard this build writes or may keep from its base, counted from the table it was
    #: written from or checked as; held until its config is written (a config's worth at a time)
    counted: dict[str, ShardCounts] = {}

    def count(path: str, table: pa.Table) -> None:
        counted[path] = ShardCounts.of(table)

    config_stats: dict[str, ConfigStats] = {}

    def written(config: str, part: ConfigBuild) -> None:
        """A config's shards are final: sum its statistics, and have its length chart rendered."""
        mine = {path: counted.pop(path) for path in [p for p in counted if p.startswith(f"{shard_folder(config)}/")]}
        if part.shards:
            read = functools.partial(_read_release_file, staging)  # a shard nobody counted: none, normally
            config_stats[config] = stats_of_config(_config_entry(part), read, counted=mine)
            charts.add_lengths(config, config_stats[config].lengths, CHARACTERS.unit)

    with (
        _helper_process(options) as helper,
        tempfile.TemporaryDirectory(prefix="build-") as spill,
    ):
        alignment = _alignment(source, configs, options, helper)
        charts = ChartRenderer(helper)
        built: dict[str, ConfigBuild] = {}
        for config in configs:
            later = alignment.in_background and config == ZH_CONFIG
            translations = None if later or config != ZH_CONFIG else alignment.result().translations
            deferred = Path(spill) if later else None
            built[config] = part = _build_config(
                source, staging, config, validator, faults, options, base, translations, deferred, count
            )
            if part.deferred is None:
                written(config, part)
        aligned = alignment.result()
        for config, part in built.items():
            if part.deferred is not None:
                part.shards = part.deferred.close(aligned.translations)
                written(config, part)
        aligned.translations = {}  # every link is written: not held through the near-duplicate pass
        faults[aligner_faults_at:aligner_faults_at] = aligned.faults
        coverage_table = aligned.coverage_table
        # duplicate.near, translation.untranslated need every config: after the last
        faults[:] = validator.finish(faults)
        counts = {config: part.counts for config, part in built.items()}
        shard_lists = {config: part.shards for config, part in built.items()}
        files = ReleaseFileSet(staging)
        files.write("schema/record.schema.json", "schema", record_schema_text().encode("utf-8"))
        files.write("schema/manifest.schema.json", "schema", manifest_schema_text().encode("utf-8"))
        for config, part in built.items():
            if part.shards:  # the configs the manifest lists
                files.write(index_path(config), INDEX_KIND, part.index.to_parquet())
        manifest = Manifest(
            version=options.version,
            configs={config: _config_entry(part) for config, part in built.items() if part.shards},
            parent=base.version if base else None,
            parent_manifest_sha256=base.manifest.sha256 if base else None,
            changelog=_changelog(built, base),
            faults=fault_counts(faults, configs),
        )
        stats = ReleaseStats(
            manifest.version,
            CHARACTERS.unit,
            {config: config_stats[config] for config in manifest.configs},
            list(manifest.faults),
        )
        statistics = _write_statistics(files, stats, charts)
    files.write(CROISSANT_PATH, CROISSANT_KIND, croissant_bytes(manifest, options.repo_id))
    manifest.files = files.entries()
    manifest.write(staging)  # last but the card: it lists every other file
    arrow_bytes = {config: sum(s.arrow_bytes for s in shards) for config, shards in shard_lists.items()}
    rejections = {config: Rejections(counts[config].rejected, _error_rules(faults, config)) for config in configs}
    render_card(
        manifest,
        arrow_bytes,
        options.repo_id,
        translation_coverage=coverage_table,
        rejections=rejections,
        statistics=statistics,
    ).save(staging / CARD_FILENAME)
    faults.sort(key=Fault.sort_key)
    return BuildResult(out, counts, faults, published=False, manifest=manifest)


def _config_entry(part: ConfigBuild) -> dict[str, Any]:
    """The manifest's entry of a config whose shards are final."""
    return {
        "rows": part.counts.written,
        "rejected": part.counts.rejected,
        "shards": [s.manifest_entry() for s in part.shards],
    }


def _read_release_file(staging: Path, path: str) -> bytes:
    return staging.joinpath(*path.split("/")).read_bytes()


def _write_statistics(files: ReleaseFileSet, stats: ReleaseStats, charts: ChartRenderer) -> str:
    """Add the charts to the release, and return the card's Statistics section.

    The statistics were counted from the tables the shards were written from (only shards
    kept from a base release are read again); the length charts were rendered meanwhile.
    """
    rendered = charts.finish(stats)
    for chart in rendered:
        files.write(chart.path, IMAGE_KIND, chart.data)
    return statistics_section(stats, rendered)


def _error_rules(faults: list[Fault], config: str) -> Counter[str]:
    """How many errors of each rule the config's files had: why its records were rejected."""
    return Counter(f.rule for f in faults if f.is_error and f.path.startswith(f"{config}/"))


def _build_config(
    source: Path,
    staging: Path,
    config: str,
    validator: Validator,
    faults: list[Fault],
    options: BuildOptions,
    base: BaseRelease | None = None,
    translations: Translations | None = None,
    spill: Path | None = None,
    on_table: Callable[[str, pa.Table], None] | None = None,
) -> ConfigBuild:
    """Validate and write one config; with a base, rows already in an unchanged base shard stay there.

    ``translations`` (by ``source``) fill the translation link of the alpaca-zh rows. With
    ``spill`` (and no base) the link is found meanwhile: the rows wait in a
    ``DeferredShardWriter`` there, which the caller closes with the links. ``on_table`` is
    called with the path and the rows of each shard written, and of each base shard.
    """
    counts = ConfigCounts()
    reuse = ShardReuse(base, config, on_table) if base is not None else None
    on_shard = None if on_table is None else lambda shard, table: on_table(shard.path, table)
    writer = ShardWriter(
        staging, config, options.shard_rows, first_number=reuse.next_number if reuse else 0, on_shard=on_shard
    )
    deferred = DeferredShardWriter(writer, spill) if spill is not None and reuse is None else None
    add_values = deferred.add_values if deferred is not None else writer.add_values
    ledger: Ledger = []
    index = IndexWriter()
    found = scan_config(source, config)
    faults.extend(found.faults)
    refs = found.refs
    for ref in tqdm(refs, desc=f"build {config}", unit="file", disable=not options.progress or None):
        result = validator.check(ref)
        faults.extend(result.faults)
        counts.files += 1
        counts.read += result.records_read
        counts.rejected += result.rejected
        category = category_of(config, ref.display)
        counts.written += len(result.accepted)
        index.add_file(ref.display, result.accepted)
        for accepted in result.accepted:
            source_id = f"{ref.display}#{accepted.index}"
            translation = translations.get(source_id, _NO_LINK) if translations else _NO_LINK
            values = row_values(accepted.record, accepted.id, accepted.language, category, source_id, translation)
            if reuse is None:
                add_values(values)
                continue
            row = dict(zip(ROW_FIELDS, values, strict=True))
            ledger.append((accepted.id, source_id))
            if not reuse.claim(row):
                writer.add(row)
    if deferred is not None:
        return ConfigBuild(counts, [], index, deferred=deferred)
    if reuse is None:
        return ConfigBuild(counts, writer.close(), index)
    for row in reuse.rescued_rows():
        writer.add(row)
    return ConfigBuild(counts, reuse.copy_kept(staging) + writer.close(), index, changelog(reuse.ledger, ledger))


@dataclass
class _Aligned:
    """What a build takes from the alignment: small enough to cross between processes."""

    translations: dict[str, tuple[str, str]]
    coverage_table: str  # for the card
    faults: list[Fault]  # the aligner's warnings


def _translation_links(source: Path, disabled: tuple[str, ...]) -> _Aligned:
    """The alpaca-zh rows' links to the alpaca-en rows this release publishes, and the card's coverage table.

    Only English records the build accepts may be originals, so that every
    ``translation_of`` names a row of the release; they are found by the same checks
    (a validator of their own: within one config its verdicts do not depend on the
    other configs).
    """
    english = Validator(disabled, errors_only=True)  # only which records are accepted counts

    def accepted(ref: SourceRef) -> set[int]:
        return {record.index for record in english.check(ref).accepted}

    alignment = align_tree(source, accepted)
    faults = [fault for fault in alignment.faults if fault.rule not in disabled]
    translations = {link.zh: (link.en_id, link.kind) for link in alignment.links if link.en is not None}
    return _Aligned(translations, markdown_table(coverage(source, alignment)), faults)


class _Alignment:
    """The alignment of a build, computed on first ``result()`` or in a forked process meanwhile."""

    def __init__(self, compute: Callable[[], _Aligned], future: Future[_Aligned] | None = None) -> None:
        self._compute = compute
        self._future = future
        self._result: _Aligned | None = None

    @property
    def in_background(self) -> bool:
        return self._future is not None

    def result(self) -> _Aligned:
        if self._result is None:
            self._result = self._future.result() if self._future is not None else self._compute()
        return self._result


@contextmanager
def _helper_process(options: BuildOptions) -> Iterator[Executor | None]:
    """The second process of ``--jobs 2`` or more (None with ``--jobs 1``), for the work that
    does not need this one's state: the alignment, then the charts. One process, so that
    a build never runs more than two, whatever ``--jobs`` says.

    Fork, as ``validate --jobs`` does: the child inherits the loaded modules; it reads the
    source itself and sends back only small results (links, warnings, PNG bytes).
    """
    if options.jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        yield pool


def _alignment(source: Path, configs: list[str], options: BuildOptions, helper: Executor | None) -> _Alignment:
    """The alignment, in the helper process when there is one (a base release needs the
    links while its rows are compared, so it aligns first, in this process)."""
    if ZH_CONFIG not in configs or EN_CONFIG not in configs:
        return _Alignment(lambda: _Aligned({}, "", []))
    disabled = tuple(sorted(options.disabled_rules))
    compute = functools.partial(_translation_links, source, disabled)
    if helper is None or options.base is not None:
        return _Alignment(compute)
    return _Alignment(compute, helper.submit(compute))


def _changelog(built: dict[str, ConfigBuild], base: BaseRelease | None) -> dict[str, dict[str, list[str]]]:
    """Per config, in ``CONFIGS`` order; a config the base had and this release lacks lost every row."""
    if base is None:
        return {}
    changes: dict[str, dict[str, list[str]]] = {}
    for config in CONFIGS:
        config_changes = built[config].changes if config in built else None
        if config_changes is not None:
            changes[config] = config_changes
        elif config in base.manifest.configs:
            changes[config] = changelog(ShardReuse(base, config).ledger, [])
    return changes


def _check_replaceable(out: Path) -> None:
    """Refuse to replace a folder that is not a release: a typo must not delete someone's data."""
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST_FILENAME).is_file():
        raise UsageError(
            f"{out} exists and is not a chat-dataset-baseline release (no {MANIFEST_FILENAME}); refusing to replace it"
        )


def _check_nothing_dropped(result: BuildResult, base: BaseRelease | None, remove: tuple[str, ...]) -> None:
    """Refuse a build that would replace a release with no rows, or drop a base config nobody asked to drop."""
    if not any(counts.written for counts in result.counts.values()):
        raise BuildRefused(
            f"the source holds no records in any config ({', '.join(result.counts) or 'none'}); "
            f"nothing was written to {result.out}"
        )
    if base is None:
        if remove:
            raise UsageError("--remove-config needs --base: it removes a config of the base release")
        return
    kept = {config for config, counts in result.counts.items() if counts.written}
    for config in remove:
        if config not in base.manifest.configs:
            raise UsageError(f"--remove-config {config}: the base v{base.version} has no config {config}")
        if config in kept:
            raise UsageError(f"--remove-config {config}: the source still holds records for it; remove its folder")
    dropped = [config for config in base.manifest.configs if config not in kept and config not in remove]
    if dropped:
        listing = ", ".join(f"{c} ({base.manifest.configs[c]['rows']:,} rows)" for c in dropped)
        raise BuildRefused(
            f"the base v{base.version} has {listing}, the source holds no records for it; nothing was written. "
            + " ".join(f"--remove-config {c}" for c in dropped)
            + " removes it on purpose"
        )


def _write_rejects(result: BuildResult, path: Path) -> Path:
    """One JSON line per rejecting fault: the report a maintainer works through, written whole or not at all."""
    replace_file(path, "".join(json.dumps(f.to_json(), ensure_ascii=False) + "\n" for f in result.error_faults))
    return path
