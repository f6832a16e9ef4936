from __future__ import annotations

import functools
import http.server
import threading

import pytest
from click.testing import CliRunner

from .helpers import FIXTURES


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def loopback_index():
    """fixtures/imageworks' private index, served where its uv.lock says (127.0.0.1:38017)."""
    directory = str(FIXTURES / "imageworks" / "index")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    handler.log_message = lambda *_: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 38017), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:38017/simple"
    server.shutdown()
    server.server_close()
