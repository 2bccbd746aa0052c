"""Cleaning rules: the faults curated instruction corpora remove, as lint rules.

From AlpacaDataCleaned's list of what was wrong with Stanford Alpaca (its README,
"Issues with the Original Dataset"): merged instructions, inputs that are only a URL,
requests for an image, audio or video answered with text, ``N/A`` outputs, missing code,
and outputs that only echo the input. From data-juicer's Alpaca-CoT recipes: the
character-repetition and special-character ratios of a record's text. Every rule is a
warning: the record may be worth fixing, it is not malformed.

Each rule's pre-filter runs over the whole file's columns (Arrow regex kernels, NumPy)
and selects a superset of the records the rule flags; the rule itself decides.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chatcorpus.validation.faults import Finding, Severity
from chatcorpus.validation.rules import (
    THOROUGH_RULES,
    UNICODE_SPACE,
    RecordContext,
    TextFrame,
    lint_rule,
    python_twin,
    re2_twin,
    screened,
)
from chatcorpus.validation.textstats import bytes_and_offsets, string_scalar, to_ints, to_mask

W = Severity.WARNING


def _text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    return value if isinstance(value, str) else ""


# --- merged instructions: "...\n##\n18. Instruction: ...\n18. Input: ..." ----------------

_MERGED_FIELD = r"(?i:instruction|input|output|指令|输入|输出)\s*[:：]"  # how every match ends: its trigger
_MERGED_RE2 = r"\n\s*(?:#{1,3}\s*\n\s*)?\d{1,3}\s*[.．、]\s*" + _MERGED_FIELD
_MERGED = python_twin(_MERGED_RE2)
# in any text field: a superset of the three it reads
_MERGED_SCREEN = screened(re2_twin(_MERGED_RE2), re2_twin(_MERGED_FIELD))
_MERGED_FIELDS = ("instruction", "input", "output")


@lint_rule(
    "clean.merged-instruction",
    W,
    "a field runs on into another numbered task (`\\n##\\n18. Instruction: ...`): two records merged into one",
    lambda frame: frame.rare_matches(_MERGED_SCREEN),
)
def _merged_instruction(record: dict[str, Any], ctx: RecordContext) -> Iterator[Finding]:
    for name in _MERGED_FIELDS:
        match = _MERGED.search(_text(record, name))
        if match:
            yield Finding(
                f"{name} continues into another task at character {match.start() + 1}: "
                f"{match.group().strip()!r}; split it into its own record",
                f"/{name}",
            )
            return


# --- an input that is only a URL: the model cannot open it, so the answer is invented ---

_URL_START = r"(?i:https?://|www\.)"
_URL_ONLY_RE2 = rf"^\s*<?\s*{_URL_START}\S+?\s*>?\s*$"
_URL_ONLY = python_twin(_URL_ONLY_RE2)
_URL_ONLY_SCREEN = screened(re2_twin(_URL_ONLY_RE2), re2_twin(_URL_START))


@lint_rule(
    "clean.url-only-input",
    W,
    "the input is only a URL: the model cannot open it, so its answer is invented",
    lambda frame: frame.rare_matches(_URL_ONLY_SCREEN),
)
def _url_only_input(record: dict[str, Any], ctx: RecordContext) -> Iterator[Finding]:
    if _URL_ONLY.match(_text(record, "input")):
        yield Finding("the input is only a URL; paste the text it points to instead", "/input")


# --- a request for an image, audio or video, answered with text --------------------------

_MAKE_EN = r"(?:create|generate|draw|design|make|produce|paint|sketch|render|record|film|shoot|take)"
_MEDIA_EN = (
    r"(?:image|picture|photo(?:graph)?|logo|graphic|drawing|painting|illustration|icon|video|audio|"
    r"sound ?clip|recording|podcast|animation|gif|meme|poster|banner|infographic)s?"
)
# up to three words between the verb and the medium ("create a colorful vector logo"),
# but not a preposition that makes the medium the topic ("generate a caption for an image")
_BETWEEN_EN = r"(?:(?!(?:for|of|about|to|from|that|which|with|describing|based|on|in)\b)[\w'-]+\s+){0,3}?"
_MEDIA_REQUEST = re.compile(
    rf"\b{_MAKE_EN}\s+(?:me\s+)?{_BETWEEN_EN}{_MEDIA_EN}\b"
    r"|(?:生成|画|绘制|设计|制作|创作|拍摄|录制|创建)(?:一[张幅个段份首部])?.{0,6}?"
    r"(?:图片|图像|照片|图画|插图|标志|徽标|图标|海报|视频|音频|录音|动画|漫画|logo)",
    re.IGNORECASE,
)
# a request answered in a form text can carry (code that draws it, ASCII art, SVG) is fine
_TEXT_MEDIUM = re.compile(
    r"\b(?:code|program|script|python|svg|html|css|latex|tikz|ascii|matplotlib|javascript)\b|代码|程序|字符画",
    re.IGNORECASE,
)
_MEDIA_PREFILTER = screened(
    re2_twin(
        r"(?i:image|picture|photo|logo|graphic|drawing|painting|illustration|icon|video|audio|sound|recording|podcast|animation|gif|meme|poster|banner|infographic|图|照片|标志|徽标|海报|视频|音频|录音|动画|漫画)"
    ),
    field="instruction",
)


@lint_rule(
    "clean.media-request",
    W,
    "the instruction asks for an image, audio or video, which a text answer cannot be",
    lambda frame: frame.rare_matches(_MEDIA_PREFILTER),
)
def _media_request(record: dict[str, Any], ctx: RecordContext) -> Iterator[Finding]:
    instruction = _text(record, "instruction")
    match = _MEDIA_REQUEST.search(instruction)
    if match and not _TEXT_MEDIUM.search(instruction) and not _TEXT_MEDIUM.search(_text(record, "output")):
        yield Finding(
            f"the instruction asks for something text cannot be ({match.group()!r}); "
            "rephrase it as a description or drop the record",
            "/instruction",
        )


# --- "N/A" as the answer -----------------------------------------------------------------

_NA_RE2 = r"^\s*(?i:n\s*/\s*a|not applicable|不适用)\s*[.。]?\s*$"
_NA = python_twin(_NA_RE2)
# a part of each alternative (a trigger starting at a letter as common as "n" would match everywhere)
_NA_SCREEN = screened(re2_twin(_NA_RE2), re2_twin(r"(?i:/\s*a|applicable|不适用)"))


@lint_rule(
    "clean.na-output",
    W,
    "the output is N/A: no answer at all",
    lambda frame: frame.rare_matches(_NA_SCREEN),
)
def _na_output(record: dict[str, Any], ctx: RecordContext) -> Iterator[Finding]:
    output = _text(record, "output")
    if _NA.match(output):
        yield Finding(f"the output is {output.strip()!r}: write the answer or drop the record", "/output")


# --- missing code: an empty fenced block, or "the following code" with no code given ------

_EMPTY_FENCE_RE2 = r"```[\w+#.-]*[ \t]*\n?\s*```"
_EMPTY_FENCE = re.compile(_EMPTY_FENCE_RE2)
_EMPTY_FENCE_SCREEN = screened(re2_twin(_EMPTY_FENCE_RE2), "```")
_CODE_REFERENCE = re.compile(
    r"\b(?:the|this|following|given|below|above)\s+(?:\w+\s+)?(?:code|program|script|snippet)\s*[.:：。!]?\s*$"
    r"|(?:以下|下面|下列|这段|给定|如下)的?(?:代码|程序|脚本)\s*[.:：。!]?\s*$",
    re.IGNORECASE,
)
# the check reads the instruction stripped (of Unicode whitespace); the pre-filter reads it whole
_CODE_WORD = r"(?i:code|program|script|snippet|代码|程序|脚本)"
# its own trigger: Hyperscan takes the $ to be a row's end (multiscan), so the code word must end the instruction
_CODE_REFERENCE_RE2 = screened(re2_twin(_CODE_WORD + r"\s*[.:：。!]?") + UNICODE_SPACE + "*$", field="instruction")


def _may_miss_code(frame: TextFrame) -> np.ndarray:
    fenced = frame.rare_matches(_EMPTY_FENCE_SCREEN)
    blank_input = to_mask(pc.equal(pc.utf8_trim_whitespace(frame.columns["input"]), string_scalar("")))
    return fenced | (blank_input & frame.rare_matches(_CODE_REFERENCE_RE2))


@lint_rule(
    "clean.empty-code",
    W,
    "code the record relies on is missing: an empty ``` block, or `the following code` with no code",
    _may_miss_code,
)
def _empty_code(record: dict[str, Any], ctx: RecordContext) -> Iterator[Finding]:
    for name in ("input", "output"):
        match = _EMPTY_FENCE.search(_text(record, name))
        if match:
            yield Finding(f"{name} holds an empty code block at character {match.start() + 1}", f"/{name}")
            return
    instruction = _text(record, "instruction")
    if not _text(record, "input").strip() and _CODE_REFERENCE.search(instruction.strip()):
        yield Finding("the instruction refers to code that neither it nor the input holds", "/instruction")


# --- an output that only repeats the input -----------------------------------------------


_EMPTY = string_scalar("")
_DOTTED_I = screened("\u0130")  # in any field: a superset of input or output


def _echoes(frame: TextFrame) -> np.ndarray:
    """Records with an input whose output, trimmed, is as long as the trimmed input.

    Two texts Python lower-cases to the same string are that long, but for ``İ``, the
    one character its ``lower`` makes two of (``i`` and a combining dot); records holding
    one are kept too. Comparing lengths rather than Arrow's lower-casing keeps the rule
    Python's: Arrow maps some characters as Python does not (final sigma, newer Unicode).
    Both trim the same whitespace."""
    output, given = pc.utf8_trim_whitespace(frame.columns["output"]), pc.utf8_trim_whitespace(frame.columns["input"])
    same_length = pc.and_(pc.equal(pc.utf8_length(output), pc.utf8_length(given)), pc.not_equal(given, _EMPTY))
    dotted = frame.rare_matches(_DOTTED_I) & to_mask(pc.not_equal(frame.columns["input"], _EMPTY))
    return to_mask(same_length) | dotted


@lint_rule("clean.echo", W, "the output only repeats the input", _echoes)
def _echo(record: dict[str, Any], ctx: RecordContext) -> Iterator[Finding]:
    given = _text(record, "input").strip().lower()
    if given and _text(record, "output").strip().lower() == given:
        yield Finding("the output is the input again: the record teaches nothing", "/output")


# --- data-juicer's ratios over the record's text ------------------------------------------

#: data-juicer's ``character_repetition_filter`` defaults (``rep_len``, ``max_ratio``) as
#: the issue sets them; its own default max_ratio is 0.5.
REPETITION_NGRAM = 10
MAX_REPETITION_RATIO = 0.6
#: data-juicer's ``special_characters_filter`` default ``max_ratio``
MAX_SPECIAL_RATIO = 0.25
#: the ratios judge a record's first this many characters: enough for any instruction
#: record, and a 300 MB record costs what 100 kB do, in time and memory
RATIO_TEXT_LIMIT = 100_000
#: texts are scanned in batches of about this many bytes, so memory follows the batch
_BATCH_BYTES = 1 << 22


def record_text(record: dict[str, Any]) -> str:
    """What the ratios are computed over: what the user asks and what the model answers,
    one field a line (the text data-juicer's Alpaca formatter gives its filters)."""
    return "\n".join(_text(record, name) for name in ("instruction", "input", "output"))[:RATIO_TEXT_LIMIT]


def repetition_ratio(text: str, n: int = REPETITION_NGRAM) -> float:
    """data-juicer's ``char_rep_ratio``: the share of ``n``-character windows taken by the
    √(distinct windows) most frequent windows that occur more than once."""
    counts = sorted(Counter(text[i : i + n] for i in range(len(text) - n + 1)).values(), reverse=True)
    if not counts:
        return 0.0
    repeated = sum(1 for count in counts if count > 1)
    top = min(int(np.sqrt(len(counts))), repeated)
    return sum(counts[:top]) / sum(counts)


_MIX = np.uint64(0x9E3779B97F4A7C15)


def repetition_candidates(
    texts: pa.Array, n: int = REPETITION_NGRAM, limit: float = MAX_REPETITION_RATIO
) -> np.ndarray:
    """The texts whose ``repetition_ratio`` may exceed ``limit``, without Python per text.

    ``repetition_ratio`` is at most the share of a text's windows that occur more than
    once in it (the top windows are among those). Windows are compared by a hash of
    their first ``n`` bytes: equal ``n``-character windows have equal first ``n`` bytes,
    and a hash collision only adds repeats, so the share can only err high, which is
    all a pre-filter needs. One sort of (text, window hash) keys per file finds the repeats.
    """
    if n < 8:
        raise ValueError("windows are compared by two 8-byte loads: n must be at least 8")
    data, offsets = bytes_and_offsets(texts)
    lengths = to_ints(pc.utf8_length(texts))
    windows = np.maximum(lengths - n + 1, 0)
    if not windows.any():
        return np.zeros(len(texts), dtype=bool)
    starts = np.flatnonzero((data & 0xC0) != 0x80)  # the first byte of every character, text by text
    owner = np.repeat(np.arange(len(texts)), lengths)
    rank = np.arange(len(starts)) - np.repeat(np.cumsum(lengths) - lengths, lengths)  # character index in its text
    keep = rank < windows[owner]
    starts, owner = starts[keep], owner[keep]
    padded = np.concatenate((data, np.zeros(n + 8, np.uint8)))
    # unaligned 8-byte loads at each start: bytes 0-7 and n-8..n-1 of the window, all n of them
    head = np.ndarray((len(data),), dtype="<u8", buffer=padded, strides=(1,))
    tail = np.ndarray((len(data),), dtype="<u8", buffer=padded, offset=n - 8, strides=(1,))
    hashed = head[starts] ^ (tail[starts] * _MIX)
    # one sortable key: the text's number in the high bits, the window's hash below it
    owner_bits = max(1, len(texts).bit_length())
    keys = np.sort((owner.astype(np.uint64) << np.uint64(64 - owner_bits)) | (hashed >> np.uint64(owner_bits)))
    same = keys[1:] == keys[:-1]
    repeated = np.zeros(len(keys), dtype=bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    repeats = np.bincount((keys[repeated] >> np.uint64(64 - owner_bits)).astype(np.int64), minlength=len(texts))
    share = np.divide(repeats, windows, out=np.zeros(len(texts)), where=windows > 0)
    return share > limit


def _frame_texts(frame: TextFrame) -> pa.Array:
    """``record_text`` of every record of the frame."""
    joined = pc.binary_join_element_wise(
        *(frame.columns[name] for name in ("instruction", "input", "output")), string_scalar("\n")
    )
    return pc.utf8_slice_codeunits(joined, 0, RATIO_TEXT_LIMIT)


def _batched(texts: pa.Array, test: Callable[[pa.Array], np.ndarray]) -> np.ndarray:
    """``test`` over consecutive slices of ``texts`` of about ``_BATCH_BYTES`` each."""
    sizes = to_ints(pc.binary_length(texts))
    batch = np.cumsum(sizes) // _BATCH_BYTES
    bounds = np.flatnonzero(np.diff(batch)) + 1
    starts = np.concatenate(([0], bounds)).astype(int)
    stops = np.concatenate((bounds, [len(texts)])).astype(int)
    parts = [test(texts.slice(start, stop - start)) for start, stop in zip(starts, stops, strict=True) if stop > start]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


@lint_rule(
    "quality.char-repetition",
    W,
    f"the text repeats itself: data-juicer's {REPETITION_NGRAM}-character repetition ratio above {MAX_REPETITION_RATIO}",
    lambda frame: _batched(_frame_texts(frame), repetition_candidates),
)
def _char_repetition(record: dict[str, Any], ctx: RecordContext) -> Iterator[Finding]:
    ratio = repetition_ratio(record_text(record))
    if ratio > MAX_REPETITION_RATIO:
        yield Finding(
            f"{ratio:.0%} of the text is repeated {REPETITION_NGRAM}-character sequences "
            f"(data-juicer's limit: {MAX_REPETITION_RATIO:.0%})",
        )


# data-juicer counts string.punctuation, digits, whitespace, emoji and a list of about 200
# punctuation and symbol characters; these Unicode classes are where that list comes from.
# Whitespace is left out, and texts shorter than MIN_SPECIAL_LENGTH are not judged: with
# them the rule flagged 16% of the seed (the median English record has 20% spaces and
# punctuation, and "2+3=\n5" is all digits), which buried every other warning.
_SPECIAL = r"[\p{P}\p{S}\p{N}]"
MIN_SPECIAL_LENGTH = 50


def special_ratios(texts: pa.Array) -> np.ndarray:
    """Per text, the share of its characters that are punctuation, symbols or digits
    (0 for texts shorter than ``MIN_SPECIAL_LENGTH``)."""
    special = to_ints(pc.count_substring_regex(texts, _SPECIAL))
    length = to_ints(pc.utf8_length(texts))
    return np.divide(special, length, out=np.zeros(len(texts)), where=length >= MIN_SPECIAL_LENGTH)


def special_ratio(text: str) -> float:
    """``special_ratios`` for one text, by Unicode category (a regex compile per record would cost more)."""
    if len(text) < MIN_SPECIAL_LENGTH:
        return 0.0
    return sum(1 for char in text if unicodedata.category(char)[0] in "PSN") / len(text)


@lint_rule(
    "quality.special-characters",
    W,
    f"more than {MAX_SPECIAL_RATIO:.0%} of a text of {MIN_SPECIAL_LENGTH}+ characters is punctuation, symbols or digits "
    "(data-juicer's special-character ratio, whitespace not counted)",
    lambda frame: special_ratios(_frame_texts(frame)) > MAX_SPECIAL_RATIO,
)
def _special_characters(record: dict[str, Any], ctx: RecordContext) -> Iterator[Finding]:
    ratio = special_ratio(record_text(record))
    if ratio > MAX_SPECIAL_RATIO:
        yield Finding(
            f"{ratio:.0%} of the text is punctuation, symbols or digits (data-juicer's limit: {MAX_SPECIAL_RATIO:.0%})",
        )


# the ratios cost more than the other rules together (measured in bench/quality.py)
THOROUGH_RULES.update({"quality.char-repetition", "quality.special-characters"})
