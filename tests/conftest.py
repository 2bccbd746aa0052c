"""Shared fixtures: the demo release, generated sources, and the seed corpus when it is there."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chat_dataset_baseline import RELEASE_VERSION
from chatcorpus.release.build import BuildOptions, build_release

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"
SEED = REPO.parent / "shared" / "seed-data"
#: The release after ``RELEASE_VERSION`` (what a build makes by default): its next minor. Tests that
#: publish "a release, then the next one" use these two, never literal versions; a release of an
#: earlier major (the schema before 2.0.0) is ``older_release.PREVIOUS_VERSION``.
_MAJOR, _MINOR, _ = (int(part) for part in RELEASE_VERSION.split("."))
NEXT_VERSION = f"{_MAJOR}.{_MINOR + 1}.0"


@pytest.fixture(autouse=True, scope="session")
def _offline_hub(tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test may reach huggingface.co; caches live in a temporary folder."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ.setdefault("HF_DATASETS_CACHE", str(tmp_path_factory.mktemp("hf-datasets-cache")))


@pytest.fixture(scope="session")
def demo_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """data/ built once, into a folder named like the Hub repo."""
    out = tmp_path_factory.mktemp("demo") / "chat-dataset-baseline"
    result = build_release(DATA, out, options=BuildOptions(progress=False))
    assert result.published, [str(f) for f in result.faults]
    return out


@pytest.fixture
def cache_dir(tmp_path: Path) -> str:
    return str(tmp_path / "cache")


@pytest.fixture
def write_source(tmp_path: Path) -> Callable[..., Path]:
    """Write a source folder: ``write_source({"alpaca-en/a.json": records_or_text, ...})``.

    Values that are strings are written verbatim (to craft exact bytes and positions);
    anything else is written as indented JSON.
    """

    def write(files: dict[str, Any], root: str = "src") -> Path:
        base = tmp_path / root
        for relative, content in files.items():
            path = base / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, indent=2)
            path.write_text(text, encoding="utf-8")
        return base

    return write


def seed_snapshot(name: str) -> Path:
    path = SEED / name
    if not path.is_dir():
        pytest.skip(f"the seed corpus is not beside the project ({path} is absent)")
    return path


def good_record(n: int, language: str = "en") -> dict[str, str]:
    if language == "zh":
        return {
            "instruction": f"第{n}个问题：天空为什么是蓝色的？",
            "input": "",
            "output": f"第{n}个回答：因为空气分子散射蓝光更多。",
        }
    return {
        "instruction": f"Question {n}: why is the sky blue?",
        "input": "",
        "output": f"Answer {n}: air scatters blue light more.",
    }


@pytest.fixture(params=["fast", "plain"], ids=["fast-streaming", "plain-streaming"])
def streaming_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on the builder's fast streaming path and again on the plain one it falls back to.

    The plain path is what a ``datasets`` without the private names the fast path needs
    gets; it is forced here in-process, so both run on every installed version.
    """
    import chat_dataset_baseline

    if request.param == "fast" and chat_dataset_baseline.FAST_STREAMING_MISSING is not None:
        pytest.skip(f"this datasets has no {chat_dataset_baseline.FAST_STREAMING_MISSING}: only the plain path runs")
    monkeypatch.setattr(chat_dataset_baseline, "FAST_STREAMING", request.param == "fast")
    return str(request.param)
