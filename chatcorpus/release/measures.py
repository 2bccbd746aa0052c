"""How long a text is: in characters (the default), or in the tokens of a tokenizer the user names.

``stats --tokenizer NAME_OR_PATH`` counts tokens the way the model that will be trained
on the corpus sees them. A ``tokenizer.json`` file is read with ``tokenizers`` (no
``transformers`` needed); anything else (a folder written by ``save_pretrained``, or a
Hub model id) goes through ``transformers.AutoTokenizer``, the loader trainers use.
Both are imported only when a tokenizer is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chatcorpus.errors import UsageError

#: Texts handed to a tokenizer at once: its batch call runs in parallel in Rust, and
#: memory stays bounded by the batch, not the shard.
TOKENIZER_BATCH = 1024


@dataclass(frozen=True)
class Measure:
    """Turns a column of strings into their lengths; ``unit`` is what the lengths count."""

    unit: str
    _count: Callable[[pa.Array], np.ndarray]

    def lengths(self, strings: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """One int64 length per string (a null counts 0), computed a whole column at a time."""
        chunks = strings.chunks if isinstance(strings, pa.ChunkedArray) else [strings]
        parts = [self._count(chunk) for chunk in chunks if len(chunk)]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def _characters(strings: pa.Array) -> np.ndarray:
    return pc.fill_null(pc.utf8_length(strings), 0).to_numpy(zero_copy_only=False)


CHARACTERS = Measure("characters", _characters)


def token_measure(name_or_path: str) -> Measure:
    """The tokens of ``name_or_path``: a ``tokenizer.json`` file, a tokenizer folder, or a Hub model id.

    Raises:
        UsageError: the library it needs is not installed, or the tokenizer cannot be loaded.
    """
    encode = _load_tokenizer(name_or_path)

    def count(strings: pa.Array) -> np.ndarray:
        texts = pc.fill_null(strings, "").to_pylist()
        lengths = [
            length
            for start in range(0, len(texts), TOKENIZER_BATCH)
            for length in encode(texts[start : start + TOKENIZER_BATCH])
        ]
        return np.asarray(lengths, dtype=np.int64)

    return Measure(f"tokens ({name_or_path})", count)


def _load_tokenizer(name_or_path: str) -> Callable[[Sequence[str]], list[int]]:
    """A function from a batch of texts to their token counts, without special tokens (a text's own tokens)."""
    path = Path(name_or_path)
    if path.is_file():
        try:
            from tokenizers import Tokenizer
        except ImportError as err:
            raise UsageError(
                f"--tokenizer {name_or_path}: reading a tokenizer.json needs `pip install tokenizers`"
            ) from err
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as err:  # the Rust library raises a bare Exception for a file it cannot parse
            raise UsageError(f"--tokenizer {name_or_path}: not a tokenizers JSON file: {err}") from err
        return lambda texts: [len(e.ids) for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]
    try:
        from transformers import AutoTokenizer
    except ImportError as err:
        raise UsageError(
            f"--tokenizer {name_or_path}: a tokenizer folder or model id needs `pip install transformers` "
            "(a tokenizer.json file needs only tokenizers)"
        ) from err
    try:
        auto = AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError) as err:  # not found, offline, or not a tokenizer
        raise UsageError(f"--tokenizer {name_or_path}: cannot load it with transformers.AutoTokenizer: {err}") from err

    def encode(texts: Sequence[str]) -> list[int]:
        ids = auto(list(texts), add_special_tokens=False, return_attention_mask=False)["input_ids"]
        return [len(one) for one in ids]

    return encode
