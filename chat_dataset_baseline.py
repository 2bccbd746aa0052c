"""The chat-dataset-baseline builder: four configs of one chat instruction-tuning corpus.

This module is the single definition of the corpus's shape: ``CONFIGS`` (its parts),
``FEATURES`` (the one schema every shard, card and JSON Schema is generated from or
checked against) and ``ChatDatasetBaseline``, a ``datasets`` builder that loads a
release pinned to its version and verifies every shard against the release manifest.

It is self-contained on purpose: it imports only ``datasets``, ``pyarrow``,
``huggingface_hub`` and the standard library, so it can be copied next to a training
script or vendored without the ``chatcorpus`` tooling, which imports from here and
never the other way round.

    >>> from chat_dataset_baseline import ChatDatasetBaseline
    >>> builder = ChatDatasetBaseline(config_name="alpaca-zh", data_source="path/to/release")
    >>> builder.download_and_prepare()
    >>> ds = builder.as_dataset(split="train")
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
from datasets.builder import Key
from datasets.iterable_dataset import ArrowExamplesIterable

#: The release this copy of the builder was published with; loads default to it
#: rather than to the moving ``main`` branch.
RELEASE_VERSION = "1.0.0"
#: Where releases are published when no ``data_source`` is given.
DEFAULT_REPO_ID = "hikariming/chat-dataset-baseline"
#: The release manifest: rows, bytes and sha256 of every shard, the schema fingerprint.
MANIFEST_FILENAME = "manifest.json"
SPLIT = "train"


@dataclass(frozen=True)
class ConfigSpec:
    """What a config is, and the defaults its records get when the source is silent."""

    description: str
    language: str
    category: Optional[str]  # None: the category is the source file's stem


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
        "Questions a Chinese chat model answered badly, re-answered; the category is "
        "the source file it came from.",
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
    }
)
#: The Arrow schema of every shard, without the ``huggingface`` metadata.
ARROW_SCHEMA: pa.Schema = FEATURES.arrow_schema.remove_metadata()


def schema_fingerprint(schema: pa.Schema = ARROW_SCHEMA) -> str:
    """sha256 of the schema's field names and types, so a manifest can name the schema it was built with."""
    canonical = json.dumps([[field.name, str(field.type)] for field in schema], separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- errors ---------------------------------------------------------------------------
# The library's one root error lives here, beside the builder, because the builder may
# not import the tooling; ``chatcorpus.errors`` builds on it.


class ChatDatasetError(Exception):
    """Root of every error chat-dataset-baseline raises on purpose."""


class ManifestError(ChatDatasetError, ValueError):
    """The release manifest is missing, unreadable or does not describe this config."""


class ShardVerificationError(ChatDatasetError, ValueError):
    """A shard's bytes or rows differ from what the release manifest promises."""

    def __init__(self, shard: str, reason: str) -> None:
        super().__init__(f"shard {shard!r} failed verification: {reason}")
        self.shard = shard
        self.reason = reason


def verify_shard(data: bytes, shard: dict[str, Any]) -> None:
    """Raise ShardVerificationError unless ``data`` is the shard the manifest entry describes.

    Module-level so that the tooling (``chat-dataset-baseline verify``, ``build --base``)
    applies exactly the check a load applies.
    """
    if len(data) != shard["bytes"]:
        raise ShardVerificationError(shard["path"], f"{len(data)} bytes, the manifest says {shard['bytes']}")
    digest = hashlib.sha256(data).hexdigest()
    if digest != shard["sha256"]:
        raise ShardVerificationError(shard["path"], f"sha256 {digest}, the manifest says {shard['sha256']}")
    try:
        rows = pq.read_metadata(pa.BufferReader(data)).num_rows
    except pa.ArrowInvalid as err:  # only reachable when the manifest itself lists a broken shard
        raise ShardVerificationError(shard["path"], f"not a readable Parquet file: {err}") from err
    if rows != shard["rows"]:
        raise ShardVerificationError(shard["path"], f"{rows} rows, the manifest says {shard['rows']}")


# --- the builder ----------------------------------------------------------------------


@dataclass
class ChatDatasetBaselineConfig(datasets.BuilderConfig):
    """A config of the corpus, bound to where its release lives.

    Args:
        data_source: a local release folder, or a Hub dataset repo id
            (default ``DEFAULT_REPO_ID``).
        revision: the Hub revision to read; defaults to the tag of ``version``
            (``v1.0.0``), never the moving ``main``.
        verify: check every shard's sha256 and row count against the manifest.
    """

    data_source: Optional[str] = None
    revision: Optional[str] = None
    verify: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.name not in CONFIGS:
            raise ValueError(f"unknown config {self.name!r}; choose one of {', '.join(CONFIGS)}")

    @property
    def is_local(self) -> bool:
        return self.data_source is not None and os.path.isdir(self.data_source)

    def release_url(self, path: str) -> str:
        """URL of a file of the release, local or ``hf://`` pinned to the revision."""
        if self.is_local:
            return os.path.join(os.path.abspath(self.data_source), *path.split("/"))
        repo_id = self.data_source or DEFAULT_REPO_ID
        revision = self.revision or f"v{self.version}"
        return f"hf://datasets/{repo_id}@{revision}/{path}"


class ChatDatasetBaseline(datasets.ArrowBasedBuilder):
    """Loads one config of a chat-dataset-baseline release, pinned and verified."""

    BUILDER_CONFIG_CLASS = ChatDatasetBaselineConfig
    BUILDER_CONFIGS = [
        ChatDatasetBaselineConfig(name=name, version=datasets.Version(RELEASE_VERSION), description=spec.description)
        for name, spec in CONFIGS.items()
    ]
    DEFAULT_CONFIG_NAME = "alpaca-zh"
    config: ChatDatasetBaselineConfig

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=CONFIGS[self.config.name].description,
            features=FEATURES,
            homepage="https://github.com/hikariming/chat-dataset-baseline",
            license="cc-by-nc-4.0 (Alpaca-derived text); MIT (everything else)",
        )

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        manifest = self._read_manifest(dl_manager)
        shards = manifest["configs"][self.config.name]["shards"]
        files = dl_manager.download([self.config.release_url(shard["path"]) for shard in shards])
        streaming = isinstance(dl_manager, datasets.StreamingDownloadManager)
        if self.config.verify and not streaming:
            # downloaded shards are checked here, before generation, so the error reaches
            # the caller as itself rather than wrapped in a DatasetGenerationError
            for file, shard in zip(files, shards):
                self._read_shard(file, shard)
        gen_kwargs = {"files": files, "shards": shards, "verify": self.config.verify and streaming}
        return [datasets.SplitGenerator(name=SPLIT, gen_kwargs=gen_kwargs)]

    def _read_manifest(self, dl_manager: datasets.DownloadManager) -> dict[str, Any]:
        url = self.config.release_url(MANIFEST_FILENAME)
        try:
            with open(dl_manager.download(url), "rb") as f:
                manifest = json.loads(f.read())
        except (OSError, ValueError) as err:  # FileNotFoundError, HTTP errors, bad JSON
            raise ManifestError(f"cannot read the release manifest {url}: {err}") from err
        if self.config.name not in manifest.get("configs", {}):
            raise ManifestError(f"the release manifest {url} has no config {self.config.name!r}")
        if manifest.get("schema_fingerprint") != schema_fingerprint():
            raise ManifestError(
                f"the release at {url} was built with another schema than this builder's FEATURES; "
                "use the builder published with that release"
            )
        return manifest

    def _generate_shards(self, files: list[str], shards: list[dict[str, Any]], verify: bool) -> Iterator[str]:
        yield from files

    def _generate_tables(self, files: list[str], shards: list[dict[str, Any]], verify: bool) -> Iterator[tuple[Key, pa.Table]]:
        for shard_index, (file, shard) in enumerate(zip(files, shards)):
            if verify:
                parquet_file = pq.ParquetFile(pa.BufferReader(self._read_shard(file, shard)))
            else:
                parquet_file = pq.ParquetFile(file)
            for group in range(parquet_file.num_row_groups):
                yield Key(shard_index, group), self._cast_table(parquet_file.read_row_group(group))

    def _read_shard(self, file: str, shard: dict[str, Any]) -> bytes:
        """The shard's bytes, checked against the manifest before any row is trusted.

        The whole shard is read and hashed first (shards are a few MB), so a corrupt
        shard fails before it yields a single row, streaming or not.
        """
        with open(file, "rb") as f:  # ``open`` is patched by datasets for hf:// when streaming
            data = f.read()
        verify_shard(data, shard)
        return data

    def _get_examples_iterable_for_split(self, split_generator: datasets.SplitGenerator) -> ArrowExamplesIterable:
        return _TypedArrowExamplesIterable(
            self.info.features,
            self._generate_tables,
            split_generator.gen_kwargs,
            sleep_on_threads_shutdown=self.SLEEP_ON_THREADS_SHUTDOWNS,
        )

    def _as_streaming_dataset_single(self, splits_generator: datasets.SplitGenerator, **kwargs: Any) -> datasets.IterableDataset:
        streaming = super()._as_streaming_dataset_single(splits_generator, **kwargs)
        return _ArrowBatchedIterableDataset(
            streaming._ex_iterable, info=streaming.info, split=streaming.split, token_per_repo_id=streaming._token_per_repo_id
        )

    def _cast_table(self, table: pa.Table) -> pa.Table:
        if table.schema.equals(ARROW_SCHEMA, check_metadata=False):
            return table.replace_schema_metadata(None)
        return table.select(ARROW_SCHEMA.names).cast(ARROW_SCHEMA)


# --- fast streaming -------------------------------------------------------------------
# ``datasets`` streams a generic Arrow builder by re-casting every row to the features,
# one-row table at a time, because it cannot know the tables already match them. This
# builder's tables always do (``_cast_table``), so it says so; row iteration then takes
# datasets' own batched conversion path, several times faster, with the same rows and
# the same resumable state.


class _TypedArrowExamplesIterable(ArrowExamplesIterable):
    """An ``ArrowExamplesIterable`` whose tables are known to be in ``features``."""

    def __init__(self, features: datasets.Features, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._typed_features = features

    @property
    def is_typed(self) -> bool:
        return True

    @property
    def features(self) -> datasets.Features:
        return self._typed_features

    def _typed(self, iterable: ArrowExamplesIterable) -> "_TypedArrowExamplesIterable":
        return _TypedArrowExamplesIterable(
            self._typed_features,
            iterable.generate_tables_fn,
            iterable.kwargs,
            iterable.generate_more_kwargs_fn,
            iterable._sleep_on_threads_shutdown,
        )

    def shuffle_data_sources(self, generator: Any) -> "_TypedArrowExamplesIterable":
        return self._typed(super().shuffle_data_sources(generator))

    def shard_data_sources(self, num_shards: int, index: int, contiguous: bool = True) -> "_TypedArrowExamplesIterable":
        return self._typed(super().shard_data_sources(num_shards, index, contiguous=contiguous))


class _ArrowBatchedIterableDataset(datasets.IterableDataset):
    """``.iter(batch_size)`` straight from Arrow batches, as datasets does for formatted datasets.

    Unformatted, ``datasets`` builds each batch from single rows; the batches here are
    the same dicts of lists, made from the Arrow table in one ``to_pydict`` call.
    """

    def iter(self, batch_size: int, drop_last_batch: bool = False) -> Iterator[dict[str, list[Any]]]:
        if self._formatting is not None:
            yield from super().iter(batch_size, drop_last_batch)
            return
        ex_iterable = self._prepare_ex_iterable_for_iteration(batch_size=batch_size, drop_last_batch=drop_last_batch)
        if ex_iterable.iter_arrow is None or not ex_iterable.is_typed:
            yield from super().iter(batch_size, drop_last_batch)
            return
        for _, table in ex_iterable.iter_arrow():
            yield table.to_pydict()
