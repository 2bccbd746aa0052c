"""Chinese script: Traditional characters in the configs written in Simplified Chinese.

alpaca-zh and chatglm-issues are Simplified Chinese; a record in Traditional script (or
a Traditional character slipped into Simplified text, ``安靜``) is worth a look. A
Traditional copy of a Simplified record is a duplicate, which ``normalize.duplicate_keys``
finds; this rule is about the script itself. Japanese text is left alone: kanji such as
``長`` are the Traditional forms, and a translation into Japanese needs them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from chatcorpus.validation.corpus_shape import CONFIG_LANGUAGES
from chatcorpus.validation.faults import Finding, Severity
from chatcorpus.validation.normalize import to_simplified, traditional_counts
from chatcorpus.validation.rules import RecordContext, TextFrame, lint_rule

#: the configs written in Simplified Chinese (prompts mix Chinese and English, in Simplified script)
SIMPLIFIED_CONFIGS = frozenset(name for name, language in CONFIG_LANGUAGES.items() if language in ("zh", "mixed"))
_KANA = re.compile("[\u3040-\u30ff]")
_FIELDS = ("instruction", "input", "output", "system")


def _holds_traditional(frame: TextFrame) -> np.ndarray:
    if frame.config not in SIMPLIFIED_CONFIGS:
        return frame.nothing()
    mask = frame.nothing()
    for name in _FIELDS:
        mask |= traditional_counts(frame.columns[name]) > 0
    return mask


def traditional_in(text: str) -> list[str]:
    """Each character of ``text`` that OpenCC's t2s changes on its own, in order, repeats included.

    OpenCC is asked once per distinct character, not once per character: a one-record file
    of 60 MB of Chinese took 35 s one call per character."""
    changed = {char for char in set(text) if to_simplified(char) != char}
    return [char for char in text if char in changed] if changed else []


@lint_rule(
    "script.traditional",
    Severity.WARNING,
    "Traditional Chinese characters in a config written in Simplified Chinese (OpenCC t2s would change them)",
    _holds_traditional,
)
def _traditional(record: dict[str, Any], ctx: RecordContext) -> Iterator[Finding]:
    if ctx.config not in SIMPLIFIED_CONFIGS:
        return
    for name in _FIELDS:
        text = record.get(name)
        if not isinstance(text, str) or _KANA.search(text):
            continue
        found = traditional_in(text)
        if found:
            shown = "".join(dict.fromkeys(found))[:10]
            yield Finding(
                f"{name} holds {len(found)} Traditional character(s) ({shown}); Simplified: {to_simplified(shown)}",
                f"/{name}",
            )
