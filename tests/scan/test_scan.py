from __future__ import annotations

import textwrap

import pytest

from depmin.model import Kind, Target
from depmin.scan import describe, scan_source

PY312 = Target((3, 12))


def scan(source: str, target: Target = PY312):
    return scan_source(textwrap.dedent(source).lstrip("\n").encode(), target)


def records(source: str, target: Target = PY312):
    return [(r.target, r.names, r.line, r.kind, r.guarded, r.level) for r in scan(source, target).records]


def test_plain_and_from_imports_with_lines():
    assert records(
        """
        import os, a.b.c as d
        from x.y import z, w
        """
    ) == [
        ("os", (), 1, Kind.MODULE, False, 0),
        ("a.b.c", (), 1, Kind.MODULE, False, 0),
        ("x.y", ("z", "w"), 2, Kind.MODULE, False, 0),
    ]


def test_future_imports_are_ignored():
    assert records("from __future__ import annotations\nimport os\n") == [("os", (), 2, Kind.MODULE, False, 0)]


def test_relative_and_star_imports():
    assert records("from . import a\nfrom ..pkg.sub import *\n") == [
        ("", ("a",), 1, Kind.MODULE, False, 1),
        ("pkg.sub", ("*",), 2, Kind.MODULE, False, 2),
    ]


def test_type_checking_body_is_type_only_and_else_is_runtime():
    assert records(
        """
        import typing
        if typing.TYPE_CHECKING:
            import torch
        else:
            import numpy
        if not TYPE_CHECKING:
            import rich
        else:
            import pandas
        """
    )[1:] == [
        ("torch", (), 3, Kind.TYPE_CHECKING, False, 0),
        ("numpy", (), 5, Kind.MODULE, False, 0),
        ("rich", (), 7, Kind.MODULE, False, 0),
        ("pandas", (), 9, Kind.TYPE_CHECKING, False, 0),
    ]


@pytest.mark.parametrize(
    "handler",
    ["ImportError", "ModuleNotFoundError", "(ValueError, ImportError)", "builtins.ImportError", ""],
)
def test_try_except_import_error_guards_the_body_only(handler):
    source = f"try:\n    import ujson\nexcept {handler}:\n    import json\n"
    assert records(source) == [("ujson", (), 2, Kind.MODULE, True, 0), ("json", (), 4, Kind.MODULE, False, 0)]


def test_try_except_other_errors_does_not_guard():
    assert records("try:\n    import ujson\nexcept (ValueError, KeyError):\n    pass\n") == [
        ("ujson", (), 2, Kind.MODULE, False, 0)
    ]


def test_contextlib_suppress_import_error_guards():
    assert records(
        """
        import contextlib
        from contextlib import suppress
        with contextlib.suppress(ImportError):
            import a
        with suppress(ModuleNotFoundError):
            import b
        with suppress(KeyError):
            import c
        """
    )[2:] == [
        ("a", (), 4, Kind.MODULE, True, 0),
        ("b", (), 6, Kind.MODULE, True, 0),
        ("c", (), 8, Kind.MODULE, False, 0),
    ]


def test_function_bodies_are_lazy_but_class_bodies_and_decorators_are_not():
    assert records(
        """
        class C:
            import a
            def method(self):
                import b
        @decorate(__import__("c"))
        def f(x=importlib.import_module("d")):
            lam = lambda: importlib.import_module("e")
        """
    ) == [
        ("a", (), 2, Kind.MODULE, False, 0),
        ("b", (), 4, Kind.LAZY, False, 0),
        ("c", (), 5, Kind.DYNAMIC, False, 0),
        ("d", (), 6, Kind.DYNAMIC, False, 0),
        ("e", (), 7, Kind.DYNAMIC, False, 0),
    ]


def test_literal_dynamic_imports_and_relative_ones_with_package():
    result = scan(
        """
        import importlib
        importlib.import_module("a.b")
        from importlib import import_module
        import_module(".x", package="pkg.sub")
        importlib.import_module("..y", __package__)
        __import__("c")
        """
    )
    assert [(r.target, r.level, r.anchor, r.kind) for r in result.records[1:] if r.target != "importlib"] == [
        ("a.b", 0, None, Kind.DYNAMIC),
        ("x", 1, "pkg.sub", Kind.DYNAMIC),
        ("y", 2, None, Kind.DYNAMIC),
        ("c", 0, None, Kind.DYNAMIC),
    ]
    assert describe(result.records[3]) == "importlib.import_module('.x', package='pkg.sub')"
    assert result.problems == ()


def test_non_literal_dynamic_import_is_a_warning_with_its_line():
    result = scan(
        'import importlib, os\nname = os.environ["X"]\nimportlib.import_module(name)\n__import__(f"{name}")\n'
    )
    assert [r.target for r in result.records] == ["importlib", "os"]
    assert [(p.line, p.fatal) for p in result.problems] == [(3, False), (4, False)]
    assert "hidden-imports" in result.problems[0].message


@pytest.mark.parametrize(
    ("python", "expected"),
    [((3, 10), ["tomli", "old"]), ((3, 11), ["tomllib", "old"]), ((3, 13), ["tomllib", "new"])],
)
def test_version_info_tests_are_evaluated_for_the_target(python, expected):
    source = """
        import sys
        from sys import version_info
        if sys.version_info >= (3, 11):
            import tomllib
        else:
            import tomli
        if version_info[:2] >= (3, 13) or sys.version_info.major > 3:
            import new
        elif sys.version_info[0] == 2:
            import py2only
        else:
            import old
        """
    assert [r[0] for r in records(source, Target(python))][2:] == expected


def test_undecidable_conditions_keep_both_branches():
    assert [r[0] for r in records("if sys.version_info >= (3, 12, 4):\n    import a\nelse:\n    import b\n")] == [
        "a",
        "b",
    ]
    assert [r[0] for r in records("if FLAG:\n    import a\nelse:\n    import b\n")] == ["a", "b"]


def test_sys_platform_is_evaluated_for_the_target_platform():
    from depmin.model import PLATFORMS

    source = 'import sys\nif sys.platform == "win32":\n    import winreg\nif sys.platform.startswith("linux"):\n    import fcntl\n'
    assert [r[0] for r in records(source)][1:] == ["fcntl"]
    assert [r[0] for r in records(source, Target((3, 12), PLATFORMS["windows-x86_64"]))][1:] == ["winreg"]


def test_syntax_error_is_one_fatal_problem_with_its_line():
    result = scan("import os\ndef broken(:\n    pass\n")
    assert result.failed and result.records == ()
    assert result.problems[0].line == 2
    assert result.problems[0].message.startswith("syntax error")


def test_a_syntax_error_is_reported_in_a_file_without_imports_or_assignments():
    result = scan("def broken(:\n    pass\n")  # the image would fail to import it all the same
    assert result.failed and result.problems[0].line == 1
    assert not scan("\n  \n").problems


def test_encodings_cookie_and_bom():
    latin = "# -*- coding: latin-1 -*-\nimport os\nname = 'caf\xe9'\n".encode("latin-1")
    assert [r.target for r in scan_source(latin, PY312).records] == ["os"]
    assert [r.target for r in scan_source(b"\xef\xbb\xbfimport os\n", PY312).records] == ["os"]
    broken = scan_source(b"import os\nname = '\xff\xfe'\n", PY312)
    assert broken.failed


def test_files_without_imports_are_not_parsed():
    assert scan_source(b"x = (\n", PY312).records == ()  # not even a syntax error: nothing to import


def test_a_helper_named_import_module_is_not_an_import():
    helper = "from sympy.external import import_module\nnumpy = import_module('numpy')\n"
    assert [r.target for r in scan(helper).records] == ["sympy.external"]
    real = "from importlib import import_module\nnumpy = import_module('numpy')\n"
    assert [(r.target, r.kind) for r in scan(real).records][1:] == [("numpy", Kind.DYNAMIC)]
