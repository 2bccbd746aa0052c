"""A Hub-compatible HTTP server on 127.0.0.1, so tests drive the real clients offline.

``huggingface_hub`` and ``datasets`` are pointed at it (``client_environment``) and used
unchanged: ``create_repo``, ``create_commit`` (preupload, LFS batch with the basic
transfer, the NDJSON commit with ``parentCommit``), ``create_tag``, ``list_repo_refs``,
``list_repo_tree`` (paginated), ``get_paths_info``, ``repo_info``, file resolution with
``HEAD`` and ``Range``, and pull requests (``refs/pr/N``). It keeps git-like history: a
commit is an immutable snapshot ``path -> blob``, branches, tags and PR refs point at
commits, so an old tag stays loadable after new releases.

Three things make it a test instrument rather than a mock of one call:

* faults: a status code on the Nth request matching a pattern, a connection dropped in
  the middle of an upload or after a request was applied (a lost response), and a
  conflicting commit slipped in just before the client's commit;
* storage corruption: ``tamper`` rewrites a stored object behind the metadata's back,
  as bit rot or a truncated upload would;
* accounting: every request with the bytes it carried, and every LFS object received.

Only the standard library is used; it is not a general Hub, only the part these clients
touch, answered the way the Hub answers (headers, error codes, JSON shapes).
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import hashlib
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_BRANCH = "main"
#: What the Hub's default ``.gitattributes`` sends to LFS, by file name.
LFS_PATTERNS = ("*.parquet", "*.arrow", "*.bin", "*.safetensors", "*.pt", "*.zst", "*.gz", "*.zip", "*.tar", "*.npy")
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024
GITATTRIBUTES = "".join(f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in LFS_PATTERNS).encode()
KINDS = {"models": "model", "datasets": "dataset", "spaces": "space"}
_REV = r"(?P<rev>refs/(?:pr|convert)/[^/]+|[^/]+)"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


# --- the repository store ---------------------------------------------------------------


@dataclass(frozen=True)
class Blob:
    """A file as git stores it: inline bytes, or (LFS) a pointer to an object in the LFS store."""

    size: int
    sha256: str
    lfs: bool
    inline: bytes = b""  # regular files only; LFS bytes live in ``Repo.lfs``

    @property
    def pointer(self) -> bytes:
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n".encode()

    @property
    def git_oid(self) -> str:
        """The oid git would give the file: of its pointer for LFS files, of its bytes otherwise."""
        return git_blob_sha1(self.pointer if self.lfs else self.inline)

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.git_oid


@dataclass(frozen=True)
class Commit:
    oid: str
    parents: tuple[str, ...]
    title: str
    message: str
    date: str
    files: Mapping[str, Blob]  # an immutable snapshot of the whole tree


@dataclass
class PullRequest:
    num: int
    title: str
    base: str
    created_at: str = field(default_factory=_now)

    @property
    def ref(self) -> str:
        return f"refs/pr/{self.num}"


class RevisionNotFound(Exception):
    pass


@dataclass
class Repo:
    kind: str  # "dataset", "model" or "space"
    repo_id: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    pr_heads: dict[int, str] = field(default_factory=dict)
    lfs: dict[str, bytes] = field(default_factory=dict)  # the object store, by sha256
    created_at: str = field(default_factory=_now)

    @property
    def url_prefix(self) -> str:
        return "" if self.kind == "model" else f"{self.kind}s/"

    def resolve(self, revision: str | None) -> Commit:
        """A branch, a tag, ``refs/pr/N``, ``refs/heads|tags/X`` or a (short) commit oid."""
        revision = revision or DEFAULT_BRANCH
        for prefix, refs in (("refs/heads/", self.branches), ("refs/tags/", self.tags)):
            if revision.startswith(prefix) and revision[len(prefix) :] in refs:
                return self.commits[refs[revision[len(prefix) :]]]
        if revision in self.branches:
            return self.commits[self.branches[revision]]
        if revision in self.tags:
            return self.commits[self.tags[revision]]
        if (match := re.fullmatch(r"refs/pr/(\d+)", revision)) and int(match[1]) in self.pr_heads:
            return self.commits[self.pr_heads[int(match[1])]]
        if re.fullmatch(r"[0-9a-f]{7,40}", revision):
            found = [commit for oid, commit in self.commits.items() if oid.startswith(revision)]
            if len(found) == 1:
                return found[0]
        raise RevisionNotFound(revision)

    def new_commit(self, parent: str | None, files: Mapping[str, Blob], title: str, message: str = "") -> Commit:
        parents = (parent,) if parent else ()
        digest = hashlib.sha1(
            json.dumps([parents, sorted((p, b.git_oid) for p, b in files.items()), title, len(self.commits)]).encode()
        ).hexdigest()
        commit = Commit(digest, parents, title, message, _now(), MappingProxyType(dict(files)))
        self.commits[commit.oid] = commit
        return commit

    def history(self, commit: Commit) -> list[Commit]:
        out = [commit]
        while out[-1].parents:
            out.append(self.commits[out[-1].parents[0]])
        return out

    def data(self, blob: Blob) -> bytes:
        return self.lfs[blob.sha256] if blob.lfs else blob.inline

    def is_lfs(self, path: str, size: int, sample: bytes, files: Mapping[str, Blob]) -> bool:
        """As the Hub decides: ``.gitattributes`` patterns, then size, then binary content."""
        attributes = files.get(".gitattributes")
        patterns = (
            LFS_PATTERNS
            if attributes is None
            else tuple(line.split()[0] for line in attributes.inline.decode().splitlines() if "filter=lfs" in line)
        )
        name = path.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(path, p) for p in patterns) or (
            size >= LFS_SIZE_THRESHOLD or b"\0" in sample
        )


# --- requests, responses, faults --------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str  # still percent-encoded
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def authorized(self) -> bool:
        return self.headers.get("authorization", "").startswith("Bearer ")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def error(cls, status: int, message: str, code: str | None = None, **headers: str) -> Response:
        extra = {"X-Error-Message": message, **headers}
        if code:
            extra["X-Error-Code"] = code
        return cls.json({"error": message}, status, extra)


@dataclass
class RequestRecord:
    method: str
    path: str
    status: int | None  # None when the connection was dropped instead of answered
    received: int  # request body bytes


@dataclass
class Fault:
    """What to do to the ``nth`` (and following, ``times`` in all) request matching ``pattern``.

    ``action``: ``status`` answers ``status`` instead of handling the request; ``drop``
    reads half the body then closes the connection (a dropped upload); ``lose`` handles
    the request, then closes without answering (a lost response); ``conflict`` commits
    ``files`` to ``branch`` of ``repo_id`` just before handling the request.
    """

    pattern: str
    action: str = "status"
    method: str | None = None
    nth: int = 1
    times: int | None = 1  # None: every matching request from the nth on
    status: int = 500
    repo_id: str | None = None
    branch: str = DEFAULT_BRANCH
    files: Mapping[str, bytes] = field(default_factory=dict)
    seen: int = 0
    fired: int = 0

    def applies(self, method: str, path: str) -> bool:
        if (self.method and self.method != method) or not re.search(self.pattern, unquote(path)):
            return False
        self.seen += 1
        if self.seen < self.nth or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True


Route = tuple[str, re.Pattern[str], Callable[..., Response]]


class HubApp:
    """The Hub's semantics: repositories, commits, refs and the endpoints the clients call."""

    def __init__(self, base_url: str, tree_page_size: int = 1000) -> None:
        self.base_url = base_url
        self.tree_page_size = tree_page_size
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_received: list[tuple[str, str, int]] = []  # (repo_id, sha256, bytes) per stored upload
        self.lock = threading.RLock()
        repo = r"/api/(?P<kinds>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)"
        git_repo = r"/(?:(?P<kinds>datasets|spaces)/)?(?P<repo>[^/]+/[^/]+?)"
        self.routes: list[Route] = [
            ("POST", re.compile(r"/api/repos/create"), self.create_repo),
            ("POST", re.compile(r"/api/validate-yaml"), lambda req: Response.json({"errors": [], "warnings": []})),
            ("GET", re.compile(r"/api/whoami-v2"), self.whoami),
            ("GET", re.compile(repo), self.repo_info),
            ("GET", re.compile(repo + r"/revision/(?P<rev>.+)"), self.repo_info),
            ("POST", re.compile(repo + r"/preupload/(?P<rev>.+)"), self.preupload),
            ("POST", re.compile(repo + r"/commit/(?P<rev>.+)"), self.commit),
            ("POST", re.compile(repo + r"/tag/(?P<rev>.+)"), self.create_tag),
            ("DELETE", re.compile(repo + r"/tag/(?P<tag>.+)"), self.delete_tag),
            ("GET", re.compile(repo + r"/refs"), self.refs),
            ("GET", re.compile(repo + r"/tree/" + _REV + r"(?:/(?P<path>.*))?"), self.tree),
            ("POST", re.compile(repo + r"/paths-info/(?P<rev>.+)"), self.paths_info),
            ("GET", re.compile(repo + r"/commits/(?P<rev>.+)"), self.commits),
            ("POST", re.compile(repo + r"/discussions"), self.create_discussion),
            ("GET", re.compile(repo + r"/discussions/(?P<num>\d+)"), self.discussion),
            ("POST", re.compile(git_repo + r"\.git/info/lfs/objects/batch"), self.lfs_batch),
            (
                "PUT",
                re.compile(
                    r"/lfs-upload/(?P<kinds>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)/(?P<oid>[0-9a-f]{64})"
                ),
                self.lfs_put,
            ),
            ("GET", re.compile(git_repo + r"/resolve/" + _REV + r"/(?P<path>.+)"), self.resolve),
            ("HEAD", re.compile(git_repo + r"/resolve/" + _REV + r"/(?P<path>.+)"), self.resolve),
        ]

    # --- plumbing --------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = urlsplit(request.path).path
        for method, pattern, endpoint in self.routes:
            if method == request.method and (match := pattern.fullmatch(path)):
                with self.lock:
                    return endpoint(request, **match.groupdict())
        return Response.error(404, f"no route for {request.method} {path}")

    def repo(self, kinds: str | None, repo: str) -> Repo:
        key = (KINDS.get(kinds or "models", "model"), unquote(repo))
        if key not in self.repos:
            raise KeyError(key)
        return self.repos[key]

    def _with_repo(self, kinds: str | None, repo: str) -> Repo | Response:
        try:
            return self.repo(kinds, repo)
        except KeyError:
            return Response.error(404, "Repository not found", "RepoNotFound")

    @staticmethod
    def _revision_error(revision: str) -> Response:
        return Response.error(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def _repo_at(self, kinds: str | None, repo: str, rev: str) -> tuple[Repo, Commit] | Response:
        """The repo and the commit a (URL-quoted) revision names, or the 404 the Hub answers."""
        found = self._with_repo(kinds, repo)
        if isinstance(found, Response):
            return found
        try:
            return found, found.resolve(unquote(rev))
        except RevisionNotFound:
            return self._revision_error(unquote(rev))

    # --- repositories ------------------------------------------------------------------

    def create_repo(self, request: Request) -> Response:
        if not request.authorized:
            return Response.error(401, "Invalid credentials in Authorization header")
        payload = request.json()
        kind = payload.get("type") or "model"
        repo_id = f"{payload.get('organization') or 'test-user'}/{payload['name']}"
        if (kind, repo_id) in self.repos:
            return Response.error(409, "You already created this repo")
        self.create(repo_id, kind)
        prefix = "" if kind == "model" else f"{kind}s/"
        return Response.json({"url": f"{self.base_url}/{prefix}{repo_id}", "name": repo_id})

    def create(self, repo_id: str, kind: str = "dataset") -> Repo:
        """A new repo whose first commit holds ``.gitattributes``, as on the Hub."""
        repo = Repo(kind, repo_id)
        initial = repo.new_commit(None, {".gitattributes": _inline(GITATTRIBUTES)}, "initial commit")
        repo.branches[DEFAULT_BRANCH] = initial.oid
        self.repos[(kind, repo_id)] = repo
        return repo

    def whoami(self, request: Request) -> Response:
        if not request.authorized:
            return Response.error(401, "Invalid credentials in Authorization header")
        return Response.json(
            {"type": "user", "name": "test-user", "auth": {"accessToken": {"role": "write"}}, "orgs": []}
        )

    def repo_info(self, request: Request, kinds: str, repo: str, rev: str | None = None) -> Response:
        found = self._with_repo(kinds, repo)
        if isinstance(found, Response):
            return found
        revision = unquote(rev) if rev else None
        try:
            commit = found.resolve(revision)
        except RevisionNotFound:
            return self._revision_error(revision or "")
        blobs = request.query.get("blobs", ["false"])[0].lower() == "true"
        siblings = [{"rfilename": p, **(self._blob_meta(b) if blobs else {})} for p, b in sorted(commit.files.items())]
        return Response.json(
            {
                "_id": hashlib.sha1(found.repo_id.encode()).hexdigest()[:24],
                "id": found.repo_id,
                "author": found.repo_id.split("/")[0],
                "sha": commit.oid,
                "lastModified": commit.date,
                "createdAt": found.created_at,
                "private": False,
                "gated": False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "siblings": siblings,
            }
        )

    @staticmethod
    def _blob_meta(blob: Blob) -> dict[str, Any]:
        meta: dict[str, Any] = {"size": blob.size, "blobId": blob.git_oid}
        if blob.lfs:
            meta["lfs"] = {"size": blob.size, "sha256": blob.sha256, "pointerSize": len(blob.pointer)}
        return meta

    # --- uploads and commits ----------------------------------------------------------

    def preupload(self, request: Request, kinds: str, repo: str, rev: str) -> Response:
        found = self._with_repo(kinds, repo)
        if isinstance(found, Response):
            return found
        if not request.authorized:
            return Response.error(401, "Invalid credentials in Authorization header")
        try:
            files = found.resolve(unquote(rev)).files
        except RevisionNotFound:
            return self._revision_error(unquote(rev))
        answers = []
        for entry in request.json()["files"]:
            sample = base64.b64decode(entry["sample"])
            lfs = found.is_lfs(entry["path"], entry["size"], sample, files)
            existing = files.get(entry["path"])
            oid = None if existing is None else (existing.sha256 if lfs else existing.git_oid)
            answers.append(
                {"path": entry["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid}
            )
        return Response.json({"files": answers})

    def lfs_batch(self, request: Request, kinds: str | None, repo: str) -> Response:
        found = self._with_repo(kinds, repo)
        if isinstance(found, Response):
            return found
        if not request.authorized:
            return Response.error(401, "Invalid credentials in Authorization header")
        objects = []
        for obj in request.json()["objects"]:
            answer: dict[str, Any] = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in found.lfs:  # already stored objects are not sent again
                href = f"{self.base_url}/lfs-upload/{found.kind}s/{found.repo_id}/{obj['oid']}?size={obj['size']}"
                answer["actions"] = {"upload": {"href": href, "header": {}}}
            objects.append(answer)
        return Response(
            200,
            json.dumps({"transfer": "basic", "objects": objects}).encode(),
            {"Content-Type": "application/vnd.git-lfs+json"},
        )

    def lfs_put(self, request: Request, kinds: str, repo: str, oid: str) -> Response:
        """The presigned-URL upload: the object is stored only if it is whole and hashes to its oid."""
        found = self._with_repo(kinds, repo)
        if isinstance(found, Response):
            return found
        size = int(request.query.get("size", ["-1"])[0])
        if len(request.body) != size or hashlib.sha256(request.body).hexdigest() != oid:
            return Response.error(400, f"uploaded content does not match oid {oid} and size {size}")
        found.lfs[oid] = request.body
        self.lfs_received.append((found.repo_id, oid, size))
        return Response(200)

    def commit(self, request: Request, kinds: str, repo: str, rev: str) -> Response:
        found = self._with_repo(kinds, repo)
        if isinstance(found, Response):
            return found
        if not request.authorized:
            return Response.error(401, "Invalid credentials in Authorization header")
        revision = unquote(rev)
        lines = [json.loads(line) for line in request.body.splitlines() if line.strip()]
        header = next((line["value"] for line in lines if line["key"] == "header"), {})
        create_pr = request.query.get("create_pr", ["0"])[0] == "1"
        if revision not in found.branches:
            return (
                self._revision_error(revision)
                if not create_pr
                else Response.error(400, f"cannot open a PR on {revision}")
            )
        head = found.branches[revision]
        parent = header.get("parentCommit")
        if parent and not create_pr and not head.startswith(parent):
            return Response.error(412, "A commit has happened since. Please refresh and try again.")
        base_oid = found.resolve(parent).oid if (parent and create_pr) else head
        files = dict(found.commits[base_oid].files)
        problem = self._apply_operations(found, files, lines)
        if problem is not None:
            return problem
        commit = found.new_commit(base_oid, files, header.get("summary", ""), header.get("description", ""))
        answer = {
            "success": True,
            "commitOid": commit.oid,
            "commitUrl": f"{self.base_url}/{found.url_prefix}{found.repo_id}/commit/{commit.oid}",
        }
        if create_pr:
            pull = PullRequest(len(found.pulls) + 1, header.get("summary", ""), revision)
            found.pulls[pull.num] = pull
            found.pr_heads[pull.num] = commit.oid
            answer["pullRequestUrl"] = f"{self.base_url}/{found.url_prefix}{found.repo_id}/discussions/{pull.num}"
        else:
            found.branches[revision] = commit.oid
        return Response.json(answer)

    def _apply_operations(self, repo: Repo, files: dict[str, Blob], lines: list[dict[str, Any]]) -> Response | None:
        for line in lines:
            key, value = line["key"], line["value"]
            if key == "file":
                files[value["path"]] = _inline(base64.b64decode(value["content"]))
            elif key == "lfsFile":
                if value["oid"] not in repo.lfs:
                    return Response.error(
                        422,
                        f"Your push was rejected because an LFS pointer pointed to a file that does not exist: {value['path']}",
                    )
                files[value["path"]] = Blob(len(repo.lfs[value["oid"]]), value["oid"], lfs=True)
            elif key == "deletedFile":
                if files.pop(value["path"], None) is None:
                    return Response.error(404, f"A file with this name doesn't exist: {value['path']}", "EntryNotFound")
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                for path in [p for p in files if p.startswith(prefix)]:
                    del files[path]
        return None

    def commit_files(
        self,
        repo_id: str,
        files: Mapping[str, bytes | None],
        branch: str = DEFAULT_BRANCH,
        title: str = "commit",
        kind: str = "dataset",
    ) -> str:
        """A commit made on the server side (another writer, or test setup); ``None`` deletes a path."""
        with self.lock:
            repo = self.repos[(kind, repo_id)]
            snapshot = dict(repo.commits[repo.branches[branch]].files)
            for path, data in files.items():
                if data is None:
                    snapshot.pop(path, None)
                    continue
                lfs = repo.is_lfs(path, len(data), data[:512], snapshot)
                if lfs:
                    repo.lfs[hashlib.sha256(data).hexdigest()] = data
                snapshot[path] = Blob(len(data), hashlib.sha256(data).hexdigest(), lfs) if lfs else _inline(data)
            commit = repo.new_commit(repo.branches[branch], snapshot, title)
            repo.branches[branch] = commit.oid
            return commit.oid

    # --- refs ---------------------------------------------------------------------------

    def create_tag(self, request: Request, kinds: str, repo: str, rev: str) -> Response:
        found = self._with_repo(kinds, repo)
        if isinstance(found, Response):
            return found
        if not request.authorized:
            return Response.error(401, "Invalid credentials in Authorization header")
        tag = request.json()["tag"]
        if tag in found.tags:
            return Response.error(409, f"Tag {tag} already exists")
        try:
            found.tags[tag] = found.resolve(unquote(rev)).oid
        except RevisionNotFound:
            return self._revision_error(unquote(rev))
        return Response.json({})

    def delete_tag(self, request: Request, kinds: str, repo: str, tag: str) -> Response:
        found = self._with_repo(kinds, repo)
        if isinstance(found, Response):
            return found
        if found.tags.pop(unquote(tag), None) is None:
            return self._revision_error(unquote(tag))
        return Response.json({})

    def refs(self, request: Request, kinds: str, repo: str) -> Response:
        found = self._with_repo(kinds, repo)
        if isinstance(found, Response):
            return found

        def ref(name: str, full: str, oid: str) -> dict[str, str]:
            return {"name": name, "ref": full, "targetCommit": oid}

        body: dict[str, Any] = {
            "branches": [ref(n, f"refs/heads/{n}", oid) for n, oid in sorted(found.branches.items())],
            "tags": [ref(n, f"refs/tags/{n}", oid) for n, oid in sorted(found.tags.items())],
            "converts": [],
        }
        if request.query.get("include_prs"):
            body["pullRequests"] = [ref(p.ref, p.ref, found.pr_heads[n]) for n, p in sorted(found.pulls.items())]
        return Response.json(body)

    def commits(self, request: Request, kinds: str, repo: str, rev: str) -> Response:
        located = self._repo_at(kinds, repo, rev)
        if isinstance(located, Response):
            return located
        found, head = located
        return Response.json(
            [
                {
                    "id": c.oid,
                    "title": c.title,
                    "message": c.message,
                    "date": c.date,
                    "authors": [{"user": "test-user"}],
                }
                for c in found.history(head)
            ]
        )

    def create_discussion(self, request: Request, kinds: str, repo: str) -> Response:
        """An empty pull request against main, to be filled by commits on ``refs/pr/N``."""
        found = self._with_repo(kinds, repo)
        if isinstance(found, Response):
            return found
        payload = request.json()
        if not payload.get("pullRequest"):
            return Response.error(400, "only pull requests are supported here")
        pull = PullRequest(len(found.pulls) + 1, payload["title"], DEFAULT_BRANCH)
        found.pulls[pull.num] = pull
        found.pr_heads[pull.num] = found.branches[DEFAULT_BRANCH]
        return Response.json(
            {"num": pull.num, "url": f"{self.base_url}/{found.url_prefix}{found.repo_id}/discussions/{pull.num}"}
        )

    def discussion(self, request: Request, kinds: str, repo: str, num: str) -> Response:
        found = self._with_repo(kinds, repo)
        if isinstance(found, Response):
            return found
        pull = found.pulls.get(int(num))
        if pull is None:
            return Response.error(404, f"Discussion {num} not found")
        return Response.json(
            {
                "num": pull.num,
                "title": pull.title,
                "status": "open",
                "createdAt": pull.created_at,
                "author": {"name": "test-user"},
                "repo": {"name": found.repo_id, "type": found.kind},
                "isPullRequest": True,
                "changes": {"base": f"refs/heads/{pull.base}"},
                "filesWithConflicts": [],
                "events": [],
            }
        )

    # --- reading --------------------------------------------------------------------------

    def tree(self, request: Request, kinds: str, repo: str, rev: str, path: str | None = None) -> Response:
        """One page of a folder's entries (all descendants with ``recursive``), Link-paginated."""
        located = self._repo_at(kinds, repo, rev)
        if isinstance(located, Response):
            return located
        found, commit = located
        revision = unquote(rev)
        folder = unquote(path or "").strip("/")
        recursive = request.query.get("recursive", ["false"])[0].lower() == "true"
        entries = _tree_entries(commit, folder, recursive)
        if entries is None:
            return Response.error(
                404, f"{folder} does not exist at {revision}", "EntryNotFound", **{"X-Repo-Commit": commit.oid}
            )
        expand = request.query.get("expand", ["false"])[0].lower() == "true"
        start = int(request.query.get("cursor", ["0"])[0])
        page = entries[start : start + self.tree_page_size]
        headers = {}
        if start + self.tree_page_size < len(entries):
            query = (
                f"recursive={str(recursive).lower()}&expand={str(expand).lower()}&cursor={start + self.tree_page_size}"
            )
            headers["Link"] = f'<{self.base_url}{urlsplit(request.path).path}?{query}>; rel="next"'
        return Response.json([self._entry(found, commit, entry, expand) for entry in page], headers=headers)

    def paths_info(self, request: Request, kinds: str, repo: str, rev: str) -> Response:
        located = self._repo_at(kinds, repo, rev)
        if isinstance(located, Response):
            return located
        found, commit = located
        form = parse_qs(request.body.decode())
        expand = form.get("expand", ["False"])[0].lower() == "true"
        folders = _folders(commit.files)
        out = []
        for path in form.get("paths", []):
            path = path.strip("/")
            if path in commit.files or path in folders:
                out.append(self._entry(found, commit, path, expand))
        return Response.json(out)

    def _entry(self, repo: Repo, commit: Commit, path: str, expand: bool) -> dict[str, Any]:
        blob = commit.files.get(path)
        if blob is None:
            listing = sorted((p, b.git_oid) for p, b in commit.files.items() if p.startswith(path + "/"))
            entry: dict[str, Any] = {
                "type": "directory",
                "oid": hashlib.sha1(json.dumps(listing).encode()).hexdigest(),
                "size": 0,
                "path": path,
            }
        else:
            entry = {"type": "file", "oid": blob.git_oid, "size": blob.size, "path": path}
            if blob.lfs:
                entry["lfs"] = {"oid": blob.sha256, "size": blob.size, "pointerSize": len(blob.pointer)}
        if expand:
            last = _last_commit(repo, commit, path)
            entry["lastCommit"] = {"id": last.oid, "title": last.title, "date": last.date}
        return entry

    def resolve(self, request: Request, kinds: str | None, repo: str, rev: str, path: str) -> Response:
        """The file's bytes (or a Range of them), with the headers ``hf_hub_download`` relies on."""
        located = self._repo_at(kinds, repo, rev)
        if isinstance(located, Response):
            return located
        found, commit = located
        blob = commit.files.get(unquote(path))
        if blob is None:
            return Response.error(404, "Entry not found", "EntryNotFound", **{"X-Repo-Commit": commit.oid})
        data = found.data(blob)
        headers = {
            "ETag": f'"{blob.etag}"',
            "X-Repo-Commit": commit.oid,
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }
        span = _byte_range(request.headers.get("range"), len(data))
        if span is None:
            return Response(200, data, headers)
        if span == ():
            return Response(416, b"", {**headers, "Content-Range": f"bytes */{len(data)}"})
        first, last = span
        return Response(206, data[first : last + 1], {**headers, "Content-Range": f"bytes {first}-{last}/{len(data)}"})

    # --- storage faults ---------------------------------------------------------------------

    def tamper(
        self, repo_id: str, revision: str, path: str, change: Callable[[bytes], bytes], kind: str = "dataset"
    ) -> None:
        """Rewrite a stored file's bytes in place, keeping its recorded oid: what bit rot looks like."""
        with self.lock:
            repo = self.repos[(kind, repo_id)]
            blob = repo.resolve(revision).files[path]
            if blob.lfs:
                repo.lfs[blob.sha256] = change(repo.lfs[blob.sha256])
                return
            bad = replace(blob, inline=change(blob.inline))
            for oid, commit in list(repo.commits.items()):
                if commit.files.get(path) is blob:
                    repo.commits[oid] = replace(commit, files=MappingProxyType({**commit.files, path: bad}))


def _inline(data: bytes) -> Blob:
    return Blob(len(data), hashlib.sha256(data).hexdigest(), lfs=False, inline=data)


def _folders(files: Mapping[str, Blob]) -> set[str]:
    return {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}


def _tree_entries(commit: Commit, folder: str, recursive: bool) -> list[str] | None:
    """Paths under ``folder``: direct children, or every file and folder below with ``recursive``."""
    folders = _folders(commit.files)
    if folder and folder not in folders:
        return None
    prefix = folder + "/" if folder else ""
    below = [p for p in sorted(set(commit.files) | folders) if p.startswith(prefix)]
    if recursive:
        return below
    return [p for p in below if "/" not in p[len(prefix) :]]


def _last_commit(repo: Repo, commit: Commit, path: str) -> Commit:
    history = repo.history(commit)
    for newer, older in zip(history, history[1:], strict=False):
        if newer.files.get(path) != older.files.get(path):
            return newer
    return history[-1]


def _byte_range(header: str | None, size: int) -> tuple[int, int] | tuple[()] | None:
    """``(first, last)`` inclusive for a satisfiable ``bytes=`` header, ``()`` if unsatisfiable, None if absent."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", (header or "").strip())
    if not match or (not match[1] and not match[2]):
        return None
    if not match[1]:
        first, last = max(size - int(match[2]), 0), size - 1
    else:
        first, last = int(match[1]), min(int(match[2]) if match[2] else size - 1, size - 1)
    return () if first >= size or first > last else (first, last)


# --- HTTP ---------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, as the clients use it; the Hub logic is in ``HubApp``."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: without this, each answer waits ~40 ms
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        hub = self.server.hub
        fault = hub.next_fault(method, self.path)
        if fault is not None and fault.action == "conflict":
            hub.app.commit_files(fault.repo_id or "", dict(fault.files), fault.branch, title="a concurrent commit")
        if fault is not None and fault.action == "drop":
            received = self._read_body(limit_half=True)
            hub.record(RequestRecord(method, self.path, None, len(received)))
            return self._drop()
        body = self._read_body()
        split = urlsplit(self.path)
        request = Request(
            method, self.path, parse_qs(split.query), {k.lower(): v for k, v in self.headers.items()}, body
        )
        if fault is not None and fault.action == "status":
            response = Response.error(fault.status, f"injected fault: {fault.status}")
        else:
            response = hub.app.handle(request)
        if fault is not None and fault.action == "lose":
            hub.record(RequestRecord(method, self.path, None, len(body)))
            return self._drop()
        hub.record(RequestRecord(method, self.path, response.status, len(body)))
        self._send(method, response)

    def _read_body(self, limit_half: bool = False) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked(limit_half)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length // 2 if limit_half else length)

    def _read_chunked(self, limit_half: bool) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
            if limit_half:
                return b"".join(chunks)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, method: str, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(response.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    hub: HubServer


class HubServer:
    """The server's lifecycle and the handles tests hold: faults, tampering, accounting.

    >>> with HubServer() as hub:
    ...     hub.url  # http://127.0.0.1:<free port>
    """

    def __init__(self, tree_page_size: int = 1000) -> None:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.hub = self
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.app = HubApp(self.url, tree_page_size)
        self.requests: list[RequestRecord] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> HubServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="hub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- faults -------------------------------------------------------------------------

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def fail(
        self, pattern: str, status: int = 500, nth: int = 1, times: int | None = 1, method: str | None = None
    ) -> Fault:
        """Answer ``status`` to the nth request matching ``pattern`` (``times=None``: and all after)."""
        return self.inject(Fault(pattern, "status", method, nth, times, status))

    def drop(
        self, pattern: str, nth: int = 1, times: int | None = 1, method: str | None = None, after: bool = False
    ) -> Fault:
        """Close the connection half way through the request body, or (``after``) once it was applied."""
        return self.inject(Fault(pattern, "lose" if after else "drop", method, nth, times))

    def conflict(
        self, repo_id: str, files: Mapping[str, bytes], pattern: str = r"/commit/", branch: str = DEFAULT_BRANCH
    ) -> Fault:
        """Let another writer commit ``files`` to ``branch`` just before the client's matching request."""
        return self.inject(Fault(pattern, "conflict", "POST", repo_id=repo_id, branch=branch, files=files))

    def next_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            return next((fault for fault in self.faults if fault.applies(method, path)), None)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    # --- accounting ---------------------------------------------------------------------

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self.requests.append(entry)

    def mark(self) -> int:
        """A position in the request log, to account for what happened after it."""
        with self._lock:
            return len(self.requests)

    def since(self, mark: int = 0, method: str | None = None, pattern: str = "") -> list[RequestRecord]:
        with self._lock:
            return [
                r
                for r in self.requests[mark:]
                if (method is None or r.method == method) and re.search(pattern, unquote(r.path))
            ]

    def received_bytes(self, mark: int = 0) -> int:
        return sum(r.received for r in self.since(mark))

    # --- state for assertions and setup ---------------------------------------------------

    def repo(self, repo_id: str, kind: str = "dataset") -> Repo:
        return self.app.repos[(kind, repo_id)]

    def files(self, repo_id: str, revision: str = DEFAULT_BRANCH, kind: str = "dataset") -> dict[str, bytes]:
        """The snapshot at ``revision``: path -> bytes, as a client downloading it would get them."""
        with self.app.lock:
            repo = self.repo(repo_id, kind)
            return {path: repo.data(blob) for path, blob in repo.resolve(revision).files.items()}

    def commit_files(
        self, repo_id: str, files: Mapping[str, bytes | None], branch: str = DEFAULT_BRANCH, title: str = "commit"
    ) -> str:
        return self.app.commit_files(repo_id, files, branch, title)

    def tamper(self, repo_id: str, revision: str, path: str, change: Callable[[bytes], bytes]) -> None:
        self.app.tamper(repo_id, revision, path, change)


# --- pointing the clients at the server ---------------------------------------------------


def client_settings(
    url: str, home: Path, token: str = "hf_local_test_server"
) -> tuple[dict[str, str], list[tuple[str, str, Any]]]:
    """The environment for a subprocess and the module constants for this process.

    ``huggingface_hub`` and ``datasets`` read ``HF_ENDPOINT`` and friends once, at import,
    into module constants; a process that imported them already needs those patched. The
    token is a dummy: the server only checks that writes carry one.
    """
    hub_cache = home / "hub"
    env = {
        "HF_ENDPOINT": url,
        "HF_TOKEN": token,
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(hub_cache),
        "HF_DATASETS_CACHE": str(home / "datasets"),
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
        "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    }
    constants = [
        ("huggingface_hub.constants", "ENDPOINT", url),
        ("huggingface_hub.constants", "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}"),
        ("huggingface_hub.constants", "HF_URL_HOSTS", frozenset({"hf.co", "huggingface.co", "127.0.0.1"})),
        ("huggingface_hub.constants", "HF_HUB_OFFLINE", False),
        ("huggingface_hub.constants", "HF_HUB_DISABLE_XET", True),
        ("huggingface_hub.constants", "HF_HUB_DISABLE_TELEMETRY", True),
        ("huggingface_hub.constants", "HF_HOME", str(home)),
        ("huggingface_hub.constants", "HF_HUB_CACHE", str(hub_cache)),
        ("huggingface_hub.constants", "HUGGINGFACE_HUB_CACHE", str(hub_cache)),
        ("huggingface_hub.constants", "HF_ASSETS_CACHE", str(home / "assets")),
        ("huggingface_hub.constants", "HF_XET_CACHE", str(home / "xet")),
        ("huggingface_hub.constants", "HF_TOKEN_PATH", str(home / "token")),
        ("huggingface_hub.constants", "HF_STORED_TOKENS_PATH", str(home / "stored_tokens")),
        ("datasets.config", "HF_ENDPOINT", url),
        ("datasets.config", "HUB_DATASETS_URL", url + "/datasets/{repo_id}/resolve/{revision}/{path}"),
        ("datasets.config", "HF_HUB_OFFLINE", False),
        ("datasets.config", "HF_DATASETS_OFFLINE", False),
        ("datasets.config", "HF_UPDATE_DOWNLOAD_COUNTS", False),
        ("datasets.config", "USE_PARQUET_EXPORT", False),
        ("datasets.config", "HF_DATASETS_CACHE", home / "datasets"),
    ]
    return env, constants


@contextlib.contextmanager
def client_environment(url: str, home: Path) -> Iterator[dict[str, str]]:
    """Point this process's ``huggingface_hub`` and ``datasets`` at ``url``; restore them after.

    Yields the environment a subprocess needs for the same. Used by benchmarks; the pytest
    fixture does the same through ``monkeypatch``.
    """
    import importlib
    import os

    env, constants = client_settings(url, home)
    saved_env = {name: os.environ.get(name) for name in [*env, "HF_HUB_OFFLINE"]}
    saved = [(module, name, getattr(importlib.import_module(module), name)) for module, name, _ in constants]
    os.environ.update(env)
    os.environ.pop("HF_HUB_OFFLINE", None)
    for module, name, value in constants:
        setattr(importlib.import_module(module), name, value)
    reset_client_caches()
    try:
        yield {**os.environ}
    finally:
        for module, name, value in saved:
            setattr(importlib.import_module(module), name, value)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_client_caches()


def reset_client_caches() -> None:
    """Forget cached filesystems and pooled connections, which remember an old endpoint."""
    from huggingface_hub import HfFileSystem
    from huggingface_hub.utils import _http

    HfFileSystem.clear_instance_cache()
    _http.close_session()
