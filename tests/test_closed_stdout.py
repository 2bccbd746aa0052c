"""A closed stdout (``chat-dataset-baseline align SRC | head -1``) ends every command quietly.

Each command runs as the console script with its stdout a pipe whose reader is already
closed, so its first write (or the flush at the end) fails with EPIPE: no error may reach
stderr (no ``[Errno 32] Broken pipe``, no ``Exception ignored``, no traceback), and the exit
code is the one ``ERROR_EXITS`` gives ``OSError``, as Python's documentation recommends.
``--help`` and ``--version`` are argparse's own: it ignores a failed write and exits 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA

from chatcorpus import cli
from chatcorpus.cli import EXIT_USAGE, exit_for, main

SCRIPT = Path(sys.executable).with_name("chat-dataset-baseline")
# every command that prints to stdout, with arguments that make it print
COMMANDS = {
    "align": ["align", str(DATA)],
    "align-text": ["align", str(DATA), "--format", "text"],
    "coverage": ["coverage", str(DATA)],
    "validate": ["validate", str(DATA)],
    "validate-json": ["validate", str(DATA), "--format", "json"],
    "list-rules": ["validate", "--list-rules"],
    "stats": ["stats", "{release}"],
    "verify": ["verify", "{release}"],
    "help": ["--help"],
    "version": ["--version"],
}
ARGPARSE_OWN = {"help", "version"}
NOISE = ("Broken pipe", "Errno", "Exception ignored", "Traceback", "Error")


def _run_into_a_closed_pipe(args: list[str]) -> subprocess.CompletedProcess[bytes]:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes anything
    try:
        return subprocess.run([str(SCRIPT), *args], stdout=write, stderr=subprocess.PIPE, timeout=120, check=False)
    finally:
        os.close(write)


def test_the_exit_code_of_a_closed_stdout_is_the_tables_for_oserror() -> None:
    assert exit_for(BrokenPipeError()) == exit_for(OSError()) == (EXIT_USAGE, "")


@pytest.mark.slow
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_closed_stdout_is_a_quiet_exit(command: str, demo_release: Path) -> None:
    done = _run_into_a_closed_pipe([arg.format(release=demo_release) for arg in COMMANDS[command]])
    err = done.stderr.decode("utf-8", "replace")
    assert not any(noise in err for noise in NOISE), err
    assert done.returncode == (0 if command in ARGPARSE_OWN else EXIT_USAGE)


def test_output_read_to_the_end_is_whole() -> None:
    done = subprocess.run([str(SCRIPT), "align", str(DATA)], capture_output=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stdout.count(b"\n") > 1 and done.stdout.endswith(b"}\n")


def test_a_broken_pipe_to_anything_but_stdout_is_still_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def aligned(*args: object, **kwargs: object) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("chatcorpus.alignment.corpus.align_tree", aligned)
    assert not cli._stdout_closed()
    assert main(["align", str(DATA)]) == EXIT_USAGE
    assert "Broken pipe" in capsys.readouterr().err
