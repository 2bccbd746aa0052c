"""Names from the sources stay plain text in the card's Markdown: no math, no markup, no extra cell.

Category names are source file stems and the coverage table shows file names, both chosen
by contributors. On the Hub, ``$x$`` in a card renders as KaTeX math, ``|`` splits a table
cell, backticks and HTML are markup; each must show as the characters it is.
"""

from __future__ import annotations

import html
import json
import random
import re
from pathlib import Path

import pytest
from conftest import good_record

from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.validation import inert

HOSTILE = ["$x$", "\\$y", "$$a+b$$", "a|b", "`code`", "<b>bold<b>", "*em* _em_", "[l](x)", "~~s~~", "&amp;", "www.x.io"]
MARKUP = set("\\`*_[]<>|~$&!")
ENTITY = re.compile(r"&#\d+;")


def _generated(count: int, seed: int) -> list[str]:
    """Random strings over markup, math, escapes, controls and CJK."""
    rng = random.Random(seed)
    alphabet = [*MARKUP, "$", "\\$", "\n", "\x1b", "\u202e", "a", "中", " ", "&#36;", "{", "}", "#", "-"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(count)]


@pytest.mark.parametrize("name", HOSTILE + _generated(300, 13))
def test_markdown_text_leaves_no_markup_and_loses_nothing(name: str) -> None:
    text = inert.markdown_text(name)
    assert "\n" not in text and not MARKUP & set(ENTITY.sub("", text))
    assert html.unescape(text) == inert.escape(name)  # every character still shows as itself


def _tables(card: str) -> list[list[list[str]]]:
    """Each table's rows as cells, split where a renderer splits them: at a raw ``|``."""
    tables: list[list[list[str]]] = []
    previous = ""
    for line in card.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append([])
            tables[-1].append(line.strip().strip("|").split("|"))
        previous = line
    return tables


def test_hostile_names_in_the_card_render_as_text(tmp_path: Path) -> None:
    source = tmp_path / "src"
    files = {f"chatglm-issues/{name}.json": [good_record(n, "zh")] for n, name in enumerate(HOSTILE)}
    files["alpaca-en/alpaca_data-0-2-$en$.json"] = [good_record(0), good_record(1)]
    files["alpaca-en/$e$|`x`.json"] = [good_record(2)]  # no range: the coverage table shows its name
    files["alpaca-zh/alpaca_data-0-2-$zh$|x-未完成.json"] = [good_record(0, "zh"), good_record(1, "zh")]
    for relative, records in files.items():
        path = source / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    result = build_release(source, tmp_path / "out" / "chat-dataset-baseline", options=BuildOptions(progress=False))
    assert result.published, [str(f) for f in result.faults]
    body = (result.out / "README.md").read_text(encoding="utf-8").split("\n---\n", 1)[1]
    assert "$" not in body  # nothing for KaTeX to read: every $ of a name is &#36;
    tables = _tables(body)
    assert len(tables) >= 4
    for table in tables:
        assert all(len(row) == len(table[0]) for row in table), table  # no name split a cell
    shown = html.unescape(body)
    for name in [*HOSTILE, "$e$|`x`.json", "| 0-2 | 2 | 2 | 0 | 0 | unfinished |"]:
        assert name in shown, name
    for name in HOSTILE:  # as text only: the raw markup of a name is nowhere in the Markdown
        assert name not in body or not MARKUP & set(name), name
