"""The ast fast path returns exactly LibCST's records: fixtures, the whole standard library, generated code."""

from __future__ import annotations

import importlib.util
import sys
import sysconfig
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from depmin.model import PLATFORMS, Target
from depmin.scan import scan_source_cst, scan_source_cst_each, scan_with_ast, scan_with_ast_each

from ..helpers import FIXTURES
from .test_properties import planted_programs

TARGETS = (Target((3, 12)), Target((3, 10), PLATFORMS["windows-x86_64"]))


def fast_path(source: bytes, target: Target):
    """The ast adapter alone, or None where ast cannot parse (scan_source then uses LibCST itself)."""
    return scan_with_ast(source, target)


def differences(path: str) -> tuple[list[str], bool]:
    """(mismatches, whether LibCST rejected a file that CPython parses). Each parser reads the file
    once and its translation is judged for every target (parsing is what costs)."""
    source = Path(path).read_bytes()
    if b"import" not in source and b"=" not in source:
        return [], False
    fast = scan_with_ast_each(source, TARGETS)
    if fast is None:
        return [], False
    slow = scan_source_cst_each(source, TARGETS)
    if any(result.failed for result in slow):
        return [], True  # nothing to compare: only the fast path reads this valid file
    return [
        f"{path} ({target.python_version}): {one} != {other}"
        for target, one, other in zip(TARGETS, fast, slow, strict=True)
        if one != other
    ], False


def compare_all(paths: list[Path]) -> tuple[list[str], set[str]]:
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(differences, [str(p) for p in paths], chunksize=8))
    mismatches = [problem for found, _ in results for problem in found]
    rejected = {str(path) for path, (_, libcst_failed) in zip(paths, results, strict=True) if libcst_failed}
    return mismatches, rejected


def test_identical_on_every_fixture_file():
    paths = sorted(p for p in FIXTURES.rglob("*.py") if not p.is_symlink())
    assert len(paths) > 60
    assert compare_all(paths) == ([], set())


# The library itself; its own test suites (half a million more lines, the same result when
# run by hand: identical everywhere LibCST parses) are left out to keep CI quick.
_STDLIB_TESTS = ("test", "tests", "idle_test")
# Valid Python that LibCST 1.x cannot parse; the fast path is the only reader of these.
LIBCST_REJECTS = {"pydoc_data/topics.py"}


def stdlib_sources(stdlib: Path) -> set[Path]:
    """The .py files of the interpreter's own top-level standard-library modules (whatever a
    distribution split off, as Debian does with tkinter or venv, is simply not there)."""
    found = set()
    for name in sys.stdlib_module_names:
        spec = importlib.util.find_spec(name)  # a top-level name: found, not imported
        origin = Path(spec.origin) if spec is not None and spec.origin else None
        if origin is not None and origin.suffix == ".py" and origin.is_relative_to(stdlib):
            found.add(origin)
    return found


@pytest.mark.slow
def test_identical_on_the_standard_library():
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    paths = sorted(
        p
        for p in stdlib.rglob("*.py")
        if "site-packages" not in p.parts and not set(p.relative_to(stdlib).parts[:-1]) & set(_STDLIB_TESTS)
    )
    own = stdlib_sources(stdlib)
    assert own and own <= set(paths)  # the walk really covers this interpreter's standard library
    mismatches, rejected = compare_all(paths)
    assert mismatches == []
    assert {Path(p).relative_to(stdlib).as_posix() for p in rejected} <= LIBCST_REJECTS


@given(planted_programs(), st.sampled_from([TARGETS, TARGETS[::-1], TARGETS[:1]]))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_one_parse_for_many_targets_is_one_scan_per_target(program, targets):
    """What the differential test (and a multi-platform analysis) saves is exactly nothing but time."""
    source = program[0].encode()
    assert scan_with_ast_each(source, targets) == tuple(scan_with_ast(source, target) for target in targets)
    assert scan_source_cst_each(source, targets) == tuple(scan_source_cst(source, target) for target in targets)


EXTRA_CONDITIONS = [
    "sys.version_info >= (3, 11)",
    "sys.version_info[:2] < (3, 12)",
    "sys.version_info.minor == 10 and TYPE_CHECKING",
    "not (sys.platform == 'win32' or flag)",
    "sys.platform.startswith(('linux', 'darwin'))",
    "TYPE_CHECKING or sys.version_info > (3, 99)",
    "version_info[0] != 3",
    "sys.hexversion >= 0x030B0000 or os.name == 'nt'",
    "platform.system() == 'Windows' and not WIN",
    "PY2",
    "__name__ == '__main__'",
    "find_spec('yaml') is not None",
    "sys.platform in ('linux', 'darwin')",
]
# Handlers and statements the core judges: both parsers must hand it the same forms.
EXTRA_BLOCKS = [
    "try:\n    import guarded.a\nexcept ImportError:\n    raise RuntimeError('x') from None",
    "try:\n    import guarded.b\nexcept (ImportError, OSError) as e:\n    sys.exit(str(e))\nelse:\n    import guarded.c",
    "try:\n    import tomllib\nexcept ModuleNotFoundError:\n    import tomli as tomllib",
    "match sys.platform:\n    case 'win32' | 'cygwin':\n        import m.win\n    case _:\n        import m.other",
    "match sys.version_info:\n    case (3, 12, *_):\n        import m.v312\n    case [3, x] if x:\n        import m.guard",
    "__all__ = ['a'] + ['b']\n__all__ += ('c',)",
    "from importlib import import_module as load\nload('aliased.name')",
]


@given(
    planted_programs(),
    st.lists(st.sampled_from(EXTRA_CONDITIONS), max_size=3),
    st.lists(st.sampled_from(EXTRA_BLOCKS), max_size=3),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_identical_on_generated_sources(program, conditions, blocks):
    source, _ = program
    header = (
        "import os, platform, sys\nfrom importlib.util import find_spec\nWIN = sys.platform == 'win32'\nPY2 = False"
    )
    lines = [header, "from sys import version_info", source, *blocks]
    for number, condition in enumerate(conditions):
        lines.append(
            f"if {condition}:\n    import cond{number}.body\nelse:\n    importlib.import_module('cond{number}.orelse')"
        )
    text = "\n".join(lines).encode()
    for target in TARGETS:
        assert fast_path(text, target) == scan_source_cst(text, target), text.decode()
