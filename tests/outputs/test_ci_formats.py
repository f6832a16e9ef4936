"""--format github and --format sarif: what CI systems read, checked against their own rules."""

from __future__ import annotations

import json
import re
import shutil

import jsonschema
import pytest

from depmin.commands import main
from depmin.errors import Diagnostic, Severity
from depmin.outputs.github import annotation
from depmin.outputs.sarif import sarif_log

from ..helpers import CARAMBA, FIXTURES, REPOSITORY, write_tree

# The OASIS schema (sarif-2.1/schema/sarif-schema-2.1.0.json of oasis-tcs/sarif-spec), vendored.
SCHEMA = json.loads((REPOSITORY / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
ANNOTATION = re.compile(r"^::(error|warning) (file=[^,:]+(,line=\d+)?,)?title=depmin DM\d{3}::\S.*$")


def valid_sarif(text: str) -> dict:
    log = json.loads(text)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    return log


@pytest.fixture
def broken(tmp_path):
    """A project with an unresolved import (an error) and a shadowing module (a warning)."""
    root = write_tree(tmp_path / "svc", {"main.py": "import yaml\nimport left_pad_xyz\nimport six\n", "six.py": ""})
    shutil.copy(FIXTURES / "bad" / "uv.lock", root / "uv.lock")
    return root


def test_closure_findings_as_sarif_are_valid_and_point_at_the_code(runner, broken):
    result = runner.invoke(main, ["closure", "--root", str(broken), "--no-cache", "--format", "sarif", "main.py"])
    assert result.exit_code == 2
    log = valid_sarif(result.stdout)
    (run,) = log["runs"]
    results = {(r["ruleId"], r["level"]): r for r in run["results"]}
    unresolved = results[("DM101", "error")]
    location = unresolved["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "main.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 2}
    assert ("DM106", "warning") in results
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == sorted(rules) and all(
        run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"]
    )


def test_closure_findings_as_github_annotations(runner, broken):
    result = runner.invoke(main, ["closure", "--root", str(broken), "--no-cache", "--format", "github", "main.py"])
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines and all(ANNOTATION.match(line) for line in lines), lines
    assert any(line.startswith("::error file=main.py,line=2,title=depmin DM101::") for line in lines)
    assert result.stderr == ""  # the annotations are the report; nothing twice


def test_audit_and_check_speak_both_formats(runner, tmp_path):
    caramba = tmp_path / "caramba"
    shutil.copytree(CARAMBA, caramba, ignore=shutil.ignore_patterns(".depmin_cache", ".venv"))
    persona = caramba / "ai" / "agent" / "persona.py"
    persona.write_text(persona.read_text() + "\nimport torch\n")
    audit = runner.invoke(main, ["audit", "--root", str(caramba), "--no-cache", "--format", "sarif"])
    assert audit.exit_code == 1
    findings = valid_sarif(audit.stdout)["runs"][0]["results"]
    torch = [r for r in findings if "forbidden torch is reachable" in r["message"]["text"]]
    assert len(torch) == 1  # one import, one finding: the nvidia-* it pulls in are folded into it
    assert torch[0]["ruleId"] == "DM501"
    assert torch[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "ai/agent/persona.py"
    check = runner.invoke(main, ["check", "--root", str(caramba), "--no-cache", "--format", "github"])
    assert check.exit_code == 1
    lines = check.stdout.splitlines()
    assert all(ANNOTATION.match(line) for line in lines), lines
    assert any(line.startswith("::error file=requirements/agent.txt,title=depmin DM502::stale") for line in lines)
    assert any("DM501" in line and "file=ai/agent/persona.py,line=" in line for line in lines)


def test_annotation_values_are_escaped_as_the_runner_reads_them():
    line = annotation(Diagnostic("a,b:c.py", 3, "100% sure\nsecond line", Severity.WARNING, "DM104"))
    assert line == "::warning file=a%2Cb%3Ac.py,line=3,title=depmin DM104::100%25 sure%0Asecond line"


def test_any_diagnostic_makes_a_valid_sarif_log():
    findings = [
        Diagnostic("", 0, "no place", Severity.ERROR, "DM001"),
        Diagnostic("dir with space/ü.py", 7, "a warning", Severity.WARNING, "DM106"),
        Diagnostic("x.py", 0, "a file only", Severity.ERROR, "DM503"),
    ]
    log = sarif_log(findings)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"][1:]]
    assert uris == ["dir%20with%20space/%C3%BC.py", "x.py"]
    assert "locations" not in log["runs"][0]["results"][0]


def test_json_and_another_format_is_a_usage_error(runner):
    result = runner.invoke(main, ["closure", "--root", str(CARAMBA), "--json", "--format", "sarif", "ai/"])
    assert result.exit_code == 2 and "[DM001]" in result.stderr
