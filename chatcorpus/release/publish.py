"""Publish a built release to the Hub: one atomic commit, then its immutable version tag.

Why it works this way:

* One ``create_commit`` carries the whole release (new shards, card, manifest, schema,
  and the deletion of the previous release's files it no longer has), with
  ``parent_commit`` set to the branch head the push was planned against. The Hub applies
  all of it or none of it, and refuses it (HTTP 412) if anyone committed in between, so a
  release is never half applied nor mixed with a concurrent change.
* The tag ``vX.Y.Z`` is then created on that commit. A version is immutable: a version
  already tagged with other content is refused, and pushing the same release again is a
  no-op (the tagged manifest equals the local one). If the commit landed but the tag did
  not, the next push finds the release at the head of the branch and only tags it.
* Retries happen only where they are safe. Preupload calls and LFS uploads are retried
  by ``huggingface_hub`` (objects are content-addressed, so an upload is idempotent). A
  failed commit is retried only after re-reading the branch: if the release is there the
  commit had landed and its answer was lost; if the head is still the planned parent,
  nothing landed and the same commit, still guarded by ``parent_commit``, is sent again;
  anything else is a conflict.

The token comes only from ``huggingface_hub``'s usual places (``HF_TOKEN``, the cached
login), never from the command line, where it would end up in shell histories and CI logs.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, get_token
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.hf_api import RepoFile

from chat_dataset_baseline import CARD_FILENAME, MANIFEST_FILENAME, RELEASE_PLACES, manifest_sha256
from chatcorpus.errors import PublishError, PushConflict, ReleaseRefused, TagPending, UsageError
from chatcorpus.release.card import repos_named
from chatcorpus.release.fileset import inventory
from chatcorpus.release.manifest import Manifest, format_change_counts, version_key
from chatcorpus.release.verify import HUB_ERRORS, REPO_TYPE, verify_release

logger = logging.getLogger(__name__)
COMMIT_ATTEMPTS = 2
TAG_ATTEMPTS = 2
#: Besides what ``HUB_ERRORS`` covers: ``huggingface_hub`` wraps a failed LFS upload in a RuntimeError.
_COMMIT_ERRORS: tuple[type[Exception], ...] = (*HUB_ERRORS, RuntimeError)


@dataclass(frozen=True)
class LocalFile:
    path: str  # in the repo, "/"-separated
    file: Path
    size: int
    sha256: str
    git_oid: str

    @classmethod
    def read(cls, root: Path, file: Path) -> LocalFile:
        data = file.read_bytes()
        return cls(
            file.relative_to(root).as_posix(), file, len(data), hashlib.sha256(data).hexdigest(), git_blob_sha1(data)
        )


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    git_oid: str
    sha256: str | None  # LFS files only

    @classmethod
    def of(cls, entry: RepoFile) -> RemoteFile:
        return cls(entry.path, entry.size, entry.blob_id, entry.lfs.sha256 if entry.lfs else None)

    def same_as(self, local: LocalFile) -> bool:
        """Same bytes: by sha256 for LFS files (what the tree listing gives), by git oid otherwise."""
        same = self.sha256 == local.sha256 if self.sha256 else self.git_oid == local.git_oid
        return same and self.size == local.size


@dataclass
class PushPlan:
    """What a push will do, computed from the branch head it is planned against."""

    repo_id: str
    revision: str
    manifest: Manifest
    head: str | None  # None: the repo does not exist yet
    branch_version: str | None = None
    add: list[LocalFile] = field(default_factory=list)
    keep: list[LocalFile] = field(default_factory=list)
    delete: list[RemoteFile] = field(default_factory=list)
    tagged: str | None = None  # the commit the version tag already points at
    committed: bool = False  # the branch head already holds this release, untagged

    @property
    def tag(self) -> str:
        return f"v{self.manifest.version}"

    def operations(self) -> list[CommitOperationAdd | CommitOperationDelete]:
        """Fresh operation objects: ``create_commit`` mutates them, so a retry needs new ones."""
        return [CommitOperationAdd(f.path, str(f.file)) for f in self.add] + [
            CommitOperationDelete(f.path) for f in self.delete
        ]

    def format(self) -> str:
        at = f"{self.revision} @ {self.head[:12]}" if self.head else "a repo to be created"
        was = f"v{self.branch_version}" if self.branch_version else "no release"
        lines = [f"{self.repo_id} ({at}): {was} -> {self.tag}"]
        rows = [("add", f.path, f.size) for f in self.add] + [("keep", f.path, f.size) for f in self.keep]
        rows += [("delete", f.path, f.size) for f in self.delete]
        width = max((len(path) for _, path, _ in rows), default=0)
        lines += [f"  {verb:<7} {path:<{width}} {size:>12,} B" for verb, path, size in rows]
        lines.append(
            ", ".join(
                _total(verb, files) for verb, files in (("add", self.add), ("keep", self.keep), ("delete", self.delete))
            )
        )
        return "\n".join(lines)

    def commit_description(self) -> str:
        lines = [f"Built on v{self.manifest.parent}." if self.manifest.parent else "A full release."]
        for config, change in self.manifest.changelog.items():
            lines.append(f"- {config}: {format_change_counts(change)}")
        return "\n".join(lines)


def _total(verb: str, files: list[LocalFile] | list[RemoteFile]) -> str:
    return f"{verb} {len(files)} file(s) ({sum(f.size for f in files):,} B)"


@dataclass
class PushOutcome:
    plan: PushPlan
    commit: str | None = None
    pr_url: str | None = None
    tagged: bool = False


class Publisher:
    """One push of one release folder to one repo branch; each method is one step."""

    def __init__(
        self,
        release: Path,
        repo_id: str,
        revision: str = "main",
        api: HfApi | None = None,
    ) -> None:
        self.release = release
        self.repo_id = repo_id
        self.revision = revision
        self.api = api or HfApi()
        self.manifest = Manifest.read(release)
        self.manifest_bytes = (release / MANIFEST_FILENAME).read_bytes()

    def say(self, message: str) -> None:
        """Report a step; the library logs, and the command line decides what to show."""
        logger.info(message)

    # --- planning ---------------------------------------------------------------------

    def check_local(self) -> None:
        """Never publish what does not verify here: a broken release would be immutable once tagged."""
        report = verify_release(str(self.release))
        if not report.ok:
            raise ReleaseRefused(f"{self.release} does not verify, nothing was pushed:\n{report.format()}")
        self.check_card_repo()

    def check_card_repo(self) -> None:
        """The card tells readers to load the repo it is pushed to, or the push is refused:
        a card saying ``load_dataset("someone/else")`` would send every reader elsewhere."""
        named = repos_named((self.release / CARD_FILENAME).read_text(encoding="utf-8")) - {self.repo_id}
        if named:
            raise UsageError(
                f"the card in {self.release} tells readers to load {', '.join(sorted(named))}, not {self.repo_id}; "
                f"build it again with --repo {self.repo_id} (nothing was pushed)"
            )

    def plan(self) -> PushPlan:
        try:
            refs = self.api.list_repo_refs(self.repo_id, repo_type=REPO_TYPE)
        except RepositoryNotFoundError:
            return PushPlan(self.repo_id, self.revision, self.manifest, head=None, add=self._local_files())
        branches = {ref.name: ref.target_commit for ref in refs.branches}
        if self.revision not in branches:
            raise UsageError(
                f"{self.repo_id} has no branch {self.revision!r} (branches: {', '.join(sorted(branches))})"
            )
        plan = PushPlan(self.repo_id, self.revision, self.manifest, head=branches[self.revision])
        plan.tagged = next((ref.target_commit for ref in refs.tags if ref.name == plan.tag), None)
        if plan.tagged is not None:
            self._check_tagged(plan.tagged)
            return plan
        head_manifest = self._manifest_at(branches[self.revision])
        plan.committed = head_manifest == self.manifest_bytes
        plan.branch_version = _manifest_version(head_manifest) if head_manifest else None
        if not plan.committed:
            self._check_lineage(plan.branch_version, head_manifest)
            self._diff(plan)
        return plan

    def _check_tagged(self, commit: str) -> None:
        if self._manifest_at(commit) != self.manifest_bytes:
            raise ReleaseRefused(
                f"v{self.manifest.version} is already published on {self.repo_id} (commit {commit[:12]}) with other "
                "content; a published version never changes: build this release under a new version"
            )

    def _check_lineage(self, branch_version: str | None, branch_manifest: bytes | None) -> None:
        """An incremental release goes on the very release it was built on (the same manifest bytes, not
        only the same version string); any release goes on an older one."""
        parent = self.manifest.parent
        if parent is not None and parent != branch_version:
            holds = (
                f"v{branch_version}, build it again with --base {self.repo_id}@v{branch_version}"
                if branch_version
                else "no release"
            )
            raise ReleaseRefused(
                f"this release was built on v{parent} but {self.repo_id}@{self.revision} holds {holds}"
            )
        expected = self.manifest.parent_manifest_sha256
        if parent is not None and branch_manifest is not None and manifest_sha256(branch_manifest) != expected:
            raise ReleaseRefused(
                f"this release was built on a v{parent} whose manifest has sha256 {expected}, but the v{parent} on "
                f"{self.repo_id}@{self.revision} has {manifest_sha256(branch_manifest)}: another release under the "
                f"same version. Its changelog would be wrong; build it again with --base {self.repo_id}@v{parent}"
            )
        if branch_version is not None and version_key(self.manifest.version) <= version_key(branch_version):
            raise ReleaseRefused(
                f"{self.repo_id}@{self.revision} holds v{branch_version}; v{self.manifest.version} is not newer"
            )

    def _diff(self, plan: PushPlan) -> None:
        assert plan.head is not None
        remote = {
            entry.path: RemoteFile.of(entry)
            for entry in self.api.list_repo_tree(self.repo_id, recursive=True, revision=plan.head, repo_type=REPO_TYPE)
            if isinstance(entry, RepoFile)
        }
        local = self._local_files()
        for file in local:
            (plan.keep if file.path in remote and remote[file.path].same_as(file) else plan.add).append(file)
        paths = {file.path for file in local}
        # what a release owns in the repo is replaced; files elsewhere (.gitattributes, a LICENSE) are left alone
        plan.delete = [f for p, f in sorted(remote.items()) if p not in paths and p.startswith(RELEASE_PLACES)]

    def _local_files(self) -> list[LocalFile]:
        """Exactly the release: the manifest's files, the manifest and the card; refused if the folder holds more."""
        held = inventory(self.release, self.manifest.release_paths())
        problems = held.problems()
        if problems:
            raise ReleaseRefused(
                f"{self.release} is not exactly the release its manifest lists, nothing was pushed:\n  "
                + "\n  ".join(problems)
            )
        return [LocalFile.read(self.release, self.release.joinpath(*path.split("/"))) for path in held.files]

    def _manifest_at(self, commit: str) -> bytes | None:
        try:
            path = self.api.hf_hub_download(self.repo_id, MANIFEST_FILENAME, repo_type=REPO_TYPE, revision=commit)
        except EntryNotFoundError:
            return None
        return Path(path).read_bytes()

    def _head(self) -> str | None:
        """The branch's head commit; None if the branch is gone (which is a conflict too)."""
        refs = self.api.list_repo_refs(self.repo_id, repo_type=REPO_TYPE)
        return next((ref.target_commit for ref in refs.branches if ref.name == self.revision), None)

    # --- committing and tagging ----------------------------------------------------------

    def commit(self, plan: PushPlan, create_pr: bool) -> PushOutcome:
        failure: BaseException | None = None
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            try:
                info = self.api.create_commit(
                    self.repo_id,
                    plan.operations(),
                    commit_message=f"Release {plan.tag}",
                    commit_description=plan.commit_description(),
                    repo_type=REPO_TYPE,
                    revision=self.revision,
                    parent_commit=plan.head,
                    create_pr=create_pr,
                )
                return PushOutcome(plan, info.oid, info.pr_url)
            except HfHubHTTPError as err:
                if err.response is not None and err.response.status_code == 412:
                    raise PushConflict(self._moved(plan, "another commit landed first")) from err
                failure = err
            except _COMMIT_ERRORS as err:
                failure = err
            if create_pr:
                raise PublishError(
                    f"opening the pull request failed ({_brief(failure)}); {self.revision} is unchanged, "
                    f"but check {self.repo_id}'s pull requests before trying again"
                ) from failure
            landed = self._recheck(plan, failure)
            if landed is not None:
                return PushOutcome(plan, landed)
            if attempt < COMMIT_ATTEMPTS:
                self.say(f"commit failed ({_brief(failure)}); {self.revision} is unchanged, sending it again")
        raise PublishError(
            f"the commit failed {COMMIT_ATTEMPTS} times, last with: {_brief(failure)}. "
            f"{self.repo_id}@{self.revision} is unchanged at {plan.head[:12] if plan.head else '?'}; nothing was published"
        ) from failure

    def _recheck(self, plan: PushPlan, failure: BaseException | None) -> str | None:
        """After a failed commit: the commit that holds this release if it landed, None to retry."""
        try:
            head = self._head()
            landed = head is not None and head != plan.head and self._manifest_at(head) == self.manifest_bytes
        except HUB_ERRORS as err:
            raise PublishError(
                f"the commit failed ({_brief(failure)}) and the branch could not be re-read ({_brief(err)}); "
                f"run `chat-dataset-baseline verify {self.repo_id}@{self.revision}` and push again"
            ) from failure
        if landed and head is not None:
            self.say(
                f"the commit's answer was lost ({_brief(failure)}), but {self.revision} now holds this release as {head[:12]}"
            )
            return head
        if head != plan.head:
            raise PushConflict(self._moved(plan, f"the commit failed ({_brief(failure)}) and another commit landed"))
        return None

    def _moved(self, plan: PushPlan, why: str) -> str:
        return (
            f"{why}: {self.repo_id}@{self.revision} moved since this push was planned against "
            f"{plan.head[:12] if plan.head else '?'}. Nothing was published; run push again to plan against the new head"
        )

    def tag(self, plan: PushPlan, commit: str) -> None:
        failure: BaseException | None = None
        for _ in range(TAG_ATTEMPTS):
            try:
                self.api.create_tag(
                    self.repo_id, tag=plan.tag, revision=commit, repo_type=REPO_TYPE, tag_message=f"Release {plan.tag}"
                )
                return
            except HUB_ERRORS as err:
                failure = err
            target = self._tag_target(plan.tag)
            if target == commit:
                return
            if target is not None:
                raise ReleaseRefused(
                    f"{plan.tag} was created meanwhile on commit {target[:12]}, not on this release's {commit[:12]}"
                )
        raise TagPending(
            f"{plan.tag} is committed to {self.repo_id}@{self.revision} as {commit[:12]}, but the tag could not be "
            f"created ({_brief(failure)}). Run the same push again: it will only create the tag"
        ) from failure

    def _tag_target(self, tag: str) -> str | None:
        try:
            refs = self.api.list_repo_refs(self.repo_id, repo_type=REPO_TYPE)
        except HUB_ERRORS:
            return None
        return next((ref.target_commit for ref in refs.tags if ref.name == tag), None)


def push_release(
    release: Path,
    repo_id: str,
    *,
    revision: str = "main",
    create_pr: bool = False,
    dry_run: bool = False,
    api: HfApi | None = None,
) -> PushOutcome:
    """Plan, then (unless ``dry_run``) commit and tag; every failure leaves a message saying what state the repo is in.

    What it does is logged at INFO on the ``chatcorpus.release.publish`` logger (the plan,
    the commit, the tag); the command line shows those messages.

    Args:
        release: a release folder written by ``build_release``.
        repo_id: the Hub dataset repo; created if it does not exist. The card must name it.
        revision: the branch to commit to.
        create_pr: open a pull request with the release instead, and create no tag.
        dry_run: plan and log what would be added, kept and deleted; change nothing.
        api: the ``HfApi`` to use (default: a new one; the token from ``HF_TOKEN`` or ``hf auth login``).

    Returns:
        What was done: the commit, whether it was tagged, the pull request's URL.

    Raises:
        ReleaseRefused: the folder does not verify, or the Hub holds what this release may not replace.
        UsageError: no token, or the card names another repo than ``repo_id``.
        PublishError: the push did not complete (``PushConflict``, ``TagPending``); the message
            says what state the repo was left in.
    """
    publisher = Publisher(release, repo_id, revision, api)
    publisher.check_local()
    if not dry_run and get_token() is None:
        raise UsageError(
            "no Hugging Face token: set HF_TOKEN or run `hf auth login` (push never takes a token as an argument)"
        )
    try:
        return _push(publisher, create_pr, dry_run)
    except HUB_ERRORS as err:
        raise PublishError(f"cannot complete the push to {repo_id}: {_brief(err)}; nothing was published") from err


def _push(publisher: Publisher, create_pr: bool, dry_run: bool) -> PushOutcome:
    plan = publisher.plan()
    if plan.tagged is not None:
        publisher.say(
            f"{plan.tag} is already published on {plan.repo_id} (commit {plan.tagged[:12]}) with this content; nothing to do"
        )
        return PushOutcome(plan, plan.tagged, tagged=True)
    if plan.committed:
        assert plan.head is not None
        publisher.say(
            f"{plan.repo_id}@{plan.revision} already holds this release as {plan.head[:12]}; only the tag is missing"
        )
        if dry_run:
            publisher.say(f"dry run: would create the tag {plan.tag}")
            return PushOutcome(plan, plan.head)
        publisher.tag(plan, plan.head)
        publisher.say(f"tagged {plan.head[:12]} as {plan.tag}")
        return PushOutcome(plan, plan.head, tagged=True)
    publisher.say(plan.format())
    if dry_run:
        publisher.say("dry run: nothing was uploaded")
        return PushOutcome(plan)
    if plan.head is None:
        publisher.api.create_repo(plan.repo_id, repo_type=REPO_TYPE, exist_ok=True)
        plan = publisher.plan()  # a new repo has a first commit to plan against
    outcome = publisher.commit(plan, create_pr)
    assert outcome.commit is not None
    if create_pr:
        publisher.say(f"opened a pull request: {outcome.pr_url} (commit {outcome.commit[:12]})")
        publisher.say(
            f"the tag {plan.tag} is not created for a pull request: merge it, then run this push again to tag it"
        )
        return outcome
    publisher.say(f"committed {outcome.commit[:12]} to {plan.repo_id}@{plan.revision}")
    publisher.tag(plan, outcome.commit)
    outcome.tagged = True
    publisher.say(f"published {plan.tag}: {plan.repo_id}@{plan.tag} is commit {outcome.commit[:12]}")
    return outcome


def git_blob_sha1(data: bytes) -> str:
    """The oid git gives a file's bytes, which the Hub's tree listing reports for regular files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _brief(err: BaseException | None) -> str:
    """The first line of an error, named: enough to say what happened without a traceback."""
    if err is None:
        return "unknown error"
    text = str(err).strip().splitlines()[0].rstrip(".") if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _manifest_version(data: bytes) -> str:
    """The version of the release a branch holds; a manifest that is not one is refused, not guessed."""
    try:
        return Manifest.from_bytes(data, "the branch's manifest").version
    except ValueError as err:  # bad JSON, or not a manifest (ManifestError is a ValueError)
        raise ReleaseRefused(
            f"the branch holds a manifest.json that is not a release manifest ({err}); nothing was pushed"
        ) from err
