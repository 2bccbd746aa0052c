"""What survives translation, per record, as arrays: the signals the alignment scores pairs on.

A translator rewrites every word, but keeps much else: numbers, URLs, code and names in
Latin script, whether the record has an ``input`` at all, how many lines the answer has,
and roughly how long each part is (Gale and Church's observation, with a Han character
worth a few English letters). A record left in English keeps everything. Each signal is
one NumPy array over a file's records, so scoring the candidate pairs of a file is a
handful of vectorized operations, not a Python loop over pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from chatcorpus.alignment.lexicon import shared_bits
from chatcorpus.validation.textstats import (
    han_counts,
    string_array,
    string_scalar,
    to_ints,
    to_mask,
)

# Tokens a translation keeps verbatim: numbers, and Latin words with a capital, a digit or an
# underscore (names, acronyms, identifiers, parts of URLs). All-lowercase words are left out on both
# sides: in English text they are the common words, which say nothing about which record is the
# original. Every byte that cannot be part of a token (any byte of a non-ASCII character included)
# becomes a space in one NumPy lookup, then Arrow splits on ASCII whitespace (the text is ASCII now:
# no UTF-8 decoding, twice as fast) and RE2 keeps the tokens: Python's re, and RE2 splitting on a
# character class, were the slowest steps of the alignment.
_TOKEN_BYTES = np.full(256, ord(" "), dtype=np.uint8)
for _c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.,":
    _TOKEN_BYTES[_c] = _c
_KEPT = r"^(?:[0-9]|[A-Z_]|[a-z]+[A-Z0-9_])"


def _kept_tokens(texts: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Every kept token of every text, as (text index, token), in text order."""
    _, offsets, data = texts.buffers()
    ascii_data = _TOKEN_BYTES[np.frombuffer(data, dtype=np.uint8)] if data is not None else np.zeros(0, np.uint8)
    spaced = pa.StringArray.from_buffers(len(texts), offsets, pa.py_buffer(ascii_data.tobytes()), offset=texts.offset)
    words = pc.ascii_split_whitespace(spaced)
    flat = pc.ascii_trim(pc.list_flatten(words), ".,")
    keep = pc.match_substring_regex(flat, _KEPT)
    return _numpy(pc.filter(pc.list_parent_indices(words), keep)), pc.filter(flat, keep)


# spacing, punctuation and symbols, any script: what a copy pasted again may differ in
_NOT_FORM = r"[\s\p{P}\p{S}]+"


def _form_free(instruction: pa.Array, inputs: pa.Array, outputs: pa.Array) -> np.ndarray:
    """Per record, a number within the file, equal for records that differ only in form.

    The instruction and input compared without case, spacing and punctuation,
    the output without the spacing around it: a record pasted again keeps its answer.
    Arrow kernels over the columns (RE2 only over the short parts), then Arrow's own
    dictionary numbering: no Python per record. Only records of one file are compared.
    """
    heads = pc.binary_join_element_wise(instruction, inputs, string_scalar("\n"))
    stripped = pc.replace_substring_regex(pc.utf8_lower(heads), _NOT_FORM, "")
    key = pc.binary_join_element_wise(stripped, pc.utf8_trim_whitespace(outputs), string_scalar("\x00"))
    codes = _numpy(pc.dictionary_encode(key).indices)
    return np.where(_numpy(pc.equal(stripped, string_scalar(""))).astype(bool), -1, codes)


#: English letters per Han character of a translation, measured on the 2024-05-06 seed's aligned pairs.
LETTERS_PER_HAN = 3.0


def _log_units(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """log(1 + length in English letters), Han characters weighing LETTERS_PER_HAN; and the Han counts."""
    han = han_counts(texts).astype(float)
    characters = _numpy(pc.utf8_length(texts)).astype(float)
    return np.log1p(han * LETTERS_PER_HAN + characters - han), han


@dataclass
class FileSignals:
    """Per record of one file: the keys of exact copies, the numeric signals and the kept tokens."""

    # each text as a number, equal where the texts are equal in either file of the pair, so exact-copy checks are
    # array compares
    content: np.ndarray  # the canonical content: equal means an exact copy
    # instruction and input without case, spacing and punctuation, and the output without the spacing around
    # it, numbered within the file: equal means a copy up to form (-1 where nothing is left); a record equal to
    # an earlier one is a repeat (``monotone.repeats``)
    near_content: np.ndarray
    instruction: np.ndarray
    input: np.ndarray  # -1 for an empty input
    output: np.ndarray  # -1 for an output of under 3 characters, too short to tell records apart
    has_han: np.ndarray  # bool: any Han character in instruction, input or output
    input_empty: np.ndarray  # bool
    log_instruction: np.ndarray  # log(1 + length in letters)
    log_output: np.ndarray
    output_lines: np.ndarray  # int: newlines inside the stripped output
    has_digits: np.ndarray  # bool
    token_records: np.ndarray  # int64: the record of each kept token (a record's tokens may repeat)
    token_codes: np.ndarray  # int64: the token's number, the same for the same token in the pair's two files

    def __len__(self) -> int:
        return len(self.content)


def _has_digits(token_records: np.ndarray, token_texts: pa.Array, n: int) -> np.ndarray:
    numbers = _numpy(pc.match_substring_regex(token_texts, "^[0-9]")).astype(bool)
    has = np.zeros(n, dtype=bool)
    has[token_records[numbers]] = True
    return has


def _numpy(array: pa.Array) -> np.ndarray:
    """A kernel's boolean or integer result as NumPy, read from its buffers (``to_numpy`` imports pandas)."""
    return to_mask(array) if pa.types.is_boolean(array.type) else to_ints(array)


def _codes(values: pa.Array) -> np.ndarray:
    """Each value as a number, equal where the values are equal (Arrow's hash table)."""
    return _numpy(pc.dictionary_encode(values).indices)


def _content_codes(
    records: Sequence[dict[str, Any]],
    instruction: np.ndarray,
    inputs: np.ndarray,
    output: np.ndarray,
) -> np.ndarray:
    """A number per record, equal where ``content_key`` is: the numbers of its five parts, combined.

    The parts' numbers are known already but for ``system`` and ``history``, which alpaca
    records seldom have; serializing every record again only to compare it (``content_key``)
    was a tenth of the signals' time.
    """
    system = _codes(string_array([r.get("system", "") for r in records]))
    history = _codes(_binary_array([orjson.dumps(r.get("history") or []) for r in records]))
    combined = instruction
    for part in (
        inputs,
        output,
        system,
        history,
    ):  # each step dense again, so the products stay small
        combined = np.unique(combined * (int(part.max(initial=0)) + 1) + part, return_inverse=True)[1].reshape(-1)
    return combined


def _binary_array(values: list[bytes]) -> pa.Array:
    """An Arrow binary array of ``values`` (the content keys), from its two buffers, as ``string_array``."""
    ends = np.fromiter(map(len, values), dtype=np.int64, count=len(values)).cumsum()
    offsets = np.concatenate((np.zeros(1, np.int64), ends))
    return pa.Array.from_buffers(
        pa.large_binary(),
        len(values),
        [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(values))],
    )


def pair_signals(zh: Sequence[dict[str, Any]], en: Sequence[dict[str, Any]]) -> tuple[FileSignals, FileSignals]:
    """The signals of every record of a translated file and of its original; records need ``instruction``
    and ``output`` as strings.

    Both files are read as one set of Arrow columns, so every kernel runs once per pair
    and the exact-copy numbers (``FileSignals.content`` and the rest) are comparable
    across the two files. Only the Chinese side's repeats matter (``near_content``): an
    original's are not looked for (every ``near_content`` -1), which saves the kernels.
    The records are not kept: the signals are a few numbers per record.
    """
    records = [*zh, *en]
    n, n_zh = len(records), len(zh)
    instruction = string_array([r["instruction"] for r in records])
    inputs = string_array([r.get("input") or "" for r in records])
    output = string_array([r["output"] for r in records])
    newline = string_scalar("\n")
    token_records, token_texts = _kept_tokens(pc.binary_join_element_wise(instruction, inputs, output, newline))
    token_codes = _codes(token_texts)
    log_instruction, han_instruction = _log_units(instruction)
    log_output, han_output = _log_units(output)
    stripped_output = pc.utf8_trim_whitespace(output)
    instruction_codes, input_codes, output_codes = (
        _codes(instruction),
        _codes(inputs),
        _codes(output),
    )
    whole = {
        "content": _content_codes(records, instruction_codes, input_codes, output_codes),
        "instruction": instruction_codes,
        "input": np.where(
            _numpy(pc.not_equal(inputs, string_scalar(""))).astype(bool),
            input_codes,
            -1,
        ),
        "output": np.where(_numpy(pc.utf8_length(output)) > 2, output_codes, -1),
        "has_han": (han_instruction + han_output + han_counts(inputs)) > 0,
        "input_empty": _numpy(pc.equal(pc.utf8_trim_whitespace(inputs), string_scalar(""))).astype(bool),
        "log_instruction": log_instruction,
        "log_output": log_output,
        "output_lines": _numpy(pc.count_substring(stripped_output, "\n")).astype(np.int64),
        "has_digits": _has_digits(token_records, token_texts, n),
    }
    near = _form_free(instruction.slice(0, n_zh), inputs.slice(0, n_zh), output.slice(0, n_zh))
    zh_tokens = token_records < n_zh
    zh_signals = FileSignals(
        near_content=near,
        token_records=token_records[zh_tokens],
        token_codes=token_codes[zh_tokens],
        **{name: values[:n_zh] for name, values in whole.items()},
    )
    en_signals = FileSignals(
        near_content=np.full(n - n_zh, -1),
        token_records=token_records[~zh_tokens] - n_zh,
        token_codes=token_codes[~zh_tokens],
        **{name: values[n_zh:] for name, values in whole.items()},
    )
    return zh_signals, en_signals


#: A kept token found in more English records of the file than this says little about which one.
RARE_TOKEN_RECORDS = 40


@dataclass
class TokenPairs:
    """The kept tokens of a file pair as numbers: each (record, token) once, for the zh and the en file."""

    zh_records: np.ndarray
    zh_tokens: np.ndarray
    en_records: np.ndarray  # sorted by token
    en_tokens: np.ndarray
    en_first: np.ndarray  # per token number: where its en occurrences start in en_records
    en_count: np.ndarray  # per token number: in how many en records it occurs

    @classmethod
    def of(cls, zh: FileSignals, en: FileSignals) -> TokenPairs:
        codes = np.concatenate([zh.token_codes, en.token_codes])
        vocabulary = int(codes.max()) + 1 if len(codes) else 1
        zh_records, zh_tokens = _distinct(zh.token_records, zh.token_codes, vocabulary)
        en_records, en_tokens = _distinct(en.token_records, en.token_codes, vocabulary)
        order = np.lexsort((en_records, en_tokens))
        en_records, en_tokens = en_records[order], en_tokens[order]
        count = np.bincount(en_tokens, minlength=vocabulary)
        first = np.concatenate([[0], np.cumsum(count)[:-1]])
        return cls(zh_records, zh_tokens, en_records, en_tokens, first, count)


def _distinct(records: np.ndarray, tokens: np.ndarray, vocabulary: int) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.unique(records * vocabulary + tokens)
    return pairs // vocabulary, pairs % vocabulary


def shared_tokens(
    pairs: TokenPairs, n_zh: int, lo: np.ndarray, hi: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per band cell, how many of the zh record's rare tokens the en record has; per zh record, how many it has.

    Zh record ``i`` may pair with en records ``lo[i]..hi[i]``, whose cells start at
    ``starts[i]`` of the flat cell array. A join on the token numbers: the work is the
    rare tokens' occurrences, at most RARE_TOKEN_RECORDS each, never rows times columns.
    """
    cells = int(starts[-1] + hi[-1] - lo[-1] + 1) if n_zh else 0
    count = pairs.en_count[pairs.zh_tokens]
    rare = (count >= 1) & (count <= RARE_TOKEN_RECORDS)
    rows, tokens, count = pairs.zh_records[rare], pairs.zh_tokens[rare], count[rare]
    known = np.bincount(rows, minlength=n_zh).astype(np.float64)
    # every (zh token occurrence, en record with that token): repeat each row by its token's count
    row_of = np.repeat(rows, count)
    offset = np.arange(len(row_of)) - np.repeat(np.cumsum(count) - count, count)
    column = pairs.en_records[np.repeat(pairs.en_first[tokens], count) + offset]
    inside = (column >= lo[row_of]) & (column <= hi[row_of])
    shared = np.bincount(starts[row_of[inside]] + column[inside] - lo[row_of[inside]], minlength=cells)
    return shared.astype(np.float64), known


def pair_scores(
    zh: FileSignals,
    en: FileSignals,
    row_of_cell: np.ndarray,
    col_of_cell: np.ndarray,
    shared: np.ndarray,
    known: np.ndarray,
    lexical: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Log-odds that zh record ``row_of_cell[c]`` was made from en record ``col_of_cell[c]``, per cell."""
    scores = CellScores.of(zh, en, row_of_cell, col_of_cell, shared, known)
    return scores.total(None if lexical is None else lexical_term(lexical, row_of_cell, col_of_cell))


@dataclass(frozen=True)
class CellScores:
    """Cells' log-odds without the lexical signal, in the two parts it goes between.

    The weights are set by hand against the seed's hand-checked pairs (a positive score
    means "more likely the original than not"); each term is one signal of the module doc.
    A band's are computed once (``monotone.Band``): the second pass only adds the
    lexical term, in the same order of additions, so its scores are those computed whole.
    """

    signals: np.ndarray  # every term before the lexical one
    exact: np.ndarray  # the bonus for parts kept exactly, added last

    @classmethod
    def of(
        cls,
        zh: FileSignals,
        en: FileSignals,
        i: np.ndarray,
        j: np.ndarray,
        shared: np.ndarray,
        known: np.ndarray,
    ) -> CellScores:
        score = np.full(len(i), -1.0)
        both_empty = zh.input_empty[i] & en.input_empty[j]
        one_empty = zh.input_empty[i] != en.input_empty[j]
        score += np.where(both_empty, 0.7, np.where(one_empty, -2.5, 0.5))
        score += np.where(zh.has_digits[i] == en.has_digits[j], 0.3, -0.6)
        # the instruction is what translators kept closest; answers were often re-written, so they weigh less
        d_ins = zh.log_instruction[i] - en.log_instruction[j] + 0.2
        score += 1.5 - np.minimum(4.0, 0.5 * (d_ins / 0.35) ** 2)
        d_out = zh.log_output[i] - en.log_output[j] + 0.1
        score += 0.5 - np.minimum(1.5, 0.5 * (d_out / 1.2) ** 2)
        line_gap = np.abs(zh.output_lines[i] - en.output_lines[j])
        score += np.where(line_gap == 0, 0.3, -0.2 * np.minimum(line_gap, 4))
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(known[i] > 0, shared / np.maximum(known[i], 1), 0.0)
        score += np.where(known[i] > 0, 5.0 * share - 2.0, 0.0)
        return cls(score, _exact(zh, en, i, j))

    def total(self, lexical: np.ndarray | None = None) -> np.ndarray:
        """The log-odds, with ``lexical_term`` of the same cells if given."""
        return (self.signals if lexical is None else self.signals + lexical) + self.exact


def lexical_term(lexical: tuple[np.ndarray, np.ndarray], i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """English words the Chinese instruction predicts (``lexicon``), found in the English instruction."""
    return np.minimum(shared_bits(lexical[0], lexical[1], i, j), 4) * 1.0 - 1.0


def _exact(zh: FileSignals, en: FileSignals, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Bonus for parts kept exactly: the whole record (an untranslated copy), the instruction, a non-empty input, the output."""
    copy = zh.content[i] == en.content[j]
    bonus = np.where(zh.instruction[i] == en.instruction[j], 6.0, 0.0)
    bonus += np.where((zh.input[i] >= 0) & (zh.input[i] == en.input[j]), 4.0, 0.0)
    bonus += np.where((zh.output[i] >= 0) & (zh.output[i] == en.output[j]), 4.0, 0.0)
    return np.where(copy, 12.0, bonus)
