"""Locks: a tag is a name that can be deleted and re-created, a lock is the release itself.

``chat-dataset-baseline lock ORG/NAME@vX.Y.Z`` writes a small JSON file a training repo
commits: the repo, the tag, the commit the tag points at and the sha256 of that commit's
``manifest.json``. Loads given the lock (``load_view``, ``load_recipe``, ``export``) read
the locked commit and refuse any manifest with another sha256 (the builder's
``manifest_sha256=``); ``verify --lock`` reports a tag that no longer points where the
lock says. The manifest pins every shard's sha256, so the lock pins every row.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatcorpus.release.strict_schema import INTEGER_COMMENT, strict_validator, whole

# chatcorpus.errors imports the builder, and with it datasets: imported where an error is raised,
# so that ``--help`` and ``validate``, which name LOCK_FILENAME, stay light
if TYPE_CHECKING:  # the Hub client and datasets load only when a lock is made or checked, not for --help
    from huggingface_hub import HfApi

    from chatcorpus.release.verify import VerifyReport

LOCK_FORMAT = 1
LOCK_FILENAME = "chat-dataset-baseline.lock.json"
_HEX = {"type": "string", "pattern": whole("[0-9a-f]{40}")}
LOCK_SCHEMA: dict[str, Any] = {
    "$comment": INTEGER_COMMENT,
    "type": "object",
    "required": ["format", "repo_id", "tag", "commit", "manifest_sha256"],
    "additionalProperties": False,
    "properties": {
        "format": {"type": "integer", "const": LOCK_FORMAT},
        "repo_id": {"type": "string", "pattern": whole(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")},
        "tag": {"type": "string", "pattern": whole(r"v[0-9]+\.[0-9]+\.[0-9]+")},
        "commit": _HEX,
        "manifest_sha256": {"type": "string", "pattern": whole("[0-9a-f]{64}")},
    },
}


@dataclass(frozen=True)
class Lock:
    """One release, pinned by what cannot be re-created: its commit and its manifest's sha256."""

    repo_id: str
    tag: str
    commit: str
    manifest_sha256: str

    def pin(self, release: str, revision: str | None = None) -> tuple[str, str]:
        """(revision, manifest_sha256) a load of ``release`` reads under this lock: the locked commit."""
        from chatcorpus.errors import UsageError

        if release != self.repo_id:
            raise UsageError(f"the lock is of {self.repo_id}, not of {release}")
        if revision not in (None, self.tag, self.commit):
            raise UsageError(f"the lock pins {self.tag} (commit {self.commit[:12]}), not {revision}")
        return self.commit, self.manifest_sha256

    def to_json(self) -> str:
        return json.dumps({"format": LOCK_FORMAT, **asdict(self)}, indent=2) + "\n"

    def write(self, path: Path) -> Path:
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> Lock:
        from chat_dataset_baseline import read_release_json
        from chatcorpus.errors import LockError

        try:
            raw = path.read_bytes()
        except OSError as err:
            raise LockError(f"cannot read the lock {path}: {err}") from err
        data: dict[str, Any] = read_release_json(raw, f"the lock {path}", LockError)
        errors = sorted(strict_validator(LOCK_SCHEMA).iter_errors(data), key=lambda e: e.json_path)
        if errors:
            raise LockError(
                f"{path} is not a chat-dataset-baseline lock: "
                + "; ".join(f"{e.json_path}: {e.message}" for e in errors)
            )
        del data["format"]
        return cls(**data)


def lock_release(spec: str, api: HfApi | None = None) -> Lock:
    """The lock of ``ORG/NAME@vX.Y.Z`` as the Hub serves it now; its manifest is checked like any release's."""
    from huggingface_hub import HfApi

    from chatcorpus.errors import LockError
    from chatcorpus.release.verify import HubFiles, ReleaseLocation, read_manifest

    location = ReleaseLocation.parse(spec)
    if location.repo_id is None or not location.is_tag:
        raise LockError(f"{spec!r}: a lock pins a Hub release by its version tag, ORG/NAME@vX.Y.Z")
    assert location.revision is not None
    files = HubFiles(api or HfApi(), location.repo_id, location.revision)
    manifest = read_manifest(files, str(location))
    if f"v{manifest.version}" != location.revision:
        raise LockError(f"{location} holds a manifest of version {manifest.version}; refusing to lock it")
    assert files.commit is not None and manifest.sha256 is not None
    return Lock(location.repo_id, location.revision, files.commit, manifest.sha256)


def lock_problems(lock: Lock, api: HfApi | None = None) -> list[str]:
    """Where the Hub no longer agrees with the lock: a deleted or moved tag, another manifest at the tag."""
    from huggingface_hub import HfApi

    from chatcorpus.errors import ReleaseNotFoundError
    from chatcorpus.release.verify import REPO_TYPE, HubFiles, read_manifest

    api = api or HfApi()
    refs = api.list_repo_refs(lock.repo_id, repo_type=REPO_TYPE)
    target = next((ref.target_commit for ref in refs.tags if ref.name == lock.tag), None)
    if target is None:
        return [
            f"the tag {lock.tag} no longer exists on {lock.repo_id}; the locked commit {lock.commit[:12]} still loads"
        ]
    if target == lock.commit:
        return []
    try:
        current = read_manifest(HubFiles(api, lock.repo_id, target), f"{lock.repo_id}@{lock.tag}").sha256
    except (ReleaseNotFoundError, ValueError) as err:
        current = f"unreadable ({err})"
    same = "the same manifest" if current == lock.manifest_sha256 else f"a manifest with sha256 {current}"
    return [
        f"the tag {lock.tag} moved: the lock says commit {lock.commit}, {lock.repo_id} now tags {target} "
        f"({same}); loads with the lock keep reading the locked commit"
    ]


def check_lock(report: VerifyReport, lock: Lock, api: HfApi | None = None) -> None:
    """Add to a ``verify`` report whether the tag still points where the lock says."""
    report.add(
        f"lock: {lock.tag} is commit {lock.commit[:12]} (manifest {lock.manifest_sha256[:12]})",
        *lock_problems(lock, api),
    )
