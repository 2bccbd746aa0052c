"""Translation tasks from the corpus's own parallel text: each linked alpaca-zh/alpaca-en pair, both ways.

The original authors found LoRA on Chinese cost the model its translation ability and
mixed English Alpaca back in, hoping that would do. The release links each translated
``alpaca-zh`` row to its ``alpaca-en`` original (``translation_of``), so the ability can
be trained on purpose: for every pair and every non-empty field (instruction, input,
output), a task to translate it from Chinese into English and one from English into
Chinese. Only ``translated`` links are used: an untranslated copy is English on both sides.

The tasks are rows of the shared schema, so every view and the mixing recipes take
them as they take any config:

- ``instruction``: what to do (``PROMPTS``), ``input``: the text, ``output``: its translation;
- ``category``: ``translation-zh-en`` or ``translation-en-zh``; ``language``: the target's;
- provenance: ``source`` is the input row's ``source`` with the field (``alpaca-zh/<file>#<index>:output``),
  ``translation_of`` the input row's ``id``, ``translation_kind`` ``translated``;
- ``id``: the hash of the task's content, as for every row.

Computed with an Arrow join of the two tables on ``translation_of`` = ``id``: no Python loop over rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.compute as pc

from chat_dataset_baseline import ARROW_SCHEMA, FEATURES, TRANSLATED
from chatcorpus.errors import UsageError
from chatcorpus.release.lock import Lock
from chatcorpus.training.views import load_view
from chatcorpus.validation.records import content_id

#: The part name a recipe gives the translation tasks, beside the config names.
TRANSLATION_PART = "translation"
ZH_TO_EN, EN_TO_ZH = "zh-en", "en-zh"
DIRECTIONS = (ZH_TO_EN, EN_TO_ZH)
FIELDS = ("instruction", "input", "output")
#: The instruction of a task, in the language a user would ask in.
PROMPTS = {
    ZH_TO_EN: "把下面的中文翻译成英文。",
    EN_TO_ZH: "Translate the following English text into Chinese.",
}
_TARGET_LANGUAGE = {ZH_TO_EN: "en", EN_TO_ZH: "zh"}


def translation_table(
    zh: pa.Table, en: pa.Table, directions: Sequence[str] = DIRECTIONS, fields: Sequence[str] = FIELDS
) -> pa.Table:
    """Translation tasks (rows of ``ARROW_SCHEMA``) from alpaca-zh rows and the alpaca-en rows they link to."""
    _check(directions, fields)
    linked = zh.filter(pc.equal(zh.column("translation_kind"), TRANSLATED))
    originals = en.select(["id", "source", *FIELDS]).rename_columns(
        ["en_id", "en_source", *(f"en_{name}" for name in FIELDS)]
    )
    pairs = linked.select(["id", "source", "translation_of", *FIELDS]).join(
        originals, keys="translation_of", right_keys="en_id", join_type="inner"
    )
    pairs = pairs.sort_by([("source", "ascending")])  # joins do not keep order; the row order must not vary
    parts = []
    for direction in directions:
        for name in fields:
            zh_text, en_text = pairs.column(name), pairs.column(f"en_{name}")
            if direction == ZH_TO_EN:
                text, translation, row_id, row_source = zh_text, en_text, pairs.column("id"), pairs.column("source")
            else:
                text, translation = en_text, zh_text
                row_id, row_source = pairs.column("translation_of"), pairs.column("en_source")
            keep = pc.and_(
                pc.not_equal(pc.utf8_trim_whitespace(text), ""), pc.not_equal(pc.utf8_trim_whitespace(translation), "")
            )
            parts.append(
                _tasks(direction, name, *(pc.filter(c, keep) for c in (text, translation, row_id, row_source)))
            )
    if not parts:
        return ARROW_SCHEMA.empty_table()
    return pa.concat_tables(parts)


def _tasks(
    direction: str, name: str, text: pa.Array, translation: pa.Array, row_id: pa.Array, row_source: pa.Array
) -> pa.Table:
    n = len(text)
    pairs = zip(text.to_pylist(), translation.to_pylist(), strict=True)
    ids = [content_id({"instruction": PROMPTS[direction], "input": i, "output": o}) for i, o in pairs]
    columns = {
        "id": pa.array(ids, pa.string()),
        "instruction": pa.repeat(PROMPTS[direction], n),
        "input": text,
        "output": translation,
        "system": pa.repeat("", n),
        "history": pa.array([[]] * n, ARROW_SCHEMA.field("history").type),
        "language": pa.repeat(_TARGET_LANGUAGE[direction], n),
        "category": pa.repeat(f"translation-{direction}", n),
        "source": pc.binary_join_element_wise(row_source, pa.repeat(name, n), ":"),
        "translation_of": row_id,
        "translation_kind": pa.repeat(TRANSLATED, n),
    }
    return pa.Table.from_arrays([_array(columns[f.name]).cast(f.type) for f in ARROW_SCHEMA], schema=ARROW_SCHEMA)


def _array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _check(directions: Sequence[str], fields: Sequence[str]) -> None:
    if not directions or set(directions) - set(DIRECTIONS):
        raise UsageError(f"directions must be some of {', '.join(DIRECTIONS)}, got {list(directions)}")
    if not fields or set(fields) - set(FIELDS):
        raise UsageError(f"fields must be some of {', '.join(FIELDS)}, got {list(fields)}")


def translation_tasks(
    zh: datasets.Dataset, en: datasets.Dataset, directions: Sequence[str] = DIRECTIONS, fields: Sequence[str] = FIELDS
) -> datasets.Dataset:
    """The tasks of ``translation_table`` as a ``Dataset`` in ``FEATURES`` (alpaca-zh and alpaca-en rows, loaded)."""
    table = translation_table(_table(zh), _table(en), directions, fields)
    return datasets.Dataset(table.replace_schema_metadata(None), info=datasets.DatasetInfo(features=FEATURES))


def _table(ds: datasets.Dataset) -> pa.Table:
    if not isinstance(ds, datasets.Dataset):
        raise UsageError("translation tasks join two whole configs: load them without streaming")
    return ds.with_format("arrow")[:]


def load_translation(
    release: str | Path,
    *,
    directions: Sequence[str] = DIRECTIONS,
    fields: Sequence[str] = FIELDS,
    revision: str | None = None,
    cache_dir: str | None = None,
    lock: Lock | None = None,
    manifest_sha256: str | None = None,
) -> datasets.Dataset:
    """A release's translation tasks: its alpaca-zh and alpaca-en configs loaded verified, joined by the link.

    ``lock`` and ``manifest_sha256`` pin the release as in ``load_view``.
    """
    zh, en = (
        load_view(release, config, revision=revision, cache_dir=cache_dir, lock=lock, manifest_sha256=manifest_sha256)
        for config in ("alpaca-zh", "alpaca-en")
    )
    assert isinstance(zh, datasets.Dataset) and isinstance(en, datasets.Dataset)  # not streaming
    return translation_tasks(zh, en, directions, fields)
