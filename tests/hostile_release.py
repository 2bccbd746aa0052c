"""Hostile releases, generated: what a crafted manifest, card or release folder can hold.

Every change is made to a copy of a good release, so a test can show that the same
release loads before the change and is refused (naming the file) after it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

OTHER_CONFIG = {"alpaca-zh": "alpaca-en", "alpaca-en": "alpaca-zh", "prompts": "alpaca-zh", "chatglm-issues": "prompts"}

#: Shard paths a manifest may not list for ``config``, built from a good one: (id, path of (config, good path)).
HOSTILE_SHARD_PATHS: list[tuple[str, Callable[[str, str], str]]] = [
    ("parent", lambda config, good: f"../outside/{good.rsplit('/', 1)[-1]}"),
    ("deep-parent", lambda config, good: f"data/{config}/../../../outside/{good.rsplit('/', 1)[-1]}"),
    ("dot-segment", lambda config, good: good.replace(f"data/{config}/", f"data/{config}/./")),
    ("empty-segment", lambda config, good: good.replace(f"data/{config}/", f"data/{config}//")),
    ("absolute", lambda config, good: f"/tmp/{good}"),
    ("drive", lambda config, good: f"C:/{good}"),
    ("drive-relative", lambda config, good: f"c:{good}"),
    ("backslashes", lambda config, good: good.replace("/", "\\")),
    ("other-config", lambda config, good: good.replace(f"data/{config}/", f"data/{OTHER_CONFIG[config]}/")),
    ("outside-data", lambda config, good: good.rsplit("/", 1)[-1]),
    ("not-parquet", lambda config, good: good.replace(".parquet", ".json")),
    ("nul", lambda config, good: good.replace(".parquet", "\x00.parquet")),
    ("newline", lambda config, good: good.replace(".parquet", "\n.parquet")),
    ("bidi-override", lambda config, good: good.replace("train", "\u202etrain")),
    ("hidden", lambda config, good: good.replace(f"data/{config}/", f"data/{config}/.git/")),
    ("windows-reserved", lambda config, good: good.replace("train", "train:stream")),
    ("trailing-dot", lambda config, good: good.replace(f"data/{config}/", f"data/{config}./")),
    ("not-nfc", lambda config, good: good.replace("train", unicodedata.normalize("NFD", "tráin"))),
    ("too-long", lambda config, good: good.replace("train", "t" * 300)),
    ("empty", lambda config, good: ""),
]


def copy_release(release: Path, to: Path) -> Path:
    shutil.copytree(release, to, symlinks=True)
    return to


def read_manifest(release: Path) -> dict[str, Any]:
    return json.loads((release / "manifest.json").read_text(encoding="utf-8"))


def write_manifest(release: Path, manifest: dict[str, Any]) -> None:
    (release / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def first_shard(release: Path, config: str) -> dict[str, Any]:
    return read_manifest(release)["configs"][config]["shards"][0]


def relist_shard(release: Path, config: str, path: Any, index: int = 0) -> None:
    """Make the manifest list ``path`` in place of the config's shard ``index``, bytes and sha256 unchanged."""
    manifest = read_manifest(release)
    manifest["configs"][config]["shards"][index]["path"] = path
    write_manifest(release, manifest)


def escape_with_real_bytes(release: Path, config: str, outside: Path) -> str:
    """Move the config's first shard outside the release and list it there by ``..``: a load that
    followed the path would find exactly the bytes the manifest promises."""
    shard = first_shard(release, config)["path"]
    outside.mkdir(parents=True, exist_ok=True)
    target = outside / shard.rsplit("/", 1)[-1]
    shutil.move(release / shard, target)
    path = os.path.relpath(target, release).replace(os.sep, "/")
    relist_shard(release, config, path)
    return path


def link_shard_outside(release: Path, config: str, outside: Path) -> str:
    """Replace the config's first shard by a symbolic link to its own bytes outside the release."""
    shard = first_shard(release, config)["path"]
    outside.mkdir(parents=True, exist_ok=True)
    target = outside / shard.rsplit("/", 1)[-1]
    shutil.move(release / shard, target)
    (release / shard).symlink_to(target)
    return shard


def point_card_at(release: Path, config: str, paths: list[str]) -> None:
    """Make the card's YAML ``configs:`` list ``paths`` as the train files of ``config``."""
    card = (release / "README.md").read_text(encoding="utf-8")
    _, head, body = card.split("---\n", 2)
    metadata = yaml.safe_load(head)
    entry = next(c for c in metadata["configs"] if c["config_name"] == config)
    entry["data_files"] = [{"split": "train", "path": paths}]
    card = f"---\n{yaml.safe_dump(metadata, allow_unicode=True, sort_keys=False)}---\n{body}"
    (release / "README.md").write_text(card, encoding="utf-8")


# --- nesting: a release file nested deeper than any reader should recurse -----------------

#: Nesting depths to try: just past the bound, past Python's recursion limit, and far past it.
HOSTILE_DEPTHS = (33, 1_500, 100_000)


def nested_json(depth: int, kind: str) -> str:
    """A JSON value ``depth`` levels deep, written as text (``json.dumps`` would itself recurse)."""
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "0" + "}" * depth


def nest_in_json(text: str, depth: int, kind: str, key: str = "x") -> str:
    """The JSON object ``text`` with one more member, ``key``, holding a value nested ``depth`` levels."""
    body = text.rstrip()
    assert body.endswith("}")
    return f'{body[:-1].rstrip()}, "{key}": {nested_json(depth, kind)}}}\n'


def nest_in_manifest(release: Path, depth: int, kind: str) -> None:
    manifest = release / "manifest.json"
    manifest.write_text(nest_in_json(manifest.read_text(encoding="utf-8"), depth, kind), encoding="utf-8")


def nested_yaml(depth: int, kind: str) -> str:
    """A YAML value ``depth`` levels deep: flow sequences, flow mappings, or block mappings by indentation."""
    if kind == "flow-sequence":
        return "[" * depth + "]" * depth
    if kind == "flow-mapping":
        return "{a: " * depth + "0" + "}" * depth
    return "".join(f"\n{'  ' * (level + 1)}a:" for level in range(depth)) + " 0"


def nest_in_card(release: Path, depth: int, kind: str) -> None:
    """Give the card's YAML header one more key holding a value nested ``depth`` levels deep."""
    card = release / "README.md"
    _, head, body = card.read_text(encoding="utf-8").split("---\n", 2)
    card.write_text(f"---\n{head}deep: {nested_yaml(depth, kind)}\n---\n{body}", encoding="utf-8")


# --- text that acts when printed: workflow commands, terminal escapes, bidi overrides -------

#: Strings a release may carry into a report (a card's paths and config names, a version).
HOSTILE_TEXT: list[tuple[str, str]] = [
    ("workflow-command", "x\n::error file=README.md,line=1::injected"),
    ("old-workflow-command", "x\n##[error]injected"),
    ("carriage-return", "x\r::warning::injected"),
    ("ansi-clear", "\x1b[2J\x1b[31mred"),
    ("c1-csi", "\x9b31mred"),
    ("bidi-override", "\u202etxt.exe"),
    ("line-separator", "x\u2028::error::injected"),
    ("nul", "x\x00y"),
]


def unsafe_output_lines(text: str) -> list[str]:
    """Lines of ``text`` that a terminal or the GitHub runner would act on: a control or format
    character (other than the line break itself), or a line that starts a workflow command."""
    return [
        line
        for line in text.split("\n")
        if any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp", "Cs"} for ch in line)
        or line.lstrip().startswith(("::", "##["))
    ]


def card_lists(release: Path, config: str, paths: list[str], extra_config: str | None = None) -> None:
    """Make the card list ``paths`` for ``config`` and, if given, a config ``extra_config`` of its own."""
    point_card_at(release, config, paths)
    if extra_config is None:
        return
    card = (release / "README.md").read_text(encoding="utf-8")
    _, head, body = card.split("---\n", 2)
    metadata = yaml.safe_load(head)
    metadata["configs"].append({"config_name": extra_config, "data_files": [{"split": "train", "path": paths}]})
    card = f"---\n{yaml.safe_dump(metadata, allow_unicode=True, sort_keys=False)}---\n{body}"
    (release / "README.md").write_text(card, encoding="utf-8")


# --- typed fields: a count that is not an int, a digest or version that is almost one --------


#: Wrong-typed stand-ins for a count ``n``: each compares equal to it, or reads as it, in some loose reader.
def count_impostors(n: int) -> list[tuple[str, Any]]:
    return [("float", float(n)), ("string", str(n)), ("bool", bool(n)), ("negative", -1 - n), ("null", None)]


#: Stand-ins for a lowercase hex digest ``digest``, each wrong in one way.
def digest_impostors(digest: str) -> list[tuple[str, str]]:
    return [
        ("trailing-newline", digest + "\n"),
        ("upper-case", digest.upper()),
        ("short", digest[:-1]),
        ("long", digest + "0"),
        ("leading-space", " " + digest),
    ]


#: Stand-ins for a version ``X.Y.Z``.
def version_impostors(version: str) -> list[tuple[str, str]]:
    return [
        ("trailing-newline", version + "\n"),
        ("v-prefix", "v" + version),
        ("unicode-digit", version.replace("1", "\u0661")),  # ARABIC-INDIC DIGIT ONE
        ("two-parts", version.rsplit(".", 1)[0]),
    ]


#: Fields of a manifest that hold counts, as paths into it (``{config}`` the config to damage).
COUNT_FIELDS = (
    ("configs", "{config}", "rows"),
    ("configs", "{config}", "rejected"),
    ("configs", "{config}", "shards", 0, "rows"),
    ("configs", "{config}", "shards", 0, "bytes"),
    ("files", 0, "bytes"),
)


def _keys(path: tuple[Any, ...], config: str) -> list[Any]:
    return [key.format(config=config) if isinstance(key, str) else key for key in path]


def get_field(manifest: dict[str, Any], path: tuple[Any, ...], config: str) -> Any:
    """The field at ``path`` (``"{config}"`` replaced by ``config``) in ``manifest``."""
    target: Any = manifest
    for key in _keys(path, config):
        target = target[key]
    return target


def set_field(manifest: dict[str, Any], path: tuple[Any, ...], value: Any, config: str) -> None:
    *parents, last = _keys(path, config)
    get_field(manifest, tuple(parents), config)[last] = value


def rewrite_shard(release: Path, config: str, data: bytes) -> str:
    """Put ``data`` in place of the config's first shard and list its true bytes and sha256: the
    manifest then vouches for it, so only a check of what the bytes hold can refuse it."""
    manifest = read_manifest(release)
    shard = manifest["configs"][config]["shards"][0]
    (release / shard["path"]).write_bytes(data)
    shard["bytes"], shard["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    write_manifest(release, manifest)
    return shard["path"]


def with_schema_metadata(shard: Path, key: bytes, value: bytes) -> bytes:
    """The shard's rows, written again with ``value`` under ``key`` in its Arrow schema metadata."""
    table = pq.read_table(shard)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), key: value})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()
