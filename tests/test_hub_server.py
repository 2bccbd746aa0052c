"""The test Hub answers the real clients as the Hub does: history, refs, listings, ranges, faults."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hub_server import HubServer
from huggingface_hub import CommitOperationAdd, HfApi, HfFileSystem, get_hf_file_metadata, hf_hub_url
from huggingface_hub.errors import HfHubHTTPError, RevisionNotFoundError

from chatcorpus.release.verify import HUB_ERRORS

pytest_plugins = ["hub_fixtures"]

REPO = "org/server-test"
PARQUET = b"PAR1" + bytes(range(256)) * 4 + b"PAR1"  # binary, and named *.parquet: an LFS file


def _commit(api: HfApi, files: dict[str, bytes], parent: str | None = None, **kwargs) -> str:
    operations = [CommitOperationAdd(path, data) for path, data in files.items()]
    return api.create_commit(
        REPO, operations, commit_message="test", repo_type="dataset", parent_commit=parent, **kwargs
    ).oid


def _head(api: HfApi, branch: str = "main") -> str:
    return next(
        ref.target_commit for ref in api.list_repo_refs(REPO, repo_type="dataset").branches if ref.name == branch
    )


@pytest.fixture
def api(hub: HubServer) -> HfApi:
    client = HfApi()
    client.create_repo(REPO, repo_type="dataset")
    return client


def test_a_commit_on_a_stale_parent_is_refused_with_412_and_changes_nothing(hub: HubServer, api: HfApi) -> None:
    first = _head(api)
    second = _commit(api, {"a.txt": b"a"}, parent=first)
    with pytest.raises(HfHubHTTPError) as caught:
        _commit(api, {"b.txt": b"b"}, parent=first)
    assert caught.value.response.status_code == 412
    assert _head(api) == second
    assert set(hub.files(REPO)) == {".gitattributes", "a.txt"}


def test_tags_keep_their_snapshot_after_the_branch_moves(hub: HubServer, api: HfApi) -> None:
    old = _commit(api, {"data/x.parquet": PARQUET, "note.txt": b"v1"})
    api.create_tag(REPO, tag="v1.0.0", revision=old, repo_type="dataset")
    _commit(api, {"note.txt": b"v2"})

    assert hub.files(REPO, "v1.0.0")["note.txt"] == b"v1"
    assert Path(api.hf_hub_download(REPO, "note.txt", repo_type="dataset", revision="v1.0.0")).read_bytes() == b"v1"
    assert Path(api.hf_hub_download(REPO, "note.txt", repo_type="dataset")).read_bytes() == b"v2"
    with pytest.raises(HfHubHTTPError) as caught:
        api.create_tag(REPO, tag="v1.0.0", repo_type="dataset")
    assert caught.value.response.status_code == 409
    with pytest.raises(RevisionNotFoundError):
        api.dataset_info(REPO, revision="v9.9.9")


def test_tree_listing_is_paginated_and_gives_lfs_sha256(hub: HubServer, api: HfApi) -> None:
    files = {f"data/part-{n}.parquet": PARQUET + bytes([n]) for n in range(5)} | {"README.md": b"# hi\n"}
    _commit(api, files)
    mark = hub.mark()
    entries = {e.path: e for e in api.list_repo_tree(REPO, repo_type="dataset", recursive=True) if hasattr(e, "size")}

    assert set(entries) == set(files) | {".gitattributes"}
    assert len(hub.since(mark, "GET", r"/tree/")) > 1  # more entries than one page
    assert entries["data/part-3.parquet"].lfs.sha256 == hashlib.sha256(files["data/part-3.parquet"]).hexdigest()
    assert entries["README.md"].lfs is None
    info = api.get_paths_info(REPO, ["README.md", "data", "absent"], repo_type="dataset")
    assert [type(i).__name__ for i in info] == ["RepoFile", "RepoFolder"]
    siblings = api.dataset_info(REPO, files_metadata=True).siblings
    assert {s.rfilename: s.size for s in siblings}["data/part-0.parquet"] == len(PARQUET) + 1


def test_resolve_answers_head_and_ranges_with_the_hub_headers(hub: HubServer, api: HfApi) -> None:
    commit = _commit(api, {"data/x.parquet": PARQUET})
    meta = get_hf_file_metadata(hf_hub_url(REPO, "data/x.parquet", repo_type="dataset", revision=commit))
    assert (meta.commit_hash, meta.etag, meta.size) == (commit, hashlib.sha256(PARQUET).hexdigest(), len(PARQUET))

    with HfFileSystem().open(f"datasets/{REPO}@{commit}/data/x.parquet", "rb", block_size=16) as f:
        f.seek(100)
        assert f.read(10) == PARQUET[100:110]
    assert 206 in {r.status for r in hub.since(0, "GET", r"/resolve/")}


def test_a_pull_request_commits_to_refs_pr_and_leaves_main_alone(hub: HubServer, api: HfApi) -> None:
    main = _head(api)
    info = api.create_commit(
        REPO,
        [CommitOperationAdd("pr.txt", b"proposed")],
        commit_message="proposal",
        repo_type="dataset",
        create_pr=True,
        parent_commit=main,
    )
    refs = api.list_repo_refs(REPO, repo_type="dataset", include_pull_requests=True)

    assert info.pr_num == 1 and info.pr_revision == "refs/pr/1"
    assert [ref.ref for ref in refs.pull_requests] == ["refs/pr/1"]
    assert _head(api) == main
    assert hub.files(REPO, "refs/pr/1")["pr.txt"] == b"proposed"
    assert api.create_pull_request(REPO, title="another", repo_type="dataset").num == 2


def test_an_injected_status_fails_only_the_chosen_request(hub: HubServer, api: HfApi) -> None:
    hub.fail(r"/commit/", status=503)
    with pytest.raises(HfHubHTTPError):
        _commit(api, {"a.txt": b"a"})
    _commit(api, {"a.txt": b"a"})
    assert [r.status for r in hub.since(0, "POST", r"/commit/")] == [503, 200]


def test_a_dropped_upload_is_retried_whole_and_a_lost_answer_still_commits(hub: HubServer, api: HfApi) -> None:
    hub.drop(r"/lfs-upload/", method="PUT")
    _commit(api, {"data/x.parquet": PARQUET})
    puts = hub.since(0, "PUT")
    assert [r.status for r in puts] == [None, 200] and puts[0].received < len(PARQUET) == puts[1].received

    before = _head(api)
    hub.drop(r"/commit/", after=True)
    with pytest.raises(HUB_ERRORS):  # the client never hears back
        _commit(api, {"b.txt": b"b"}, parent=before)
    assert _head(api) != before and hub.files(REPO)["b.txt"] == b"b"


def test_a_concurrent_commit_can_be_slipped_in_before_the_clients(hub: HubServer, api: HfApi) -> None:
    head = _head(api)
    hub.conflict(REPO, {"other.txt": b"someone else"})
    with pytest.raises(HfHubHTTPError) as caught:
        _commit(api, {"mine.txt": b"mine"}, parent=head)
    assert caught.value.response.status_code == 412
    assert set(hub.files(REPO)) == {".gitattributes", "other.txt"}


def test_tampering_rewrites_stored_bytes_behind_the_metadata(hub: HubServer, api: HfApi) -> None:
    _commit(api, {"data/x.parquet": PARQUET})
    hub.tamper(REPO, "main", "data/x.parquet", lambda data: data[:10])
    entry = api.get_paths_info(REPO, ["data/x.parquet"], repo_type="dataset")[0]
    assert entry.lfs.sha256 == hashlib.sha256(PARQUET).hexdigest()
    assert hub.files(REPO)["data/x.parquet"] == PARQUET[:10]
