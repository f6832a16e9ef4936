"""The output conventions of uv and ruff: where errors go in each format, quiet and verbose before
or after the command, `-o -`, and colour as no-color.org and force-color.org define it."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from depmin.commands import main

from ..helpers import FIXTURES, diagnostics

SMALLSVC = FIXTURES / "smallsvc"
ESCAPE = "\x1b["
# A closure with an error: an entry that names nothing (DM301).
BROKEN = ["--root", str(SMALLSVC), "--no-cache", "nothere.py"]


@pytest.mark.parametrize("chosen", ["json", "github", "sarif"])
def test_errors_go_only_in_the_chosen_format(runner, chosen):
    result = runner.invoke(main, ["closure", *BROKEN, "--format", chosen])
    assert result.exit_code == 2
    assert result.stderr == ""
    if chosen == "json":
        assert [e["code"] for e in json.loads(result.stdout)["errors"]] == ["DM301"]
    elif chosen == "sarif":
        (run,) = json.loads(result.stdout)["runs"]
        assert [r["ruleId"] for r in run["results"]] == ["DM301"]
    else:
        assert [line.split("::")[1].split(" ")[0] for line in result.stdout.splitlines()] == ["error"]
        assert "DM301" in result.stdout


def test_quiet_with_errors_prints_the_errors_only(runner):
    result = runner.invoke(main, ["closure", *BROKEN, "-q"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert [code for _, _, code, _ in diagnostics(result.stderr)] == ["DM301"]


@pytest.mark.parametrize("flag", ["-q", "-v", "--color=always"])
def test_ui_flags_work_before_the_command_as_after_it(runner, tmp_path, flag):
    before = runner.invoke(main, [flag, "closure", "--root", str(SMALLSVC), "--no-cache", "svc/"])
    after = runner.invoke(main, ["closure", flag, "--root", str(SMALLSVC), "--no-cache", "svc/"])
    assert before.exit_code == after.exit_code == 0
    assert (before.stdout, before.stderr) == (after.stdout, after.stderr)
    plain = runner.invoke(main, ["closure", "--root", str(SMALLSVC), "--no-cache", "svc/"])
    assert (before.stdout, before.stderr) != (plain.stdout, plain.stderr)  # the flag did something


def test_dash_writes_the_requirements_to_standard_output(runner, tmp_path):
    to_file = tmp_path / "req.txt"
    written = runner.invoke(main, ["closure", "--root", str(SMALLSVC), "--no-cache", "svc/", "-o", str(to_file)])
    dash = runner.invoke(main, ["closure", "--root", str(SMALLSVC), "--no-cache", "svc/", "-o", "-"])
    quiet = runner.invoke(main, ["closure", "--root", str(SMALLSVC), "--no-cache", "-q", "svc/", "-o", "-"])
    assert quiet.stdout == dash.stdout
    assert written.exit_code == dash.exit_code == 0

    def body(text: str) -> list[str]:  # the header's regenerate line names the output itself
        return [line for line in text.splitlines() if not line.startswith("#")]

    assert dash.stdout.startswith("#") and body(dash.stdout) == body(to_file.read_text("utf-8"))
    assert not any((place / "-").exists() for place in (tmp_path, SMALLSVC, Path.cwd()))


def expected_colour(flag: str, environment: dict[str, str], terminal: bool) -> bool:
    """no-color.org, force-color.org and TERM=dumb, as the issue states them, written out again."""
    if flag != "auto":
        return flag == "always"
    if environment.get("NO_COLOR", "") != "":
        return False
    if environment.get("FORCE_COLOR", "") != "" or environment.get("CLICOLOR_FORCE", "") not in ("", "0"):
        return True
    if environment.get("TERM") == "dumb":
        return False
    return terminal


COLOUR_VARIABLES = st.fixed_dictionaries(
    {},
    optional={
        "NO_COLOR": st.sampled_from(["", "1", "0"]),
        "FORCE_COLOR": st.sampled_from(["", "1", "3"]),
        "CLICOLOR_FORCE": st.sampled_from(["", "0", "1"]),
        "TERM": st.sampled_from(["dumb", "xterm-256color"]),
    },
)


@given(st.sampled_from(["auto", "always", "never"]), COLOUR_VARIABLES)
@settings(max_examples=60, deadline=None)
def test_colour_follows_the_flag_then_the_environment(flag, environment):
    from click.testing import CliRunner

    clean = {name: None for name in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "TERM")}
    runner = CliRunner(env={**clean, **environment})
    result = runner.invoke(main, ["closure", "--root", str(SMALLSVC), "--color", flag, "svc/"])
    assert result.exit_code == 0
    assert (ESCAPE in result.stdout) == expected_colour(flag, environment, terminal=False)


def on_a_terminal(*arguments: str, environment: dict[str, str]) -> str:
    """depmin run on a pseudo-terminal, as a user at a shell sees it (stdout and stderr both)."""
    leader, follower = pty.openpty()
    env = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE")}
    process = subprocess.Popen(
        [sys.executable, "-m", "depmin", *arguments],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env={**env, **environment},
    )
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 300)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    process.wait(timeout=300)
    os.close(leader)
    return seen.decode("utf-8", "replace")


def test_on_a_terminal_colour_never_and_term_dumb_print_no_escape_at_all():
    command = ("closure", "--root", str(SMALLSVC), "--no-cache", "svc/")
    assert ESCAPE in on_a_terminal(*command, environment={"TERM": "xterm-256color"})  # the control
    assert ESCAPE not in on_a_terminal(*command, "--color", "never", environment={"TERM": "xterm-256color"})
    assert ESCAPE not in on_a_terminal(*command, environment={"TERM": "dumb"})
    assert ESCAPE not in on_a_terminal(*command, environment={"TERM": "xterm", "NO_COLOR": "1"})
    assert ESCAPE in on_a_terminal(*command, environment={"TERM": "xterm", "NO_COLOR": ""})
