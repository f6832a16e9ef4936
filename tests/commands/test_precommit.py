"""The real pre-commit framework runs depmin's hooks, configured word for word as the README says,
on a fixture repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..helpers import CARAMBA, REPOSITORY

pytestmark = [pytest.mark.slow, pytest.mark.network]

IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          env={**os.environ, **IDENTITY})  # fmt: skip
    return done.stdout.strip()


def readme_configs() -> list[dict]:
    """The .pre-commit-config.yaml examples of the README's pre-commit section."""
    text = (REPOSITORY / "README.md").read_text("utf-8")
    section = re.split(r"\n#{2,3} ", text[text.index("### pre-commit") :], maxsplit=1)[0]
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.S)]


def depmin_at_a_commit(tmp_path: Path) -> tuple[Path, str]:
    """This working tree as a git repository of its own (what pre-commit clones), and its commit."""
    copy = tmp_path / "depmin"
    shutil.copytree(REPOSITORY, copy, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info"))  # fmt: skip
    git(copy, "init", "-q")
    git(copy, "add", "-A")
    git(copy, "commit", "-qm", "depmin")
    return copy, git(copy, "rev-parse", "HEAD")


def pre_commit(repo: Path, home: Path, path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--verbose"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={
            "PATH": path,
            "HOME": str(home),
            "PRE_COMMIT_HOME": str(home / "pre-commit"),
            "UV_PYTHON_DOWNLOADS": "never",
            "DEPMIN_OFFLINE": "1",
            "DEPMIN_CACHE_DIR": os.environ.get("DEPMIN_CACHE_DIR", str(home / "depmin-cache")),
            **IDENTITY,
        },
        timeout=900,
    )


def fixture_repository(tmp_path: Path, config: dict) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(CARAMBA, repo, ignore=shutil.ignore_patterns(".depmin_cache", ".venv"))
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), "utf-8")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "fixture")
    return repo


def use_torch_in_the_agent(repo: Path) -> None:
    persona = repo / "ai" / "agent" / "persona.py"
    persona.write_text(persona.read_text() + "\nimport torch\n")
    git(repo, "commit", "-qam", "use torch in the agent")


def test_the_readme_hook_from_a_commit_passes_fresh_outputs_and_fails_when_torch_comes_back(tmp_path):
    remote, _ = readme_configs()
    (hook,) = remote["repos"]
    assert re.fullmatch(r"[0-9a-f]{40}", hook["rev"])  # a commit, as the README says
    source, commit = depmin_at_a_commit(tmp_path)
    hook.update(repo=str(source), rev=commit)
    hook["hooks"] += [{"id": "depmin-audit"}]
    repo = fixture_repository(tmp_path, remote)
    path = "/usr/bin:/bin:/usr/local/bin"

    fresh = pre_commit(repo, tmp_path, path)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr

    use_torch_in_the_agent(repo)
    broken = pre_commit(repo, tmp_path, path)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert broken.stdout.count("target agent: forbidden torch is reachable") == 2  # check and audit
    assert "ai/agent/persona.py:18  import torch" in broken.stdout
    assert "requirements/agent.txt: stale" in broken.stdout


def test_the_readme_local_hook_runs_the_depmin_on_path(tmp_path):
    _, local = readme_configs()
    assert local["repos"][0]["repo"] == "local"
    repo = fixture_repository(tmp_path, local)
    on_path = str(Path(sys.executable).parent)  # this environment's depmin, as `uv tool install` puts one
    assert (Path(on_path) / "depmin").exists()
    path = f"{on_path}:/usr/bin:/bin:/usr/local/bin"
    assert pre_commit(repo, tmp_path, path).returncode == 0
    use_torch_in_the_agent(repo)
    broken = pre_commit(repo, tmp_path, path)
    assert broken.returncode == 1 and "target agent: forbidden torch is reachable" in broken.stdout
