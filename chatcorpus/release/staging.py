"""Where a build assembles its release, and how builds of one ``OUT`` stay apart.

A build writes into its own staging folder beside ``OUT`` (``.OUT.staging-<pid>-<token>``)
and holds an exclusive ``flock`` on the folder's ``.lock`` file beside it while it runs.
The kernel drops the lock when the process dies, however it dies, so the next build can
tell a dead build's leftovers (lock free: removed) from a live build's (lock held: left
alone) without trusting pids, which are reused. Publishing (replacing ``OUT`` and writing
its rejects report) happens under a second lock, ``.OUT.lock``, so two builds of one
``OUT`` never interleave their renames and the rejects report beside ``OUT`` is always the
one of the release in ``OUT``.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

#: What a build leaves beside OUT while it runs: its staging folder and the folder it moves the old release to.
_LEFTOVER_KINDS = ("staging", "old")


def _prefix(out: Path, kind: str) -> str:
    return f".{out.name}.{kind}-"


@contextmanager
def staging_folder(out: Path) -> Iterator[Path]:
    """A fresh, locked staging folder beside ``out``; leftovers of dead builds are removed first."""
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_leftovers(out)
    name = f"{_prefix(out, 'staging')}{os.getpid()}-{secrets.token_hex(4)}"
    staging = out.parent / name
    with _held(out.parent / f"{name}.lock") as lock_file:
        staging.mkdir()
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            Path(lock_file.name).unlink(missing_ok=True)


@contextmanager
def publishing(out: Path) -> Iterator[None]:
    """Hold ``.OUT.lock`` while ``out`` and its rejects report are replaced (blocking: builds take turns)."""
    lock_path = out.parent / f".{out.name}.lock"
    with lock_path.open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield


def replace_folder(out: Path, staging: Path) -> None:
    """Move ``staging`` to ``out``; the previous ``out`` goes aside first and is removed after."""
    old = out.parent / f"{_prefix(out, 'old')}{os.getpid()}-{secrets.token_hex(4)}"
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def replace_file(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a reader never sees half of it."""
    partial = path.parent / f".{path.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def remove_dead_leftovers(out: Path) -> list[Path]:
    """Remove what builds of ``out`` that are no longer running left beside it; what was removed."""
    removed: list[Path] = []
    if not out.parent.is_dir():
        return removed
    for entry in sorted(out.parent.iterdir()):
        prefix = next((_prefix(out, k) for k in _LEFTOVER_KINDS if entry.name.startswith(_prefix(out, k))), None)
        if prefix is None:
            continue
        if entry.name.endswith(".lock"):
            if not (entry.parent / entry.name[: -len(".lock")]).exists() and _is_free(entry):
                entry.unlink(missing_ok=True)  # a lock whose folder is gone
            continue
        lock = entry.parent / f"{entry.name}.lock"
        if entry.is_symlink() or not entry.is_dir():
            continue  # not something a build makes: leave it to its owner
        if (lock.exists() and _is_free(lock)) or (not lock.exists() and not _pid_alive(entry.name[len(prefix) :])):
            shutil.rmtree(entry, ignore_errors=True)
            lock.unlink(missing_ok=True)
            removed.append(entry)
    return removed


@contextmanager
def _held(lock_path: Path) -> Iterator[IO[str]]:
    with lock_path.open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield lock_file


def _is_free(lock_path: Path) -> bool:
    """True when no process holds the lock: its build has ended."""
    try:
        with lock_path.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(lock_file, fcntl.LOCK_UN)
            return True
    except BlockingIOError:
        return False
    except OSError:
        return False


def _pid_alive(rest: str) -> bool:
    """For a folder with no lock (a build that died before taking it, or an older version): is its pid running?

    ``rest`` is the folder's name after ``.OUT.staging-``: ``<pid>`` or ``<pid>-<token>``.
    """
    pid_text = rest.split("-", 1)[0]
    if not pid_text.isdigit():
        return True  # not a name a build makes: keep it
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
