"""The tooling's errors, under the builder's root ``ChatDatasetError``.

Each also inherits the builtin it resembles, so callers may catch either.
"""

from chat_dataset_baseline import ChatDatasetError, ManifestError, ShardVerificationError


class UsageError(ChatDatasetError, ValueError):
    """The command line or the arguments of a call do not make sense (CLI exit code 2)."""


class SourceLayoutError(ChatDatasetError, FileNotFoundError):
    """A source folder does not have the one-subfolder-per-config layout."""


class BuildRejected(ChatDatasetError, RuntimeError):
    """Records were rejected and ``skip_invalid`` was not given, so nothing was written."""


__all__ = [
    "BuildRejected",
    "ChatDatasetError",
    "ManifestError",
    "ShardVerificationError",
    "SourceLayoutError",
    "UsageError",
]
