"""discover: source roots, module names, excludes, and the index of first-party modules."""

from __future__ import annotations

import pytest

from depmin.project.build_config import roots_from_build_config
from depmin.project.module_index import SourceRoot, build_index, is_excluded, module_name

from ..helpers import write_tree


@pytest.mark.parametrize(
    ("root", "path", "is_dir", "name"),
    [
        (SourceRoot(""), "ai/agent/persona.py", False, "ai.agent.persona"),
        (SourceRoot(""), "ai/__init__.py", False, "ai"),
        (SourceRoot("src"), "src/pkg/mod.py", False, "pkg.mod"),
        (SourceRoot("lib", "vendored"), "lib/x.py", False, "vendored.x"),
        (SourceRoot(""), "my-scripts/run.py", False, ""),  # not an identifier: not importable
        (SourceRoot(""), "ns", True, "ns"),
    ],
)
def test_module_names_are_what_importlib_would_use(root, path, is_dir, name):
    assert module_name(root, path, is_dir) == name


@pytest.mark.parametrize(
    ("path", "patterns", "excluded"),
    [
        ("ai/tests/test_x.py", ("tests/",), True),  # a directory anywhere
        ("tests.py", ("tests/",), False),  # `name/` is a directory only
        ("a/b/conftest.py", ("conftest.py",), True),  # a name anywhere
        ("docs/conf.py", ("docs/conf*",), True),  # anchored at the root
        ("src/docs/conf.py", ("docs/conf*",), False),
        ("ai/agent.py", (), False),
    ],
)
def test_excludes_match_like_gitignore(path, patterns, excluded):
    assert is_excluded(path, patterns) is excluded


def test_build_config_declares_roots():
    pyproject = {
        "tool": {
            "setuptools": {"package-dir": {"caramba": "."}, "packages": {"find": {"where": ["lib"]}}},
            "hatch": {"build": {"targets": {"wheel": {"packages": ["src/pkg"], "sources": {"py": "pkgpy"}}}}},
        }
    }
    roots = roots_from_build_config(pyproject, "member")
    assert SourceRoot("member", "caramba") in roots
    assert SourceRoot("member/lib") in roots
    assert SourceRoot("member/src") in roots
    assert SourceRoot("member/py", "pkgpy") in roots
    assert roots_from_build_config({"tool": "not a table"}) == []


def test_the_first_root_wins_and_the_shadowed_file_is_reported(tmp_path):
    write_tree(tmp_path, {"src/common.py": "", "common.py": "", "pkg/__init__.py": "", "pkg/sub/leaf.py": "",
                          "nspkg/part.py": ""})  # fmt: skip
    index = build_index(tmp_path, (SourceRoot("src"), SourceRoot("")))
    assert index.modules["common"].path == "src/common.py"
    assert index.shadowed == {"common.py": "common"}
    assert [d.code for d in index.diagnostics] == ["DM302"]
    assert index.modules["pkg"].is_package and not index.modules["pkg.sub.leaf"].is_package
    assert "nspkg" in index.namespaces and "pkg.sub" in index.namespaces  # directories without __init__
    assert index.modules_under("pkg") == ["pkg", "pkg.sub.leaf"]
    assert index.names_by_path["pkg/sub/leaf.py"] == ("pkg.sub.leaf",)
