"""Property: whatever is done to a built release, every load and command gives exactly the manifest's
rows or fails with a ChatDatasetError naming the file, and nothing outside the release is read or written.

Hypothesis mutates a copy of one small release (manifest fields, shard bytes, card YAML, paths,
symbolic links, extra files). Outside the release sits a sentinel folder holding exact copies
of its shards, the bait a path or link out of the release would find: an audit hook records
every file Python opens, and the sentinel's contents are compared before and after.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import good_record
from hostile_release import (
    HOSTILE_DEPTHS,
    HOSTILE_SHARD_PATHS,
    HOSTILE_TEXT,
    card_lists,
    nest_in_card,
    nest_in_manifest,
    unsafe_output_lines,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chat_dataset_baseline import ChatDatasetBaseline, ChatDatasetError
from chatcorpus.cli import main
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.verify import verify_release

CONFIGS = ("alpaca-en", "alpaca-zh")
_opened: list[str] = []
_watching = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _watching and event == "open" and isinstance(args[0], str | bytes | Path):
        _opened.append(str(args[0] if not isinstance(args[0], bytes) else args[0].decode(errors="replace")))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it records only while _watching


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("pristine")
    source = root / "src"
    for config, language in zip(CONFIGS, ("en", "zh"), strict=True):
        (source / config).mkdir(parents=True)
        records = [good_record(n, language) for n in range(5)]
        (source / config / "a.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    release = root / "release"
    assert build_release(source, release, options=BuildOptions(shard_rows=2, progress=False)).published
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    ids_by_sha = {
        shard["sha256"]: pq.read_table(release / shard["path"]).column("id").to_pylist()
        for entry in manifest["configs"].values()
        for shard in entry["shards"]
    }
    return {"release": release, "manifest": manifest, "ids_by_sha": ids_by_sha}


# --- mutations: (kind, config index, shard index, value), applied to a copy ------------------

_hostile_paths = st.sampled_from([name for name, _ in HOSTILE_SHARD_PATHS]).map(lambda name: ("hostile", name))
_values = st.one_of(
    st.integers(-2, 3),
    st.integers(0, 3).map(float),  # compares equal to a count, is not one
    st.integers(0, 3).map(str),
    st.text(max_size=8),
    st.none(),
    st.booleans(),
    st.sampled_from(["0" * 64, "f" * 64]),
)
MUTATION = st.one_of(
    st.tuples(st.just("shard-field"), st.sampled_from(["path", "rows", "bytes", "sha256"]), _values | _hostile_paths),
    st.tuples(st.just("config-rows"), _values, st.none()),
    st.tuples(st.just("drop-shard"), st.none(), st.none()),
    st.tuples(st.just("duplicate-shard"), st.none(), st.none()),
    st.tuples(st.just("swap-shards"), st.none(), st.none()),
    st.tuples(st.just("shard-bytes"), st.sampled_from(["flip", "truncate", "append", "empty"]), st.integers(0, 10_000)),
    st.tuples(st.just("card"), st.sampled_from(["garbage", "other-config", "outside", "empty"]), st.none()),
    st.tuples(st.just("link-shard"), st.none(), st.none()),
    st.tuples(st.just("link-manifest"), st.none(), st.none()),
    st.tuples(
        st.just("extra-file"), st.sampled_from(["data/alpaca-en/x.parquet", "schema/key.json", ".env"]), st.none()
    ),
    st.tuples(st.just("manifest-bytes"), st.binary(max_size=40), st.none()),
    st.tuples(st.just("manifest-key"), st.sampled_from(["configs", "files", "schema_fingerprint"]), _values),
    st.tuples(st.just("deep-manifest"), st.sampled_from(HOSTILE_DEPTHS), st.sampled_from(["array", "object"])),
    st.tuples(
        st.just("deep-card"), st.sampled_from(HOSTILE_DEPTHS), st.sampled_from(["flow-sequence", "flow-mapping"])
    ),
    st.tuples(st.just("card-text"), st.sampled_from([text for _, text in HOSTILE_TEXT]), st.booleans()),
    st.tuples(
        st.just("manifest-text"), st.sampled_from(["version", "path"]), st.sampled_from([t for _, t in HOSTILE_TEXT])
    ),
)
TARGET = st.tuples(st.integers(0, len(CONFIGS) - 1), st.integers(0, 2))


def _mutate(release: Path, outside: Path, mutation: tuple[Any, ...], target: tuple[int, int]) -> None:
    kind, a, b = mutation
    config = CONFIGS[target[0]]
    manifest_path = release / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    shards = manifest["configs"][config]["shards"]
    shard = shards[target[1] % len(shards)]
    if kind == "shard-field":
        if isinstance(b, tuple):
            b = dict(HOSTILE_SHARD_PATHS)[b[1]](config, shard["path"])
        shard[a] = b
    elif kind == "config-rows":
        manifest["configs"][config]["rows"] = a
    elif kind == "drop-shard":
        shards.remove(shard)
    elif kind == "duplicate-shard":
        shards.append(dict(shard))
    elif kind == "swap-shards":
        shards.reverse()
    elif kind == "shard-bytes":
        file = release / shard["path"]
        data = bytearray(file.read_bytes())
        if a == "flip":
            data[b % len(data)] ^= 0x01
        elif a == "truncate":
            del data[b % len(data) :]
        elif a == "append":
            data += b"x"
        else:
            data.clear()
        file.write_bytes(bytes(data))
    elif kind == "card":
        card = release / "README.md"
        text = card.read_text(encoding="utf-8")
        other = manifest["configs"][CONFIGS[1 - target[0]]]["shards"][0]["path"]
        replaced = {
            "garbage": "---\nconfigs: [\n---\n",
            "other-config": text.replace(shard["path"], other),
            "outside": text.replace(shard["path"], f"../outside/{shard['path'].rsplit('/', 1)[-1]}"),
            "empty": "",
        }[a]
        card.write_text(replaced, encoding="utf-8")
    elif kind == "link-shard":
        file = release / shard["path"]
        file.unlink()
        file.symlink_to(outside / shard["path"].rsplit("/", 1)[-1])
    elif kind == "link-manifest":
        copy = outside / "manifest.json"
        manifest_path.rename(copy)
        manifest_path.symlink_to(copy)
        return
    elif kind == "extra-file":
        (release / a).write_bytes(b"PAR1 not listed")
    elif kind == "manifest-bytes":
        manifest_path.write_bytes(a)
        return
    elif kind == "manifest-key":
        manifest[a] = b
    elif kind == "deep-manifest":
        nest_in_manifest(release, a, b)
        return
    elif kind == "deep-card":
        nest_in_card(release, a, b)
        return
    elif kind == "card-text":  # a card path and, if b, a config name holding text that acts when printed
        card_lists(release, config, [shard["path"], f"data/{config}/{a}.parquet"], extra_config=f"c{a}" if b else None)
        return
    elif kind == "manifest-text":
        if a == "version":
            manifest["version"] = f"1.0.0{b}"
        else:
            shard["path"] = f"data/{config}/{b}.parquet"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _expected_ids(release: Path, config: str, ids_by_sha: dict[str, list[str]]) -> list[str] | None:
    """The rows the (mutated) manifest describes for ``config``, from the shards' sha256; None if it cannot say."""
    try:
        shards = json.loads((release / "manifest.json").read_bytes())["configs"][config]["shards"]
        return [row for shard in shards for row in ids_by_sha[shard["sha256"]]]
    except (ValueError, KeyError, TypeError, OSError, RecursionError):  # RecursionError: nested too deep
        return None


def _load(release: Path, config: str, cache: Path, streaming: bool) -> list[str]:
    builder = ChatDatasetBaseline(config_name=config, data_source=str(release), cache_dir=str(cache))
    if streaming:
        return [row["id"] for row in builder.as_streaming_dataset(split="train")]
    builder.download_and_prepare()
    return builder.as_dataset(split="train")["id"]


@contextlib.contextmanager
def _watch() -> Iterator[None]:
    global _watching
    _opened.clear()
    _watching = True
    try:
        yield
    finally:
        _watching = False


def _names(release: Path, pristine: dict[str, Any]) -> set[str]:
    """What an error may name to say which file it is about."""
    paths = {s["path"].rsplit("/", 1)[-1] for e in pristine["manifest"]["configs"].values() for s in e["shards"]}
    return paths | {"manifest.json", "README.md", "shards", str(release)}


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: each example loads a release several times
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(mutations=st.lists(st.tuples(MUTATION, TARGET), min_size=1, max_size=2))
def test_a_mutated_release_gives_the_manifests_rows_or_a_named_error_and_stays_in_its_folder(
    pristine: dict[str, Any], mutations: list[tuple[tuple[Any, ...], tuple[int, int]]]
) -> None:
    with tempfile.TemporaryDirectory() as sandbox_name:
        sandbox = Path(sandbox_name)
        release, outside = sandbox / "release", sandbox / "outside"
        shutil.copytree(pristine["release"], release)
        outside.mkdir()
        for entry in pristine["manifest"]["configs"].values():  # the bait: exact copies of every shard
            for shard in entry["shards"]:
                shutil.copyfile(pristine["release"] / shard["path"], outside / shard["path"].rsplit("/", 1)[-1])
        for mutation, target in mutations:
            # a mutation that needs what an earlier one destroyed (a parseable manifest, a shard) does nothing;
            # a manifest or card nested too deep for json.loads or yaml (deep-*) raises RecursionError
            with contextlib.suppress(
                ValueError,
                KeyError,
                TypeError,
                AttributeError,
                IndexError,
                ArithmeticError,
                OSError,
                yaml.YAMLError,
                RecursionError,
            ):
                _mutate(release, outside, mutation, target)
        pull_request = sandbox / "pr" / "alpaca-en" / "new.json"
        pull_request.parent.mkdir(parents=True)
        pull_request.write_text(json.dumps([good_record(99)]), encoding="utf-8")
        bait = _snapshot(outside)
        names = _names(release, pristine)

        with _watch():
            for config in CONFIGS:
                expected = _expected_ids(release, config, pristine["ids_by_sha"])
                for streaming in (False, True):
                    try:
                        ids = _load(release, config, sandbox / "cache", streaming)
                    except ChatDatasetError as err:
                        assert any(name in str(err) for name in names), err
                    else:
                        assert ids == expected
            report = verify_release(str(release))
            stdout, stderr = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                inspected = main(["inspect", str(release), "--cache-dir", str(sandbox / "cache2")])
                exported = main(["export", str(sandbox / "export"), "--release", str(release), "--format", "jsonl"])
                checked = main(["validate", str(pull_request), "--against", str(release)])
        reads_outside = [path for path in _opened if str(outside) in path or path.startswith(str(sandbox / "outside"))]
        assert reads_outside == []
        assert _snapshot(outside) == bait
        assert {p.name for p in sandbox.iterdir()} <= {"release", "outside", "cache", "cache2", "export", "pr"}
        if report.ok:  # a release verify accepts loads as the manifest says (a reordering, say)
            assert inspected == 0 and exported == 0 and checked == 0, stderr.getvalue()
        assert inspected in (0, 1, 2) and exported in (0, 2) and checked in (0, 2)
        assert "Traceback" not in stderr.getvalue()
        # nothing the release holds reaches a terminal or a CI log as a control character or a workflow command
        # (stderr: the command's own error lines; the rest is datasets' progress bars, which redraw with \r)
        errors = "\n".join(line for line in stderr.getvalue().split("\n") if line.startswith("chat-dataset-baseline "))
        assert unsafe_output_lines("\n".join([report.format(), stdout.getvalue(), errors])) == []
