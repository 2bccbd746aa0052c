"""Every subcommand answers --help, and the help says what the code does."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

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


def _readme_options() -> list[tuple[str, str]]:
    """(subcommand, --option) for every option the README shows on a command line."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    readme = readme.replace("\\\n", " ")  # shell line continuations
    found = set()
    for line in readme.splitlines():
        for match in re.finditer(r"chat-dataset-baseline (\w+)([^`#]*)", line):
            found.update((match.group(1), option) for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", match.group(2)))
    return sorted(found)


@pytest.mark.parametrize(("command", "option"), _readme_options())
def test_every_option_the_readme_shows_exists(command: str, option: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    assert option in capsys.readouterr().out
