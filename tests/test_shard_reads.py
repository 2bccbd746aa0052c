"""Each shard is read once: by ``build --base`` and by the verifying builder, when nothing is wrong.

A reader that checks a shard and then opens it again to use it reads it twice, and trusts
a file that may have changed since it was checked. Both readers are counted here at the
file level: every open by Python (the ``open`` audit event, which ``Path.read_bytes`` and
``open`` raise) and every path handed to pyarrow, which opens files natively.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hostile_release import copy_release, read_manifest, rewrite_shard

import chat_dataset_baseline
from chat_dataset_baseline import ChatDatasetBaseline, ShardVerificationError
from chatcorpus.release import incremental
from chatcorpus.release.build import BuildOptions, build_release

DATA = Path(__file__).resolve().parent.parent / "data"


class Opens(Counter[str]):
    """Opens to read, per resolved path; ``copied`` counts the opens of ``shutil.copyfile`` apart."""

    def __init__(self) -> None:
        super().__init__()
        self.copied: Counter[str] = Counter()
        self.copying: str | None = None


#: The counter of the test that is counting, if any (an audit hook cannot be removed once added).
_counting: list[Opens] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _counting or not args or not isinstance(args[0], (str, Path)):
        return
    opens, path = _counting[-1], str(Path(args[0]).resolve())
    if event == "shutil.copyfile":  # its own open of the source follows
        opens.copying = path
    elif event == "open" and path == opens.copying:
        opens.copied[path] += 1
        opens.copying = None
    elif event == "open":
        opens[path] += 1


sys.addaudithook(_audit)


@contextmanager
def counting_opens(monkeypatch: pytest.MonkeyPatch) -> Iterator[Opens]:
    """Opens per resolved path while the block runs: Python's, and pyarrow's given a path."""
    opened = Opens()

    def record(source: object) -> None:
        if isinstance(source, (str, Path)):
            opened[str(Path(source).resolve())] += 1

    class CountingParquetFile(pq.ParquetFile):
        def __init__(self, source: Any, *args: Any, **kwargs: Any) -> None:
            record(source)
            super().__init__(source, *args, **kwargs)

    read_table = pq.read_table

    def counting_read_table(source: Any, *args: Any, **kwargs: Any) -> pa.Table:
        record(source)
        return read_table(source, *args, **kwargs)

    # every copy of pyarrow.parquet in use: making a datasets builder imports a second one
    for module in {
        id(m): m for m in (pq, sys.modules["pyarrow.parquet"], chat_dataset_baseline.pq, incremental.pq)
    }.values():
        monkeypatch.setattr(module, "ParquetFile", CountingParquetFile)
        monkeypatch.setattr(module, "read_table", counting_read_table)
    for name in ("memory_map", "OSFile", "input_stream"):
        opener = getattr(pa, name)
        monkeypatch.setattr(
            pa, name, lambda source, *a, _opener=opener, **k: (record(source), _opener(source, *a, **k))[1]
        )
    _counting.append(opened)
    try:
        yield opened
    finally:
        _counting.pop()


def _shard_files(release: Path, config: str | None = None) -> list[str]:
    configs = read_manifest(release)["configs"]
    return [
        str((release / shard["path"]).resolve())
        for name, entry in configs.items()
        if config in (None, name)
        for shard in entry["shards"]
    ]


def test_build_on_a_base_reads_each_base_shard_once(
    demo_release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = copy_release(demo_release, tmp_path / "base")
    shards = _shard_files(base)
    with counting_opens(monkeypatch) as opened:
        result = build_release(
            DATA, tmp_path / "next", options=BuildOptions(version="9.0.0", base=str(base), progress=False)
        )
    assert result.published
    assert {path: opened[path] for path in shards} == dict.fromkeys(shards, 1)
    # every shard was kept: the same source, so the same shards, copied into the new release
    assert {path: opened.copied[path] for path in shards} == dict.fromkeys(shards, 1)
    assert sorted(p.removeprefix(str(base.resolve())) for p in shards) == sorted(
        p.removeprefix(str((tmp_path / "next").resolve())) for p in _shard_files(tmp_path / "next")
    )


@pytest.mark.parametrize("config", ["alpaca-zh", "prompts"])
def test_the_verifying_builder_reads_each_shard_once(
    demo_release: Path, config: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shards = _shard_files(demo_release, config)
    builder = ChatDatasetBaseline(config_name=config, data_source=str(demo_release), cache_dir=str(tmp_path / "c"))
    with counting_opens(monkeypatch) as opened:
        builder.download_and_prepare()
    assert {path: opened[path] for path in shards} == dict.fromkeys(shards, 1)
    rows = builder.as_dataset(split="train")
    assert rows.num_rows == sum(entry["rows"] for entry in read_manifest(demo_release)["configs"][config]["shards"])
    assert rows.num_rows == sum(pq.read_metadata(path).num_rows for path in shards)


def test_a_shard_refused_in_a_num_proc_worker_is_still_named_by_its_own_error(tmp_path: Path) -> None:
    """A worker's error reaches the parent without its cause: the shards are checked again there."""
    release = tmp_path / "release"
    build_release(DATA, release, options=BuildOptions(shard_rows=2, progress=False))
    table = pq.read_table(release / read_manifest(release)["configs"]["alpaca-zh"]["shards"][0]["path"])
    language = table.schema.get_field_index("language")
    nulls = pa.nulls(table.num_rows, pa.string())
    sink = pa.BufferOutputStream()
    pq.write_table(table.set_column(language, table.schema.field(language), nulls), sink)
    shard_path = rewrite_shard(release, "alpaca-zh", sink.getvalue().to_pybytes())
    assert len(read_manifest(release)["configs"]["alpaca-zh"]["shards"]) >= 2  # so that two workers run
    builder = ChatDatasetBaseline(config_name="alpaca-zh", data_source=str(release), cache_dir=str(tmp_path / "c"))
    with pytest.raises(ShardVerificationError, match="holds nulls") as refused:
        builder.download_and_prepare(num_proc=2)
    assert refused.value.path == shard_path
