"""Saying "ignore this": the pragma, ignore-imports and a target's cut. Nothing is hidden silently."""

from __future__ import annotations

import json

from depmin.commands import main
from depmin.model import Target
from depmin.scan import scan_source, scan_source_cst

from ..helpers import CARAMBA_LOCK, run_analysis, write_tree


def test_the_pragma_on_an_import_a_from_line_and_a_try():
    source = b"""import composio  # depmin: ignore
from firecrawl import (  # depmin: ignore[unresolved]
    App,
)
try:  # depmin: ignore
    import crewai_tools
except ImportError:
    import crewai_fallback
import kept  # an ordinary comment
"""
    for scan in (scan_source, scan_source_cst):
        result = scan(source, Target((3, 12)))
        assert [r.target for r in result.records] == ["kept"]
        assert [r.target for r in result.ignored] == ["composio", "firecrawl", "crewai_tools", "crewai_fallback"]


def test_the_pragma_also_silences_a_computed_import_warning():
    result = scan_source(b"import importlib\nimportlib.import_module(name)  # depmin: ignore\n", Target((3, 12)))
    assert not result.problems and [r.target for r in result.records] == ["importlib"]


def project(tmp_path):
    write_tree(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/main.py": "import yaml\nimport composio  # depmin: ignore\nimport firecrawl.app\nfrom svc import plugins\n",
            "svc/plugins.py": "import crewai_tools\nimport torch\n",
        },
    )
    (tmp_path / "uv.lock").write_bytes(CARAMBA_LOCK.read_bytes())
    return tmp_path


def test_unlocked_imports_are_errors_without_an_escape_hatch(tmp_path):
    root = project(tmp_path)
    (root / "svc/main.py").write_text("import yaml\nimport composio\n")
    errors = run_analysis(root, "svc.main").closure.errors
    assert [(e.path, e.line) for e in errors] == [("svc/main.py", 2)]


def test_ignore_imports_and_cut_take_edges_out_and_list_them(runner, tmp_path):
    root = project(tmp_path)
    pyproject = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(
        pyproject + '\n[tool.depmin]\nignore-imports = ["firecrawl"]\n\n'
        '[tool.depmin.targets.svc]\nentries = ["svc.main"]\ncut = ["svc.plugins"]\n'
    )
    result = runner.invoke(main, ["closure", "--root", str(root), "--json", "--target", "svc"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {(i["name"], i["file"], i["line"], i["reason"]) for i in data["ignored"]} == {
        ("composio", "svc/main.py", 2, "pragma"),
        ("firecrawl.app", "svc/main.py", 3, "ignore-imports"),
        ("svc.plugins", "svc/main.py", 4, "cut"),
    }
    assert "svc.plugins" not in data["modules"]
    assert "torch" not in {p["name"] for p in data["pinned"]} and "pyyaml" in {p["name"] for p in data["pinned"]}
    text = runner.invoke(main, ["closure", "--root", str(root), "--target", "svc"])
    assert "3 ignored imports" in text.output and "svc/main.py:4  svc.plugins  [cut]" in text.output


def test_ignore_keys_are_checked(runner, tmp_path):
    root = project(tmp_path)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "0"\n\n[tool.depmin]\nignore-imports = "firecrawl"\n'
    )
    result = runner.invoke(main, ["closure", "--root", str(root), "svc/"])
    assert result.exit_code == 2 and "tool.depmin.ignore-imports: must be a list of strings" in result.stderr


def test_named_optional_distributions_are_pinned_alone(runner, tmp_path):
    write_tree(
        tmp_path,
        {
            "main.py": "try:\n    import yaml\nexcept ImportError:\n    yaml = None\ntry:\n    import rich\nexcept ImportError:\n    rich = None\n"
        },
    )
    (tmp_path / "uv.lock").write_bytes(CARAMBA_LOCK.read_bytes())

    def pinned(*options):
        result = runner.invoke(main, ["closure", "--root", str(tmp_path), "--no-cache", "--json", *options, "main.py"])
        return {p["name"] for p in json.loads(result.stdout)["pinned"]}, json.loads(result.stdout)["warnings"]

    assert not {"pyyaml", "rich"} & pinned()[0]
    assert {"pyyaml", "rich"} <= pinned("--include-optional")[0]
    only_yaml, _ = pinned("--optional", "PyYAML")
    assert "pyyaml" in only_yaml and "rich" not in only_yaml
    _, warnings = pinned("--optional", "torch")
    assert any("--optional torch" in w["message"] for w in warnings)
