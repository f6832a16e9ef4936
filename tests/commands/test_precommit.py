"""The real pre-commit framework runs depmin's hooks from this repository on a fixture repository."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from ..helpers import CARAMBA, REPOSITORY

pytestmark = [pytest.mark.slow, pytest.mark.network]


def git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def try_repo(repo, hook, home):
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(REPOSITORY), hook, "--all-files", "--verbose"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "HOME": str(home),
            "PRE_COMMIT_HOME": str(home / "pre-commit"),
            "UV_PYTHON_DOWNLOADS": "never",
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
        },
        timeout=900,
    )


def test_depmin_hooks_pass_on_fresh_outputs_and_fail_when_torch_comes_back(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(CARAMBA, repo, ignore=shutil.ignore_patterns(".depmin_cache"))
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "fixture")

    fresh = try_repo(repo, "depmin-check", tmp_path)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "depmin check" in fresh.stdout and "Passed" in fresh.stdout

    persona = repo / "ai" / "agent" / "persona.py"
    persona.write_text(persona.read_text() + "\nimport torch\n")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "use torch in the agent")

    for hook in ("depmin-check", "depmin-audit"):
        broken = try_repo(repo, hook, tmp_path)
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert "target agent: forbidden torch is reachable" in broken.stdout
        assert "ai/agent/persona.py:18  import torch" in broken.stdout
    stale = try_repo(repo, "depmin-check", tmp_path)
    assert "requirements/agent.txt: stale" in stale.stdout
