"""The GitHub workflow stays secure: zizmor (offline audits, pedantic persona) finds nothing in it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
#: an action pinned by a full commit sha, the version it is in a comment: `owner/repo@<40 hex> # vX.Y.Z`
PINNED = re.compile(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def _zizmor() -> str:
    found = shutil.which("zizmor") or str(Path(__import__("sys").executable).parent / "zizmor")
    if not Path(found).exists():
        pytest.fail("zizmor is not installed: pip install -e '.[test]'")
    return found


def test_zizmor_finds_nothing_in_the_workflows() -> None:
    done = subprocess.run(
        [_zizmor(), "--offline", "--persona=pedantic", "--format=json", str(WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    findings = json.loads(done.stdout or "null")
    assert findings == [], [f"{f['ident']}: {f['desc']}" for f in findings or []]
    assert done.returncode == 0, done.stderr


def test_zizmor_would_catch_what_the_old_workflow_did(tmp_path: Path) -> None:
    """A second opinion that the audit really runs: an unsafe workflow gets findings."""
    unsafe = tmp_path / ".github" / "workflows"
    unsafe.mkdir(parents=True)
    (unsafe / "bad.yml").write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - run: echo ${{ github.head_ref }}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [_zizmor(), "--offline", "--format=json", str(unsafe)], capture_output=True, text=True, timeout=120
    )
    idents = {f["ident"] for f in json.loads(done.stdout)}
    assert {"unpinned-uses", "template-injection", "artipacked", "excessive-permissions"} <= idents


def test_every_action_is_pinned_by_commit_and_only_the_sarif_job_may_write() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            if "uses:" in line:
                assert PINNED.search(line.strip()), line
        workflow = yaml.safe_load(text)
        assert workflow["permissions"] == {"contents": "read"}
        for job in workflow["jobs"].values():
            writes = {k for k, v in job.get("permissions", {}).items() if v == "write"}
            uploads = any("upload-sarif" in step.get("uses", "") for step in job["steps"])
            assert writes == ({"security-events"} if uploads else set())
            for step in job["steps"]:
                if "actions/checkout" in step.get("uses", ""):
                    assert step["with"]["persist-credentials"] is False
                assert "${{" not in step.get("run", "")  # values reach scripts through env:


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True, capture_output=True
    )


def test_the_pull_request_step_passes_changed_files_and_deleted_ones(tmp_path: Path) -> None:
    """The step's own script, run on a pull request that edits, adds, deletes and renames files:
    the command gets the changed files as PATHs and each deleted (or renamed-away) file as --deleted."""
    jobs = yaml.safe_load((WORKFLOWS / "validate.yml").read_text(encoding="utf-8"))["jobs"]
    step = next(s for s in jobs["pull-request"]["steps"] if "--against" in s.get("run", ""))
    origin, clone = tmp_path / "origin", tmp_path / "clone"
    for name in ("edited", "deleted", "renamed", "kept"):
        (origin / "data" / "alpaca-en").mkdir(parents=True, exist_ok=True)
        (origin / "data" / "alpaca-en" / f"{name}.json").write_text(f'[{{"instruction": "{name}"}}]\n')
    _git(tmp_path, "init", "-q", "-b", "main", str(origin))
    _git(origin, "add", ".")
    _git(origin, "commit", "-qm", "base")
    _git(tmp_path, "clone", "-q", str(origin), str(clone))
    folder = clone / "data" / "alpaca-en"
    (folder / "edited.json").write_text('[{"instruction": "edited again"}]\n')
    (folder / "new file.json").write_text('[{"instruction": "new"}]\n')
    _git(clone, "rm", "-q", "data/alpaca-en/deleted.json")
    _git(clone, "mv", "data/alpaca-en/renamed.json", "data/alpaca-en/moved.json")
    _git(clone, "add", ".")
    _git(clone, "commit", "-qm", "pull request")
    stub = tmp_path / "bin" / "chat-dataset-baseline"
    stub.parent.mkdir()
    stub.write_text('#!/bin/sh\nfor arg in "$@"; do printf "%s\\n" "$arg"; done\n')
    stub.chmod(0o755)
    env = {"PATH": f"{stub.parent}:/usr/bin:/bin", "BASE_REF": "main", "RELEASE_REPO": "org/name"}
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    args = done.stdout.splitlines()
    assert args[: args.index("--")] == [
        "validate", "--format", "github", "--against", "org/name",
        "--deleted", "data/alpaca-en/deleted.json", "--deleted", "data/alpaca-en/renamed.json",
    ]  # fmt: skip
    changed = ["data/alpaca-en/edited.json", "data/alpaca-en/moved.json", "data/alpaca-en/new file.json"]
    assert sorted(args[args.index("--") + 1 :]) == changed
