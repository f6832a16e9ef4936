from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from .helpers import FIXTURES, one_at_a_time

# No test may depend on timing or load: hypothesis' per-example deadline fails a property on a
# loaded machine that passes on a quiet one, so there is none.
settings.register_profile("depmin", deadline=None)
settings.load_profile("depmin")


def pytest_configure(config: pytest.Config) -> None:
    """The tests' cache lives in a temporary directory of this run (each xdist worker its own),
    never in the user's cache folder, never inside fixtures/. It starts with the recorded facts of
    every artifact the fixture locks pin (scripts/record_artifact_facts.py), and depmin reads no
    index: the quick loop names imports as a networked run would, without the network."""
    import os
    import tempfile

    os.environ["DEPMIN_CACHE_DIR"] = tempfile.mkdtemp(prefix="depmin-test-cache-")
    os.environ["DEPMIN_OFFLINE"] = "1"
    seed_artifact_facts()


def seed_artifact_facts() -> None:
    import gzip
    import json

    from depmin.artifacts import store_facts
    from depmin.artifacts.facts import ArtifactFacts
    from depmin.cache import ScanCache, default_directory

    recorded = json.loads(gzip.decompress((Path(__file__).parent / "data" / "artifact-facts.json.gz").read_bytes()))
    directory = default_directory()
    assert directory is not None
    store_facts(ScanCache(directory), {digest: ArtifactFacts.from_data(data, "") for digest, data in recorded.items()})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that installs from a registry is slow, whatever else it is."""
    for item in items:
        if item.get_closest_marker("network") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _copy(fixture: str, tmp_path: Path) -> Path:
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root, ignore=shutil.ignore_patterns(".depmin_cache", ".venv"))
    return root


@pytest.fixture
def smallsvc(tmp_path: Path) -> Path:
    """A copy of fixtures/smallsvc that a test may change."""
    return _copy("smallsvc", tmp_path)


@pytest.fixture
def caramba(tmp_path: Path) -> Path:
    """A copy of fixtures/caramba that a test may change."""
    return _copy("caramba", tmp_path)


@pytest.fixture
def loopback_index():
    """fixtures/imageworks' private index, served where its uv.lock says (127.0.0.1:38017), for one
    test at a time on this machine."""
    directory = str(FIXTURES / "imageworks" / "index")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    handler.log_message = lambda *_: None  # type: ignore[attr-defined]
    with one_at_a_time("port-38017"):
        try:
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 38017), handler)
        except OSError as exc:
            pytest.fail(f"127.0.0.1:38017 is held by another program: {exc}")
        yield from _serving(server)


def _serving(server: http.server.ThreadingHTTPServer):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:38017/simple"
    finally:
        server.shutdown()
        server.server_close()
