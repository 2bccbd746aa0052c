"""The pre-commit hook: only record files inside config folders, checked by a real `pre-commit try-repo`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chat_dataset_baseline import CONFIGS

REPO = Path(__file__).resolve().parent.parent
HOOK = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))[0]


def test_the_hooks_folders_are_the_configs() -> None:
    folders = re.search(r"\(([^()]*)\)/", HOOK["files"]).group(1).split("|")
    assert folders == list(CONFIGS)


@pytest.mark.parametrize(
    ("path", "checked"),
    [
        ("data/alpaca-zh/new.json", True),
        ("alpaca-en/a.jsonl", True),
        ("corpus/chatglm-issues/batch-2/代码问题.json", True),
        ("prompts/identity.json", True),
        ("package.json", False),
        ("frontend/tsconfig.json", False),
        ("data/alpaca_zh/new.json", False),  # not a config folder (the source check reports such a folder)
        ("data/alpaca-zh/notes.md", False),
        ("data/alpaca-zh.json", False),
        ("data/alpaca-zh/", False),
    ],
)
def test_the_hook_takes_only_files_inside_config_folders(path: str, checked: bool) -> None:
    assert bool(re.search(HOOK["files"], path)) is checked


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _try_repo(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), HOOK["id"], "--all-files", "--color", "never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
def test_pre_commit_try_repo_checks_records_and_leaves_package_json_alone(tmp_path: Path) -> None:
    """pre-commit installs the hook from this clone (its package from the registry) and runs it."""
    repo = tmp_path / "contributor"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "test@example.org")
    _git(repo, "config", "user.name", "test")
    (repo / "package.json").write_text('{"name": "site", "version": "1.0.0"}', encoding="utf-8")
    good = repo / "data" / "alpaca-en" / "a.json"
    good.parent.mkdir(parents=True)
    good.write_text(json.dumps([{"instruction": "Say hi.", "output": "Hi!"}]), encoding="utf-8")
    _git(repo, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "HF_HUB_OFFLINE": "1"}
    env.pop("GITHUB_STEP_SUMMARY", None)

    clean = _try_repo(repo, env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout and "package.json" not in clean.stdout

    bad = repo / "data" / "alpaca-zh" / "new.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('[{"instruction": "缺少输出"}]', encoding="utf-8")
    _git(repo, "add", ".")
    failed = _try_repo(repo, env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "data/alpaca-zh/new.json:1:2: schema.required" in failed.stdout
    assert "package.json" not in failed.stdout and "json.not-array" not in failed.stdout
