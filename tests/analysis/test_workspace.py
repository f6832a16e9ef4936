"""Many targets, one workspace: every closure is what analysing that target alone gives."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from depmin.analysis import Workspace, analyse
from depmin.model import PLATFORMS, Target
from depmin.outputs.json import closure_json

from ..helpers import CARAMBA, FIXTURES, REPOSITORY, request_for


def alone_and_shared(root, requests):
    from depmin.lock.parse import read_lock
    from depmin.project.config import load_project

    project = load_project(root)
    lock = read_lock(root / "uv.lock", "uv.lock")
    workspace = Workspace(project, lock)
    shared = [closure_json(analyse(project, r, lock, workspace).closure) for r in requests]
    alone = [closure_json(analyse(project, r, lock).closure) for r in requests]
    return shared, alone


def test_targets_that_overlap_share_and_still_differ(tmp_path):
    base = request_for(CARAMBA, "ai/", "console/")
    requests = [
        base,
        replace(base, entries=("trainer/",)),
        replace(base, entries=("ai/",), ignore=(("litellm", "cut"),)),  # same modules, other edges
        replace(base, entries=("ai.entrypoint",)),  # an entry whose __main__ block runs
        replace(base, entries=("ai/",), target=Target((3, 11), PLATFORMS["linux-aarch64"])),
        replace(base, entries=("ai/",), hidden_imports=("ai.tools.web",)),
        base,
    ]
    shared, alone = alone_and_shared(CARAMBA, requests)
    assert shared == alone
    assert shared[0] != shared[1] and shared[0] != shared[2] and shared[0] == shared[-1]


@pytest.mark.slow
def test_a_generated_fleet_of_seventeen_targets(tmp_path):
    tree = tmp_path / "mono"
    subprocess.run([sys.executable, str(REPOSITORY / "bench" / "make_monorepo.py"), str(tree), "--files", "400",
                    "--lines", "8000", "--targets", "17"], check=True)  # fmt: skip
    from depmin.project.config import load_project

    project = load_project(tree)
    assert len(project.config.targets) == 17
    requests = [
        replace(request_for(tree, *t.entries), data=t.data, lock_path=tree / "uv.lock")
        for t in project.config.targets.values()
    ]
    shared, alone = alone_and_shared(tree, requests)
    assert shared == alone
    assert len({str(s["modules"]) for s in shared}) >= 6  # personas and services really differ
    assert (FIXTURES / "caramba" / "uv.lock").read_bytes() == (tree / "uv.lock").read_bytes()
