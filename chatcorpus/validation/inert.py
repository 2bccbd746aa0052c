"""Make text that came from the input inert before a report prints it.

File names and record text are chosen by whoever sent the pull request. Printed raw, a
newline followed by ``::error ...`` becomes a GitHub workflow command of its own, an ANSI
escape repaints the terminal, a bidi override reorders what a reviewer reads. Every report
format passes input through here: the text formats show such characters as visible
escapes (``\\n``, ``\\x1b``, ``\\u202e``); the JSON formats keep the exact value but write
the characters as JSON escapes, so no raw control byte reaches the output stream.
"""

from __future__ import annotations

import re

#: C0 and C1 controls and DEL (Unicode category Cc), line and paragraph separators, the
#: bidi embeddings, overrides and isolates ("Trojan Source"), the BOM, and lone surrogates
#: (a file name that is not UTF-8 arrives as surrogate escapes and cannot be encoded).
_UNSAFE = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff"
_UNSAFE_CHAR = re.compile(f"[{_UNSAFE}]")
#: The unsafe characters JSON serializers leave raw: everything above but C0 (which
#: ``json.dumps`` always escapes) and the surrogates (replaced before serializing).
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: How workflow commands start (``::error``, and the older ``##[error]``); the runner
#: ignores leading whitespace, so a line that starts with these after spaces counts too.
_COMMAND_START = re.compile(r"^(\s*)([:#])")


#: What is markup inside a line of Markdown (a table cell, an image's alt text; never at a
#: line's start, where ``#``, ``-`` and ``1.`` would be too): emphasis, code, links and
#: images, HTML tags and entities, table pipes, GFM strikethrough, the dots of a bare
#: ``www.`` autolink, and ``$``, which the Hub renders as KaTeX math (``$x$``).
_MARKDOWN = re.compile(r"[\\`*_\[\]<>|~$&.!]")


def _visible(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` with every unsafe character shown as a visible escape, on one line."""
    return _UNSAFE_CHAR.sub(lambda match: _visible(match.group()), text)


def line_start(text: str) -> str:
    """A report line that cannot be read as a workflow command (``escape`` it first).

    The first ``:`` or ``#`` of the line (after any leading spaces) is written as an
    escape, so a file named ``::error title=x::...`` prints as ``\\x3a:error ...``.
    """
    return _COMMAND_START.sub(lambda m: m.group(1) + _visible(m.group(2)), text, count=1)


def json_safe(text: str) -> str:
    """``text`` for a JSON document: lone surrogates (not encodable) become visible escapes."""
    if text.isascii():  # a constant-time flag of the string: no surrogate in it (most texts)
        return text
    return _SURROGATE.sub(lambda match: _visible(match.group()), text)


def json_bytes_safe(document: str) -> str:
    """A serialized JSON document with the unsafe characters its serializer left raw escaped.

    JSON has them only inside strings, where ``\\uXXXX`` is the same value, so the document
    means exactly what it meant and holds no raw control character.
    """
    return _RAW_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", document)


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending in an ellipsis when cut (a 1 MB field name stays readable)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown_text(text: str) -> str:
    """``text`` (a name from a release or a source) as literal Markdown text, on one line.

    Unsafe characters become visible escapes, then every markup character a numeric
    character reference (``$`` is ``&#36;``): no ``$`` or ``|`` is left in the source for
    a math renderer or a table parser to read, and every renderer shows the character.
    """
    return _MARKDOWN.sub(lambda match: f"&#{ord(match.group())};", escape(text))
