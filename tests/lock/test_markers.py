"""Markers over the patch releases of the target's Python, against packaging's own evaluation of
every patch release (the brute-force oracle)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from packaging.markers import Marker

from depmin.lock.markers import in_scope, marker_holds, marker_matters
from depmin.model import PLATFORMS, Target

TARGET = Target((3, 12), PLATFORMS["linux-x86_64"])
_PATCHES = range(0, 100)


def _truths(marker: str, target: Target) -> set[bool]:
    return {Marker(marker).evaluate(target.marker_environment(patch)) for patch in _PATCHES}


_VERSION = st.builds(lambda minor, patch: f"3.{minor}.{patch}", st.integers(10, 14), st.integers(0, 30))
_CLAUSE = st.one_of(
    st.builds(
        lambda op, v: f"python_full_version {op} '{v}'", st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), _VERSION
    ),
    st.builds(lambda op, v: f"python_version {op} '3.{v}'", st.sampled_from(["<", ">=", "=="]), st.integers(10, 14)),
    st.builds(lambda v: f"sys_platform == '{v}'", st.sampled_from(["linux", "win32", "darwin"])),
)
_MARKER = st.recursive(
    _CLAUSE, lambda inner: st.builds(lambda a, op, b: f"({a}) {op} ({b})", inner, st.sampled_from(["and", "or"]), inner)
)


@given(_MARKER, st.sampled_from([(3, 11), (3, 12), (3, 13)]))
@example("python_full_version >= '3.12.4' and python_full_version < '3.12.8'", (3, 12))
@example("python_full_version == '3.12.4'", (3, 12))
@example("python_full_version < '3.12.4'", (3, 12))
def test_scope_and_whether_it_matters_agree_with_every_patch_release(marker, python):
    target = Target(python, PLATFORMS["linux-x86_64"])
    truths = _truths(marker, target)
    assert in_scope(marker, target) is (True in truths)
    assert marker_matters(marker, target) is (len(truths) > 1)


def test_a_patch_release_split_is_in_scope_on_both_sides_and_matters():
    for marker in ("python_full_version >= '3.12.4'", "python_full_version < '3.12.4'"):
        assert in_scope(marker, TARGET) and marker_matters(marker, TARGET)
    assert marker_holds("python_full_version >= '3.12.4'", TARGET, patch=4)
    assert not marker_holds("python_full_version >= '3.12.4'", TARGET)  # the first patch release by default
    assert not in_scope("python_full_version >= '3.13'", TARGET)


def test_no_marker_holds_everywhere_and_never_matters_and_a_broken_one_never_holds():
    assert marker_holds(None, TARGET) and marker_holds("", TARGET) and in_scope(None, TARGET)
    assert not marker_matters(None, TARGET) and not marker_matters("sys_platform == 'linux'", TARGET)
    for broken in ("python_version >>> '3'", "no_such_variable == '1'"):
        assert not marker_holds(broken, TARGET) and not in_scope(broken, TARGET)
