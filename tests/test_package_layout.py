"""The package is grouped by the work (validation, release, training); the old flat names still import."""

from __future__ import annotations

import importlib
import importlib.resources
import subprocess
import sys

import pytest

import chatcorpus


@pytest.mark.parametrize("name", sorted(chatcorpus.MOVED_MODULES))
def test_old_module_name_is_the_moved_module_itself(name: str) -> None:
    moved = importlib.import_module(f"chatcorpus.{chatcorpus.MOVED_MODULES[name]}.{name}")
    assert importlib.import_module(f"chatcorpus.{name}") is moved
    assert moved.__spec__ is not None and moved.__spec__.name == moved.__name__


def test_old_name_imported_first_still_gives_one_module() -> None:
    code = (
        "from chatcorpus.views import to_view\n"
        "import chatcorpus.training.views as real\n"
        "assert to_view is real.to_view\n"
        "from chatcorpus import views\n"
        "assert views is real\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_module_is_in_a_group() -> None:
    flat = {path.stem for path in importlib.resources.files("chatcorpus").iterdir() if path.name.endswith(".py")}
    assert flat == {"__init__", "cli", "errors"}


def test_unknown_name_still_fails() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("chatcorpus.no_such_module")
