"""Interrupted, repeated and concurrent builds leave nothing behind; a build never drops data unasked."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NEXT_VERSION, good_record

from chatcorpus.cli import main
from chatcorpus.errors import BuildRefused, UsageError
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.manifest import Manifest
from chatcorpus.release.verify import verify_release

_HOLD_STAGING = """
import os, sys
from pathlib import Path
from chatcorpus.release.staging import staging_folder
with staging_folder(Path(sys.argv[1])) as staging:
    (staging / "half-written.parquet").write_bytes(b"PAR1")
    print(staging, flush=True)
    if sys.argv[2] == "die":
        os.kill(os.getpid(), 9)  # killed mid-build: no finally, no cleanup
    sys.stdin.read()  # a build still running
"""


def _source(write_source, root: str, records: int, config: str = "alpaca-en") -> Path:
    return write_source({f"{config}/a.json": [good_record(n) for n in range(records)]}, root=root)


def _build(source: Path, out: Path, **options) -> None:
    assert build_release(source, out, options=BuildOptions(progress=False, **options)).published


def _hold(out: Path, mode: str) -> tuple[subprocess.Popen[str], Path]:
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD_STAGING, str(out), mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    return process, Path(process.stdout.readline().strip())


def test_the_next_build_removes_what_a_killed_build_left_and_spares_a_running_one(write_source, tmp_path: Path) -> None:
    out = tmp_path / "out"
    dead, dead_staging = _hold(out, "die")
    assert dead.wait() == -signal.SIGKILL and dead_staging.is_dir()
    alive, alive_staging = _hold(out, "wait")
    try:
        _build(_source(write_source, "src", 3), out)
        assert not dead_staging.exists() and not Path(f"{dead_staging}.lock").exists()
        assert (alive_staging / "half-written.parquet").exists()
    finally:
        alive.communicate("")
    assert not alive_staging.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")) == [".out.lock"]


def test_a_lockless_leftover_of_a_dead_process_is_removed(write_source, tmp_path: Path) -> None:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = tmp_path / f".out.staging-{ended.stdout.strip()}"  # the name older versions gave it
    (leftover / "data").mkdir(parents=True)
    unrelated = tmp_path / ".out.staging-notes"  # not a name a build makes
    unrelated.mkdir()
    _build(_source(write_source, "src", 2), tmp_path / "out")
    assert not leftover.exists() and unrelated.exists()


def test_a_clean_build_removes_the_rejects_report_of_an_earlier_build(write_source, tmp_path: Path) -> None:
    out = tmp_path / "out"
    bad = write_source({"alpaca-en/a.json": [good_record(0), {"instruction": ""}]}, root="bad")
    assert not build_release(bad, out, options=BuildOptions(progress=False)).published
    rejects = tmp_path / "out.rejects.jsonl"
    assert json.loads(rejects.read_text(encoding="utf-8").splitlines()[0])["rule"]
    _build(_source(write_source, "good", 2), out)
    assert not rejects.exists()


def test_two_builds_of_one_out_never_mix(write_source, tmp_path: Path) -> None:
    out = tmp_path / "out"
    sources = [_source(write_source, f"src{n}", 3 + n) for n in range(3)]
    builds = [
        subprocess.Popen(
            [sys.executable, "-m", "chatcorpus.cli", "build", "--source", str(s), "--out", str(out), "--quiet"]
        )
        for s in sources
    ]
    assert [b.wait() for b in builds] == [0, 0, 0]
    assert verify_release(str(out)).ok
    assert Manifest.read(out).configs["alpaca-en"]["rows"] in {3, 4, 5}
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")) == [".out.lock"]


# --- nothing dropped unasked --------------------------------------------------------------------


def test_a_source_without_records_never_replaces_a_release(
    write_source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    _build(_source(write_source, "src", 2), out)
    before = Manifest.read(out).sha256
    empty = write_source({"alpaca-en/a.json": [], "alpaca-zh/a.json": []}, root="empty")
    assert main(["build", "--source", str(empty), "--out", str(out), "--quiet"]) == 1
    assert "no records" in capsys.readouterr().err
    broken = write_source({"alpaca-en/a.jsonl": "", "alpaca-zh/a.json": "[{"}, root="broken")
    assert main(["build", "--source", str(broken), "--out", str(out), "--quiet", "--skip-invalid"]) == 1
    assert "no records" in capsys.readouterr().err
    assert Manifest.read(out).sha256 == before


def test_a_base_config_missing_from_the_source_is_removed_only_when_asked(write_source, tmp_path: Path) -> None:
    base = tmp_path / "v1"
    both = write_source(
        {"alpaca-en/a.json": [good_record(n) for n in range(3)], "alpaca-zh/a.json": [good_record(0, "zh")]}, root="a"
    )
    _build(both, base)
    only_en = _source(write_source, "b", 4)
    with pytest.raises(BuildRefused, match=r"alpaca-zh \(1 rows\).*--remove-config alpaca-zh"):
        build_release(
            only_en, tmp_path / "v2", options=BuildOptions(version=NEXT_VERSION, base=str(base), progress=False)
        )
    assert not (tmp_path / "v2").exists()

    _build(only_en, tmp_path / "v2", version=NEXT_VERSION, base=str(base), remove_configs=("alpaca-zh",))
    manifest = Manifest.read(tmp_path / "v2")
    assert list(manifest.configs) == ["alpaca-en"] and len(manifest.changelog["alpaca-zh"]["removed"]) == 1


@pytest.mark.parametrize(
    ("base", "remove", "message"),
    [
        (False, "alpaca-zh", "needs --base"),
        (True, "prompts", "has no config prompts"),
        (True, "alpaca-en", "still holds"),
    ],
)
def test_remove_config_is_refused_where_it_makes_no_sense(
    write_source, tmp_path: Path, base: bool, remove: str, message: str
) -> None:
    both = write_source(
        {"alpaca-en/a.json": [good_record(n) for n in range(3)], "alpaca-zh/a.json": [good_record(0, "zh")]}, root="a"
    )
    _build(both, tmp_path / "v1")
    options = BuildOptions(
        version=NEXT_VERSION, base=str(tmp_path / "v1") if base else None, remove_configs=(remove,), progress=False
    )
    with pytest.raises(UsageError, match=message):
        build_release(_source(write_source, "b", 4), tmp_path / "v2", options=options)
