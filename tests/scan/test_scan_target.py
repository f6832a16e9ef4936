"""The scanner evaluates what the target interpreter would evaluate: one test per rule."""

from __future__ import annotations

import textwrap

import pytest

from depmin.model import PLATFORMS, Kind, Target
from depmin.scan import scan_source, scan_source_cst

PY312 = Target((3, 12))
PY310 = Target((3, 10))
WINDOWS = Target((3, 12), PLATFORMS["windows-x86_64"])
MAC = Target((3, 12), PLATFORMS["macos-arm64"])
ARM = Target((3, 12), PLATFORMS["linux-aarch64"])


def imports(source: str, target: Target = PY312) -> dict[str, tuple[Kind, bool]]:
    """{imported name: (kind, guarded)} as both parsers see it (they must agree)."""
    text = textwrap.dedent(source).lstrip("\n").encode()
    fast, reference = scan_source(text, target), scan_source_cst(text, target)
    assert fast == reference
    return {r.target: (r.kind, r.guarded) for r in fast.records}


def names(source: str, target: Target = PY312) -> set[str]:
    return set(imports(source, target))


RUNTIME = (Kind.MODULE, False)
OPTIONAL = (Kind.MODULE, True)
TYPED = (Kind.TYPE_CHECKING, False)


# -- TYPE_CHECKING under every spelling ------------------------------------------------------


@pytest.mark.parametrize(
    "header, test",
    [
        ("from typing import TYPE_CHECKING", "TYPE_CHECKING"),
        ("from typing import TYPE_CHECKING as TC", "TC"),
        ("import typing as t", "t.TYPE_CHECKING"),
        ("import typing_extensions", "typing_extensions.TYPE_CHECKING"),
        ("from typing_extensions import TYPE_CHECKING as _TC", "_TC"),
        ("MYPY = False", "MYPY"),
    ],
)
def test_type_checking_spellings(header, test):
    found = imports(f"{header}\nif {test}:\n    import torch\nelse:\n    import numpy\n")
    assert found["torch"] == TYPED
    assert found["numpy"] == RUNTIME


def test_not_type_checking_is_runtime_and_its_else_type_only():
    found = imports("from typing import TYPE_CHECKING\nif not TYPE_CHECKING:\n    import a\nelse:\n    import b\n")
    assert found["a"] == RUNTIME and found["b"] == TYPED


def test_type_checking_combined_with_a_false_version_test_is_type_only_on_312():
    source = "import sys\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING or sys.version_info < (3, 11):\n    import tomli\n"
    assert imports(source)["tomli"] == TYPED
    assert imports(source, PY310)["tomli"] == RUNTIME  # on 3.10 the version test is true at run time


def test_type_checking_and_a_dead_test_is_dead():
    source = "import sys\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING and sys.platform == 'win32':\n    import pywin\n"
    assert "pywin" not in names(source)
    assert imports(source, WINDOWS)["pywin"] == TYPED


# -- constants ---------------------------------------------------------------------------------


@pytest.mark.parametrize("test", ["False", "0", "None", "not __debug__", "0 and x"])
def test_false_constants_are_dead(test):
    assert names(f"if {test}:\n    import dead\nelse:\n    import alive\n") == {"alive"}


def test_debug_is_true_and_while_false_is_dead():
    assert names("if __debug__:\n    import alive\nelse:\n    import dead\n") == {"alive"}
    assert names("while False:\n    import dead\nimport alive\n") == {"alive"}
    assert names("while flag:\n    import alive\n") == {"alive"}


# -- sys.version_info and friends -----------------------------------------------------------


@pytest.mark.parametrize(
    "test, on_312",
    [
        ("sys.version_info >= (3, 11)", True),
        ("sys.version_info >= (3, 12, 0)", True),
        ("sys.version_info > (3, 12, 5)", None),  # depends on the patch release: both branches
        ("sys.version_info[:2] == (3, 12)", True),
        ("sys.version_info[0] == 2", False),
        ("sys.version_info.major == 3 and sys.version_info.minor >= 13", False),
        ("sys.hexversion >= 0x030B0000", True),
        ("sys.hexversion < 0x03090000", False),
        ("platform.python_version_tuple() >= ('3', '10')", True),
        ("platform.python_version_tuple() >= ('3', '8')", False),  # strings: '12' < '8', as Python says
        ("platform.python_version_tuple()[0] == '2'", False),
    ],
)
def test_version_tests(test, on_312):
    found = names(f"import sys, platform\nif {test}:\n    import body\nelse:\n    import orelse\n")
    expected = {True: {"body"}, False: {"orelse"}, None: {"body", "orelse"}}[on_312]
    assert found - {"sys", "platform"} == expected


@pytest.mark.parametrize(
    "test, linux, windows, mac",
    [
        ("sys.platform == 'win32'", False, True, False),
        ("sys.platform != 'win32'", True, False, True),
        ("sys.platform in ('linux', 'darwin')", True, False, True),
        ("sys.platform.startswith('win')", False, True, False),
        ("sys.platform.startswith(('linux', 'freebsd'))", True, False, False),
        ("os.name == 'nt'", False, True, False),
        ("platform.system() == 'Darwin'", False, False, True),
        ("platform.machine() == 'x86_64'", True, False, False),  # Windows says AMD64
        ("sys.implementation.name == 'pypy'", False, False, False),
        ("platform.python_implementation() == 'CPython'", True, True, True),
    ],
)
def test_platform_tests(test, linux, windows, mac):
    source = f"import os, sys, platform\nif {test}:\n    import body\nelse:\n    import orelse\n"
    for target, expected in ((PY312, linux), (WINDOWS, windows), (MAC, mac)):
        assert names(source, target) - {"os", "sys", "platform"} == {"body" if expected else "orelse"}, target


def test_aliased_stdlib_modules_and_names():
    assert names("import sys as _sys\nif _sys.platform == 'win32':\n    import winreg2\n") == {"sys"}
    assert names("from sys import platform\nif platform == 'win32':\n    import winreg2\n") == {"sys"}
    assert names("from os import name as os_name\nif os_name == 'nt':\n    import msvcrt2\n") == {"os"}


def test_machine_differs_between_linux_platforms():
    source = "import platform\nif platform.machine() == 'aarch64':\n    import arm_only\n"
    assert "arm_only" not in names(source)
    assert "arm_only" in names(source, ARM)


def test_match_on_platform_and_version():
    source = """
    import sys
    match sys.platform:
        case "win32":
            import win
        case "linux" | "linux2":
            import lin
        case _:
            import other
    match sys.version_info:
        case (3, 12, *_):
            import v312
        case (3, minor, *_) if minor > 12:
            import newer
        case _:
            import older
    """
    assert names(source) == {"sys", "lin", "v312"}
    assert names(source, WINDOWS) == {"sys", "win", "v312"}
    assert names(source, PY310) == {"sys", "lin", "newer", "older"}  # a guard cannot be decided


# -- module-level names bound once ----------------------------------------------------------


def test_module_constants_bound_once_are_evaluated():
    source = """
    import sys, platform
    PY2 = sys.version_info[0] == 2
    WIN = sys.platform.startswith("win")
    IS_MAC = platform.system() == "Darwin"
    PY_VERSION = sys.version_info[:2]
    if PY2:
        import urllib2
    if not WIN:
        import fcntl_helper
    if IS_MAC or WIN:
        import desktop
    if PY_VERSION >= (3, 11):
        import modern
    def later():
        if WIN:
            import winreg_helper
    """
    assert names(source) - {"sys", "platform"} == {"fcntl_helper", "modern"}
    assert names(source, WINDOWS) - {"sys", "platform"} == {"desktop", "modern", "winreg_helper"}


@pytest.mark.parametrize(
    "rebinding",
    [
        "WIN = False",
        "def f():\n    global WIN\n    WIN = True",
        "for WIN in (1, 2):\n    pass",
        "import os as WIN",
        "WIN += 1",
    ],
)
def test_a_rebound_constant_stays_unknown(rebinding):
    source = f"import sys\nWIN = sys.platform == 'win32'\n{rebinding}\nif WIN:\n    import winonly\n"
    assert "winonly" in names(source)


def test_a_constant_bound_to_something_unknowable_keeps_both_branches():
    assert names("import os\nDEBUG = os.environ.get('DEBUG')\nif DEBUG:\n    import a\nelse:\n    import b\n") >= {
        "a",
        "b",
    }


def test_constants_are_exported_for_other_modules():
    text = b"import sys\nWIN = sys.platform == 'win32'\nPY2 = sys.version_info[0] == 2\nNAME = 'x'\nFLAG = flag()\n"
    assert dict(scan_source(text, PY312).constants) == {"WIN": False, "PY2": False, "NAME": True}
    assert dict(scan_source(text, WINDOWS).constants)["WIN"] is True


def test_names_from_other_modules_are_left_to_the_analysis():
    source = """
    from .compat import WIN
    from . import compat
    import pkg.flags as flags
    if WIN:
        import a
    if not compat.PY2:
        import b
    if flags.FAST:
        import c
    """
    records = {r.target: r.when for r in scan_source(textwrap.dedent(source).encode(), PY312).records}
    assert records["a"] == (("name", 1, "compat", "WIN", True),)
    assert records["b"] == (("name", 1, "compat", "PY2", False),)
    assert records["c"] == (("name", 0, "pkg.flags", "FAST", True),)


def test_main_block_is_left_to_the_analysis():
    source = "if __name__ == '__main__':\n    import cli_only\nelse:\n    import library_only\n"
    records = {r.target: r.when for r in scan_source(source.encode(), PY312).records}
    assert records == {"cli_only": (("main", True),), "library_only": (("main", False),)}


# -- exception handlers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "handler",
    [
        "raise",
        "raise RuntimeError('install yaml') from None",
        "raise SystemExit(1)",
        "sys.exit('yaml is required')",
        "import os\n    os._exit(1)",
        "exit(1)",
        "quit()",
        "print('yaml is required', file=sys.stderr)\n    raise",
        "if verbose:\n        print('missing')\n        raise\n    else:\n        raise",
    ],
)
def test_a_handler_that_always_ends_makes_the_import_required(handler):
    source = f"import sys\ntry:\n    import yaml\nexcept ImportError:\n    {handler}\n"
    assert imports(source)["yaml"] == RUNTIME


@pytest.mark.parametrize(
    "handler",
    [
        "yaml = None",
        "if strict:\n        raise",
        "def complain():\n        raise RuntimeError('no yaml')\n    yaml = None",
        "warnings.warn('no yaml')",
    ],
)
def test_a_handler_that_can_carry_on_guards_the_import(handler):
    source = f"try:\n    import yaml\nexcept ImportError:\n    {handler}\n"
    assert imports(source)["yaml"] == OPTIONAL


@pytest.mark.parametrize(
    "caught", ["ImportError", "ModuleNotFoundError", "Exception", "BaseException", "(ImportError, AttributeError)", ""]
)
def test_handlers_that_catch_import_errors(caught):
    source = f"try:\n    import yaml\nexcept {caught}:\n    yaml = None\n"
    assert imports(source)["yaml"] == OPTIONAL


def test_a_handler_for_another_error_does_not_guard():
    assert imports("try:\n    import yaml\nexcept (OSError, ValueError):\n    yaml = None\n")["yaml"] == RUNTIME


def test_the_first_handler_that_catches_import_error_decides():
    source = "try:\n    import yaml\nexcept ImportError:\n    raise\nexcept Exception:\n    yaml = None\n"
    assert imports(source)["yaml"] == RUNTIME


def test_try_else_runs_only_when_the_guarded_import_worked():
    found = imports("try:\n    import ujson\nexcept ImportError:\n    ujson = None\nelse:\n    import ujson_ext\n")
    assert found["ujson_ext"] == OPTIONAL


def test_suppress_guards():
    for caught in ("ImportError", "ModuleNotFoundError", "Exception"):
        source = f"import contextlib\nwith contextlib.suppress({caught}):\n    import yaml\n"
        assert imports(source)["yaml"] == OPTIONAL


def test_handler_of_a_stdlib_import_that_exists_on_the_target_is_dead():
    source = "try:\n    import tomllib\nexcept ModuleNotFoundError:\n    import tomli as tomllib\n"
    assert names(source) == {"tomllib"}
    assert names(source, PY310) == {"tomllib", "tomli"}  # 3.10 has no tomllib: the handler runs
    metadata = "try:\n    from importlib.metadata import version\nexcept ImportError:\n    from importlib_metadata import version\n"
    assert names(metadata, PY310) == {"importlib.metadata"}
    typing = "try:\n    from typing import Self\nexcept ImportError:\n    from typing_extensions import Self\n"
    assert names(typing) == {"typing"}
    assert names(typing, PY310) == {"typing", "typing_extensions"}  # typing.Self is new in 3.11


def test_a_try_body_doing_more_than_stdlib_imports_keeps_its_handler():
    source = "try:\n    import tomllib\n    config = load()\nexcept ImportError:\n    import tomli\n"
    assert "tomli" in names(source)


def test_find_spec_guards_the_imports_of_that_module():
    source = """
    import importlib.util
    from importlib.util import find_spec
    HAS_RICH = find_spec("rich") is not None
    if importlib.util.find_spec("yaml") is not None:
        import yaml
        import yamlx
        import json5
    if find_spec("orjson"):
        import orjson
    if HAS_RICH:
        import rich.console
    """
    found = imports(source)
    assert found["yaml"] == OPTIONAL and found["orjson"] == OPTIONAL and found["rich.console"] == OPTIONAL
    assert found["json5"] == RUNTIME  # not the module the test asked about
    assert found["yamlx"] == RUNTIME  # nor one whose name merely starts like it


# -- imports that used to go missing ------------------------------------------------------------


def test_importlib_under_any_alias():
    source = """
    import importlib as il
    from importlib import import_module as load
    il.import_module("a.one")
    load("a.two")
    importlib.__import__("a.three")
    __import__("a.four", fromlist=["x", "y"])
    def helper(name):
        return import_module(name)  # not importlib's: no alias says so
    """
    found = {
        r.target: r for r in scan_source(textwrap.dedent(source).encode(), PY312).records if r.kind is Kind.DYNAMIC
    }
    assert set(found) == {"a.one", "a.two", "a.three", "a.four"}
    assert found["a.four"].names == ("x", "y")


def test_computed_names_under_an_alias_are_warned():
    result = scan_source(b"from importlib import import_module as load\nload(prefix + 'x')\n", PY312)
    assert [p.line for p in result.problems] == [2]


def test_all_is_collected_from_literals():
    source = "__all__ = ['a', 'b'] + ['c']\n__all__ += ('d',)\n__all__.append('e')\n__all__.extend(['f'])\nimport x\n"
    assert scan_source(source.encode(), PY312).all_names == ("a", "b", "c", "d", "e", "f")


def test_deeply_chained_expressions_do_not_crash():
    source = ("from importlib import import_module\nimport_module('a' + " + " + ".join(["'b'"] * 250) + ")\n").encode()
    result = scan_source(source, PY312)
    assert not result.failed and [p.line for p in result.problems] == [2]
