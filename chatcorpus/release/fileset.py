"""The closed file set of a release: what a build registers, what push uploads, what verify accepts.

``manifest.json`` lists every file of a release besides itself and the card; the rules
of where each kind of file may live are the builder's (``FILE_KINDS``,
``release_path_problem``), so a load checks exactly what a build wrote. A build step
that adds a file to a release writes it through ``ReleaseFileSet.write`` (or writes it
itself and calls ``add``) before the manifest is written::

    files.write("index/alpaca-zh.parquet", "index", data)

``inventory`` is the other direction: the files a release folder really holds, against
what its manifest lists, so push and verify can refuse links and unlisted files.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chat_dataset_baseline import CARD_FILENAME, MANIFEST_FILENAME, ReleasePathError, release_path_problem

#: Not part of a release, never uploaded: git's own folder when the release folder is a clone of the repo.
IGNORED = (".git", ".gitattributes")


@dataclass(frozen=True)
class ReleaseFile:
    """A ``files`` entry of the manifest: a release file that is not a shard."""

    path: str
    kind: str
    bytes: int
    sha256: str

    def manifest_entry(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "bytes": self.bytes, "sha256": self.sha256}


class ReleaseFileSet:
    """The non-shard files of a release being built in ``root``, in the order they were added."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, ReleaseFile] = {}

    def write(self, path: str, kind: str, data: bytes) -> ReleaseFile:
        """Write ``data`` at ``path`` (checked against ``kind``'s rule) and register it."""
        target = self._target(path, kind)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return self._register(path, kind, data)

    def add(self, path: str, kind: str) -> ReleaseFile:
        """Register a file a build step already wrote at ``path``."""
        return self._register(path, kind, self._target(path, kind).read_bytes())

    def entries(self) -> list[dict[str, Any]]:
        """The manifest's ``files``, sorted by path so the manifest bytes do not depend on build order."""
        return [self._files[path].manifest_entry() for path in sorted(self._files)]

    def _target(self, path: str, kind: str) -> Path:
        problem = release_path_problem(path, kind)
        if problem is not None:
            raise ReleasePathError(path, problem, "the release being built")
        if path in self._files:
            raise ReleasePathError(path, "is written twice", "the release being built")
        return self.root.joinpath(*path.split("/"))

    def _register(self, path: str, kind: str, data: bytes) -> ReleaseFile:
        file = ReleaseFile(path, kind, len(data), hashlib.sha256(data).hexdigest())
        self._files[path] = file
        return file


@dataclass
class Inventory:
    """What a release folder holds, against what its manifest lists (all paths "/"-separated)."""

    files: list[str] = field(default_factory=list)  # listed, regular files: the release
    unlisted: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # symbolic links and anything else that is not a regular file
    missing: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [
            *(f"{path}: not listed in {MANIFEST_FILENAME}" for path in self.unlisted),
            *(f"{path}: a symbolic link or special file; a release holds regular files only" for path in self.links),
            *(f"{path}: listed in {MANIFEST_FILENAME} but absent" for path in self.missing),
        ]


def inventory(folder: Path, listed: list[str]) -> Inventory:
    """Walk ``folder`` without following links; ``listed`` are the manifest's files (card and manifest implied)."""
    expected = set(listed) | {MANIFEST_FILENAME, CARD_FILENAME}
    found = Inventory()
    for directory, subdirs, names in os.walk(folder, followlinks=False):
        relative_dir = Path(directory).relative_to(folder).as_posix()
        prefix = "" if relative_dir == "." else f"{relative_dir}/"
        if not prefix:
            subdirs[:] = [d for d in subdirs if d not in IGNORED]
        for name in sorted(subdirs):  # a link to a folder is listed by os.walk as a folder, never entered
            if os.path.islink(os.path.join(directory, name)):
                found.links.append(prefix + name)
        for name in sorted(names):
            path = prefix + name
            if not prefix and name in IGNORED:
                continue
            mode = os.lstat(os.path.join(directory, name)).st_mode
            if not stat.S_ISREG(mode):
                found.links.append(path)
            elif path in expected:
                found.files.append(path)
            else:
                found.unlisted.append(path)
    present = set(found.files) | set(found.links)
    found.missing = sorted(expected - present)
    found.files.sort()
    found.unlisted.sort()
    found.links.sort()
    return found
