"""Validate a pull request's files against a published release: cost follows the change.

Only the given files are read and checked for schema and lint. Duplicates are checked
among them (as ``validate`` always does) and against the release's records through its
duplicate index (``index/<config>.parquet``), never its shards. A given file replaces its
earlier version in the release (matched by its path from the config folder on, which is
the ``source`` a build gives its rows), so a record edited or left as it was in a changed
file is never reported as a duplicate of its own previous version.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, NoReturn

from chatcorpus.release.duplicate_index import INDEX_KIND, ConfigIndex, index_path, near_hash, read_index
from chatcorpus.release.hub_errors import HUB_ERRORS
from chatcorpus.validation.corpus_shape import CONFIG_NAMES, read_release_json
from chatcorpus.validation.faults import Problem, Severity
from chatcorpus.validation.sources import SourceRef, discover
from chatcorpus.validation.validate import FileResult, ValidationReport, Validator, without_cycle_collection

#: ``ORG/NAME`` with no revision: the latest release published there (its highest vX.Y.Z tag)
_REPO_ONLY = re.compile(r"[\w.-]+/[\w.-]+")
_VERSION_TAG = re.compile(r"v([0-9]+\.[0-9]+\.[0-9]+)")
_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
_MANIFEST = "manifest.json"
_REPO_TYPE = "dataset"


@dataclass(frozen=True)
class ReferenceRelease:
    """A release to validate against: its version and the duplicate index of each config."""

    name: str  # how faults name it: ``ORG/NAME@v1.2.0`` or the folder
    version: str
    indexes: dict[str, ConfigIndex]


def refusal(message: str) -> Exception:
    """The error refusing the release; the error classes import the builder, and so ``datasets``: only on this path."""
    from chatcorpus.errors import ReferenceReleaseError

    return ReferenceReleaseError(message)


def refuse(message: str) -> NoReturn:
    raise refusal(message)


def open_reference(spec: str, cache_dir: str | None = None) -> ReferenceRelease:
    """``FOLDER``, ``ORG/NAME@vX.Y.Z``, or ``ORG/NAME`` (its latest release): opened and its index verified."""
    folder = Path(spec)
    return _open_folder(folder) if folder.is_dir() else _open_hub(spec, cache_dir)


def _open_folder(folder: Path) -> ReferenceRelease:
    """A local release, read without ``datasets`` (the validate path never imports it).

    Only what the check uses is read: the manifest's version, configs and ``files``
    entries of the indexes, and the index files at the paths this code builds from the
    known config names (never a path taken from the manifest), not through links.
    ``verify`` checks the whole release.
    """
    return _reference(str(folder), lambda path: _read_regular(folder, path))


def _reference(where: str, read: Callable[[str], bytes]) -> ReferenceRelease:
    """The release at ``where``, its files read with ``read``: the manifest (only the fields the
    check uses), then each config's index, verified against the manifest's bytes and sha256."""
    manifest = read_release_json(read(_MANIFEST), f"{_MANIFEST} of {where}", refusal)
    version, configs, files = manifest.get("version"), manifest.get("configs"), manifest.get("files")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        refuse(f"{_MANIFEST} of {where} states no version X.Y.Z")
    if not isinstance(configs, dict) or not isinstance(files, list):
        refuse(f"{_MANIFEST} of {where} lists no configs and files")
    return ReferenceRelease(where, version, _indexes(read, configs, files, where))


def _open_hub(spec: str, cache_dir: str | None) -> ReferenceRelease:
    """A Hub release, read with ``huggingface_hub`` alone (never ``datasets``), every file from the
    one commit its revision resolved to, so a branch that moves meanwhile cannot mix two releases."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    if _REPO_ONLY.fullmatch(spec):
        spec = f"{spec}@{latest_release_tag(spec)}"
    repo_id, _, revision = spec.partition("@")
    if not _REPO_ONLY.fullmatch(repo_id) or not revision:
        refuse(f"{spec}: no such folder, and not a Hub release ORG/NAME@REVISION either")
    api = HfApi()
    try:
        commit = api.repo_info(repo_id, repo_type=_REPO_TYPE, revision=revision).sha
    except RevisionNotFoundError:
        refuse(f"{repo_id} has no revision {revision!r}")
    except RepositoryNotFoundError:
        refuse(f"there is no dataset repo {repo_id} (or it is private to you)")
    except HUB_ERRORS as err:
        refuse(f"cannot reach the release {spec}: {err}")

    def read(path: str) -> bytes:
        try:
            local = api.hf_hub_download(repo_id, path, repo_type=_REPO_TYPE, revision=commit, cache_dir=cache_dir)
            return Path(local).read_bytes()
        except EntryNotFoundError:
            refuse(f"{spec} (commit {commit}) has no {path}")
        except HUB_ERRORS as err:
            refuse(f"cannot read {path} of {spec}: {err}")

    release = _reference(spec, read)
    if _VERSION_TAG.fullmatch(revision) and revision != f"v{release.version}":
        refuse(f"{spec} holds a manifest of version {release.version}")
    return release


def latest_release_tag(repo_id: str) -> str:
    """The highest ``vX.Y.Z`` tag of a Hub dataset repo: its latest published release."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        tags = [tag.name for tag in HfApi().list_repo_refs(repo_id, repo_type=_REPO_TYPE).tags]
    except RepositoryNotFoundError:
        refuse(f"there is no dataset repo {repo_id} (or it is private to you)")
    except HUB_ERRORS as err:
        refuse(f"cannot list the release tags of {repo_id}: {err}")
    versions = [tag for tag in tags if _VERSION_TAG.fullmatch(tag)]
    if not versions:
        refuse(f"{repo_id} has no release tag vX.Y.Z to validate against")
    return max(versions, key=lambda tag: tuple(int(part) for part in tag[1:].split(".")))


def _indexes(
    read: Callable[[str], bytes], configs: Iterable[object], files: list[Any], where: str
) -> dict[str, ConfigIndex]:
    indexes = {}
    for config in configs:
        if config not in CONFIG_NAMES:  # a name from the release: never made into a path unchecked
            refuse(f"{where} lists a config {str(config)!r} that is not one of {', '.join(CONFIG_NAMES)}")
        assert isinstance(config, str)
        indexes[config] = _read_config_index(read, files, config, where)
    return indexes


def _read_config_index(read: Callable[[str], bytes], files: list[Any], config: str, where: str) -> ConfigIndex:
    path = index_path(config)
    entry = next(
        (f for f in files if isinstance(f, dict) and f.get("path") == path and f.get("kind") == INDEX_KIND), None
    )
    if entry is None:
        refuse(
            f"{where} has no duplicate index for {config} ({path}): it was built before releases shipped one; "
            "validate against a newer release, or validate the whole corpus without --against"
        )
    data = read(path)
    # the builder's verify_file makes the same check; it imports datasets, which this path must not
    if len(data) != entry.get("bytes") or hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        refuse(f"the release {where} is damaged: {path} does not have the bytes and sha256 its manifest lists")
    return read_index(data, config, f"{path} of {where}")


def _read_regular(folder: Path, relative: str) -> bytes:
    """A release file by its known relative path: a regular file, reached through no link."""
    target = folder
    for part in relative.split("/"):
        target = target / part
        try:
            mode = os.lstat(target).st_mode
        except FileNotFoundError:
            refuse(f"{folder} has no {relative}")
        if stat.S_ISLNK(mode):  # worded as verify words it (``local_release_file``)
            refuse(f"{folder}: path {relative!r} is reached through a symbolic link; a release holds no links")
    if not stat.S_ISREG(mode):
        refuse(f"{relative} of {folder} is not a regular file")
    return target.read_bytes()


def source_path(ref: SourceRef) -> str | None:
    """A file's path from its config folder on (``alpaca-zh/sub/x.json``): the ``source`` a build gives its rows."""
    return None if ref.config is None else _from_config_folder(PurePath(ref.path), {ref.config})


def _from_config_folder(path: PurePath, configs: Iterable[str]) -> str | None:
    parts = path.parts
    for position in range(len(parts) - 2, -1, -1):  # the nearest enclosing folder named after a config
        if parts[position] in configs:
            return "/".join(parts[position:])
    return None


def deleted_sources(paths: Iterable[Path]) -> set[str]:
    """The release ``source`` of each file a pull request deletes (``--deleted``): its rows are gone.

    A deleted file cannot be read, so its config is the nearest enclosing folder named
    after one; a path in no config folder is refused (it held no rows of the release).
    """
    sources = set()
    for path in paths:
        source = _from_config_folder(PurePath(path), CONFIG_NAMES)
        if source is None:
            from chatcorpus.errors import UsageError

            raise UsageError(f"--deleted {path}: not inside a config folder ({', '.join(CONFIG_NAMES)})")
        sources.add(source)
    return sources


def validate_against(
    paths: list[Path], release: ReferenceRelease, disabled: Iterable[str] = (), deleted: Iterable[Path] = ()
) -> ValidationReport:
    """Check only ``paths``; duplicates among them and against ``release``'s records.

    The release's rows from the files given (their earlier versions) and from the files
    ``deleted`` (a pull request removes them) are left out of the duplicate check.
    """
    validator = Validator(disabled)
    refs = discover(paths)
    replaced = {path for path in map(source_path, refs) if path is not None} | deleted_sources(deleted)
    indexes = {config: index.without_files(replaced) for config, index in release.indexes.items()}
    results: list[tuple[SourceRef, FileResult]] = []
    with without_cycle_collection():
        for ref in refs:
            results.append((ref, validator.check(ref)))
        _find_release_duplicates(results, indexes, release, validator.disabled)
    # the checks that need every given file (near-duplicates, untranslated copies) among them, not the release's
    faults = sorted(validator.finish([fault for _, result in results for fault in result.faults]))
    return ValidationReport(
        faults,
        files=len(results),
        records=sum(result.records_read for _, result in results),
        rejected=sum(result.rejected for _, result in results),
    )


def _find_release_duplicates(
    results: list[tuple[SourceRef, FileResult]],
    indexes: dict[str, ConfigIndex],
    release: ReferenceRelease,
    disabled: frozenset[str],
) -> None:
    """Add a duplicate fault to each accepted record the release already holds (one bulk lookup per config)."""
    candidates = [
        (ref, result, accepted)
        for ref, result in results
        for accepted in result.accepted
        if not _has_duplicate_fault(result, accepted.index)
    ]
    if not candidates:
        return
    ids = [int(accepted.id, 16) for _, _, accepted in candidates]
    nears = [near_hash(accepted.near_key) for _, _, accepted in candidates]
    exact = {config: index.find("id", ids) for config, index in indexes.items()}
    near = {config: index.find("near", nears) for config, index in indexes.items()}
    # the record's own config first: a duplicate there is an error, elsewhere a warning
    known = list(CONFIG_NAMES)
    order = sorted(indexes, key=lambda config: known.index(config) if config in known else len(known))
    found: dict[int, tuple[FileResult, list[tuple[int, Problem, Severity]]]] = {}
    for n, (ref, result, accepted) in enumerate(candidates):
        configs = ([ref.config] if ref.config in indexes else []) + [c for c in order if c != ref.config]
        problem = _exact_problem(n, configs, ref, exact, indexes, release) or _near_problem(
            n, configs, near, indexes, release
        )
        if problem is None or problem.rule in disabled:
            continue
        severity = Severity.ERROR if problem.rule == "duplicate.exact" else Severity.WARNING
        found.setdefault(id(result), (result, []))[1].append((accepted.index, problem, severity))
        if severity is Severity.ERROR:
            result.accepted.remove(accepted)
            result.rejected += 1
    for result, problems in found.values():  # placed per file, in one sweep over its bytes
        result.faults += result.source.place(problems)


def _has_duplicate_fault(result: FileResult, index: int) -> bool:
    return any(f.index == index and f.rule.startswith("duplicate.") for f in result.faults)


def _exact_problem(
    n: int,
    configs: list[str],
    ref: SourceRef,
    exact: dict[str, list[int | None]],
    indexes: dict[str, ConfigIndex],
    release: ReferenceRelease,
) -> Problem | None:
    for config in configs:
        position = exact[config][n]
        if position is None:
            continue
        file, record = indexes[config].place(position)
        if config == ref.config:
            return Problem("duplicate.exact", f"the same record as {file} record {record} in {release.name}")
        return Problem(
            "duplicate.cross-config", f"the same record is in {config} ({file} record {record} in {release.name})"
        )
    return None


def _near_problem(
    n: int,
    configs: list[str],
    near: dict[str, list[int | None]],
    indexes: dict[str, ConfigIndex],
    release: ReferenceRelease,
) -> Problem | None:
    for config in configs:
        position = near[config][n]
        if position is not None:
            file, record = indexes[config].place(position)
            return Problem(
                "duplicate.normalized",
                f"equal, up to case, spacing and punctuation, to {file} record {record} in {release.name}",
            )
    return None
