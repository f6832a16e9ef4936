"""action.yml: its script, run in a shell as a GitHub runner runs a composite step, installs depmin
from the action's own copy and annotates a stale target."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import yaml

from ..helpers import CARAMBA, REPOSITORY

pytestmark = [pytest.mark.slow, pytest.mark.network]  # uvx installs depmin's dependencies


def action() -> dict:
    return yaml.safe_load((REPOSITORY / "action.yml").read_text("utf-8"))


def script_step() -> dict:
    (step,) = [step for step in action()["runs"]["steps"] if "run" in step]
    return step


def test_the_action_declares_its_inputs_and_never_splices_them_into_the_script():
    declared = action()["inputs"]
    assert set(declared) == {"root", "targets", "version"}
    step = script_step()
    assert step["shell"] == "bash"
    assert "${{" not in step["run"]  # inputs arrive as environment variables only
    used = set(re.findall(r"inputs\.(\w+)", " ".join(step["env"].values())))
    assert used == set(declared)


def run_step(workspace, **inputs: str) -> subprocess.CompletedProcess[str]:
    """The step's script with its env as the runner would evaluate it for `inputs`."""
    step = script_step()
    values = {"root": ".", "targets": "", "version": "", **inputs}
    environment = {
        "DEPMIN_ROOT": values["root"],
        "DEPMIN_TARGETS": values["targets"],
        "DEPMIN_SOURCE": values["version"] or str(REPOSITORY),  # github.action_path
    }
    assert set(step["env"]) == set(environment)
    return subprocess.run(
        ["bash", "-c", step["run"]],
        cwd=workspace,
        env={**os.environ, **environment, "GITHUB_WORKSPACE": str(workspace), "UV_PYTHON_DOWNLOADS": "never"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_the_action_passes_fresh_targets_and_annotates_a_stale_one(tmp_path):
    workspace = tmp_path / "workspace"
    shutil.copytree(CARAMBA, workspace / "services", ignore=shutil.ignore_patterns(".depmin_cache", ".venv"))

    fresh = run_step(workspace, root="services", targets="agent persona-writer")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "::error" not in fresh.stdout

    requirements = workspace / "services" / "requirements" / "agent.txt"
    requirements.write_text(requirements.read_text("utf-8").replace("pyyaml==", "pyyaml>="), "utf-8")
    stale = run_step(workspace, root="services", targets="agent")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    annotations = [line for line in stale.stdout.splitlines() if line.startswith("::error ")]
    assert annotations and all("file=services/requirements/agent.txt" in line for line in annotations)
