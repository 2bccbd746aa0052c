"""The release manifest: what a release holds, so a load can check it got exactly that.

Written as ``manifest.json`` at the release root. It has no timestamps or machine
details, so the same release always gives the same manifest bytes.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chat_dataset_baseline import (
    CONFIGS,
    FILE_KINDS,
    MANIFEST_FILENAME,
    SCHEMA_CHANGES,
    SCHEMA_SINCE,
    check_release_manifest,
    local_release_file,
    manifest_sha256,
    read_release_json,
    release_file_paths,
    schema_fingerprint,
)
from chatcorpus.errors import ManifestError, UsageError
from chatcorpus.release.strict_schema import INTEGER_COMMENT, strict_validator, whole
from chatcorpus.validation.faults import Fault, Severity

MANIFEST_FORMAT = 1
#: X.Y.Z in ASCII digits (``\d`` would admit any Unicode digit, which ``int`` may refuse)
VERSION_PATTERN = whole(r"[0-9]+\.[0-9]+\.[0-9]+")
_VERSION = {"type": "string", "pattern": VERSION_PATTERN}
_SHA256 = {"type": "string", "pattern": whole("[0-9a-f]{64}")}
_COUNT = {"type": "integer", "minimum": 0}
#: A record id (``chatcorpus.validation.records.record_id``): 16 lowercase hex digits.
_RECORD_ID = {"type": "string", "pattern": whole("[0-9a-f]{16}")}
#: The kinds of change a changelog lists per config, in the order every report shows them.
CHANGE_KINDS = ("added", "removed", "changed")
MANIFEST_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://github.com/hikariming/chat-dataset-baseline/schema/manifest.schema.json",
    "title": "chat-dataset-baseline release manifest",
    "$comment": INTEGER_COMMENT,
    "type": "object",
    "required": [
        "format",
        "version",
        "parent",
        "parent_manifest_sha256",
        "schema_fingerprint",
        "configs",
        "files",
        "changelog",
    ],
    "additionalProperties": False,
    "properties": {
        "format": {"type": "integer", "const": MANIFEST_FORMAT},
        "version": _VERSION,
        "parent": {
            "type": ["string", "null"],
            "pattern": VERSION_PATTERN,
            "description": "the version this release was built against",
        },
        "parent_manifest_sha256": {
            "type": ["string", "null"],
            "pattern": _SHA256["pattern"],
            "description": "sha256 of the parent's manifest.json: the identity of the release built on",
        },
        "schema_fingerprint": _SHA256,
        "configs": {
            "type": "object",
            "propertyNames": {"enum": list(CONFIGS)},
            "additionalProperties": {
                "type": "object",
                "required": ["rows", "rejected", "shards"],
                "additionalProperties": False,
                "properties": {
                    "rows": _COUNT,
                    "rejected": _COUNT,
                    "shards": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["path", "rows", "bytes", "sha256"],
                            "additionalProperties": False,
                            "properties": {
                                "path": {"type": "string"},
                                "rows": _COUNT,
                                "bytes": _COUNT,
                                "sha256": _SHA256,
                            },
                        },
                    },
                },
            },
        },
        "files": {
            "type": "array",
            "description": "every file of the release besides the shards, this manifest and the card",
            "items": {
                "type": "object",
                "required": ["path", "kind", "bytes", "sha256"],
                "additionalProperties": False,
                "properties": {
                    "path": {"type": "string"},
                    "kind": {"enum": list(FILE_KINDS)},
                    "bytes": _COUNT,
                    "sha256": _SHA256,
                },
            },
        },
        "faults": {
            "type": "array",
            "description": "what the build's rules found, counted per config (null: the source root), rule and severity; "
            "absent in releases built before it was recorded",
            "items": {
                "type": "object",
                "required": ["config", "rule", "severity", "count"],
                "additionalProperties": False,
                "properties": {
                    "config": {"enum": [*CONFIGS, None]},
                    "rule": {"type": "string", "pattern": whole(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")},  # json.too-deep
                    "severity": {"enum": [severity.value for severity in Severity]},
                    "count": {"type": "integer", "minimum": 1},
                },
            },
        },
        "changelog": {
            "type": "object",
            "description": "ids added, removed and changed against the parent, per config",
            "propertyNames": {"enum": list(CONFIGS)},
            "additionalProperties": {
                "type": "object",
                "required": list(CHANGE_KINDS),
                "additionalProperties": False,
                "properties": {k: {"type": "array", "items": _RECORD_ID} for k in CHANGE_KINDS},
            },
        },
    },
}


def fault_counts(faults: Iterable[Fault], configs: Iterable[str]) -> list[dict[str, Any]]:
    """The manifest's ``faults``: how many faults each rule found, per config and severity.

    A fault belongs to the config whose folder its file is in; the others (files at the
    source root that are no config) are counted under ``None``. Sorted, so the manifest
    bytes do not depend on the order the files were checked in.
    """
    folders = {f"{config}/": config for config in configs}
    counts: Counter[tuple[str, str, str]] = Counter()
    for fault in faults:
        head, slash, _ = fault.path.partition("/")
        config = folders.get(head + slash, "")
        counts[(config, fault.rule, fault.severity.value)] += 1
    return [
        {"config": config or None, "rule": rule, "severity": severity, "count": count}
        for (config, rule, severity), count in sorted(counts.items())
    ]


def format_change_counts(change: dict[str, list[str]]) -> str:
    """``1,204 added, 3 removed, 0 changed``: one config's changelog as the card and the commit show it."""
    return ", ".join(f"{len(change[kind]):,} {kind}" for kind in CHANGE_KINDS)


@dataclass
class Manifest:
    version: str
    configs: dict[str, dict[str, Any]]
    parent: str | None = None
    #: sha256 of the parent's manifest bytes: which release ``parent`` names, not only its version
    parent_manifest_sha256: str | None = None
    changelog: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    schema_fingerprint: str = field(default_factory=schema_fingerprint)
    #: every file besides the shards, the manifest and the card (``fileset.ReleaseFileSet.entries``)
    files: list[dict[str, Any]] = field(default_factory=list)
    #: the build's faults counted by config, rule and severity (``fault_counts``); [] in older releases
    faults: list[dict[str, Any]] = field(default_factory=list)
    #: sha256 of the bytes this manifest was read from; None for one built in memory
    sha256: str | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "version": self.version,
            "parent": self.parent,
            "parent_manifest_sha256": self.parent_manifest_sha256,
            "schema_fingerprint": self.schema_fingerprint,
            "configs": self.configs,
            "files": self.files,
            "faults": self.faults,
            "changelog": self.changelog,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"

    def write(self, root: Path) -> None:
        (root / MANIFEST_FILENAME).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "manifest") -> Manifest:
        errors = sorted(strict_validator(MANIFEST_SCHEMA).iter_errors(data), key=lambda e: e.json_path)
        if errors:
            raise ManifestError(
                f"{where} is not a valid release manifest: "
                + "; ".join(f"{e.json_path}: {e.message}" for e in errors[:5])
            )
        check_release_manifest(data, where)  # every path is data: refused before any file is read
        return cls(
            version=data["version"],
            configs=data["configs"],
            parent=data["parent"],
            parent_manifest_sha256=data["parent_manifest_sha256"],
            changelog=data["changelog"],
            schema_fingerprint=data["schema_fingerprint"],
            files=data["files"],
            faults=data.get("faults", []),
        )

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "manifest") -> Manifest:
        """The manifest in ``data``, remembering the sha256 of those bytes: the release's identity."""
        manifest = cls.from_dict(read_release_json(data, where, ManifestError), where)
        manifest.sha256 = manifest_sha256(data)
        return manifest

    @classmethod
    def read(cls, root: Path) -> Manifest:
        path = root / MANIFEST_FILENAME
        try:
            data = Path(local_release_file(str(root), MANIFEST_FILENAME)).read_bytes()
        except OSError as err:
            raise ManifestError(f"cannot read {path}: {err}") from err
        return cls.from_bytes(data, str(path))

    def release_paths(self) -> list[str]:
        """Every file the release has besides the manifest and the card."""
        return release_file_paths(self.to_dict())


def check_version(version: str) -> None:
    if not re.fullmatch(VERSION_PATTERN, version):
        hint = ""
        if version[:1] in "vV" and re.fullmatch(VERSION_PATTERN, version[1:]):
            hint = f"; write it without the v ({version[1:]}): the tag gets the v, as v{version[1:]}"
        raise UsageError(f"version {version!r} is not X.Y.Z{hint}")
    if version_key(version)[0] < SCHEMA_SINCE:
        added = ", ".join(SCHEMA_CHANGES.get(SCHEMA_SINCE, ()))
        raise UsageError(
            f"version {version} is a {version_key(version)[0]}.x version, but this package builds the schema "
            f"every config has since {SCHEMA_SINCE}.0.0 (it added {added}); a release of it is "
            f"{SCHEMA_SINCE}.0.0 or later"
        )


def version_key(version: str) -> tuple[int, ...]:
    """``X.Y.Z`` as numbers, so that 1.10.0 comes after 1.9.0."""
    return tuple(int(part) for part in version.split("."))


def manifest_schema_text() -> str:
    return json.dumps(MANIFEST_SCHEMA, indent=2, ensure_ascii=False) + "\n"
