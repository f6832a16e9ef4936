"""One requirements file for several platforms: the union, with markers where they differ."""

from __future__ import annotations

import json
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.requirements import Requirement

from depmin.analysis.platforms import merge_platforms, platform_marker
from depmin.commands import main
from depmin.model import PLATFORMS, Pin, Target
from depmin.usecases.build_env import uv_binary

from ..helpers import FIXTURES, bare_closure

FORKED = FIXTURES / "forked"
NAMES = st.sampled_from(["alpha", "beta", "gamma", "delta", "epsilon"])
OWN_MARKERS = st.sampled_from([None, 'python_version >= "3.11"', 'implementation_name == "cpython"'])


def installed_on(text: str, platform: str, python: str = "3.12") -> set[str]:
    """What a requirements file installs on `platform`, deciding its markers as pip does."""
    environment = Target((3, 12), PLATFORMS[platform]).marker_environment()
    found = set()
    for line in text.splitlines():
        if line and line[0].isalnum():
            requirement = Requirement(line.split(" \\")[0])
            if requirement.marker is None or requirement.marker.evaluate(environment):
                found.add(f"{requirement.name}{requirement.specifier}")
    return found


# One platform per marker: glibc and musl Linux on one machine are not told apart by any marker.
DISTINCT = sorted({platform_marker(p): name for name, p in reversed(PLATFORMS.items())}.values())


@given(st.dictionaries(st.sampled_from(DISTINCT), st.lists(st.tuples(NAMES, OWN_MARKERS), max_size=5),
                       min_size=2))  # fmt: skip
@settings(max_examples=150, deadline=None)
def test_on_each_platform_the_markers_select_exactly_its_own_pins(per_platform):
    closures = [
        bare_closure(
            target=Target((3, 12), PLATFORMS[platform]),
            pinned=tuple(Pin(n, "1.0", m, ("",)) for n, m in dict(pins).items()),
        )
        for platform, pins in per_platform.items()
    ]
    merged = merge_platforms(closures)

    def selected(pins, environment):
        return {p.name for p in pins if p.marker is None or Marker(p.marker).evaluate(environment)}

    for closure in closures:
        environment = closure.target.marker_environment()
        assert selected(merged.pinned, environment) == selected(closure.pinned, environment), closure.target


def test_a_windows_only_optional_dependency_gets_its_marker(runner, tmp_path):
    output = tmp_path / "all.txt"
    result = runner.invoke(main, ["closure", "--root", str(FORKED), "--python", "3.12", "--include-optional",
                                  "--platform", "linux-x86_64", "--platform", "windows-x86_64", "-o", str(output),
                                  "app/"])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = output.read_text()
    assert 'colorama==0.4.6 ; sys_platform == "win32" and platform_machine == "AMD64"' in text
    assert "#   python: 3.12, platform: linux-x86_64, windows-x86_64" in text
    assert installed_on(text, "linux-x86_64") == {"numpy==2.5.5", "pyyaml==6.0.4"}
    assert installed_on(text, "windows-x86_64") == {"colorama==0.4.6", "numpy==2.5.5", "pyyaml==6.0.4"}


def test_commands_that_answer_for_one_platform_say_so(runner):
    result = runner.invoke(main, ["why", "--root", str(FORKED), "--platform", "linux-x86_64", "--platform",
                                  "windows-x86_64", "numpy", "app/"])  # fmt: skip
    assert result.exit_code == 2 and "[DM001]" in result.stderr


@pytest.mark.network
@pytest.mark.parametrize(
    ("platform", "uv_platform"),
    [("linux-x86_64", "x86_64-manylinux_2_28"), ("linux-aarch64", "aarch64-manylinux_2_28"),
     ("windows-x86_64", "x86_64-pc-windows-msvc")],
)  # fmt: skip
def test_uv_installs_the_one_file_right_on_each_platform(runner, tmp_path, platform, uv_platform):
    platforms = ["linux-x86_64", "linux-aarch64", "windows-x86_64"]
    output = tmp_path / "all.txt"
    arguments = ["closure", "--root", str(FORKED), "--python", "3.12", "--include-optional", "-o", str(output), "app/"]
    for name in platforms:
        arguments[1:1] = ["--platform", name]
    assert runner.invoke(main, arguments).exit_code == 0
    alone = tmp_path / "alone.txt"
    one = ["closure", "--root", str(FORKED), "--python", "3.12", "--include-optional", "--platform", platform, "-o",
           str(alone), "app/"]  # fmt: skip
    assert runner.invoke(main, one).exit_code == 0
    completed = subprocess.run([uv_binary(), "pip", "install", "--dry-run", "--no-deps", "--python-platform", uv_platform,
                                "--python-version", "3.12", "--target", str(tmp_path / "t"), "-r", str(output)],
                               capture_output=True, text=True, check=False)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    would = {line.strip()[2:] for line in completed.stderr.splitlines() if line.strip().startswith("+ ")}
    assert would == installed_on(alone.read_text(), platform)


@pytest.mark.slow
def test_report_plan_and_the_fleet_take_several_platforms(runner, caramba, monkeypatch):
    two = ["--platform", "linux-x86_64", "--platform", "linux-aarch64"]
    report = runner.invoke(main, ["report", "--root", str(caramba), "--target", "agent", "--json", *two])
    data = json.loads(report.stdout)
    assert [r["platform"] for r in data["reports"]] == ["linux-x86_64", "linux-aarch64"]
    sizes = [r["rows"][-1]["target"] for r in data["reports"]]
    assert sizes[0] != sizes[1]  # each platform's own wheels
    plan = runner.invoke(main, ["plan", "--root", str(caramba), "--json", "--target", "agent", "--target", "trainer",
                                *two])  # fmt: skip
    assert plan.exit_code == 0, plan.output
    monkeypatch.chdir(caramba)
    fleet = runner.invoke(main, ["dockerfile", "--all", "-o", "fleet", *two])
    assert fleet.exit_code == 0, fleet.output
    assert "#   python: 3.12, platform: linux-x86_64, linux-aarch64" in (caramba / "fleet" / "base.txt").read_text()


def test_the_platforms_users_build_for_have_their_markers_and_wheel_tags():
    from depmin.lock.wheels import platform_tags

    alpine = platform_tags(Target((3, 12), PLATFORMS["linux-musl-x86_64"]))
    assert any(str(t).endswith("musllinux_1_2_x86_64") for t in alpine)
    assert not any("manylinux" in str(t) for t in alpine)  # glibc wheels do not run on Alpine
    assert any(str(t).endswith("macosx_14_0_x86_64") for t in platform_tags(Target((3, 12), PLATFORMS["macos-x86_64"])))
    assert any(str(t).endswith("win_arm64") for t in platform_tags(Target((3, 12), PLATFORMS["windows-arm64"])))
    environment = Target((3, 12), PLATFORMS["windows-arm64"]).marker_environment()
    assert Marker('sys_platform == "win32" and platform_machine == "ARM64"').evaluate(environment)


def test_an_alpine_image_uses_its_own_base_and_user_tools(runner, tmp_path):
    result = runner.invoke(main, ["dockerfile", "--root", str(FORKED), "--python", "3.12", "--platform",
                                  "linux-musl-x86_64", "--requirements", "r.txt", "app/"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "FROM python:3.12-alpine AS deps" in result.stdout
    assert "addgroup -S -g 10001 app && adduser -S -D -u 10001 -G app app" in result.stdout


def test_glibc_and_musl_cannot_share_one_requirements_file(runner):
    result = runner.invoke(main, ["closure", "--root", str(FORKED), "--platform", "linux-x86_64", "--platform",
                                  "linux-musl-x86_64", "app/"])  # fmt: skip
    assert result.exit_code == 2 and "[DM001]" in result.stderr
