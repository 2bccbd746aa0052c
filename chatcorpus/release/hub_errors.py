"""What a call to the Hub may raise when the network or the server fails, importable without ``datasets``.

``verify``, ``push`` and ``validate --against`` catch the same errors; ``validate`` may not
import ``datasets`` (which ``verify`` does), so the one definition lives here.
"""

from __future__ import annotations

import importlib


def _transport_error() -> type[Exception]:
    """The HTTP client's root error. ``huggingface_hub`` raises its transport's errors (a
    dropped connection, a timeout) as they are, and that transport is ``httpx`` in 1.x and
    ``httpx2`` in 2.x; its HTTP status errors subclass the same root and ``OSError``."""
    for name in ("httpx2", "httpx"):
        try:
            return importlib.import_module(name).HTTPError
        except ImportError:
            continue
    return OSError


#: What a call to the Hub may raise when the network or the server fails.
HUB_ERRORS: tuple[type[Exception], ...] = (OSError, _transport_error())
