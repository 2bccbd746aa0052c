"""Pytest plugin: a Hub on 127.0.0.1 for one test, with this process's clients pointed at it.

Test modules load it with ``pytest_plugins = ["hub_fixtures"]``. The server starts on a
free port, the Hugging Face clients get its URL, a dummy token and a fresh home folder
(caches included) for the test, and everything is undone afterwards. ``hub_env`` is the
environment a subprocess needs to reach the same server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hub_server import HubServer, client_settings, reset_client_caches

#: Small pages, so that every tree listing in the tests goes through pagination.
TREE_PAGE_SIZE = 4


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    server = HubServer(tree_page_size=TREE_PAGE_SIZE).start()
    env, constants = client_settings(server.url, tmp_path / "hf-home")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for module, name, value in constants:
        monkeypatch.setattr(f"{module}.{name}", value)
    reset_client_caches()
    try:
        yield server
    finally:
        reset_client_caches()
        server.stop()


@pytest.fixture
def hub_env(hub: HubServer) -> dict[str, str]:
    """The environment of this test (pointed at ``hub``), for a subprocess."""
    return dict(os.environ)
