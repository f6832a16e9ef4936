"""depmin's own requirements are what depmin derives from its own source: the last step of CI, run
in the quick loop too, so that moving a line cannot turn CI red after every test passed."""

from __future__ import annotations

from depmin.commands import main

from ..helpers import REPOSITORY


def test_the_projects_own_requirements_are_fresh(runner, monkeypatch):
    monkeypatch.chdir(REPOSITORY)
    result = runner.invoke(main, ["check", "--format", "json"])
    assert result.exit_code == 0, result.output
