"""Imports the source decides without an import statement: computed names, lazy tables, plugin
discovery, exec, feature flags, conditional re-raises, platform tests through string methods and
SQLAlchemy drivers. Each case is read by both parsers, which must agree; fixtures/oracle proves
the same idioms against a real import (tests/analysis/test_oracle.py)."""

from __future__ import annotations

import textwrap

import pytest

from depmin.model import PLATFORMS, Kind, Target
from depmin.scan import scan_source, scan_source_cst

PY312 = Target((3, 12))


def scanned(source: str, target: Target = PY312):
    data = textwrap.dedent(source).encode()
    fast, reference = scan_source(data, target), scan_source_cst(data, target)
    assert fast == reference
    return fast


def imports(source: str, target: Target = PY312) -> list[tuple[str, int, str | None, Kind, bool]]:
    return [(r.target, r.level, r.anchor, r.kind, r.guarded) for r in scanned(source, target).records]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('__import__("codec", globals(), locals(), ["encode"], 1)', [("codec", 1, None, Kind.DYNAMIC)]),
        ('__import__("codec", level=2)', [("codec", 2, None, Kind.DYNAMIC)]),
        ('__import__("json", level=0)', [("json", 0, None, Kind.DYNAMIC)]),
        ('NAME = "a.b"\n__import__(NAME)', [("a.b", 0, None, Kind.DYNAMIC)]),
        ('import importlib\nfor n in ["x", "y"]:\n    importlib.import_module("p.%s" % n)', [("p.x", 0, None, Kind.DYNAMIC), ("p.y", 0, None, Kind.DYNAMIC)]),
        ('import importlib\nB = "p"\nimportlib.import_module("{}.{}".format(B, "z"))', [("p.z", 0, None, Kind.DYNAMIC)]),
        ('M = {n: __import__(n) for n in ("idna", "six") if n}', [("idna", 0, None, Kind.DYNAMIC), ("six", 0, None, Kind.DYNAMIC)]),
        ('import importlib\nS = {"a", "b"}\ndef f(n):\n    if n in S:\n        importlib.import_module(f"{__name__}.{n}")', [("a", 1, "__name__", Kind.DYNAMIC), ("b", 1, "__name__", Kind.DYNAMIC)]),
    ],
)  # fmt: skip
def test_computed_names_are_followed(source, expected):
    found = [(target, level, anchor, kind) for target, level, anchor, kind, _ in imports(source)]
    assert [f for f in found if f[0] not in ("importlib",)] == expected


def test_a_name_the_source_does_not_decide_stays_a_warning():
    result = scanned('import importlib, os\nfor n in os.listdir("."):\n    importlib.import_module(n)\n')
    assert [r.target for r in result.records] == ["importlib", "os"]
    assert [p.line for p in result.problems] == [3]


def test_lazy_loader_attach_imports_its_submodules_lazily():
    source = """
        import lazy_loader as lazy
        __getattr__, __dir__, __all__ = lazy.attach(__name__, submodules=["io"], submod_attrs={"filters": ["f"]})
        """
    assert imports(source)[1:] == [
        ("io", 1, "__name__", Kind.LAZY, False),
        ("filters", 1, "__name__", Kind.LAZY, False),
    ]
    stub = scanned("import lazy_loader\n__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)\n")
    assert [p.line for p in stub.problems] == [2]  # the stub is not read: said, with its line


@pytest.mark.parametrize(
    ("call", "feature"),
    [
        ("pkgutil.iter_modules(__path__)", "submodules"),
        ("pkgutil.walk_packages(__path__, __name__ + '.')", "submodules:all"),
    ],
)
def test_plugin_discovery_over_the_package_path(call, feature):
    result = scanned(f"import importlib, pkgutil\nfor info in {call}:\n    importlib.import_module(info.name)\n")
    assert result.features == ((feature, 2),)
    assert result.problems == ()  # the computed import in that loop is what discovery brings in
    elsewhere = scanned("import pkgutil\nfor info in pkgutil.iter_modules(['/opt/plugins']):\n    pass\n")
    assert elsewhere.features == ()


def test_exec_of_literal_source_imports_what_it_names():
    result = scanned('exec("import json5\\nfrom yaml import safe_load")\neval(source)\n')
    assert [(r.target, r.names, r.kind) for r in result.records] == [
        ("json5", (), Kind.DYNAMIC),
        ("yaml", ("safe_load",), Kind.DYNAMIC),
    ]
    assert [p.line for p in result.problems] == [2]


def test_feature_flags_guard_what_they_enable():
    source = """
        try:
            import yaml
            HAS_YAML = True
        except ImportError:
            HAS_YAML = False
        if HAS_YAML:
            import yaml.constructor
        if not HAS_YAML:
            import tomli
        else:
            import yaml.loader
        """
    assert [(t, g) for t, _, _, _, g in imports(source)] == [
        ("yaml", True),
        ("yaml.constructor", True),
        ("tomli", False),
        ("yaml.loader", True),
    ]


@pytest.mark.parametrize(
    ("test", "required"),
    [
        ('error.name == "idna"', {"idna"}),
        ('error.name != "idna"', {"colorama"}),
        ('"idna" in str(error)', {"idna"}),
        ('error.name in ("idna", "colorama")', {"idna", "colorama"}),
        ('not error.name == "idna"', {"colorama"}),
    ],
)
def test_a_handler_that_reraises_for_one_module_requires_that_one(test, required):
    source = (
        f"try:\n    import idna\n    import colorama\nexcept ImportError as error:\n    if {test}:\n        raise\n"
    )
    assert {t for t, _, _, _, guarded in imports(source) if not guarded} == required


@pytest.mark.parametrize(
    ("platform", "expected"),
    [("windows-x86_64", ["winreg"]), ("macos-arm64", ["arm"]), ("linux-x86_64", ["fcntl"])],
)
def test_platform_tests_through_string_methods(platform, expected):
    source = """
        import platform, sys
        if platform.system().lower() == "windows":
            import winreg
        if platform.machine().casefold() in ("arm64", "aarch64") and sys.platform.upper() == "DARWIN":
            import arm
        if sys.platform.lower().startswith("linux"):
            import fcntl
        """
    found = [t for t, *_ in imports(source, Target((3, 12), PLATFORMS[platform]))]
    assert found[2:] == expected


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql+asyncpg://u@h/db", "asyncpg"),
        ("postgresql://u@h/db", "psycopg2"),
        ("mysql+pymysql://u@h/db", "pymysql"),
        ("sqlite:///x.db", None),  # the standard library's sqlite3
        ("sqlite+aiosqlite:///x.db", "aiosqlite"),
    ],
)
def test_sqlalchemy_imports_the_driver_its_url_names(url, driver):
    source = (
        f'from sqlalchemy.ext.asyncio import create_async_engine\nURL = "{url}"\nengine = create_async_engine(URL)\n'
    )
    found = [t for t, _, _, kind, _ in imports(source) if kind is Kind.DYNAMIC]
    assert found == ([driver] if driver else [])
