"""lock: the real fixture locks (made by `uv lock`) parsed, selected, and walked into pins."""

from __future__ import annotations

import pytest

from depmin.errors import LockError
from depmin.lock.closure import pinned_closure, select
from depmin.lock.declarations import declared_names
from depmin.lock.markers import marker_holds
from depmin.lock.parse import lock_from_data, lock_to_data, parse_lock, read_lock
from depmin.model import PLATFORMS, Target

from ..helpers import CARAMBA_LOCK, FIXTURES

SMALLSVC_LOCK = FIXTURES / "smallsvc" / "uv.lock"
LINUX = Target((3, 12))


def test_a_real_lock_parses_into_packages_and_members():
    lock = read_lock(SMALLSVC_LOCK, "uv.lock")
    assert lock.is_member("smallsvc") and lock.is_local("smallsvc")
    assert {"pyyaml", "rich", "six"} <= lock.names()
    assert declared_names(lock) >= {"pyyaml", "rich", "six", "idna", "attrs", "python-dateutil"}
    package = select(lock, "rich", None, LINUX)
    assert package is not None and package.version and package.wheels


def test_pins_walk_the_lock_from_what_is_imported():
    lock = read_lock(SMALLSVC_LOCK, "uv.lock")
    pinned = pinned_closure(lock, {"rich": ()}, LINUX)
    names = {pin.name for pin in pinned.pins}
    assert "rich" in names and "markdown-it-py" in names and "pyyaml" not in names
    parents = {pin.name: pin.parents for pin in pinned.pins}
    assert parents["rich"] == ("",)  # imported directly
    assert "rich" in parents["markdown-it-py"]
    assert not pinned.diagnostics


def test_markers_are_decided_for_the_target():
    assert marker_holds('sys_platform == "win32"', Target((3, 12), PLATFORMS["windows-x86_64"]))
    assert not marker_holds('sys_platform == "win32"', LINUX)
    assert marker_holds('python_full_version >= "3.12"', LINUX)
    assert marker_holds(None, LINUX)


def test_the_cached_form_round_trips():
    lock = read_lock(CARAMBA_LOCK, "uv.lock")
    assert lock_from_data(lock_to_data(lock), "uv.lock") == lock


def test_a_malformed_package_is_an_error_at_its_line():
    text = SMALLSVC_LOCK.read_text().replace('version = "', 'version = "not a version ', 1)
    with pytest.raises(LockError) as caught:
        parse_lock(text.encode(), "uv.lock")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "DM003" and diagnostic.line > 0
