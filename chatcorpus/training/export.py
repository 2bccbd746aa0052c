"""Export a release as the files trainers read: LLaMA-Factory's, or JSON Lines of a view.

``llama-factory`` writes, per config, ``<config>.alpaca.jsonl`` (alpaca formatting:
``history`` as ``[user, assistant]`` pairs, as LLaMA-Factory reads it) and
``<config>.sharegpt.jsonl`` (the sharegpt view), and registers both in
``dataset_info.json``, merged into the file when it is already there so the export can
go straight into LLaMA-Factory's own data folder. The files are the pin: they hold the
rows of the revision they were exported from, verified.

Hub entries (``hf_hub_url`` + ``subset``) are written only when asked for
(``hub_entries``), because LLaMA-Factory cannot pin them: its ``DatasetAttr`` has no
``revision`` field (hiyouga/LLaMA-Factory issue #5940 asks for one), so an entry
naming the Hub repo trains on whatever its main branch holds the day it runs. The
export says so in ``ExportResult.warnings``. The Hub shards also store ``history`` as
``{user, assistant}`` objects, which LLaMA-Factory would unpack as the pair of keys, so
a Hub entry maps no history. The ``prompts`` config gets no Hub entry: the Hub holds
its NAME/AUTHOR template, and only an export with ``name`` and ``author`` gives
trainable rows.

A release that lacks a config (a partial source builds fine) exports the configs it
has; the ones it lacks are listed in ``ExportResult.missing``. Asking for a config by
name that the release lacks is an error.

``jsonl`` (the shared schema), ``messages``, ``sharegpt`` and ``prompt-completion`` write
``<config>.jsonl`` of that view, for other trainers. Every exported row keeps ``id``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chat_dataset_baseline import (
    CONFIGS,
    DEFAULT_REPO_ID,
    IDENTITY_CONFIG,
    RELEASE_VERSION,
    SPLIT,
    read_release_json,
)
from chatcorpus.errors import UnknownConfigError, UsageError
from chatcorpus.release.lock import Lock
from chatcorpus.release.manifest import Manifest
from chatcorpus.release.verify import check_local_or_repo
from chatcorpus.training import FORMATS, LLAMA_FACTORY, PLAIN_FORMATS
from chatcorpus.training.release_manifest import read_release_manifest
from chatcorpus.training.views import load_view

DATASET_INFO = "dataset_info.json"
#: Prefix of the dataset_info.json entry names, so they cannot collide with LLaMA-Factory's own.
ENTRY_PREFIX = "chat-dataset-baseline-"
_ALPACA_COLUMNS = {"prompt": "instruction", "query": "input", "response": "output", "system": "system"}
_SHAREGPT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}


@dataclass(frozen=True)
class ExportOptions:
    """What to export: which release and revision, which configs, and the identity to fill in."""

    release: str = DEFAULT_REPO_ID  # a local release folder or a Hub repo id
    revision: str | None = None  # default: the release's own version tag
    configs: tuple[str, ...] | None = None  # default: every config the release has
    name: str | None = None
    author: str | None = None
    hub_repo: str | None = None  # the repo LLaMA-Factory's Hub entries name; default: the release when it is a repo id
    hub_entries: bool = False  # also register Hub entries, which LLaMA-Factory loads from main (see the module)
    lock: Lock | None = None  # read the locked commit and refuse another manifest (``chatcorpus.release.lock``)
    manifest_sha256: str | None = None  # refuse a release whose manifest.json has another sha256

    @property
    def is_local(self) -> bool:
        """A release folder (True) or a Hub repo id (False); a mistyped folder raises "no such folder"."""
        return check_local_or_repo(self.release)

    @property
    def hub_revision(self) -> str:
        if self.lock is not None:
            return self.lock.commit
        version = Manifest.read(Path(self.release)).version if self.is_local else RELEASE_VERSION
        return self.revision or f"v{version}"


@dataclass(frozen=True)
class ExportedFile:
    config: str
    path: Path
    rows: int


@dataclass
class ExportResult:
    files: list[ExportedFile] = field(default_factory=list)
    dataset_info: Path | None = None
    missing: list[str] = field(default_factory=list)  # configs the release does not have, so not exported
    warnings: list[str] = field(default_factory=list)  # what the caller must tell the user

    def unrendered(self, options: ExportOptions) -> bool:
        """The identity prompts went out with their placeholders: fine to inspect, wrong to train on."""
        return options.name is None and any(f.config == IDENTITY_CONFIG for f in self.files)


def export_release(out_dir: Path, fmt: str, *, options: ExportOptions = ExportOptions()) -> ExportResult:
    """Write the configs of the release into ``out_dir`` in format ``fmt`` (one of ``FORMATS``).

    Args:
        out_dir: the folder to write into (created if missing).
        fmt: ``llama-factory`` (files plus ``dataset_info.json`` entries) or a view's JSONL.
        options: the release (folder or Hub repo) and revision, the configs, the identity to fill in.

    Returns:
        The files written with their rows, the ``dataset_info.json`` updated, the configs
        the release lacks.

    Raises:
        UsageError: an unknown format, a config asked for by name that the release does not
            have, ``--revision`` with a release folder, or a ``dataset_info.json`` that is not ours to merge.
        UnknownConfigError: a config name that is not one of ``CONFIGS``.
        ReleaseNotFoundError: a mistyped release folder, or a Hub repo or revision that does not exist.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    unknown = [config for config in options.configs or () if config not in CONFIGS]
    if unknown:
        raise UnknownConfigError(*unknown)
    local = options.is_local  # a mistyped folder stops here, as "no such folder"
    if options.revision is not None and local:
        raise UsageError(
            f"--revision {options.revision} names a Hub revision, but {options.release} is a release folder, "
            "which holds one version; drop --revision (or name the Hub repo as --release)"
        )
    present = release_configs(options)
    wanted = options.configs or tuple(config for config in CONFIGS if config in present)
    absent = [config for config in wanted if config not in present]
    if options.configs and absent:
        raise UsageError(
            f"the release {options.release} has no config {', '.join(absent)}; it has {', '.join(present) or 'none'}"
        )
    result = ExportResult(missing=[config for config in CONFIGS if config not in present])
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == LLAMA_FACTORY:
        _export_llama_factory(out_dir, options, wanted, result)
    else:
        view = PLAIN_FORMATS[fmt]
        result.files = [_export_config(out_dir / f"{config}.jsonl", options, config, view) for config in wanted]
    return result


def release_configs(options: ExportOptions) -> list[str]:
    """The configs the release's manifest lists, in ``CONFIGS`` order."""
    manifest = read_release_manifest(options.release, options.hub_revision)
    return [config for config in CONFIGS if config in manifest.configs]


def _export_llama_factory(out_dir: Path, options: ExportOptions, configs: Iterable[str], result: ExportResult) -> None:
    entries: dict[str, dict[str, Any]] = {}
    hub_configs = []
    for config in configs:
        alpaca = _export_config(out_dir / f"{config}.alpaca.jsonl", options, config, "alpaca", _history_as_pairs)
        sharegpt = _export_config(out_dir / f"{config}.sharegpt.jsonl", options, config, "sharegpt")
        result.files += [alpaca, sharegpt]
        entries[f"{ENTRY_PREFIX}{config}"] = alpaca_entry(alpaca)
        entries[f"{ENTRY_PREFIX}{config}-sharegpt"] = sharegpt_entry(sharegpt)
        if options.hub_entries and config != IDENTITY_CONFIG:
            entries[f"{ENTRY_PREFIX}{config}-hub"] = hub_entry(_hub_repo(options), config)
            hub_configs.append(config)
    if hub_configs:
        result.warnings.append(hub_warning(_hub_repo(options), options.hub_revision, hub_configs))
    result.dataset_info = merge_dataset_info(out_dir / DATASET_INFO, entries)


def hub_warning(repo_id: str, revision: str, configs: list[str]) -> str:
    names = ", ".join(f"{ENTRY_PREFIX}{config}-hub" for config in configs)
    return (
        f"the Hub entries ({names}) load the main branch of {repo_id}, not {revision}: LLaMA-Factory reads no "
        "revision from dataset_info.json, so they train on whatever main holds when training starts, and without "
        "history turns. The file entries hold exactly the rows of " + revision + "."
    )


def alpaca_entry(file: ExportedFile) -> dict[str, Any]:
    return {
        "file_name": file.path.name,
        "formatting": "alpaca",
        "columns": {**_ALPACA_COLUMNS, "history": "history"},
    }


def sharegpt_entry(file: ExportedFile) -> dict[str, Any]:
    return {
        "file_name": file.path.name,
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", "system": "system"},
        "tags": dict(_SHAREGPT_TAGS),
    }


def hub_entry(repo_id: str, config: str) -> dict[str, Any]:
    """The config on the Hub's main branch, without ``history`` (see the module docstring).

    No ``revision`` key: LLaMA-Factory would ignore it, and an entry should not look pinned when it is not.
    """
    return {
        "hf_hub_url": repo_id,
        "subset": config,
        "split": SPLIT,
        "formatting": "alpaca",
        "columns": dict(_ALPACA_COLUMNS),
    }


def merge_dataset_info(path: Path, entries: dict[str, dict[str, Any]]) -> Path:
    """Add ``entries`` to the registry at ``path``, keeping every entry that is already there."""
    registry: dict[str, Any] = {}
    if path.exists():
        registry = read_release_json(
            path.read_bytes(), str(path), lambda why: UsageError(f"{why}; refusing to overwrite it")
        )
    registry.update(entries)
    path.write_text(json.dumps(registry, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def _export_config(
    path: Path,
    options: ExportOptions,
    config: str,
    view: str,
    shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> ExportedFile:
    identity = config == IDENTITY_CONFIG
    rows = load_view(
        options.release,
        config,
        view,
        streaming=True,
        revision=options.revision,
        name=options.name if identity else None,
        author=options.author if identity else None,
        lock=options.lock,
        manifest_sha256=options.manifest_sha256,
    )
    # closed however the writing ends (done, a full disk, an interrupt): closing the dataset's
    # iterator closes the builder's shard readers then and there, not at interpreter shutdown
    with contextlib.closing(iter(rows)) as iterator:
        return ExportedFile(config, path, write_jsonl(path, map(shape, iterator) if shape else iterator))


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object a line (UTF-8, Chinese as is); the number of rows written."""
    count = 0
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def _history_as_pairs(row: dict[str, Any]) -> dict[str, Any]:
    """LLaMA-Factory reads each history turn as a ``[user, assistant]`` pair, the source format."""
    return {**row, "history": [[turn["user"], turn["assistant"]] for turn in row["history"]]}


def _hub_repo(options: ExportOptions) -> str:
    if options.hub_repo:
        return options.hub_repo
    return DEFAULT_REPO_ID if options.is_local else options.release
