"""The README is executable documentation: every ```python and ```bash block in it runs.

How a block is run (what to keep in mind when adding one):

- Blocks run in README order, each in a fresh subprocess (``bash -euo pipefail`` or
  ``python -c``) in one shared workspace: a temporary folder holding a copy of ``data/``
  and ``examples/``, the demo's build in ``out/chat-dataset-baseline`` (built once for
  the session), a link ``.venv`` to this environment, and ``../shared`` linked when the
  seed corpus is there. The repository itself is never written to. A Python block must
  import what it uses: it does not see the names of the blocks before it.
- The venv's ``bin`` is first on ``PATH``, so ``chat-dataset-baseline`` is found as after
  ``. .venv/bin/activate``.
- ``ORG/`` is replaced by a test organisation on ``tests/hub_server.py``, where the demo
  build is already published as ``v`` + ``RELEASE_VERSION``; the Hub state carries over from block to
  block (the publishing example pushes the next minor, a later block loads it).
- A block that shows output or syntax, not a command, takes another fence (```text).
  A ```text block whose first line is ``$ command`` is a transcript: the command is run
  and its output (stdout then stderr) must be the rest of the block, exactly.
- A command that cannot run here gets the line ``<!-- readme-test: skip REASON -->``
  right before its fence; the test reports it as skipped, with the reason. A Python
  block that goes on from the one before it (its names) gets
  ``<!-- readme-test: continue -->`` and runs after that block's code, in one process.
  A block that imports a module this environment lacks (torch) is skipped, and a block
  naming ``../shared`` is skipped when the seed corpus is absent.
- A block with exactly the code of an earlier one (the Chinese section repeats the
  English commands) is not run again: it is that block, and is reported as such.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hub_server import HubServer, client_settings

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
TEST_ORG = "readme-test-org"
SKIP_MARKER = re.compile(r"<!--\s*readme-test:\s*skip\s+(.*?)\s*-->")
CONTINUE_MARKER = re.compile(r"<!--\s*readme-test:\s*continue\s*-->")
_FENCE = re.compile(r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)
RUN_LANGUAGES = ("python", "bash")


@dataclass(frozen=True)
class Block:
    language: str
    code: str
    line: int  # of the opening fence, 1-based
    skip: str | None  # the reason given by a skip marker
    prelude: str = ""  # the code of the blocks a continue marker joins this one to
    same_as: int | None = None  # the line of an earlier block with exactly this code

    @property
    def id(self) -> str:
        return f"README.md:{self.line}:{self.language}"


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block of the languages that run, with the marker before it, if any."""
    blocks: list[Block] = []
    for match in _FENCE.finditer(text):
        if match.group("lang") not in RUN_LANGUAGES:
            continue
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP_MARKER.search(before)
        prelude = ""
        if CONTINUE_MARKER.search(before):
            assert blocks and blocks[-1].language == match.group("lang"), "a continue marker after no block to continue"
            prelude = blocks[-1].prelude + blocks[-1].code
        line = text.count("\n", 0, match.start()) + 1
        code = match.group("body")
        same_as = next(
            (b.line for b in blocks if (b.language, b.prelude + b.code) == (match.group("lang"), prelude + code)), None
        )
        blocks.append(Block(match.group("lang"), code, line, skip.group(1) if skip else None, prelude, same_as))
    return blocks


@dataclass(frozen=True)
class Transcript:
    command: str
    output: str
    line: int


def readme_transcripts(text: str) -> list[Transcript]:
    """The ```text blocks that begin with ``$ command``: a command and the output it gives."""
    found = []
    for match in _FENCE.finditer(text):
        body = match.group("body")
        if match.group("lang") == "text" and body.startswith("$ "):
            command, _, output = body.partition("\n")
            found.append(Transcript(command[2:], output, text.count("\n", 0, match.start()) + 1))
    return found


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))
TRANSCRIPTS = readme_transcripts(README.read_text(encoding="utf-8"))


def test_the_readme_has_blocks_to_run_and_the_harness_finds_fences_and_markers() -> None:
    assert len(BLOCKS) >= 10 and TRANSCRIPTS
    sample = (
        "a\n<!-- readme-test: skip needs the network -->\n```bash\nexit 1\n```\n```text\n$ ls\nx\n```\n"
        "```python\nx = 1\n```\n<!-- readme-test: continue -->\n```python\nprint(x)\n```\n"
    )
    found = readme_blocks(sample)
    assert [(b.language, b.code, b.line, b.skip, b.prelude) for b in found] == [
        ("bash", "exit 1\n", 3, "needs the network", ""),
        ("python", "x = 1\n", 10, None, ""),
        ("python", "print(x)\n", 14, None, "x = 1\n"),
    ]
    again = readme_blocks(sample + "```python\nx = 1\n```\n")
    assert [b.same_as for b in again] == [None, None, None, 10]
    assert readme_transcripts(sample) == [Transcript("ls", "x\n", 6)]


@dataclass
class Workspace:
    root: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, demo_release: Path) -> Iterator[Workspace]:
    base = tmp_path_factory.mktemp("readme")
    root = base / "chat-dataset-baseline"
    root.mkdir()
    for folder in ("data", "examples"):
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, root / folder)
    shutil.copytree(demo_release, root / "out" / "chat-dataset-baseline")
    (root / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    if (REPO.parent / "shared").is_dir():
        (base / "shared").symlink_to((REPO.parent / "shared").resolve(), target_is_directory=True)
    server = HubServer().start()
    try:
        env, _ = client_settings(server.url, base / "hf-home")
        env = {**os.environ, **env}
        env.pop("HF_HUB_OFFLINE", None)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        # the starting point the README assumes: data/ published as the default version (its card names the test repo)
        repo = f"{TEST_ORG}/chat-dataset-baseline"
        _run(
            [
                "chat-dataset-baseline",
                "build",
                "--source",
                "data",
                "--out",
                str(base / "v1"),
                "--repo",
                repo,
                "--quiet",
            ],
            root,
            env,
        )
        _run(
            ["chat-dataset-baseline", "push", str(base / "v1"), "--repo", repo],
            root,
            env,
        )
        yield Workspace(root, env)
    finally:
        server.stop()


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{command} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def _missing_module(code: str) -> str | None:
    for name in re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", code, re.M):
        if importlib.util.find_spec(name) is None:
            return name
    return None


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[block.id for block in BLOCKS])
def test_readme_block_runs(block: Block, workspace: Workspace) -> None:
    if block.same_as is not None:
        pytest.skip(f"{block.id}: the same code as README.md:{block.same_as}, run (or skipped) there")
    if block.skip:
        pytest.skip(f"{block.id}: {block.skip}")
    if "../shared" in block.code and not (workspace.root.parent / "shared").is_dir():
        pytest.skip(f"{block.id}: the seed corpus is not beside the project")
    code = re.sub(r"\bORG/", f"{TEST_ORG}/", block.prelude + block.code)
    if block.language == "python":
        missing = _missing_module(code)
        if missing:
            pytest.skip(f"{block.id}: needs {missing}, which this environment does not have")
        command = [sys.executable, "-c", code]
    else:
        command = ["bash", "-euo", "pipefail", "-c", code]
    done = subprocess.run(command, cwd=workspace.root, env=workspace.env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (
        f"{block.id} exited {done.returncode}\n--- block ---\n{code}\n--- stdout ---\n{done.stdout[-3000:]}"
        f"\n--- stderr ---\n{done.stderr[-3000:]}"
    )


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=[f"README.md:{t.line}:transcript" for t in TRANSCRIPTS])
def test_readme_transcript_shows_what_the_command_prints(transcript: Transcript, workspace: Workspace) -> None:
    done = subprocess.run(
        ["bash", "-c", transcript.command], cwd=workspace.root, env=workspace.env, capture_output=True, text=True
    )
    assert done.stdout + done.stderr == transcript.output
