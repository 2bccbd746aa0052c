"""Every subcommand answers --help, and the help says what the code does."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chatcorpus.cli import build_parser


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_the_console_script_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "chatcorpus.cli", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "validate" in done.stdout and "build" in done.stdout


@pytest.mark.parametrize("command", _subcommands())
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert f"chat-dataset-baseline {command}" in capsys.readouterr().out
