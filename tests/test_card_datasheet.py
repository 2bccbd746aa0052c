"""The card a build writes: datasheet sections, the build's rule counts, attribution and citation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conftest import good_record

from chatcorpus.release.build import BuildOptions, build_release


def test_the_card_has_the_datasheet_the_rule_counts_and_cites_alpaca_and_the_project(
    tmp_path: Path, write_source: Callable[..., Path]
) -> None:
    records = [good_record(n) for n in range(4)]
    records.append({"instruction": "Summarize the page.", "input": "https://example.com/a", "output": "It is long."})
    records.append({"instruction": "Symbols", "output": "#$%^&*()!@" * 8})
    src = write_source({"alpaca-en/a.json": records})
    build_release(src, tmp_path / "out", options=BuildOptions(progress=False))
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    for section in (
        "### Motivation",
        "### Composition",
        "### Collection process",
        "### Preprocessing and cleaning",
        "### Uses",
        "### Distribution",
        "### Maintenance",
        "## Attribution and citation",
    ):
        assert f"\n{section}\n" in card
    # the counts are the build's own: a build runs the --thorough rules too
    assert "| `clean.url-only-input` | warning | 1 |" in card
    assert "| `quality.special-characters` | warning | 1 |" in card
    assert "Stanford Alpaca: An Instruction-following LLaMA model" in card
    assert "https://github.com/tatsu-lab/stanford_alpaca" in card
    assert "@misc{chat-dataset-baseline," in card and "https://github.com/hikariming/chat-dataset-baseline" in card
    assert "CC BY-NC 4.0" in card
