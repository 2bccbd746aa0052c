"""``align`` and ``coverage`` import neither ``datasets`` nor pandas (1.5 s a run): the
alignment reads the builder's names from ``corpus_shape`` and builds its Arrow arrays
without asking pandas, as ``validate`` does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alignment_fixtures import generate
from test_validate_imports import _run


@pytest.mark.parametrize("command", [["align", "--format", "jsonl"], ["align", "--format", "text"], ["coverage"]])
def test_the_alignment_commands_never_import_datasets_or_pandas(
    write_source: Callable[..., Path], command: list[str]
) -> None:
    tree = generate(41, n=30)
    root = write_source(
        {
            "alpaca-zh/alpaca_data-0-30-中文-已完成.json": tree.chinese,
            "alpaca-en/alpaca_data-0-30-英文.json": tree.english,
            "alpaca-zh/no-range-中文.json": tree.chinese[:3],  # a warning on the way
        }
    )
    result = _run(command[0], str(root), *command[1:])
    assert result == {"code": 0, "heavy": []}
