"""The manifest of the release a trainer loads, local or on the Hub, read the way ``verify`` reads it.

Export needs it to know which configs a release has; recipes need it to know how many
rows each config holds before a streaming load has read any.
"""

from __future__ import annotations

import os
from pathlib import Path

from chat_dataset_baseline import RELEASE_VERSION
from chatcorpus.release.lock import Lock
from chatcorpus.release.manifest import Manifest
from chatcorpus.release.verify import ReleaseLocation, open_release, read_manifest


def read_release_manifest(release: str | Path, revision: str | None = None, lock: Lock | None = None) -> Manifest:
    """The manifest of ``release`` (a folder, or a Hub repo at ``revision``, the lock's commit, or this package's tag)."""
    if os.path.isdir(release):
        location = ReleaseLocation(folder=Path(release))
    else:
        pinned = lock.commit if lock is not None else revision or f"v{RELEASE_VERSION}"
        location = ReleaseLocation(repo_id=str(release), revision=pinned)
    return read_manifest(open_release(location), str(location))
