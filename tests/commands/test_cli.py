"""The command line as uv, ruff and pip-tools users expect it: help, quiet and verbose, colour,
machine-readable check and sync, one line per written file, and commands that regenerate."""

from __future__ import annotations

import json
import shlex
import shutil

import pytest

from depmin.commands import COMMANDS, main
from depmin.errors import Code

from ..helpers import CARAMBA, FIXTURES, diagnostics, write_tree

SMALLSVC = FIXTURES / "smallsvc"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_help_ends_with_examples_and_exit_codes(runner, command):
    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    examples = result.stdout.split("Examples:")[-1]
    assert "Examples:" in result.stdout
    assert sum(line.strip().startswith("depmin ") for line in examples.splitlines()) >= 2
    assert result.stdout.rstrip().endswith("Exit codes: 0 ok, 1 a finding, 2 bad input or usage.")


def test_quiet_prints_nothing_but_errors_and_verbose_says_what_depmin_does(runner, smallsvc, tmp_path):
    output = tmp_path / "req.txt"
    quiet = runner.invoke(main, ["closure", "--root", str(smallsvc), "-q", "svc/", "-o", str(output)])
    assert quiet.exit_code == 0
    assert quiet.stdout == "" and quiet.stderr == ""
    assert output.is_file()
    loud = runner.invoke(main, ["closure", "--root", str(smallsvc), "-v", "svc/", "-o", str(output)])
    details = [line for line in loud.stderr.splitlines() if line.startswith("depmin: ")]
    assert any(line.startswith("depmin: root ") for line in details)
    assert any(line.startswith("depmin: source roots: ") for line in details)
    assert any("scan cache" in line and "hits" in line for line in details)
    broken = runner.invoke(main, ["closure", "--root", str(smallsvc), "-q", "nothere.py"])
    assert broken.exit_code == 2 and diagnostics(broken.stderr)[0][2] == "DM301"


def test_every_written_file_is_one_line_saying_what_it_holds(runner, smallsvc, tmp_path):
    output, copy_list = tmp_path / "req.txt", tmp_path / "req.copy"
    result = runner.invoke(
        main, ["closure", "--root", str(smallsvc), "svc/", "-o", str(output), "--copy-list", str(copy_list)]
    )
    pins = sum(1 for line in output.read_text().splitlines() if line and line[0].isalnum())
    assert f"wrote {output} ({pins} pins)" in result.stderr.splitlines()
    paths = len(copy_list.read_text().splitlines())
    assert f"wrote {copy_list} ({paths} path{'s' if paths != 1 else ''})" in result.stderr.splitlines()


def test_color_follows_the_flag_and_no_color(runner, caramba, monkeypatch):
    always = runner.invoke(main, ["closure", "--root", str(caramba), "--color", "always", "ai/"])
    assert "\x1b[" in always.stdout
    never = runner.invoke(main, ["closure", "--root", str(caramba), "--color", "never", "ai/"])
    assert "\x1b[" not in never.stdout
    monkeypatch.setenv("NO_COLOR", "1")
    auto = runner.invoke(main, ["closure", "--root", str(caramba), "ai/"])
    assert "\x1b[" not in auto.stdout


def test_check_on_a_never_synced_target_says_missing_not_a_diff(runner, smallsvc):
    (smallsvc / "requirements" / "svc.txt").unlink()
    result = runner.invoke(main, ["check", "--root", str(smallsvc), "--no-cache"])
    assert result.exit_code == 1
    assert "requirements/svc.txt: missing; run `depmin sync --target svc`" in result.stdout
    assert "+++" not in result.stdout and len(result.stdout.splitlines()) <= 3
    data = json.loads(runner.invoke(main, ["check", "--root", str(smallsvc), "--no-cache", "--json"]).stdout)
    assert data["ok"] is False
    (target,) = data["targets"]
    states = {f["path"]: f["state"] for f in target["files"]}
    assert states == {"requirements/svc.txt": "missing", "requirements/svc.copy": "fresh"}


def test_sync_dry_run_writes_nothing_and_json_says_what_it_would(runner, smallsvc):
    requirements = smallsvc / "requirements" / "svc.txt"
    requirements.write_text("old\n")
    dry = runner.invoke(main, ["sync", "--root", str(smallsvc), "--no-cache", "--dry-run"])
    assert dry.exit_code == 0
    assert requirements.read_text() == "old\n"
    assert any(line.startswith("would write requirements/svc.txt (") for line in dry.stderr.splitlines())
    data = json.loads(
        runner.invoke(main, ["sync", "--root", str(smallsvc), "--no-cache", "--dry-run", "--json"]).stdout
    )
    assert data["dry_run"] is True
    assert {f["path"]: f["action"] for f in data["files"]} == {
        "requirements/svc.copy": "unchanged",
        "requirements/svc.txt": "would write",
    }
    real = json.loads(runner.invoke(main, ["sync", "--root", str(smallsvc), "--no-cache", "--json"]).stdout)
    assert {f["action"] for f in real["files"]} == {"wrote", "unchanged"}
    assert requirements.read_text() != "old\n"


def test_init_refuses_entries_that_do_not_exist(runner, tmp_path):
    write_tree(tmp_path, {"ai/__init__.py": "", "ai/agent.py": ""})
    before = (tmp_path / "pyproject.toml").read_text()
    for entry in ("ia/", "ai/nope.py", "ai.nope"):
        result = runner.invoke(main, ["init", "--root", str(tmp_path), entry])
        assert result.exit_code == 2, entry
        assert diagnostics(result.stderr)[0][2] == "DM001"
        assert (tmp_path / "pyproject.toml").read_text() == before
    for entry in ("ai/", "ai/agent.py", "ai.agent"):
        name = "t" + "".join(c if c.isalnum() else "-" for c in entry)
        result = runner.invoke(main, ["init", "--root", str(tmp_path), "--target", name, entry])
        assert result.exit_code == 0, (entry, result.output)


def test_report_json_and_markdown_together_is_a_usage_error(runner):
    result = runner.invoke(main, ["report", "--root", str(CARAMBA), "--json", "--markdown", "ai/"])
    assert result.exit_code == 2
    assert diagnostics(result.stderr)[0][2] == "DM001"
    assert result.stdout == ""


def test_codes_lists_every_code_and_ignore_silences_one(runner, smallsvc):
    listed = json.loads(runner.invoke(main, ["codes", "--json"]).stdout)
    assert listed == {str(code): code.description for code in Code} and len(listed) == len(Code)
    (smallsvc / "six.py").write_text("")  # a first-party six shadows the locked six: DM106
    (smallsvc / "svc" / "shadow.py").write_text("import six\n")
    warned = runner.invoke(main, ["closure", "--root", str(smallsvc), "--no-cache", "--json", "svc/"])
    assert "DM106" in {w["code"] for w in json.loads(warned.stdout)["warnings"]}
    pyproject = smallsvc / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.depmin.targets.svc]", '[tool.depmin]\nignore = ["DM106"]\n\n[tool.depmin.targets.svc]'
        )
    )
    silenced = runner.invoke(main, ["closure", "--root", str(smallsvc), "--no-cache", "--json", "svc/"])
    assert "DM106" not in {w["code"] for w in json.loads(silenced.stdout)["warnings"]}
    pyproject.write_text(pyproject.read_text().replace('ignore = ["DM106"]', 'ignore = ["DM999"]'))
    bad = runner.invoke(main, ["closure", "--root", str(smallsvc), "--no-cache", "svc/"])
    assert bad.exit_code == 2 and diagnostics(bad.stderr)[0][2] == "DM002"


def regenerate_line(text: str, marker: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(marker))
    words = shlex.split(line[len(marker) :])
    assert words[0] == "depmin"
    return words[1:]


def test_a_dockerfiles_regenerate_line_works_exactly_as_written(runner, caramba, monkeypatch):
    monkeypatch.chdir(caramba)
    first = [
        "dockerfile",
        "--python",
        "3.12",
        "--base",
        "python:3.12-slim",
        "--requirements",
        "requirements/agent.txt",
        "--command",
        "python -m ai.entrypoint --port 8080",
        "--exclude",
        "tests",
        "--no-package-data",
        "-o",
        "docker/agent.Dockerfile",
        "ai/",
        "console/",
    ]
    assert runner.invoke(main, first).exit_code == 0
    written = (caramba / "docker" / "agent.Dockerfile").read_text()
    again = regenerate_line(written, "# Regenerate: ")
    assert "--requirements" in again and "--command" in again and "--base" in again
    (caramba / "docker" / "agent.Dockerfile").unlink()
    result = runner.invoke(main, again)
    assert result.exit_code == 0, result.output
    assert (caramba / "docker" / "agent.Dockerfile").read_text() == written


def test_a_requirements_files_regenerate_line_works_exactly_as_written(runner, caramba, monkeypatch):
    monkeypatch.chdir(caramba)
    first = [
        "closure",
        "--platform",
        "linux-aarch64",
        "--include-optional",
        "--hashes",
        "--exclude",
        "tests",
        "-o",
        "build/ai.txt",
        "--copy-list",
        "build/ai.copy",
        "ai/",
    ]
    assert runner.invoke(main, first).exit_code == 0
    written = (caramba / "build" / "ai.txt").read_text()
    copy = (caramba / "build" / "ai.copy").read_text()
    again = regenerate_line(written, "#   regenerate: ")
    shutil.rmtree(caramba / "build")
    result = runner.invoke(main, again)
    assert result.exit_code == 0, result.output
    assert (caramba / "build" / "ai.txt").read_text() == written
    assert (caramba / "build" / "ai.copy").read_text() == copy
