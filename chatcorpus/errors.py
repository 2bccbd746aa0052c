"""The tooling's errors, under the builder's root ``ChatDatasetError``.

Each also inherits the builtin it resembles, so callers may catch either.
"""

from chat_dataset_baseline import ChatDatasetError, ManifestError, ShardVerificationError


class UsageError(ChatDatasetError, ValueError):
    """The command line or the arguments of a call do not make sense (CLI exit code 2)."""


class SourceLayoutError(ChatDatasetError, FileNotFoundError):
    """A source folder does not have the one-subfolder-per-config layout."""


class UnsupportedKeyword(ChatDatasetError, ValueError):
    """The schema uses a keyword the compiler does not implement; use ``jsonschema`` for it."""


class BaseReleaseError(ChatDatasetError, ValueError):
    """The release named by ``build --base`` cannot be read, or its shards do not match its manifest."""


class ReleaseRefused(ChatDatasetError, ValueError):
    """The Hub already holds something this release may not replace: its version tag with other
    content, or a newer release than the one it was built on. Nothing was published (exit code 1)."""


class PublishError(ChatDatasetError, RuntimeError):
    """A push did not complete (conflict, server or network error); the message says what state
    the repository was left in (exit code 2)."""


class PushConflict(PublishError):
    """The branch moved after the push was planned (HTTP 412 on ``parent_commit``); nothing was published."""


class TagPending(PublishError):
    """The release was committed but its tag could not be created; running push again finishes the tag."""


__all__ = [
    "BaseReleaseError",
    "ChatDatasetError",
    "ManifestError",
    "PublishError",
    "PushConflict",
    "ReleaseRefused",
    "ShardVerificationError",
    "SourceLayoutError",
    "TagPending",
    "UnsupportedKeyword",
    "UsageError",
]
