"""Trainer views of loaded datasets, streaming or not: ``to_view(ds, "messages")`` and back.

The conversions are the builder's own Arrow functions (``to_view_table``,
``from_view_table`` in ``chat_dataset_baseline``) applied batch by batch, so a dataset
loaded with plain ``load_dataset`` gets exactly the rows ``ChatDatasetBaseline(format=...)``
serves. ``load_view`` is the other path: the verifying builder itself.

The views (each keeps ``id``, ``language``, ``category``, ``source`` and ``instruction_bytes``):

- ``alpaca``: the shared schema as stored.
- ``messages``: ``messages`` = [system (when not empty), history user/assistant turns,
  user (the non-empty ones of instruction and input, joined by one "\\n", as LLaMA-Factory joins them), assistant
  (output)], each ``{role, content}``: TRL's conversational type and what
  ``tokenizer.apply_chat_template`` takes.
- ``sharegpt``: ``conversations`` of ``{from, value}`` with ``from`` in human/gpt, and
  ``system``: LLaMA-Factory's sharegpt format.
- ``prompt-completion``: ``prompt`` is the conversation up to the last user turn and
  ``completion`` the one assistant turn, both lists of ``{role, content}``: TRL's
  conversational prompt-completion type, so the trainer applies the model's chat
  template and computes the loss on the completion only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import datasets
import pyarrow as pa

from chat_dataset_baseline import (
    FEATURES,
    SPLIT,
    VIEW_FEATURES,
    ChatDatasetBaseline,
    check_view,
    from_view_table,
    to_view_table,
)
from chatcorpus.release.lock import Lock

AnyDataset = TypeVar("AnyDataset", datasets.Dataset, datasets.IterableDataset)


def to_view(ds: AnyDataset, view: str) -> AnyDataset:
    """``ds`` (rows of the shared schema) reshaped as ``view``."""
    check_view(view)
    return map_tables(ds, partial(to_view_table, view=view), VIEW_FEATURES[view])


def from_view(ds: AnyDataset, view: str) -> AnyDataset:
    """The rows of the shared schema that ``to_view(rows, view)`` turned into ``ds``, exactly."""
    check_view(view)
    return map_tables(ds, partial(from_view_table, view=view), FEATURES)


def map_tables(ds: AnyDataset, function: Callable[[pa.Table], pa.Table], features: datasets.Features) -> AnyDataset:
    """``function`` over the Arrow batches of ``ds``; the tables it returns are the new rows.

    With Arrow formatting, both ``Dataset.map`` and ``IterableDataset.map`` take a
    returned table as is, without merging the input columns back. Lazy for an
    ``IterableDataset`` (its shards are kept); cached like any ``Dataset.map``
    otherwise. The result is unformatted (Python objects).
    """
    mapped = ds.with_format("arrow").map(function, batched=True, features=features)
    return mapped.with_format(None)


def load_view(
    release: str | Path,
    config: str,
    view: str = "alpaca",
    *,
    streaming: bool = False,
    revision: str | None = None,
    name: str | None = None,
    author: str | None = None,
    cache_dir: str | None = None,
    lock: Lock | None = None,
    manifest_sha256: str | None = None,
) -> datasets.Dataset | datasets.IterableDataset:
    """One config of a release (a local folder or a Hub repo id), verified, in ``view``.

    ``name`` and ``author`` fill the ``prompts`` config's placeholders; see
    ``chatcorpus.training.identity``. ``lock`` (see ``chatcorpus.release.lock``) reads the
    locked commit and refuses another manifest; ``manifest_sha256`` refuses a release
    whose ``manifest.json`` has another sha256 (``ManifestMismatch``).
    """
    if lock is not None:
        revision, manifest_sha256 = lock.pin(str(release), revision)
    builder = ChatDatasetBaseline(
        config_name=config,
        data_source=str(release),
        revision=revision,
        manifest_sha256=manifest_sha256,
        format=view,
        model_name=name,
        model_author=author,
        cache_dir=cache_dir,
    )
    if streaming:
        return builder.as_streaming_dataset(split=SPLIT)
    builder.download_and_prepare()
    return builder.as_dataset(split=SPLIT)
