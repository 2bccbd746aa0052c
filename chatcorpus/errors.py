"""Every error chat-dataset-baseline raises on purpose, in one place.

The root ``ChatDatasetError`` and the errors the builder raises live in
``chat_dataset_baseline`` (the builder may not import the tooling); they are re-exported
here so that ``from chatcorpus.errors import ...`` names them all. Each class also
inherits the builtin it resembles, so callers may catch either, and says in its
docstring the exit code the command line gives it; ``chatcorpus.cli.ERROR_EXITS`` is the
one table that maps classes to exit codes (a test holds the two to each other).

Exit codes: 0 clean, 1 the data (or the release) has to change, 2 a usage or
environment error: the command, its arguments, the network or the repository state.
"""

from chat_dataset_baseline import (
    ChatDatasetError,
    FileVerificationError,
    IdentityError,
    ManifestError,
    ManifestMismatch,
    ReleasePathError,
    ReleaseSchemaError,
    ShardVerificationError,
    UnknownConfigError,
    ViewError,
)


class UsageError(ChatDatasetError, ValueError):
    """The command line or the arguments of a call do not make sense (CLI exit code 2)."""


class SourceLayoutError(ChatDatasetError, FileNotFoundError):
    """A source folder does not exist or does not have the one-subfolder-per-config layout (CLI exit code 2)."""


class ReleaseNotFoundError(ChatDatasetError, FileNotFoundError):
    """A release, its revision or one of its files is not where it was looked for (CLI exit code 2)."""


class LockError(ChatDatasetError, ValueError):
    """A lock file cannot be read or written: not a lock, or a release that cannot be locked (CLI exit code 2)."""


class BaseReleaseError(ChatDatasetError, ValueError):
    """The release named by ``build --base`` cannot be read, or its shards do not match its manifest
    (CLI exit code 2)."""


class ReferenceReleaseError(ChatDatasetError, ValueError):
    """The release named by ``validate --against`` cannot be checked against: unreadable, damaged, or
    built before releases shipped a duplicate index (CLI exit code 2)."""


class ReleaseRefused(ChatDatasetError, ValueError):
    """The Hub already holds something this release may not replace: its version tag with other
    content, or a newer release than the one it was built on. Nothing was published (CLI exit code 1)."""


class BuildRefused(ReleaseRefused):
    """A build would drop data without being asked: a source with no records replacing a release, or a
    config of the base missing from the source without ``--remove-config``. Nothing was written
    (CLI exit code 1)."""


class PublishError(ChatDatasetError, RuntimeError):
    """A push did not complete (conflict, server or network error); the message says what state
    the repository was left in (CLI exit code 2)."""


class PushConflict(PublishError):
    """The branch moved after the push was planned (HTTP 412 on ``parent_commit``); nothing was published
    (CLI exit code 2)."""


class TagPending(PublishError):
    """The release was committed but its tag could not be created; running push again finishes the tag
    (CLI exit code 2)."""


class UnsupportedKeyword(ChatDatasetError, ValueError):
    """The schema is not one the schema compiler can compile (a keyword it does not implement, an
    unknown type name); use ``jsonschema`` for it (CLI exit code 2)."""


__all__ = [
    "BaseReleaseError",
    "BuildRefused",
    "ChatDatasetError",
    "FileVerificationError",
    "IdentityError",
    "LockError",
    "ManifestError",
    "ManifestMismatch",
    "PublishError",
    "PushConflict",
    "ReferenceReleaseError",
    "ReleaseNotFoundError",
    "ReleasePathError",
    "ReleaseRefused",
    "ReleaseSchemaError",
    "ShardVerificationError",
    "SourceLayoutError",
    "TagPending",
    "UnknownConfigError",
    "UnsupportedKeyword",
    "UsageError",
    "ViewError",
]
