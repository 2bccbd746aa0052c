"""A release of an earlier major, generated from a build of this package.

What a user of the previous release holds is a release built before the shared schema
gained the columns of ``SCHEMA_CHANGES``. It is made here from a good build, never written
by hand: the later columns are taken out of every shard, and the release is sealed again
as a build of that major wrote it (shard names from their new sha256, the manifest's
version, shards and schema fingerprint, the card's YAML and ``croissant.json`` generated
from that major's features).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from unittest import mock

import datasets
import pyarrow.parquet as pq
from huggingface_hub import DatasetCard, HfApi

from chat_dataset_baseline import CARD_FILENAME, MANIFEST_FILENAME, RELEASE_VERSION, schema_fingerprint, schema_of_major
from chatcorpus.release import croissant
from chatcorpus.release.manifest import Manifest
from chatcorpus.release.shards import parquet_bytes

#: The release a user of the previous major holds.
PREVIOUS_VERSION = "1.0.0"
_SHARD_DIGEST = re.compile(r"-[0-9a-f]+\.parquet$")


def reseal_as_major(release: Path, to: Path, version: str = PREVIOUS_VERSION, repo_id: str | None = None) -> Path:
    """A copy of ``release`` as the build of ``version``'s major would have written it; returns ``to``."""
    shutil.copytree(release, to)
    major = int(version.split(".")[0])
    schema = schema_of_major(major)
    features = datasets.Features.from_arrow_schema(schema)
    manifest = json.loads((to / MANIFEST_FILENAME).read_text(encoding="utf-8"))
    renamed = {}
    for entry in manifest["configs"].values():
        for shard in entry["shards"]:
            table = pq.read_table(to / shard["path"]).select(schema.names)
            data = parquet_bytes(table.replace_schema_metadata(features.arrow_schema.metadata))
            digest = hashlib.sha256(data).hexdigest()
            length = len(_SHARD_DIGEST.search(shard["path"])[0]) - len("-.parquet")  # type: ignore[index]
            path = _SHARD_DIGEST.sub(f"-{digest[:length]}.parquet", shard["path"])
            (to / shard["path"]).unlink()
            (to / path).write_bytes(data)
            renamed[shard["path"]] = path
            shard.update(path=path, bytes=len(data), sha256=digest)
    old_version = manifest["version"]
    manifest.update(version=version, parent=None, parent_manifest_sha256=None, changelog={})
    manifest["schema_fingerprint"] = schema_fingerprint(schema)
    sealed = Manifest.from_dict(manifest)
    _reseal_croissant(to, sealed, features, repo_id)
    sealed.write(to)
    _reseal_card(to / CARD_FILENAME, features, renamed, old_version, version)
    return to


def _reseal_croissant(root: Path, manifest: Manifest, features: datasets.Features, repo_id: str | None) -> None:
    """``croissant.json`` regenerated with that major's columns, and its new bytes listed."""
    entry = next(entry for entry in manifest.files if entry["kind"] == croissant.CROISSANT_KIND)
    old = json.loads((root / entry["path"]).read_text(encoding="utf-8"))
    repo = repo_id or old["url"].removeprefix("https://huggingface.co/datasets/")
    with mock.patch.object(croissant, "FEATURES", features):
        data = croissant.croissant_bytes(manifest, repo)
    (root / entry["path"]).write_bytes(data)
    entry.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())


def _reseal_card(card_path: Path, features: datasets.Features, renamed: dict[str, str], old: str, new: str) -> None:
    """The card's ``dataset_info`` features and shard paths as that release had them, and its version."""
    card = DatasetCard(card_path.read_text(encoding="utf-8"))
    names = set(features)
    for info in card.data.dataset_info:
        info["features"] = [feature for feature in info["features"] if feature["name"] in names]
    for config in card.data.configs:
        for files in config["data_files"]:
            files["path"] = [renamed[path] for path in files["path"]]
    text = card.content.replace(f"v{old}", f"v{new}")
    card_path.write_text(text, encoding="utf-8")


def publish_by_hand(release: Path, repo_id: str, version: str = PREVIOUS_VERSION) -> str:
    """Upload ``release`` to the (test) Hub and tag it ``v<version>``, as its own package's push did; its commit."""
    api = HfApi()
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    commit = api.upload_folder(repo_id=repo_id, folder_path=str(release), repo_type="dataset").oid
    api.create_tag(repo_id, tag=f"v{version}", revision=commit, repo_type="dataset")
    return commit


assert int(PREVIOUS_VERSION.split(".")[0]) < int(RELEASE_VERSION.split(".")[0]), (
    "PREVIOUS_VERSION is of an earlier major"
)
