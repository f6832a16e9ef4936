"""report: wheel choice by packaging tags, size sums, and the before/after table."""

from __future__ import annotations

import json

from depmin.commands import main
from depmin.lock.closure import select
from depmin.lock.model import Artifact, LockedPackage
from depmin.lock.parse import read_lock
from depmin.lock.wheels import best_artifact
from depmin.model import PLATFORMS, Target
from depmin.usecases.size_report import download_size, whole_project_pins

from ..helpers import CARAMBA, CARAMBA_LOCK

LINUX = Target((3, 12), PLATFORMS["linux-x86_64"])
ARM = Target((3, 12), PLATFORMS["linux-aarch64"])
MAC = Target((3, 12), PLATFORMS["macos-arm64"])
WINDOWS = Target((3, 12), PLATFORMS["windows-x86_64"])


def package(*wheels: str, sdist: bool = True) -> LockedPackage:
    return LockedPackage(
        name="demo",
        version="1.0",
        source_kind="registry",
        source_path=None,
        dependencies=(),
        optional_dependencies={},
        resolution_markers=(),
        wheels=tuple(Artifact(w, None, 100 + i) for i, w in enumerate(wheels)),
        sdist=Artifact("demo-1.0.tar.gz", None, 7) if sdist else None,
    )


def test_wheel_choice_follows_the_target_tags():
    demo = package(
        "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "demo-1.0-cp312-cp312-manylinux_2_28_aarch64.whl",
        "demo-1.0-cp312-cp312-macosx_11_0_arm64.whl",
        "demo-1.0-cp312-cp312-win_amd64.whl",
        "demo-1.0-py3-none-any.whl",
    )
    assert best_artifact(demo, LINUX).filename == "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    assert best_artifact(demo, ARM).filename == "demo-1.0-cp312-cp312-manylinux_2_28_aarch64.whl"
    assert best_artifact(demo, MAC).filename == "demo-1.0-cp312-cp312-macosx_11_0_arm64.whl"
    assert best_artifact(demo, WINDOWS).filename == "demo-1.0-cp312-cp312-win_amd64.whl"
    assert best_artifact(demo, Target((3, 13))).filename == "demo-1.0-py3-none-any.whl"


def test_abi3_beats_pure_python_and_the_sdist_is_the_last_resort():
    demo = package("demo-1.0-py3-none-any.whl", "demo-1.0-cp39-abi3-manylinux_2_17_x86_64.whl")
    assert best_artifact(demo, LINUX).filename == "demo-1.0-cp39-abi3-manylinux_2_17_x86_64.whl"
    only_linux = package("demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl")
    assert best_artifact(only_linux, MAC).filename == "demo-1.0.tar.gz"
    assert best_artifact(package("demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", sdist=False), MAC) is None


def test_size_sums_use_the_chosen_wheels_of_the_lock():
    lock = read_lock(CARAMBA_LOCK, "uv.lock")
    _, pins = whole_project_pins(lock, LINUX)
    total, unknown = download_size(lock, pins, LINUX)
    assert unknown == []
    by_hand = sum(best_artifact(select(lock, p.name, p.version, LINUX), LINUX).size for p in pins)
    assert total == by_hand
    torch = select(lock, "torch", None, LINUX)
    assert best_artifact(torch, LINUX).filename.endswith("manylinux_2_28_x86_64.whl")
    mac_total, _ = download_size(lock, whole_project_pins(lock, MAC)[1], MAC)
    assert mac_total < total / 3  # no CUDA wheels on macOS


def test_report_on_caramba_shows_torch_and_cuda_only_in_the_whole_project(runner):
    result = runner.invoke(main, ["report", "--root", str(CARAMBA), "--target", "agent", "--json", "--no-cache"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    largest = {d["name"]: d for d in data["largest"]}
    assert largest["torch"]["in_target"] is False
    nvidia = [d for d in data["largest"] if d["name"].startswith("nvidia-")]
    assert nvidia and not any(d["in_target"] for d in nvidia)
    rows = {r["metric"]: r for r in data["rows"]}
    size = rows["Wheel download size"]
    assert size["whole"] > 10 * size["target"] > 0
    assert rows["Distributions (direct)"]["target"] == 19
    assert rows["Python files copied"]["target"] == 42


def test_markdown_report_is_a_table(runner):
    result = runner.invoke(main, ["report", "--root", str(CARAMBA), "--target", "agent", "--markdown", "--no-cache"])
    lines = result.stdout.splitlines()
    assert lines[0] == "| target agent (Python 3.12, linux-x86_64) | Whole project | Target | Saved |"
    assert lines[1] == "|---|---:|---:|---:|"
    assert any(line.startswith("| torch ") and line.endswith("| ✓ | – |") for line in lines)
