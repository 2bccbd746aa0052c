"""The public entry points: options keyword-only, Args/Returns/Raises documented, and the
library logs what it does instead of printing it (the command line decides what to show)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import good_record
from hub_server import HubServer

from chat_dataset_baseline import RELEASE_VERSION
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.publish import push_release
from chatcorpus.release.verify import verify_release
from chatcorpus.training.export import export_release
from chatcorpus.validation.validate import validate_paths

pytest_plugins = ["hub_fixtures"]

#: Each entry point and how many leading parameters say what it works on (the rest are options).
ENTRY_POINTS: dict[Callable[..., Any], int] = {
    build_release: 2,  # source, out
    push_release: 2,  # release, repo_id
    verify_release: 1,  # spec
    export_release: 2,  # out_dir, fmt
    validate_paths: 1,  # paths
}


@pytest.mark.parametrize("function", ENTRY_POINTS, ids=lambda f: f.__name__)
def test_options_are_keyword_only(function: Callable[..., Any]) -> None:
    parameters = list(inspect.signature(function).parameters.values())
    leading = ENTRY_POINTS[function]
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters[:leading])
    assert parameters[leading:] and all(p.kind is p.KEYWORD_ONLY for p in parameters[leading:])


@pytest.mark.parametrize("function", ENTRY_POINTS, ids=lambda f: f.__name__)
def test_args_returns_and_raises_are_documented(function: Callable[..., Any]) -> None:
    doc = inspect.getdoc(function) or ""
    for section in ("Args:", "Returns:", "Raises:"):
        assert f"\n{section}\n" in doc, f"{function.__name__} has no {section}"
    args = doc.split("Args:", 1)[1].split("Returns:", 1)[0]
    for name in inspect.signature(function).parameters:
        assert f"    {name}:" in args, f"{function.__name__} does not document {name}"


def test_push_logs_its_steps_and_prints_nothing(
    hub: HubServer,
    write_source: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    repo = "org/logged"
    out = tmp_path / "release"
    options = BuildOptions(progress=False, repo_id=repo)
    assert build_release(write_source({"alpaca-en/a.json": [good_record(1)]}), out, options=options).published
    capsys.readouterr()
    with caplog.at_level(logging.INFO, logger="chatcorpus"):
        push_release(out, repo)
    assert capsys.readouterr().out == ""
    messages = [r.getMessage() for r in caplog.records if r.name == "chatcorpus.release.publish"]
    assert any(m.startswith(f"published v{RELEASE_VERSION}") for m in messages), messages
