"""The chat-dataset-baseline builder: four configs of one chat instruction-tuning corpus.

This module is the single definition of the corpus's shape: ``CONFIGS`` (its parts),
``FEATURES`` (the one schema every shard, card and JSON Schema is generated from or
checked against) and ``ChatDatasetBaseline``, a ``datasets`` builder that loads a
release pinned to its version and verifies every shard against the release manifest.

It is self-contained on purpose: it imports only ``datasets``, ``pyarrow``,
``huggingface_hub`` and the standard library, so it can be copied next to a training
script or vendored without the ``chatcorpus`` tooling, which imports from here and
never the other way round.

A release is a closed set of files: ``manifest.json`` lists every file besides itself and
the card, shards under ``configs``, any other file under ``files`` with a kind from
``FILE_KINDS`` (where that kind may live). ``check_release_manifest`` refuses any path
that is not a normalized relative POSIX path in its place before a byte is read;
``verify_shard`` and ``verify_file`` check the bytes. The tooling adds files of a new
kind through ``chatcorpus.release.fileset.ReleaseFileSet`` after adding the kind here.

    >>> from chat_dataset_baseline import ChatDatasetBaseline
    >>> builder = ChatDatasetBaseline(config_name="alpaca-zh", data_source="path/to/release")
    >>> builder.download_and_prepare()
    >>> ds = builder.as_dataset(split="train")
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import random
import re
import stat
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import EntryNotFoundError

#: The release this copy of the builder was published with; loads default to it
#: rather than to the moving ``main`` branch. The one definition of the version: the
#: default of ``build --version``, the builder's ``datasets.Version`` and the tag it pins
#: derive from it. Its major moves whenever the shared schema does (``SCHEMA_CHANGES``).
RELEASE_VERSION = "2.0.0"
#: Where releases are published when no ``data_source`` is given.
DEFAULT_REPO_ID = "hikariming/chat-dataset-baseline"
#: The release manifest: rows, bytes and sha256 of every shard, the schema fingerprint.
MANIFEST_FILENAME = "manifest.json"
SPLIT = "train"
#: The config ``load_dataset`` and the card default to: the corpus's reason to exist.
DEFAULT_CONFIG = "alpaca-zh"


@dataclass(frozen=True)
class ConfigSpec:
    """What a config is, and the defaults its records get when the source is silent."""

    description: str
    language: str
    category: str | None  # None: the category is the source file's stem


CONFIGS: dict[str, ConfigSpec] = {
    "alpaca-zh": ConfigSpec(
        "Stanford Alpaca translated into Chinese, machine-translated then checked by hand.",
        language="zh",
        category="alpaca",
    ),
    "alpaca-en": ConfigSpec(
        "The English Stanford Alpaca records, mixed in so that fine-tuning on Chinese "
        "keeps English and translation ability.",
        language="en",
        category="alpaca",
    ),
    "chatglm-issues": ConfigSpec(
        "Questions a Chinese chat model answered badly, re-answered; the category is the source file it came from.",
        language="zh",
        category=None,
    ),
    "prompts": ConfigSpec(
        "Self-identity prompts whose answers hold the placeholders NAME and AUTHOR.",
        language="mixed",
        category="identity",
    ),
}

_string = datasets.Value("string")
FEATURES = datasets.Features(
    {
        "id": _string,
        "instruction": _string,
        "input": _string,
        "output": _string,
        "system": _string,
        "history": datasets.List({"user": _string, "assistant": _string}),
        "language": _string,
        "category": _string,
        "source": _string,
        # the translation link (alpaca-zh only, "" elsewhere): the ``id`` of the alpaca-en
        # row this row was made from, and whether it is a translation of it or a copy
        # left in English; "" and "" when the build found no original
        "translation_of": _string,
        "translation_kind": _string,
    }
)
#: ``translation_kind`` of an alpaca-zh row translated from its ``translation_of`` row.
TRANSLATED = "translated"
#: ``translation_kind`` of an alpaca-zh row still in English: a copy of its original, not a translation.
UNTRANSLATED = "untranslated"
TRANSLATION_KINDS = (TRANSLATED, UNTRANSLATED)
#: The Arrow schema of every shard, without the ``huggingface`` metadata.
ARROW_SCHEMA: pa.Schema = FEATURES.arrow_schema.remove_metadata()
#: The columns each major release added to the shared schema of every config. A change of
#: the schema is a new major: readers of one schema refuse a release of another
#: (``ReleaseSchemaError``, worded by ``schema_problem``), so the version says which schema a release has.
SCHEMA_CHANGES: dict[int, tuple[str, ...]] = {2: ("translation_of", "translation_kind")}
#: The major of this builder's release, whose schema is ``ARROW_SCHEMA``.
SCHEMA_MAJOR = int(RELEASE_VERSION.split(".", 1)[0])


def manifest_sha256(data: bytes) -> str:
    """The identity of a release: the sha256 of its ``manifest.json`` bytes (a tag is only a name).

    The builder's cache is keyed by it, a lock records it, and ``build --base`` records
    its base's, so that push can tell two releases of the same version apart.
    """
    return hashlib.sha256(data).hexdigest()


def schema_fingerprint(schema: pa.Schema = ARROW_SCHEMA) -> str:
    """sha256 of the schema's field names and types, so a manifest can name the schema it was built with."""
    canonical = json.dumps([[field.name, str(field.type)] for field in schema], separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def schema_of_major(major: int) -> pa.Schema:
    """The shared schema as releases of ``major`` have it: ``ARROW_SCHEMA`` without the columns later majors added."""
    later = {column for added_in, columns in SCHEMA_CHANGES.items() if added_in > major for column in columns}
    return pa.schema([field for field in ARROW_SCHEMA if field.name not in later])


def majors_of_schema(fingerprint: object) -> list[int]:
    """The majors up to this builder's whose releases have the schema of ``fingerprint`` (none: not one of ours)."""
    return [major for major in range(1, SCHEMA_MAJOR + 1) if schema_fingerprint(schema_of_major(major)) == fingerprint]


#: The first major whose releases have ``ARROW_SCHEMA``: no release of this schema is numbered below it.
SCHEMA_SINCE = majors_of_schema(schema_fingerprint())[0]


# --- errors ---------------------------------------------------------------------------
# The library's one root error lives here, beside the builder, because the builder may
# not import the tooling; ``chatcorpus.errors`` builds on it.


class ChatDatasetError(Exception):
    """Root of every error chat-dataset-baseline raises on purpose (CLI exit code 2)."""


class UnknownConfigError(ChatDatasetError, ValueError):
    """A config name that is not one of ``CONFIGS`` (CLI exit code 2)."""

    def __init__(self, *names: object) -> None:
        listed = ", ".join(repr(name) for name in names)
        super().__init__(f"unknown config {listed}; choose one of {', '.join(CONFIGS)}")
        self.names = names


class ManifestError(ChatDatasetError, ValueError):
    """The release manifest is missing, unreadable or does not describe this config (CLI exit code 2)."""


class FileVerificationError(ChatDatasetError, ValueError):
    """A release file's bytes differ from what the release manifest promises (CLI exit code 2)."""

    noun = "file"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{self.noun} {path!r} failed verification: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        # the default rebuilds from ``args`` (the one message), which __init__ cannot take:
        # a DataLoader worker's error would reach the parent as a TypeError
        return (type(self), (self.path, self.reason))


class ShardVerificationError(FileVerificationError):
    """A shard's bytes or rows differ from what the release manifest promises (CLI exit code 2)."""

    noun = "shard"

    @property
    def shard(self) -> str:
        return self.path


class ManifestMismatch(ManifestError):
    """The release's manifest is not the one a lock pins (``manifest_sha256=``): a tag was re-created,
    or the folder was rebuilt (CLI exit code 2)."""

    def __init__(self, where: str, pinned: str, found: str) -> None:
        super().__init__(
            f"{where} has sha256 {found}, but the lock pins {pinned}: this is not the locked release "
            "(was its tag re-created?); load the locked commit, or lock the release again on purpose"
        )
        self.where = where
        self.pinned = pinned
        self.found = found

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.where, self.pinned, self.found))


_STATED_VERSION = re.compile(r"[0-9]{1,9}\.[0-9]{1,9}\.[0-9]{1,9}")


def schema_problem(fingerprint: object, version: object) -> str | None:
    """What is wrong with a release whose manifest states ``fingerprint`` and ``version`` for this
    builder, or None when it has this builder's schema.

    The one wording of a schema mismatch: the builder's ``ReleaseSchemaError`` and ``verify``
    both say it. The version comes from a manifest that may be hostile: it is named only
    when it is a plain ``X.Y.Z``.
    """
    if fingerprint == schema_fingerprint():
        return None
    stated = f"release {version}" if isinstance(version, str) and _STATED_VERSION.fullmatch(version) else "the release"
    majors = majors_of_schema(fingerprint)
    if not majors:
        return (
            f"{stated} was built with a schema this builder ({RELEASE_VERSION}) does not know, neither its own "
            f"nor that of an earlier major: a release of a later major, or not of this corpus"
        )
    major = majors[-1]
    missing = ", ".join(
        f"{', '.join(columns)} (added in {added_in}.0.0)"
        for added_in, columns in sorted(SCHEMA_CHANGES.items())
        if added_in > major
    )
    return (
        f"{stated} has the {major}.x schema, without the columns {missing} that every config has since; "
        f"this builder is {RELEASE_VERSION} and reads releases of the {SCHEMA_MAJOR}.x schema"
    )


class ReleaseSchemaError(ManifestError):
    """A release of another schema than this builder's: one of an earlier (or later) major
    (CLI exit code 2). The message says how to load it as it is, and how to publish it again
    in this builder's schema."""

    def __init__(self, where: str, problem: str, load_call: str, base: str) -> None:
        super().__init__(
            f"{where}: {problem}. Load that release as it is, with its own columns, with plain {load_call} "
            f"(no builder needed) or with the builder published with it; or publish the corpus again in the "
            f"{SCHEMA_MAJOR}.x schema: chat-dataset-baseline build --source SRC --base {base} "
            f"--version {SCHEMA_MAJOR}.0.0 (or later)"
        )
        self.where = where
        self.problem = problem
        self.load_call = load_call
        self.base = base

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.where, self.problem, self.load_call, self.base))


class ReleasePathError(ManifestError):
    """A path a manifest or card names is not a file of this release where its kind must live.

    Paths in a release are data from whoever published it: checked before any byte is read
    (CLI exit code 2).
    """

    def __init__(self, path: str, reason: str, where: str = MANIFEST_FILENAME) -> None:
        super().__init__(f"{where}: path {path!r} {reason}")
        self.path = path
        self.reason = reason
        self.where = where

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.reason, self.where))


# --- release JSON ---------------------------------------------------------------------
# A release's JSON files (its manifest, a lock, a ``--base`` someone else published) are
# data from whoever wrote them. Every reader, here and in the tooling, parses them with
# ``read_release_json``; the validate path, which may not import this module, imports
# the copy generated into ``chatcorpus.validation.corpus_shape`` (a test holds them equal).

#: How deeply release JSON may nest. A manifest needs 5 levels; ``json`` (and every
#: reader that walks the value after it) recurses once per level, so a file nested
#: 100,000 levels deep would end in a RecursionError instead of a located error.
MAX_RELEASE_JSON_DEPTH = 32


def nesting_exceeds(value: object, limit: int) -> bool:
    """True when lists and dicts in ``value`` nest deeper than ``limit`` levels (a scalar is level 0).

    Iterative, so that asking about a value never recurses as deeply as the value does;
    and each list or dict is measured once, by identity, because parsed YAML may share
    them (aliases): ten lines of ``&a [*b, *b, ...]`` expand to 10**10 nodes when walked
    as a tree. A value that contains itself (``&a [*a]``) nests without end.
    """
    heights: dict[int, int] = {}  # id of a finished list or dict -> its levels
    open_ids: set[int] = set()  # the lists and dicts on the path being measured
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, done = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        children = [c for c in (node.values() if isinstance(node, dict) else node) if isinstance(c, (dict, list))]
        if done:
            open_ids.discard(id(node))
            heights[id(node)] = 1 + max((heights[id(c)] for c in children), default=0)
            if heights[id(node)] > limit:
                return True
        elif id(node) in open_ids:
            return True  # it contains itself
        elif id(node) not in heights:
            if len(open_ids) >= limit:
                return True
            open_ids.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in heights)
    return False


def read_release_json(data: bytes, where: str, error: Callable[[str], Exception]) -> dict[str, Any]:
    """The JSON object in ``data`` (a release file named ``where``), or ``error(message)`` saying why not.

    Strict, because readers must all see the same value: UTF-8, no ``NaN`` or
    ``Infinity``, no key repeated in one object (which readers may resolve differently),
    an object at the top, and at most ``MAX_RELEASE_JSON_DEPTH`` levels deep.
    """

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, member in pairs:
            if key in obj:
                raise ValueError(f"the key {key!r} is repeated in one object")
            obj[key] = member
        return obj

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    too_deep = f"{where} nests deeper than {MAX_RELEASE_JSON_DEPTH} levels; no release file does"
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=unique_keys, parse_constant=no_constant)
    except RecursionError:  # the decoder counts its levels against the interpreter's recursion limit
        raise error(too_deep) from None
    except ValueError as err:  # also bytes that are not UTF-8
        raise error(f"{where} is not JSON: {err}") from err
    if nesting_exceeds(value, MAX_RELEASE_JSON_DEPTH):
        raise error(too_deep)
    if not isinstance(value, dict):
        raise error(f"{where} is not a JSON object")
    return value


def verify_shard(data: bytes, shard: dict[str, Any]) -> None:
    """Raise ShardVerificationError unless ``data`` is the shard the manifest entry describes.

    Module-level so that the tooling (``chat-dataset-baseline verify``, ``build --base``)
    applies exactly the check a load applies.
    """
    _verify_bytes(data, shard, ShardVerificationError)
    try:
        with closing_parquet_file(pa.BufferReader(data)) as parquet_file:
            rows = parquet_file.metadata.num_rows
            features = (parquet_file.schema_arrow.metadata or {}).get(b"huggingface")
    except pa.ArrowInvalid as err:  # only reachable when the manifest itself lists a broken shard
        raise ShardVerificationError(shard["path"], f"not a readable Parquet file: {err}") from err
    if features is not None:
        # the features JSON ``datasets`` parses when plain ``load_dataset`` opens the shard: whoever
        # published the release wrote it, so it is read as bounded as the manifest is
        read_release_json(features, "its huggingface schema metadata", partial(ShardVerificationError, shard["path"]))
    if rows != shard["rows"]:
        raise ShardVerificationError(shard["path"], f"{rows} rows, the manifest says {shard['rows']}")


def check_shard_values(table: pa.Table, path: str) -> None:
    """Raise ShardVerificationError unless every value of ``table`` is one a build writes.

    The manifest's sha256 proves the shard is the one its publisher listed, not that the
    publisher wrote it with ``build``: a re-sealed shard may hold nulls (no build writes
    one, and every reader of a row expects a string) or strings that are not UTF-8 (Arrow
    checks them only when asked), which would surface later as a TypeError or a
    UnicodeDecodeError far from the file.
    """
    for name in table.column_names:
        column = table[name]
        if name in ARROW_SCHEMA.names and column.type != ARROW_SCHEMA.field(name).type:
            # checked first: Arrow validates UTF-8 only in string columns, and a list_view hides its nulls here
            raise ShardVerificationError(
                path, f"column {name} is {column.type}, the schema says {ARROW_SCHEMA.field(name).type}"
            )
        for chunk in column.chunks:
            null_at = _null_field(chunk, name)
            if null_at is not None:
                raise ShardVerificationError(path, f"{null_at} holds nulls, which no release row does")
        try:
            column.validate(full=True)
        except pa.ArrowInvalid as err:
            raise ShardVerificationError(path, f"column {name} is not valid Arrow data: {err}") from err


def _null_field(array: pa.Array, name: str) -> str | None:
    """The first column or nested field of ``array`` that holds a null, or None."""
    if array.null_count:
        return f"column {name}" if "." not in name and "[]" not in name else f"field {name}"
    if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
        return _null_field(array.flatten(), f"{name}[]")
    if pa.types.is_struct(array.type):
        for index in range(array.type.num_fields):
            found = _null_field(array.field(index), f"{name}.{array.type.field(index).name}")
            if found is not None:
                return found
    return None


def verify_file(data: bytes, entry: dict[str, Any]) -> None:
    """Raise FileVerificationError unless ``data`` has the bytes and sha256 of the manifest's ``files`` entry."""
    _verify_bytes(data, entry, FileVerificationError)


def _verify_bytes(data: bytes, entry: dict[str, Any], error: type[FileVerificationError]) -> None:
    if len(data) != entry["bytes"]:
        raise error(entry["path"], f"{len(data)} bytes, the manifest says {entry['bytes']}")
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise error(entry["path"], f"sha256 {digest}, the manifest says {entry['sha256']}")


# --- the release's file set -----------------------------------------------------------
# A release is a closed set of files. ``manifest.json`` lists every file of the release
# besides itself and the card (``README.md``): the shards under ``configs.<name>.shards``,
# every other file under ``files``, each with the kind that says where it may live:
#
#     "files": [{"path": "schema/record.schema.json", "kind": "schema", "bytes": 2817, "sha256": "..."}]
#
# ``FILE_KINDS`` is the one rule per kind (a new kind of file is one entry there); the
# tooling writes and registers files with ``chatcorpus.release.fileset.ReleaseFileSet``,
# ``verify_file`` checks their bytes like a shard's, and push uploads exactly this set.
#
# Every path in a manifest or a card is data from whoever published the release, never a
# path to follow: ``check_release_manifest`` refuses (``ReleasePathError``, naming the
# path and where it is listed) anything that is not a normalized relative POSIX path
# inside the folder of its kind (a shard: ``data/<its config>/``), before any byte of the
# release is read. ``local_release_file`` refuses links and non-regular files on disk.

CARD_FILENAME = "README.md"
#: The folder of a config's shards, relative to the release root.
SHARD_FOLDER = "data/{config}/"


@dataclass(frozen=True)
class FileKind:
    """Where the ``files`` of one kind live: one file name directly in ``folder``, ending in ``suffix``."""

    folder: str  # ends in "/", or "" for the release root
    suffix: str
    only: str | None = None  # the one name the kind allows
    config_stem: bool = False  # the name's stem must be a config of CONFIGS

    def problem(self, path: str) -> str | None:
        name = path[len(self.folder) :] if path.startswith(self.folder) else None
        if name is None or "/" in name or not name.endswith(self.suffix) or name == self.suffix:
            return f"is not a file directly in {self.folder or 'the release root'} ending in {self.suffix}"
        if self.only is not None and name != self.only:
            return f"is not {self.only}"
        stem = name[: -len(self.suffix)]
        if self.config_stem and stem not in CONFIGS:
            return f"names {stem!r}, which is not a config ({', '.join(CONFIGS)})"
        return None


#: Every kind of ``files`` entry and where it may live.
FILE_KINDS: dict[str, FileKind] = {
    "schema": FileKind("schema/", ".json"),
    "index": FileKind("index/", ".parquet", config_stem=True),
    "image": FileKind("images/", ".png"),
    "croissant": FileKind("", ".json", only="croissant.json"),
}
#: Every place in a repo a release owns: push replaces what is there, verify accepts only listed files there.
RELEASE_PLACES: tuple[str, ...] = (
    MANIFEST_FILENAME,
    CARD_FILENAME,
    "data/",
    *dict.fromkeys(kind.folder or kind.only or "" for kind in FILE_KINDS.values()),
)
MAX_PATH_CHARS = 255
#: Characters Windows refuses in a file name; a release must check out on every system.
_WINDOWS_RESERVED = set('<>:"|?*')
_DRIVE = re.compile(r"[A-Za-z]:")


def path_problem(path: object) -> str | None:
    """Why ``path`` is not a normalized relative POSIX file path, or None when it is one.

    Refused: absolute and drive paths, backslashes, empty, ``.`` and ``..`` segments,
    hidden segments (``.git``), control and format characters (NUL, newlines, bidi
    overrides), characters or trailing dots and spaces Windows refuses, text that is
    not NFC (two spellings of one name on macOS), and paths longer than ``MAX_PATH_CHARS``.
    """
    if not isinstance(path, str):
        return "is not a string"
    if not path:
        return "is empty"
    if len(path) > MAX_PATH_CHARS:
        return f"is longer than {MAX_PATH_CHARS} characters"
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for ch in path):
        return "holds a control or format character"
    if "\\" in path:
        return "holds a backslash; release paths are POSIX, separated by /"
    if path.startswith("/") or _DRIVE.match(path):
        return "is absolute; release paths are relative to the release root"
    if unicodedata.normalize("NFC", path) != path:
        return "is not in Unicode NFC"
    for segment in path.split("/"):
        if segment in {"", ".", ".."}:
            which = f"a {segment!r}" if segment else "an empty"
            return f"is not normalized ({which} segment)"
        if segment.startswith("."):
            return f"has a hidden segment {segment!r}"
        if segment.endswith((" ", ".")) or _WINDOWS_RESERVED & set(segment):
            return f"has a segment {segment!r} that Windows cannot hold"
    return None


def release_path_problem(path: object, kind: str, config: str | None = None) -> str | None:
    """Why ``path`` may not be a release file of ``kind`` (``"shard"`` of ``config``, or a ``FILE_KINDS`` key)."""
    problem = path_problem(path)
    if problem is not None:
        return problem
    assert isinstance(path, str)
    if kind == "shard":
        folder = SHARD_FOLDER.format(config=config)
        if not path.startswith(folder) or not path.endswith(".parquet"):
            return f"is not a Parquet file inside {folder}, where the shards of {config!r} live"
        return None
    rule = FILE_KINDS.get(kind)
    if rule is None:
        return f"has an unknown kind {kind!r}; the kinds are shard, {', '.join(FILE_KINDS)}"
    return rule.problem(path)


def check_release_manifest(manifest: object, where: str = MANIFEST_FILENAME) -> None:
    """Refuse a manifest whose file listing is not a closed set of safe paths inside the release.

    Only the structure the paths hang on and the paths themselves are checked here (the
    builder's whole need); the tooling's JSON Schema checks the rest of the manifest.
    Raises ReleasePathError naming the first bad path, ManifestError for a bad structure.
    """
    seen: dict[str, str] = {}
    for path, kind, config in _listed_files(manifest, where):
        problem = release_path_problem(path, kind, config)
        if problem is not None or not isinstance(path, str):
            raise ReleasePathError(str(path), problem or "is not a string", where)
        key = path.casefold()  # case-insensitive file systems would merge the two
        if key in seen:
            raise ReleasePathError(path, f"is listed twice (also as {seen[key]!r})", where)
        seen[key] = path


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def check_config_entry(entry: dict[str, Any], config: str, where: str = MANIFEST_FILENAME) -> None:
    """Refuse a config entry whose shards do not each state rows, bytes and sha256, or whose total
    is not the sum of its shards: a load must give exactly the rows the manifest states."""
    for index, shard in enumerate(entry["shards"]):
        at = f"{where}: configs.{config}.shards[{index}]"
        for field in ("rows", "bytes"):
            if not _is_count(shard.get(field)):
                raise ManifestError(f"{at}.{field} is {shard.get(field)!r}, not a count")
        if not isinstance(shard.get("sha256"), str) or not _SHA256_HEX.fullmatch(shard["sha256"]):
            raise ManifestError(f"{at}.sha256 is {shard.get('sha256')!r}, not a sha256")
    total = sum(shard["rows"] for shard in entry["shards"])
    if not _is_count(entry.get("rows")) or entry["rows"] != total:
        raise ManifestError(f"{where}: configs.{config}.rows is {entry.get('rows')!r}, its shards hold {total}")


def _is_count(value: object) -> bool:
    """A row or byte count: an int (JSON ``20``; never ``20.0``, ``true`` or ``"20"``), not negative.

    The tooling's JSON Schema (``strict_schema``) holds integers to the same rule."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def release_file_paths(manifest: dict[str, Any]) -> list[str]:
    """Every file the manifest lists (shards, then ``files``); with the manifest and card, the whole release."""
    return [str(path) for path, _, _ in _listed_files(manifest, MANIFEST_FILENAME)]


def _listed_files(manifest: object, where: str) -> Iterator[tuple[object, str, str | None]]:
    """(path, kind, config) of every file the manifest lists; ManifestError where the listing is malformed."""
    configs = manifest.get("configs") if isinstance(manifest, dict) else None
    if not isinstance(manifest, dict) or not isinstance(configs, dict):
        raise ManifestError(f"{where} is not a release manifest: it has no configs object")
    for config, entry in configs.items():
        if config not in CONFIGS:
            raise ManifestError(f"{where}: configs.{config} is not a config of this builder ({', '.join(CONFIGS)})")
        shards = entry.get("shards") if isinstance(entry, dict) else None
        if not isinstance(shards, list) or not all(isinstance(shard, dict) for shard in shards):
            raise ManifestError(f"{where}: configs.{config}.shards is not a list of shard entries")
        for shard in shards:
            yield shard.get("path"), "shard", config
    files = manifest.get("files", [])
    if not isinstance(files, list) or not all(isinstance(entry, dict) for entry in files):
        raise ManifestError(f"{where}: files is not a list of file entries")
    for entry in files:
        yield entry.get("path"), str(entry.get("kind")), None


def local_release_file(root: str, path: str) -> str:
    """The file at ``path`` in the release folder ``root``: never through a link, never a FIFO or device.

    ``path`` must already have passed ``path_problem``. A missing file is returned as is,
    for the caller's own "not found" message.
    """
    real_root = os.path.realpath(root)
    target = os.path.join(real_root, *path.split("/"))
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return target
    if os.path.realpath(target) != target:
        raise ReleasePathError(path, "is reached through a symbolic link; a release holds no links", root)
    if not stat.S_ISREG(mode):
        raise ReleasePathError(path, "is not a regular file", root)
    return target


# --- trainer views --------------------------------------------------------------------
# A view is the shared schema reshaped for a trainer, computed from the stored rows at
# load time and never stored. Every view keeps ``id``, ``language``, ``category``,
# ``source`` and the translation link (``translation_of``, ``translation_kind``) so a
# row stays traceable, and every view is lossless:
# ``from_view_table(to_view_table(rows, view), view) == rows``. The one thing a
# conversation cannot show is where the instruction ends inside the user turn
# ``instruction + "\n" + input``, since either may hold a line break itself, so each
# view but alpaca carries ``instruction_bytes``, the UTF-8 length of the instruction.
#
# The user turn is LLaMA-Factory's: its alpaca reader (``AlpacaDatasetConverter``) joins
# the non-empty ones of instruction and input with one "\n", and nothing configures it.
# Every path that hands LLaMA-Factory the stored columns (the alpaca files, a Hub or
# Parquet entry) gets that text, so the views give exactly it too, and a record reaches
# the model as the same text whichever format carried it.
# Views are computed with Arrow kernels over whole tables, never row by row in Python.

#: The views a load can give; ``alpaca`` is the shared schema as stored.
VIEWS = ("alpaca", "messages", "sharegpt", "prompt-completion")
#: What joins a non-empty instruction and a non-empty input in the user turn (LLaMA-Factory's join).
INPUT_SEPARATOR = "\n"
#: The column that keeps the instruction/input boundary of the user turn.
BOUNDARY_COLUMN = "instruction_bytes"
_TRACE_COLUMNS = ("id", "language", "category", "source", "translation_of", "translation_kind")
_MESSAGE = {"role": _string, "content": _string}


def _view_features(columns: dict[str, Any]) -> datasets.Features:
    return datasets.Features(
        {
            "id": _string,
            **columns,
            BOUNDARY_COLUMN: datasets.Value("int32"),
            **{name: _string for name in _TRACE_COLUMNS if name != "id"},
        }
    )


#: The features of each view; a builder's ``format`` makes one its ``info.features``.
VIEW_FEATURES: dict[str, datasets.Features] = {
    "alpaca": FEATURES,
    # TRL's conversational language-modeling type, what tokenizer.apply_chat_template takes
    "messages": _view_features({"messages": datasets.List(_MESSAGE)}),
    # LLaMA-Factory's sharegpt format: human/gpt turns, the system prompt in a column beside them
    "sharegpt": _view_features(
        {"conversations": datasets.List({"from": _string, "value": _string}), "system": _string}
    ),
    # TRL's conversational prompt-completion type: the completion is the one assistant turn
    "prompt-completion": _view_features({"prompt": datasets.List(_MESSAGE), "completion": datasets.List(_MESSAGE)}),
}


class ViewError(ChatDatasetError, ValueError):
    """An unknown view, or rows that are not in the shape the conversion expects (CLI exit code 2)."""


def check_view(view: str) -> None:
    if view not in VIEWS:
        raise ViewError(f"unknown view {view!r}; choose one of {', '.join(VIEWS)}")


def to_view_table(table: pa.Table, view: str) -> pa.Table:
    """Rows of the shared schema reshaped as ``view``; ``alpaca`` gives them back unchanged."""
    check_view(view)
    if view == "alpaca":
        return table
    columns = _VIEW_COLUMNS[view](table)
    columns[BOUNDARY_COLUMN] = pc.cast(pc.binary_length(_column(table, "instruction")), pa.int32())
    columns.update({name: _column(table, name) for name in _TRACE_COLUMNS})
    schema = VIEW_FEATURES[view].arrow_schema.remove_metadata()
    return pa.Table.from_arrays([columns[name] for name in schema.names], schema=schema)


def from_view_table(table: pa.Table, view: str) -> pa.Table:
    """The rows of the shared schema that ``to_view_table`` turned into ``table``.

    Raises ViewError when the rows are not laid out as the view lays them out (turns
    out of order, a boundary that misses the separator), rather than guessing.
    """
    check_view(view)
    if view == "alpaca":
        return table.select(ARROW_SCHEMA.names).cast(ARROW_SCHEMA)
    parts = _VIEW_PARTS[view](table)
    parts["instruction"], parts["input"] = _split_prompt(parts.pop("prompt"), _column(table, BOUNDARY_COLUMN))
    parts.update({name: _column(table, name) for name in _TRACE_COLUMNS})
    return pa.Table.from_arrays([parts[name] for name in ARROW_SCHEMA.names], schema=ARROW_SCHEMA)


@dataclass(frozen=True)
class _Speakers:
    """How a view names the speakers of its turns and the two fields of a turn."""

    role_key: str
    content_key: str
    user: str
    assistant: str
    system: str | None  # None: the system prompt is a column of its own, not a turn


_CHAT = _Speakers("role", "content", user="user", assistant="assistant", system="system")
_SHAREGPT = _Speakers("from", "value", user="human", assistant="gpt", system=None)


def _messages_columns(table: pa.Table) -> dict[str, pa.Array]:
    return {"messages": _turns(table, _CHAT, reply=True)}


def _messages_parts(table: pa.Table) -> dict[str, pa.Array]:
    return _untangle(_column(table, "messages"), _CHAT, reply=True)


def _sharegpt_columns(table: pa.Table) -> dict[str, pa.Array]:
    return {"conversations": _turns(table, _SHAREGPT, reply=True), "system": _column(table, "system")}


def _sharegpt_parts(table: pa.Table) -> dict[str, pa.Array]:
    return {**_untangle(_column(table, "conversations"), _SHAREGPT, reply=True), "system": _column(table, "system")}


def _prompt_completion_columns(table: pa.Table) -> dict[str, pa.Array]:
    output = _column(table, "output")
    replies = pa.StructArray.from_arrays(
        [pa.repeat(_CHAT.assistant, len(output)), output], names=[_CHAT.role_key, _CHAT.content_key]
    )
    return {
        "prompt": _turns(table, _CHAT, reply=False),
        "completion": pa.ListArray.from_arrays(_offsets(pa.repeat(1, len(output))), replies),
    }


def _prompt_completion_parts(table: pa.Table) -> dict[str, pa.Array]:
    completion = _column(table, "completion")
    _expect(pc.all(pc.equal(pc.list_value_length(completion), 1)), "a completion is one assistant turn")
    turns = pc.list_flatten(completion)
    _expect_roles(pc.struct_field(turns, _CHAT.role_key), _arange(len(turns)), _CHAT.assistant)
    return {
        **_untangle(_column(table, "prompt"), _CHAT, reply=False),
        "output": pc.struct_field(turns, _CHAT.content_key),
    }


_VIEW_COLUMNS: dict[str, Callable[[pa.Table], dict[str, pa.Array]]] = {
    "messages": _messages_columns,
    "sharegpt": _sharegpt_columns,
    "prompt-completion": _prompt_completion_columns,
}
_VIEW_PARTS: dict[str, Callable[[pa.Table], dict[str, pa.Array]]] = {
    "messages": _messages_parts,
    "sharegpt": _sharegpt_parts,
    "prompt-completion": _prompt_completion_parts,
}


@dataclass(frozen=True)
class _Layout:
    """Where each part of every row sits in the one flat array of all rows' turns.

    Both directions read the same map: ``_turns`` scatters the parts to these positions
    and ``_untangle`` takes them back from there, so they cannot drift apart.
    """

    offsets: pa.Array  # row i's turns are [offsets[i], offsets[i + 1]); its system turn, if any, is the first
    history: pa.Array  # each history pair's user turn; its assistant turn follows
    history_offsets: pa.Array  # row i's history pairs, as list offsets
    prompt: pa.Array  # each row's last user turn; the reply, in views that have one, follows


def _layout(has_system: pa.Array, pairs: pa.Array, reply: bool) -> _Layout:
    """Rows of a system turn where ``has_system``, ``pairs`` history pairs, the prompt and maybe a reply."""
    system = pc.cast(has_system, pa.int64())
    pairs = pc.cast(pairs, pa.int64())
    offsets = _offsets(pc.add(pc.add(system, pc.multiply(pairs, 2)), 1 + int(reply)))
    history_offsets = _offsets(pairs)
    pair_row = pc.list_parent_indices(pa.ListArray.from_arrays(history_offsets, pa.nulls(_last(history_offsets))))
    pair_in_row = pc.subtract(_arange(len(pair_row)), pc.take(history_offsets, pair_row))
    row_start = pc.add(pc.take(offsets, pair_row), pc.take(system, pair_row))
    history = pc.add(row_start, pc.multiply(pair_in_row, 2))
    prompt = pc.subtract(offsets.slice(1), 1 + int(reply))
    return _Layout(offsets, history, history_offsets, prompt)


def _turns(table: pa.Table, speakers: _Speakers, reply: bool) -> pa.Array:
    """Each row's conversation: the system turn (if the view has one and it is not empty), history, prompt, reply."""
    system, history, output = _column(table, "system"), _column(table, "history"), _column(table, "output")
    has_system = pc.not_equal(system, "") if speakers.system else pa.repeat(False, len(system))
    layout = _layout(has_system, pc.list_value_length(history), reply)
    pairs = pc.list_flatten(history)
    parts = [
        (pc.filter(system, has_system), pc.take(layout.offsets, pc.indices_nonzero(has_system)), speakers.system or ""),
        (pc.struct_field(pairs, "user"), layout.history, speakers.user),
        (pc.struct_field(pairs, "assistant"), pc.add(layout.history, 1), speakers.assistant),
        (_prompt_text(table), layout.prompt, speakers.user),
    ]
    if reply:
        parts.append((output, pc.add(layout.prompt, 1), speakers.assistant))
    positions = pa.concat_arrays([pc.cast(where, pa.int64()) for _, where, _ in parts])
    contents = pc.scatter(pa.concat_arrays([text for text, _, _ in parts]), positions)
    roles = pc.scatter(pa.concat_arrays([pa.repeat(role, len(text)) for text, _, role in parts]), positions)
    values = pa.StructArray.from_arrays([roles, contents], names=[speakers.role_key, speakers.content_key])
    return pa.ListArray.from_arrays(layout.offsets, values)


def _untangle(turns: pa.Array, speakers: _Speakers, reply: bool) -> dict[str, pa.Array]:
    """``system``, ``history``, ``prompt`` (and ``output`` with ``reply``) back from each row's turns."""
    lengths = pc.list_value_length(turns)
    _expect(pc.all(pc.greater_equal(lengths, 1 + int(reply))), "every row has a prompt turn and, in this view, a reply")
    flat = pc.list_flatten(turns)
    roles, contents = pc.struct_field(flat, speakers.role_key), pc.struct_field(flat, speakers.content_key)
    starts = _offsets(lengths).slice(0, len(lengths))
    has_system = pc.equal(pc.take(roles, starts), speakers.system) if speakers.system else pa.repeat(False, len(turns))
    tail = pc.add(pc.cast(has_system, pa.int32()), 1 + int(reply))
    layout = _layout(has_system, pc.max_element_wise(pc.divide(pc.subtract(lengths, tail), 2), 0), reply)
    _expect(pc.all(pc.equal(layout.offsets, _offsets(lengths))), "history turns come in user/assistant pairs")
    _expect_roles(roles, layout.history, speakers.user)
    _expect_roles(roles, pc.add(layout.history, 1), speakers.assistant)
    _expect_roles(roles, layout.prompt, speakers.user)
    history = pa.StructArray.from_arrays(
        [pc.take(contents, layout.history), pc.take(contents, pc.add(layout.history, 1))], names=["user", "assistant"]
    )
    parts = {
        "system": pc.if_else(has_system, pc.take(contents, starts), ""),
        "history": pa.ListArray.from_arrays(layout.history_offsets, history),
        "prompt": pc.take(contents, layout.prompt),
    }
    if reply:
        _expect_roles(roles, pc.add(layout.prompt, 1), speakers.assistant)
        parts["output"] = pc.take(contents, pc.add(layout.prompt, 1))
    return parts


def _prompt_text(table: pa.Table) -> pa.Array:
    """The user turn: the non-empty ones of instruction and input, joined by ``INPUT_SEPARATOR``."""
    instruction, given = _column(table, "instruction"), _column(table, "input")
    joined = pc.binary_join_element_wise(instruction, given, INPUT_SEPARATOR)
    return pc.if_else(pc.equal(given, ""), instruction, pc.if_else(pc.equal(instruction, ""), given, joined))


def _split_prompt(prompt: pa.Array, instruction_bytes: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``instruction`` and ``input`` back from the user turn, cut at the stored boundary.

    The separator stands between the two only when both are non-empty: an empty
    instruction (boundary 0) leaves the whole turn to the input.
    """
    stop = pc.cast(instruction_bytes, pa.int64())
    length = pc.cast(pc.binary_length(prompt), pa.int64())
    has_input = pc.greater(length, stop)
    has_separator = pc.and_(has_input, pc.greater(stop, 0))
    after = pc.if_else(has_separator, pc.add(stop, len(INPUT_SEPARATOR.encode())), pc.if_else(has_input, stop, length))
    separator = _byte_slices(prompt, pc.if_else(has_separator, stop, length), pc.if_else(has_separator, after, length))
    _expect(
        pc.all(pc.or_(pc.invert(has_separator), pc.equal(separator, INPUT_SEPARATOR))),
        f"{BOUNDARY_COLUMN} points at the separator",
    )
    _expect(pc.all(pc.less_equal(stop, length)), f"{BOUNDARY_COLUMN} lies inside the user turn")
    return _byte_slices(prompt, pa.repeat(0, len(prompt)), stop), _byte_slices(prompt, after, length)


def _byte_slices(strings: pa.Array, starts: pa.Array, stops: pa.Array) -> pa.Array:
    """Row ``i`` of ``strings`` cut to its bytes [starts[i], stops[i]), all rows at once.

    Arrow's slice kernels cut every row at the same place, so the strings are seen as
    lists of bytes (sharing their buffers) and the bytes outside each row's range are
    filtered out; a cut that splits a character fails UTF-8 validation.
    """
    validity, offsets, data = strings.buffers()
    data = data or pa.py_buffer(b"")
    as_bytes = pa.Array.from_buffers(
        pa.list_(pa.uint8()),
        len(strings),
        [validity, offsets],
        offset=strings.offset,
        children=[pa.Array.from_buffers(pa.uint8(), data.size, [None, data])],
    )
    row = pc.list_parent_indices(as_bytes)
    position = pc.subtract(_arange(len(row)), pc.take(_offsets(pc.list_value_length(as_bytes)), row))
    keep = pc.and_(pc.greater_equal(position, pc.take(starts, row)), pc.less(position, pc.take(stops, row)))
    kept = pc.filter(pc.list_flatten(as_bytes), keep)
    bounds = _offsets(pc.subtract(stops, starts))
    sliced = pa.Array.from_buffers(
        pa.string(), len(strings), [None, bounds.buffers()[1], kept.buffers()[1] or pa.py_buffer(b"")]
    )
    try:
        sliced.validate(full=True)
    except pa.ArrowInvalid as err:
        raise ViewError(
            f"the rows are not a view this library made: {BOUNDARY_COLUMN} cuts a character ({err})"
        ) from err
    return sliced


def _offsets(lengths: pa.Array) -> pa.Array:
    """List offsets (int32, as ``datasets.List`` stores them) of lists of these lengths."""
    ends = pc.cumulative_sum(pc.cast(lengths, pa.int64()))
    return pc.cast(pa.concat_arrays([pa.array([0], pa.int64()), ends]), pa.int32())


def _arange(n: int) -> pa.Array:
    return pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), n)), 1)


def _last(array: pa.Array) -> int:
    return array[len(array) - 1].as_py()


def _column(table: pa.Table, name: str) -> pa.Array:
    if name not in table.column_names:
        raise ViewError(f"the rows have no column {name!r}; they have {', '.join(table.column_names)}")
    return table.column(name).combine_chunks()


def _expect_roles(roles: pa.Array, positions: pa.Array, role: str) -> None:
    _expect(pc.all(pc.equal(pc.take(roles, positions), role)), f"a {role!r} turn where the layout puts one")


def _expect(condition: pa.Scalar, rule: str) -> None:
    if condition.as_py() is False:  # null: no rows to check
        raise ViewError(f"the rows are not a view this library made: {rule}")


# --- identity rendering ---------------------------------------------------------------
# The prompts config teaches a model who it is: its answers hold the placeholders NAME
# and AUTHOR, which the user fills with their model's name and author before training.

#: The config whose rows hold the placeholders.
IDENTITY_CONFIG = "prompts"
#: The string columns that hold a record's text (``history`` holds more, in turns).
TEXT_COLUMNS = ("instruction", "input", "output", "system")
#: A placeholder is a whole ASCII token. Python's \b is a Unicode word boundary, so it
#: finds none between 是 and NAME in 我是NAME; with re.ASCII it matches Arrow's RE2,
#: whose \b is ASCII-only, so ``PLACEHOLDER_PATTERN.pattern`` serves Arrow kernels too.
PLACEHOLDERS = ("NAME", "AUTHOR")
PLACEHOLDER_PATTERN = re.compile(r"\b(?:" + "|".join(PLACEHOLDERS) + r")\b", re.ASCII)


class IdentityError(ChatDatasetError, ValueError):
    """A name or author that cannot fill the placeholders, or identity asked of a config without them
    (CLI exit code 2)."""


def check_identity(name: str | None, author: str | None) -> None:
    """Refuse what would train a model on a blank or half-filled identity."""
    for label, value in (("name", name), ("author", author)):
        if not isinstance(value, str) or not value.strip():
            raise IdentityError(f"the identity prompts need a non-blank {label} to fill {label.upper()}; got {value!r}")
        if PLACEHOLDER_PATTERN.search(value):
            raise IdentityError(f"the {label} {value!r} holds a placeholder itself, so filling it in is ambiguous")


def check_identity_columns(columns: list[str]) -> None:
    """Refuse to fill in a view: its text is spread over turns and its boundary would no longer hold."""
    if list(columns) != ARROW_SCHEMA.names:
        raise IdentityError(
            "identity is filled in on rows of the shared schema; fill it in before converting to a view"
        )


def render_identity_table(table: pa.Table, name: str, author: str) -> pa.Table:
    """Rows of the shared schema with every whole NAME and AUTHOR in their text filled in.

    A placeholder is a whole token in RE2's ASCII sense: ``我是NAME，`` and ``NAME.`` are
    filled, ``NAMES`` and ``USERNAME`` are left alone. ``id`` stays as it is, because it
    names the source record the row was rendered from, and so does ``language``.
    """
    check_identity(name, author)
    check_identity_columns(table.schema.names)
    columns = {column: _column(table, column) for column in ARROW_SCHEMA.names}
    for column in TEXT_COLUMNS:
        columns[column] = _fill_identity(columns[column], name, author)
    history = columns["history"]
    pairs = pc.list_flatten(history)
    filled = [_fill_identity(pc.struct_field(pairs, side), name, author) for side in ("user", "assistant")]
    columns["history"] = pa.ListArray.from_arrays(
        _offsets(pc.list_value_length(history)), pa.StructArray.from_arrays(filled, names=["user", "assistant"])
    )
    return pa.Table.from_arrays([columns[column] for column in ARROW_SCHEMA.names], schema=ARROW_SCHEMA)


def _fill_identity(text: pa.Array, name: str, author: str) -> pa.Array:
    for placeholder, value in zip(PLACEHOLDERS, (name, author), strict=True):
        # RE2 reads backslashes in the replacement as group references: escape them
        text = pc.replace_substring_regex(text, pattern=rf"\b{placeholder}\b", replacement=value.replace("\\", "\\\\"))
    return text


# --- the builder ----------------------------------------------------------------------


@dataclass
class ChatDatasetBaselineConfig(datasets.BuilderConfig):
    """A config of the corpus, bound to where its release lives.

    Args:
        data_source: a local release folder, or a Hub dataset repo id
            (default ``DEFAULT_REPO_ID``).
        revision: the Hub revision to read; defaults to the tag of ``version``
            (``v`` and ``RELEASE_VERSION``), never the moving ``main``.
        verify: check every shard's sha256 and row count against the manifest.
        format: the view to serve, one of ``VIEWS``; ``alpaca`` is the shared schema.
        model_name, model_author: fill the NAME and AUTHOR placeholders of the
            ``prompts`` config (``name`` is taken: it is the config's name).
        manifest_sha256: refuse the release unless its ``manifest.json`` has this
            sha256 (what ``chat-dataset-baseline lock`` records): a tag can be re-created.

        shuffle_seed: serve the rows in a seeded order that resumes exactly: the
            shards in a seeded order, the rows of each shard in a seeded permutation
            (see ``shuffled_shards``). Use a new seed for each epoch.
    """

    data_source: str | None = None
    revision: str | None = None
    verify: bool = True
    format: str = "alpaca"
    model_name: str | None = None
    model_author: str | None = None
    manifest_sha256: str | None = None
    shuffle_seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.name not in CONFIGS:
            raise UnknownConfigError(self.name)

    @property
    def is_local(self) -> bool:
        return self.data_source is not None and os.path.isdir(self.data_source)

    def release_url(self, path: str) -> str:
        """URL of a file of the release, local (never through a link) or ``hf://`` pinned to the revision.

        ``path`` must have passed ``check_release_manifest`` (or be the manifest's own name).
        """
        if self.data_source is not None and self.is_local:
            return local_release_file(self.data_source, path)
        repo_id = self.data_source or DEFAULT_REPO_ID
        return f"hf://datasets/{repo_id}@{self.revision_or_tag}/{path}"

    @property
    def revision_or_tag(self) -> str:
        return self.revision or f"v{self.version}"

    @property
    def spec(self) -> str:
        """The release as the CLI names it: a folder, or ``ORG/NAME@REVISION``."""
        if self.data_source is not None and self.is_local:
            return self.data_source
        return f"{self.data_source or DEFAULT_REPO_ID}@{self.revision_or_tag}"

    @property
    def plain_load_call(self) -> str:
        """The ``datasets.load_dataset`` call that reads the same release with no builder."""
        if self.data_source is not None and self.is_local:
            return f"datasets.load_dataset({self.data_source!r}, {self.name!r})"
        repo_id = self.data_source or DEFAULT_REPO_ID
        return f"datasets.load_dataset({repo_id!r}, {self.name!r}, revision={self.revision_or_tag!r})"

    @property
    def renders_identity(self) -> bool:
        return self.model_name is not None or self.model_author is not None

    def check_presentation(self) -> None:
        """Refuse an unknown view or an unusable identity when the builder is made, not rows later.

        ``datasets`` sets keyword arguments on a copy of the config without running
        ``__post_init__`` again, so the builder calls this from ``_info``.
        """
        check_view(self.format)
        check_shuffle_seed(self.shuffle_seed)
        if self.renders_identity:
            if self.name != IDENTITY_CONFIG:
                raise IdentityError(
                    f"only the {IDENTITY_CONFIG!r} config holds NAME and AUTHOR; {self.name!r} has nothing to fill"
                )
            check_identity(self.model_name, self.model_author)

    def present(self, table: pa.Table) -> pa.Table:
        """A stored table as this config serves it: identity filled in, then shaped as the view."""
        if self.model_name is not None and self.model_author is not None:  # check_presentation refused one alone
            table = render_identity_table(table, self.model_name, self.model_author)
        return to_view_table(table, self.format)


class ChatDatasetBaseline(datasets.ArrowBasedBuilder):
    """Loads one config of a chat-dataset-baseline release, pinned and verified."""

    BUILDER_CONFIG_CLASS = ChatDatasetBaselineConfig
    BUILDER_CONFIGS = [
        ChatDatasetBaselineConfig(name=name, version=datasets.Version(RELEASE_VERSION), description=spec.description)
        for name, spec in CONFIGS.items()
    ]
    DEFAULT_CONFIG_NAME = DEFAULT_CONFIG
    config: ChatDatasetBaselineConfig

    def __init__(self, *args: Any, config_name: str | None = None, **kwargs: Any) -> None:
        # datasets refuses an unknown name with a plain ValueError before any config
        # code runs; refuse it first, with the library's own error
        if config_name is not None and config_name not in CONFIGS:
            raise UnknownConfigError(config_name)
        super().__init__(*args, config_name=config_name, **kwargs)

    def _info(self) -> datasets.DatasetInfo:
        self.config.check_presentation()
        self._key_cache_by_manifest()
        return datasets.DatasetInfo(
            description=CONFIGS[self.config.name].description,
            features=VIEW_FEATURES[self.config.format],
            homepage="https://github.com/hikariming/chat-dataset-baseline",
            license="cc-by-nc-4.0",  # the data; MIT covers only the code (README, "Licence")
        )

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        manifest = self._read_manifest()  # the bytes the cache is keyed by, read when the builder was made
        shards = shuffled_shards(manifest["configs"][self.config.name]["shards"], self.config.shuffle_seed)
        files = dl_manager.download([self.config.release_url(shard["path"]) for shard in shards])
        streaming = isinstance(dl_manager, datasets.StreamingDownloadManager)
        if self.config.verify and not streaming:
            # downloaded shards are checked here, before generation, so the error reaches
            # the caller as itself rather than wrapped in a DatasetGenerationError
            # (values too: generation below runs with verify=False and reads the files as they are)
            for file, shard in zip(files, shards, strict=False):
                with closing_parquet_file(pa.BufferReader(self._read_shard(file, shard))) as parquet_file:
                    check_shard_values(parquet_file.read(), shard["path"])
        gen_kwargs = {"files": files, "shards": shards, "verify": self.config.verify and streaming}
        return [datasets.SplitGenerator(name=SPLIT, gen_kwargs=gen_kwargs)]

    # --- the release's identity: the manifest, read once, keys the cache ------------------

    def _key_cache_by_manifest(self) -> None:
        """Read the manifest once, refuse it if a lock pins another, and key the cache by its sha256.

        ``datasets`` caches a prepared dataset under ``<name>/<config_id>/<version>/<hash>``;
        ``config_id`` comes from the config's arguments, which stay the same when a release
        folder is rebuilt in place or a tag is re-created, so without the manifest in the
        key a load would serve the old release's rows. ``hash`` is the builder's public
        constructor argument for that last part of the path; ``__init__`` calls ``_info``
        (and so this) before it builds the cache directory from it.
        """
        if getattr(self, "_manifest_data", None) is None:
            self._manifest_data = self._fetch_manifest()
        digest = manifest_sha256(self._manifest_data)
        pinned = self.config.manifest_sha256
        if pinned is not None and digest != pinned:
            raise ManifestMismatch(self.config.release_url(MANIFEST_FILENAME), pinned, digest)
        self.hash = digest

    def _fetch_manifest(self) -> bytes:
        url = self.config.release_url(MANIFEST_FILENAME)
        try:
            if self.config.is_local:
                with open(url, "rb") as f:
                    return f.read()
            repo_id, revision = self.config.data_source or DEFAULT_REPO_ID, self.config.revision_or_tag
            local = hf_hub_download(
                repo_id, MANIFEST_FILENAME, repo_type="dataset", revision=revision, token=self.token
            )
            with open(local, "rb") as f:
                return f.read()
        except (OSError, ValueError, EntryNotFoundError) as err:  # not found, HTTP, offline
            raise ManifestError(f"cannot read the release manifest {url}: {err}") from err

    def _read_manifest(self) -> dict[str, Any]:
        url = self.config.release_url(MANIFEST_FILENAME)
        manifest = read_release_json(self._manifest_data, f"the release manifest {url}", ManifestError)
        configs = manifest.get("configs") if isinstance(manifest, dict) else None
        entry = configs.get(self.config.name) if isinstance(configs, dict) else None
        if not isinstance(entry, dict) or not isinstance(entry.get("shards"), list):
            raise ManifestError(f"the release manifest {url} lists no shards for config {self.config.name!r}")
        check_release_manifest(manifest, url)  # every path, every config: before any shard is opened
        check_config_entry(entry, self.config.name, url)
        problem = schema_problem(manifest.get("schema_fingerprint"), manifest.get("version"))
        if problem is not None:
            raise ReleaseSchemaError(f"the release at {url}", problem, self.config.plain_load_call, self.config.spec)
        return manifest

    def _generate_shards(self, files: list[str], shards: list[dict[str, Any]], verify: bool) -> Iterator[str]:
        yield from files

    def _generate_tables(
        self, files: list[str], shards: list[dict[str, Any]], verify: bool
    ) -> Iterator[tuple[Any, pa.Table]]:
        for shard_index, (file, shard) in enumerate(zip(files, shards, strict=False)):
            source = pa.BufferReader(self._read_shard(file, shard)) if verify else file
            # Closed when its shard is done, and when the consumer stops early (closing this
            # generator): a reader left to the garbage collector can outlive Arrow's runtime at
            # interpreter shutdown, and the process then aborts after its work is done
            # ("terminate called without an active exception", apache/arrow#45214).
            with closing_parquet_file(source) as parquet_file:
                if self.config.shuffle_seed is not None:
                    tables = shuffled_rows(parquet_file, self.config.shuffle_seed, shard)
                else:
                    tables = (parquet_file.read_row_group(group) for group in range(parquet_file.num_row_groups))
                for part, table in enumerate(tables):
                    if verify:  # before the cast, which would fail on a column of another type
                        check_shard_values(table, shard["path"])
                    yield _table_key(shard_index, part), self.config.present(self._cast_table(table))

    def _read_shard(self, file: str, shard: dict[str, Any]) -> bytes:
        """The shard's bytes, checked against the manifest before any row is trusted.

        The whole shard is read and hashed first (shards are a few MB), so a corrupt
        shard fails before it yields a single row, streaming or not.
        """
        with open(file, "rb") as f:  # ``open`` is patched by datasets for hf:// when streaming
            data = f.read()
        verify_shard(data, shard)
        return data

    def _get_examples_iterable_for_split(self, split_generator: datasets.SplitGenerator) -> Any:
        iterable = super()._get_examples_iterable_for_split(split_generator)
        return _typed_examples_iterable(iterable, self.info.features)

    def _as_streaming_dataset_single(self, splits_generator: datasets.SplitGenerator, **kwargs: Any) -> Any:
        streaming = super()._as_streaming_dataset_single(splits_generator, **kwargs)
        return _batched_from_arrow(streaming) if FAST_STREAMING else streaming

    def _cast_table(self, table: pa.Table) -> pa.Table:
        if table.schema.equals(ARROW_SCHEMA, check_metadata=False):
            return table.replace_schema_metadata(None)
        return table.select(ARROW_SCHEMA.names).cast(ARROW_SCHEMA)


# --- a shuffle that resumes exactly ------------------------------------------------------
# ``IterableDataset.shuffle`` draws rows from a buffer, and ``load_state_dict`` cannot
# restore the buffer (huggingface/datasets issue #7901): a resumed run sees other rows
# than an uninterrupted one. Here the order is a function of the seed alone: the shards
# in a seeded order, and each shard's rows in a permutation seeded by the seed and the
# shard's sha256. datasets' own state (which shard, how many rows into it) then names a
# position in that fixed order, and resuming continues exactly there, in one process or
# across DataLoader workers (each gets whole shards). A shard is a few MB, so it is read
# whole to be permuted. ``random.Random`` is seeded with ints and strings only, whose
# sequences the standard library keeps stable across Python versions.


@contextlib.contextmanager
def closing_parquet_file(source: str | pa.NativeFile) -> Iterator[pq.ParquetFile]:
    """A Parquet reader that is closed on leaving the block, whatever its source.

    ``ParquetFile``'s own ``with`` closes only a file it opened from a path; ``force``
    closes the reader over an in-memory buffer too.
    """
    parquet_file = pq.ParquetFile(source)
    try:
        yield parquet_file
    finally:
        parquet_file.close(force=True)


def check_shuffle_seed(seed: int | None) -> None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"shuffle_seed must be a non-negative int (or None for the stored order); got {seed!r}")


def shuffled_shards(shards: list[dict[str, Any]], seed: int | None) -> list[dict[str, Any]]:
    """The manifest's shards in the order ``seed`` gives (as listed when ``seed`` is None)."""
    if seed is None:
        return shards
    order = list(shards)
    random.Random(seed).shuffle(order)
    return order


def shuffled_rows(parquet_file: pq.ParquetFile, seed: int, shard: dict[str, Any]) -> Iterator[pa.Table]:
    """The shard's rows in the permutation ``seed`` and the shard's sha256 give, in row-group-sized tables."""
    table = parquet_file.read()
    order = list(range(table.num_rows))
    random.Random(f"{seed}:{shard['sha256']}").shuffle(order)
    permuted = table.take(pa.array(order, pa.int64()))
    size = max(1, parquet_file.metadata.row_group(0).num_rows) if parquet_file.num_row_groups else 1
    for start in range(0, permuted.num_rows, size):
        yield permuted.slice(start, size)


# --- compatibility with every datasets from 4.0.0 ------------------------------------
# ``datasets.builder.Key`` (4.5 and later) tells the builder which source shard a table
# came from; older versions take any key.

_BuilderKey: Any = getattr(datasets.builder, "Key", None)


def _table_key(shard_index: int, group: int) -> Any:
    """The key of row group ``group`` of shard ``shard_index``, in the form this ``datasets`` expects."""
    if _BuilderKey is not None:
        return _BuilderKey(shard_index, group)
    return f"{shard_index}:{group}"


# --- fast streaming (fenced) -----------------------------------------------------------
# ``datasets`` streams a generic Arrow builder by re-casting every row to the features,
# one-row table at a time, because it cannot know the tables already match them. This
# builder's tables always do (``_cast_table``), so it says so; row iteration then takes
# datasets' own batched conversion path, several times faster, with the same rows and
# the same resumable state.
#
# Saying so takes private names of ``datasets`` (``_probe_fast_streaming`` lists them),
# which any release may rename. They are probed once, at import: when one is missing
# or changed, ``FAST_STREAMING`` is False and the builder takes datasets' plain path,
# which gives the same rows, slower. The typed iterable and the batched dataset are
# made by changing the class of the objects datasets built itself, never by calling
# their constructors, whose private arguments change between releases.


def _probe_fast_streaming() -> str | None:
    """None when this ``datasets`` has every private name the fast path uses; otherwise the first it lacks."""
    try:
        from datasets.iterable_dataset import ArrowExamplesIterable
    except ImportError:
        return "datasets.iterable_dataset.ArrowExamplesIterable"
    needs: list[tuple[str, Any, str]] = [
        ("ArrowExamplesIterable", ArrowExamplesIterable, name)
        for name in ("_iter_arrow", "iter_arrow", "is_typed", "features", "shuffle_data_sources", "shard_data_sources")
    ]
    for owner, cls, name in needs:
        if not hasattr(cls, name):
            return f"{owner}.{name}"
    for owner, cls, name in (
        ("ArrowBasedBuilder", datasets.ArrowBasedBuilder, "_get_examples_iterable_for_split"),
        ("DatasetBuilder", datasets.DatasetBuilder, "_as_streaming_dataset_single"),
        ("IterableDataset", datasets.IterableDataset, "_prepare_ex_iterable_for_iteration"),
    ):
        if name not in vars(cls):  # defined by that very class, not only inherited from a base
            return f"{owner}.{name}"
    for owner, cls, name in (("ArrowExamplesIterable", ArrowExamplesIterable, n) for n in ("is_typed", "features")):
        if not isinstance(inspect.getattr_static(cls, name), property):
            return f"{owner}.{name} (a property)"
    prepare = inspect.signature(datasets.IterableDataset._prepare_ex_iterable_for_iteration).parameters
    if not {"batch_size", "drop_last_batch"} <= set(prepare):
        return "IterableDataset._prepare_ex_iterable_for_iteration(batch_size, drop_last_batch)"
    return None


#: The private name of ``datasets`` the fast streaming path needs and this version lacks, if any.
FAST_STREAMING_MISSING: str | None = _probe_fast_streaming()
#: Whether streaming takes the fast path; tests set it to False to run the plain path in-process.
FAST_STREAMING: bool = FAST_STREAMING_MISSING is None


if FAST_STREAMING:
    from datasets.iterable_dataset import ArrowExamplesIterable as _ArrowExamplesIterable

    class _TypedArrowExamplesIterable(_ArrowExamplesIterable):
        """An ``ArrowExamplesIterable`` whose tables are known to be in ``features``."""

        _typed_features: datasets.Features

        @property
        def is_typed(self) -> bool:
            return True

        @property
        def features(self) -> datasets.Features:
            return self._typed_features

        def shuffle_data_sources(self, generator: Any) -> Any:
            return _typed_examples_iterable(super().shuffle_data_sources(generator), self._typed_features)

        def shard_data_sources(self, num_shards: int, index: int, contiguous: bool = True) -> Any:
            return _typed_examples_iterable(
                super().shard_data_sources(num_shards, index, contiguous=contiguous), self._typed_features
            )


def _typed_examples_iterable(iterable: Any, features: datasets.Features) -> Any:
    """``iterable`` marked as yielding tables already in ``features``, when it is a plain ``ArrowExamplesIterable``.

    Anything else (a subclass a later ``datasets`` returns, or the plain path) is left as it is.
    """
    if FAST_STREAMING and type(iterable) is _ArrowExamplesIterable:
        iterable.__class__ = _TypedArrowExamplesIterable
        iterable._typed_features = features
    return iterable


def _batched_from_arrow(streaming: datasets.IterableDataset) -> datasets.IterableDataset:
    """``streaming`` with the Arrow-batched ``.iter``, when it is a plain ``IterableDataset``."""
    if type(streaming) is datasets.IterableDataset:
        streaming.__class__ = _ArrowBatchedIterableDataset
    return streaming


_MISSING = object()


class _ArrowBatchedIterableDataset(datasets.IterableDataset):
    """``.iter(batch_size)`` straight from Arrow batches, as datasets does for formatted datasets.

    Unformatted, ``datasets`` builds each batch from single rows; the batches here are
    the same dicts of lists, made from the Arrow table in one ``to_pydict`` call.
    """

    def iter(self, batch_size: int, drop_last_batch: bool = False) -> Iterator[dict[str, list[Any]]]:
        if not FAST_STREAMING or getattr(self, "_formatting", _MISSING) is not None:
            yield from super().iter(batch_size, drop_last_batch)
            return
        ex_iterable = self._prepare_ex_iterable_for_iteration(batch_size=batch_size, drop_last_batch=drop_last_batch)
        rebatched = (getattr(ex_iterable, "batch_size", _MISSING), getattr(ex_iterable, "drop_last_batch", _MISSING))
        if ex_iterable.iter_arrow is None or not ex_iterable.is_typed or rebatched != (batch_size, drop_last_batch):
            # datasets before 4.1 does not cut an unformatted stream into batches of batch_size here
            yield from super().iter(batch_size, drop_last_batch)
            return
        for _, table in ex_iterable.iter_arrow():
            yield table.to_pydict()
