"""The phase benchmarks run, and every function they name still exists: a renamed one would
silently drop out of the breakdown (they print "not measured" for it) and the figures would lie."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("script", ["validate_phases.py", "build_phases.py"])
def test_every_phase_is_measured(script: str) -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), "--corpus", str(REPO / "data")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "not measured" not in run.stderr, run.stderr
    lines = run.stdout.splitlines()
    assert lines[1].split() == ["phase", "wall", "s", "CPU", "s", "calls"]
    assert len(lines) > 6  # the top-level phases and those nested under them
