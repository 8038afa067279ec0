"""Shared fixtures of the infra tests (run them with `bash infra/test.sh`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import stack  # noqa: E402


@pytest.fixture(scope="session")
def template() -> dict:
    """The parsed template (plain dicts; tests must not mutate it)."""
    return stack.load_template()


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory):
    """A moto_server on 127.0.0.1 and a free port, stopped after the session.
    Its log is kept in the pytest temp dir (path printed on failure)."""
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    server = stack.start_moto_server(log_path=log)
    os.environ.setdefault("DOCVAULT_MOTO_LOG", str(log))
    try:
        yield server.url
    finally:
        server.stop()
