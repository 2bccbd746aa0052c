"""Check a release end to end, where trainers will load it from: a folder or a Hub tag.

A release is only as good as the agreement of its parts: the tag names the version the
manifest states, the card's YAML ``data_files`` (what plain ``load_dataset`` reads) list
exactly the manifest's shards (what the verifying builder reads), and every shard has the
bytes, sha256 and rows the manifest promises. ``verify_release`` checks all of it and
reports every disagreement at once; ``chat-dataset-baseline verify`` prints the report.

``ReleaseLocation`` and the two readers are also how ``build --base`` reads the release it
builds on, so a base is held to the same checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import yaml
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, HfApi
from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

from chat_dataset_baseline import (
    CARD_FILENAME,
    MANIFEST_FILENAME,
    MAX_RELEASE_JSON_DEPTH,
    RELEASE_PLACES,
    RELEASE_VERSION,
    SPLIT,
    FileVerificationError,
    ShardVerificationError,
    check_shard_values,
    closing_parquet_file,
    local_release_file,
    nesting_exceeds,
    schema_problem,
    verify_file,
    verify_shard,
)
from chatcorpus.errors import ManifestError, ReleaseNotFoundError, UsageError
from chatcorpus.release.card_shape import card_lists_problem
from chatcorpus.release.croissant import CROISSANT_KIND, croissant_problems
from chatcorpus.release.fileset import IGNORED, inventory
from chatcorpus.release.hub_errors import HUB_ERRORS
from chatcorpus.release.manifest import Manifest
from chatcorpus.validation import inert

REPO_TYPE = "dataset"
_REPO_SPEC = re.compile(r"(?P<repo>[\w.-]+/[\w.-]+)(?:@(?P<revision>.+))?")
_VERSION_TAG = re.compile(r"v[0-9]+\.[0-9]+\.[0-9]+")


@dataclass(frozen=True)
class ReleaseLocation:
    """Where a release is: a local folder, or a Hub dataset repo at a revision (a tag, usually)."""

    folder: Path | None = None
    repo_id: str | None = None
    revision: str | None = None

    @classmethod
    def parse(cls, spec: str, default_revision: str | None = None) -> ReleaseLocation:
        """``path/to/folder``, or ``ORG/NAME@REVISION``; an existing folder wins over a repo id,
        and a missing folder is never taken for a repo id (see ``check_local_or_repo``)."""
        if check_local_or_repo(spec):
            return cls(folder=Path(spec))
        match = _REPO_SPEC.fullmatch(spec)
        assert match is not None  # check_local_or_repo refused anything else
        revision = match["revision"] or default_revision
        if revision is None:
            raise UsageError(f"{spec!r} names no revision; pin one, e.g. {spec}@v{RELEASE_VERSION}")
        return cls(repo_id=match["repo"], revision=revision)

    @property
    def is_tag(self) -> bool:
        return self.revision is not None and _VERSION_TAG.fullmatch(self.revision) is not None

    def __str__(self) -> str:
        return str(self.folder) if self.folder is not None else f"{self.repo_id}@{self.revision}"


def check_local_or_repo(spec: str) -> bool:
    """True for a release folder, False for ``ORG/NAME[@REVISION]``; a mistyped folder raises.

    A spec that is not an existing folder is a Hub repo id only if it has the shape of one
    and does not look like a path: ``./out``, ``/data/x``, ``~/x``, ``a/b/c``, ``x/`` or a
    first part that is a folder here (``out/chat-datset-baseline`` beside ``out/``) mean a
    folder, so the answer is "no such folder" rather than a Hub error about a repo id.
    """
    if Path(spec).is_dir():
        return True
    repo = spec.split("@", 1)[0]
    looks_like_path = (
        spec.startswith((".", "/", "~")) or "\\" in spec or repo.endswith("/") or Path(repo.split("/", 1)[0]).is_dir()
    )
    if looks_like_path or _REPO_SPEC.fullmatch(spec) is None:
        hint = "" if looks_like_path else " (and not a Hub repo id ORG/NAME[@REVISION] either)"
        raise ReleaseNotFoundError(f"{spec}: no such folder{hint}")
    return False


class ReleaseFiles(Protocol):
    """Reads the files of one release snapshot; ``FileNotFoundError`` when a file is absent."""

    commit: str | None

    def read(self, path: str) -> bytes: ...

    def fetch(self, path: str) -> Path: ...

    def problems(self, manifest: Manifest) -> list[str]: ...


class FolderFiles:
    commit: str | None = None

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def read(self, path: str) -> bytes:
        return self.fetch(path).read_bytes()

    def fetch(self, path: str) -> Path:
        target = Path(local_release_file(str(self.folder), path))  # never through a link
        if not target.is_file():
            raise ReleaseNotFoundError(f"{target} does not exist")
        return target

    def problems(self, manifest: Manifest) -> list[str]:
        """Files the folder holds that the manifest does not list, links, and listed files that are absent."""
        return inventory(self.folder, manifest.release_paths()).problems()


class HubFiles:
    """Files of a Hub revision, pinned to the commit it resolved to when opened.

    Every read is from that one commit, so a branch that moves while a release is being
    read cannot mix two snapshots. ``cache_dir`` (a fresh folder for ``verify``) decides
    whether bytes come from the server or may come from an earlier download.
    """

    def __init__(self, api: HfApi, repo_id: str, revision: str, cache_dir: str | None = None) -> None:
        self.api = api
        self.repo_id = repo_id
        self.cache_dir = cache_dir
        try:
            self.commit: str | None = api.repo_info(repo_id, repo_type=REPO_TYPE, revision=revision).sha
        except RevisionNotFoundError as err:
            raise ReleaseNotFoundError(f"{repo_id} has no revision {revision!r}") from err
        except RepositoryNotFoundError as err:
            raise ReleaseNotFoundError(f"there is no dataset repo {repo_id} (or it is private to you)") from err

    def read(self, path: str) -> bytes:
        return self.fetch(path).read_bytes()

    def problems(self, manifest: Manifest) -> list[str]:
        """Files in the places a release owns that the manifest does not list (a LICENSE beside them is fine)."""
        listed = set(manifest.release_paths()) | {MANIFEST_FILENAME, CARD_FILENAME}
        held = self.api.list_repo_files(self.repo_id, repo_type=REPO_TYPE, revision=self.commit)
        return [
            f"{path}: not listed in {MANIFEST_FILENAME}"
            for path in sorted(held)
            if path not in listed and path not in IGNORED and path.startswith(RELEASE_PLACES)
        ]

    def fetch(self, path: str) -> Path:
        try:
            local = self.api.hf_hub_download(
                self.repo_id, path, repo_type=REPO_TYPE, revision=self.commit, cache_dir=self.cache_dir
            )
        except EntryNotFoundError as err:
            raise ReleaseNotFoundError(f"{path} is not in {self.repo_id} at {self.commit}") from err
        return Path(local)


def open_release(location: ReleaseLocation, api: HfApi | None = None, cache_dir: str | None = None) -> ReleaseFiles:
    if location.folder is not None:
        return FolderFiles(location.folder)
    assert location.repo_id is not None and location.revision is not None
    return HubFiles(api or HfApi(), location.repo_id, location.revision, cache_dir)


def read_manifest(files: ReleaseFiles, where: str) -> Manifest:
    try:
        data = files.read(MANIFEST_FILENAME)
    except (OSError, ValueError) as err:
        raise ManifestError(f"cannot read {MANIFEST_FILENAME} of {where}: {err}") from err
    return Manifest.from_bytes(data, f"{MANIFEST_FILENAME} of {where}")


# --- the checks ---------------------------------------------------------------------------


@dataclass
class Check:
    """One thing verified, and what was wrong with it (``problems`` empty when it holds)."""

    subject: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class VerifyReport:
    location: ReleaseLocation
    commit: str | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return sum(len(check.problems) for check in self.checks)

    @property
    def ok(self) -> bool:
        return self.problems == 0

    def add(self, subject: str, *problems: str) -> Check:
        check = Check(subject, [p for p in problems if p])
        self.checks.append(check)
        return check

    def format(self) -> str:
        """The report as text; every string from the release (paths, versions, messages) made inert,
        so a crafted manifest or card cannot print a workflow command or a terminal escape."""
        pinned = f" (commit {inert.escape(self.commit[:12])})" if self.commit else ""
        lines = [f"verify {inert.escape(str(self.location))}{pinned}"]
        for check in self.checks:
            subject = inert.escape(check.subject)
            if check.ok:
                lines.append(f"  ok    {subject}")
            lines.extend(f"  FAIL  {subject}: {inert.escape(problem)}" for problem in check.problems)
        lines.append("release verified" if self.ok else f"{self.problems} problem(s) found")
        return "\n".join(lines)


def verify_release(spec: str, *, api: HfApi | None = None, cache_dir: str | None = None) -> VerifyReport:
    """Every check, all problems reported; stops early only when there is nothing left to check.

    Args:
        spec: a release folder, or ``ORG/NAME@REVISION`` (``main`` when no revision is given).
        api: the ``HfApi`` to talk to (default: a new one, from the environment).
        cache_dir: where to download; a fresh folder when the point is to check what the
            Hub serves now rather than what was downloaded before.

    Returns:
        A report of every check and its problems; ``report.ok`` when there are none.

    Raises:
        ReleaseNotFoundError: ``spec`` is a mistyped folder, or the repo or revision does not exist.
        UsageError: ``spec`` is neither a folder nor a repo id.
    """
    location = ReleaseLocation.parse(spec, default_revision="main")
    report = VerifyReport(location)
    api = api or HfApi()
    if location.is_tag and not _tag_exists(api, location, report):
        return report
    try:
        files = open_release(location, api, cache_dir)
    except FileNotFoundError as err:
        report.add("revision", str(err))
        return report
    report.commit = files.commit
    try:
        manifest = read_manifest(files, str(location))
    except ManifestError as err:
        report.add(MANIFEST_FILENAME, str(err))
        return report
    shard_count = sum(len(entry["shards"]) for entry in manifest.configs.values())
    report.add(
        f"{MANIFEST_FILENAME} (v{manifest.version}, {len(manifest.configs)} configs, {shard_count} shards)",
        *_manifest_problems(manifest, location),
    )
    report.add(f"{CARD_FILENAME} agrees with the manifest", *card_problems(files, manifest))
    for entry in manifest.configs.values():
        for shard in entry["shards"]:
            report.add(shard["path"], *shard_problems(files, shard))
    for file in manifest.files:
        problems = _file_problems(files, file)
        if not problems and file["kind"] == CROISSANT_KIND:
            problems = croissant_problems(files.read(file["path"]), manifest)
        report.add(file["path"], *problems)
    report.add("the release holds exactly the files its manifest lists", *files.problems(manifest))
    return report


def _tag_exists(api: HfApi, location: ReleaseLocation, report: VerifyReport) -> bool:
    try:
        tags = {tag.name for tag in api.list_repo_refs(location.repo_id or "", repo_type=REPO_TYPE).tags}
    except RepositoryNotFoundError:
        report.add(f"repo {location.repo_id}", "does not exist (or is private to you)")
        return False
    known = ", ".join(sorted(tags)) or "none"
    return report.add(
        f"tag {location.revision}",
        "" if location.revision in tags else f"does not exist on {location.repo_id} (tags: {known})",
    ).ok


def _manifest_problems(manifest: Manifest, location: ReleaseLocation) -> list[str]:
    problems = []
    if location.is_tag and location.revision != f"v{manifest.version}":
        problems.append(f"states version {manifest.version}, but it is tagged {location.revision}")
    schema = schema_problem(manifest.schema_fingerprint, manifest.version)
    if schema is not None:
        problems.append(f"{schema}; check it with the package it was published with")
    for name, entry in manifest.configs.items():
        rows = sum(shard["rows"] for shard in entry["shards"])
        if rows != entry["rows"]:
            problems.append(f"config {name}: its shards hold {rows} rows, its total says {entry['rows']}")
    return problems


def read_card(card_text: str) -> DatasetCard:
    """The card parsed by ``huggingface_hub`` (what the Hub and ``datasets`` parse), its YAML bounded in depth.

    PyYAML composes nodes recursively, one level per nesting level, so a header nested
    50,000 levels deep (``a: [[[[...``) would end in a RecursionError; and one nested a
    few hundred levels deep would make each reader that walks it recurse as deeply.
    This is the one place a card is parsed, so the bound is here.
    """
    too_deep = ValueError(f"its YAML header nests deeper than {MAX_RELEASE_JSON_DEPTH} levels; no card does")
    try:
        card = DatasetCard(card_text)
    except RecursionError:
        raise too_deep from None
    if nesting_exceeds(card.data.to_dict(), MAX_RELEASE_JSON_DEPTH):
        raise too_deep
    return card


def card_data_files(card_text: str) -> dict[str, list[str]]:
    """Each config's train shards as the card's YAML ``configs:`` lists them, read by ``datasets``' own
    parser, so this is what a plain ``load_dataset`` will read.

    YAML types what it reads (``config_name: 5`` is an int, ``[a, b]`` a list, 2001-12-14 a
    date): the shapes are checked first (``card_shape``), so a hostile entry is named by
    its place, and ``dataset_info:`` is parsed too, as ``load_dataset`` parses it.
    """
    data = read_card(card_text).data
    problem = card_lists_problem(data.to_dict())
    if problem is not None:
        raise ValueError(problem)
    configs = MetadataConfigs.from_dataset_card_data(data)
    try:
        DatasetInfosDict.from_dataset_card_data(data)
    except Exception as err:  # datasets' parser of features raises what the YAML makes it (KeyError, TypeError)
        raise ValueError(f"its dataset_info is not what datasets reads: {type(err).__name__}: {err}") from err
    out: dict[str, list[str]] = {}
    for name, config in configs.items():
        files = config.get("data_files") or []
        paths = [f["path"] for f in files if isinstance(f, dict) and f.get("split") == SPLIT]
        out[name] = [p for path in paths for p in (path if isinstance(path, list) else [path])]
    return out


def card_problems(files: ReleaseFiles, manifest: Manifest) -> list[str]:
    """Where the card's YAML ``configs:`` (what plain ``load_dataset`` reads) differ from the manifest's shards."""
    try:
        listed = card_data_files(files.read(CARD_FILENAME).decode("utf-8"))
    except (OSError, ValueError, TypeError, AttributeError, yaml.YAMLError) as err:
        # the YAML may parse to anything (a list, a string): datasets' parser then fails in its own ways
        return [f"cannot read the card: {type(err).__name__}: {err}"]
    problems = []
    for name in sorted(set(listed) | set(manifest.configs)):
        in_card = listed.get(name)
        in_manifest = [shard["path"] for shard in manifest.configs.get(name, {}).get("shards", [])] or None
        if in_card == in_manifest:
            continue
        if in_card is None or in_manifest is None:
            problems.append(f"config {name} is only in the {'manifest' if in_card is None else 'card'}")
            continue
        missing = [p for p in in_manifest if p not in in_card]
        extra = [p for p in in_card if p not in in_manifest]
        detail = (
            "; ".join(
                part
                for part in (
                    f"the card lacks {', '.join(missing)}" if missing else "",
                    f"the card has {', '.join(extra)} which the manifest does not" if extra else "",
                )
                if part
            )
            or "the shards are listed in another order"
        )
        problems.append(f"config {name}: {detail}")
    return problems


def shard_problems(files: ReleaseFiles, shard: dict) -> list[str]:
    """What is wrong with a shard's bytes, rows, metadata and values against its manifest entry (empty when nothing)."""
    return _bytes_problems(files, shard, _verify_shard_and_values)


def _verify_shard_and_values(data: bytes, shard: dict) -> None:
    """``verify_shard``, then every value read and checked as the verifying builder checks it while loading."""
    verify_shard(data, shard)
    try:
        with closing_parquet_file(pa.BufferReader(data)) as parquet_file:
            table = parquet_file.read()
    except pa.ArrowInvalid as err:
        raise ShardVerificationError(shard["path"], f"cannot read its rows: {err}") from err
    check_shard_values(table, shard["path"])


def _file_problems(files: ReleaseFiles, entry: dict) -> list[str]:
    return _bytes_problems(files, entry, verify_file)


def _bytes_problems(files: ReleaseFiles, entry: dict, check: Callable[[bytes, dict], None]) -> list[str]:
    try:
        data = files.read(entry["path"])
    except HUB_ERRORS as err:  # a size mismatch while downloading is an OSError too
        return [f"cannot read it: {err}"]
    except ManifestError as err:  # a link or a special file where the file should be
        return [str(err)]
    try:
        check(data, entry)
    except FileVerificationError as err:
        return [err.reason]
    return []
