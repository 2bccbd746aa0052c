"""inspect: a good release checks out; a broken one is a data fault (exit 1), never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chatcorpus.cli import main
from chatcorpus.release.manifest import Manifest


def test_a_good_release_checks_out(demo_release: Path, cache_dir: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(demo_release), "--cache-dir", cache_dir]) == 0
    out = capsys.readouterr().out
    assert out.count(" ok") == len(Manifest.read(demo_release).configs)


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_shard_fails_its_config(
    demo_release: Path, tmp_path: Path, cache_dir: str, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    release = tmp_path / "release"
    shutil.copytree(demo_release, release)
    shard = release / Manifest.read(release).configs["prompts"]["shards"][0]["path"]
    data = bytearray(shard.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    else:
        del data[len(data) // 2 :]
    shard.write_bytes(bytes(data))

    assert main(["inspect", str(release), "--cache-dir", cache_dir]) == 1
    prompts_line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("prompts"))
    assert "FAILED" in prompts_line
