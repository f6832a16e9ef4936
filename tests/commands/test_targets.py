"""[tool.depmin] targets, init, sync and check."""

from __future__ import annotations

import json
import tomllib

import pytest

from depmin.commands import main
from depmin.errors import ConfigError
from depmin.outputs.pyproject import InitError, add_target
from depmin.project.config import load_project

from ..helpers import FIXTURES, diagnostics, only_diagnostic, write_tree

SMALLSVC = FIXTURES / "smallsvc"


def test_unknown_keys_and_wrong_types_are_reported_with_key_and_line(tmp_path):
    write_tree(
        tmp_path,
        {
            "pyproject.toml": """
                [project]
                name = "x"

                [tool.depmin]
                python = 3.12
                exclud = ["tests/"]

                [tool.depmin.targets.agent]
                entries = "ai/"
                forbidd = ["torch"]
                platform = "solaris"
                """
        },
    )
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    found = sorted((d.line, d.code, d.message.partition(":")[0]) for d in caught.value.diagnostics)
    assert found == [
        (5, "DM002", "tool.depmin.python"),
        (6, "DM002", "tool.depmin.exclud"),
        (9, "DM002", "tool.depmin.targets.agent.entries"),
        (10, "DM002", "tool.depmin.targets.agent.forbidd"),
        (11, "DM002", "tool.depmin.targets.agent.platform"),
    ]
    assert all(d.path == "pyproject.toml" for d in caught.value.diagnostics)


def test_config_errors_exit_2_with_one_line_each(runner, tmp_path):
    write_tree(tmp_path, {"pyproject.toml": "[tool.depmin]\nbogus = 1\n", "main.py": ""})
    result = runner.invoke(main, ["closure", "--root", str(tmp_path), "main.py"])
    assert result.exit_code == 2
    assert only_diagnostic(result.stderr)[:3] == ("pyproject.toml:2", "error", "DM002")
    assert "tool.depmin.bogus: unknown key" in result.stderr


ORIGINAL = """\
# The project file, with comments   that must survive.
[project]
name = "demo"   # inline comment
dependencies = [
  "rich",  # trailing
]

[tool.depmin]
python = "3.12"

[tool.depmin.targets.web]
entries = ["web/"]

[tool.other]
keep = 'single quotes'
"""


def test_init_appends_a_table_and_leaves_every_other_byte():
    result = add_target(ORIGINAL, "agent", ("ai/", "console/"), data=("config/personas/",), forbid=("torch",))
    assert result.startswith(ORIGINAL)
    data = tomllib.loads(result)
    assert data["tool"]["depmin"]["targets"]["agent"] == {
        "entries": ["ai/", "console/"],
        "data": ["config/personas/"],
        "forbid": ["torch"],
        "requirements": "requirements/agent.txt",
        "copy-list": "requirements/agent.copy",
    }
    assert data["tool"]["depmin"]["targets"]["web"] == {"entries": ["web/"]}


def test_init_refuses_to_overwrite_without_force_and_replaces_with_it():
    with pytest.raises(InitError, match="already exists"):
        add_target(ORIGINAL, "web", ("api/",))
    replaced = add_target(ORIGINAL, "web", ("api/",), force=True)
    assert tomllib.loads(replaced)["tool"]["depmin"]["targets"]["web"]["entries"] == ["api/"]
    assert replaced.startswith(ORIGINAL.split("[tool.depmin.targets.web]")[0])
    assert "[tool.other]\nkeep = 'single quotes'\n" in replaced


def test_init_command_writes_pyproject(runner, tmp_path):
    write_tree(tmp_path, {"pyproject.toml": ORIGINAL, "ai/__init__.py": ""})
    result = runner.invoke(main, ["init", "--root", str(tmp_path), "--target", "agent", "ai/"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pyproject.toml").read_text().startswith(ORIGINAL)
    again = runner.invoke(main, ["init", "--root", str(tmp_path), "--target", "agent", "ai/"])
    assert again.exit_code == 2 and "pass --force" in again.stderr


def test_sync_then_check_is_clean_and_a_code_change_makes_it_stale(runner, smallsvc):
    requirements = smallsvc / "requirements" / "svc.txt"
    requirements.unlink(missing_ok=True)
    first = runner.invoke(main, ["sync", "--root", str(smallsvc), "--no-cache"])
    assert first.exit_code == 0, first.output
    assert "rich==" in requirements.read_text()
    assert (smallsvc / "requirements" / "svc.copy").read_text() == "settings/\nsvc/\n"
    clean = runner.invoke(main, ["check", "--root", str(smallsvc), "--no-cache"])
    assert clean.exit_code == 0, clean.output
    (smallsvc / "svc" / "extra.py").write_text("import idna\n")
    stale = runner.invoke(main, ["check", "--root", str(smallsvc), "--no-cache"])
    assert stale.exit_code == 1
    assert "requirements/svc.txt: stale; run `depmin sync --target svc`" in stale.stdout
    assert "+idna==" in stale.stdout and "+    # via svc/extra.py:1" in stale.stdout


def test_check_fails_on_a_forbidden_distribution(runner, smallsvc):
    assert runner.invoke(main, ["sync", "--root", str(smallsvc), "--no-cache"]).exit_code == 0
    (smallsvc / "svc" / "compat.py").write_text("import six\n")
    assert runner.invoke(main, ["sync", "--root", str(smallsvc), "--no-cache"]).exit_code == 0
    result = runner.invoke(main, ["check", "--root", str(smallsvc), "--no-cache", "--json"])
    assert result.exit_code == 1
    audit = json.loads(result.stdout)["targets"][0]["audit"]
    assert [(v["name"], v["reach"]) for v in audit["violations"]] == [("six", "required")]
    first = audit["violations"][0]["chains"][0]["imports"][0]
    assert (first["file"], first["line"], first["module"]) == ("svc/compat.py", 1, "svc.compat")


def test_sync_writes_nothing_when_analysis_has_errors(runner, smallsvc):
    assert runner.invoke(main, ["sync", "--root", str(smallsvc), "--no-cache"]).exit_code == 0
    before = (smallsvc / "requirements" / "svc.txt").read_text()
    (smallsvc / "svc" / "broken.py").write_text("import idna\nimport not_in_the_lock\n")
    result = runner.invoke(main, ["sync", "--root", str(smallsvc), "--no-cache"])
    assert result.exit_code == 2
    assert ("svc/broken.py:2", "error", "DM101") in [d[:3] for d in diagnostics(result.stderr)]
    assert (smallsvc / "requirements" / "svc.txt").read_text() == before


def test_unknown_target_is_a_usage_error(runner, smallsvc):
    result = runner.invoke(main, ["check", "--root", str(smallsvc), "--target", "nope"])
    assert result.exit_code == 2
    assert only_diagnostic(result.stderr)[:3] == ("pyproject.toml", "error", "DM001")
    assert "'nope'" in result.stderr and "(known: svc)" in result.stderr


def test_committed_fixture_outputs_are_fresh(runner):
    for fixture in ("caramba", "smallsvc"):
        result = runner.invoke(main, ["check", "--root", str(FIXTURES / fixture), "--no-cache"])
        assert result.exit_code == 0, result.output
