"""The pins as a PEP 751 lock (pylock.toml): packaging's own PEP 751 reader is the judge of
what it installs, and `uv export --format pylock.toml` of the same uv.lock of what it records."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib

import pytest
from packaging.pylock import Pylock
from packaging.tags import Tag

from depmin.commands import main
from depmin.files.safety import is_pylock_name
from depmin.model import PLATFORMS, Target

from ..helpers import CARAMBA, FIXTURES

# Tags of each platform's interpreter, enough for the fixtures' wheels to be chosen as an installer would.
_TAGS = {
    "linux-x86_64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64"],
    "macos-arm64": ["macosx_14_0_arm64", "macosx_11_0_arm64", "macosx_12_0_universal2", "macosx_10_9_universal2"],
}


def _tags(platform: str, python: str) -> list[Tag]:
    version = python.replace(".", "")
    found = []
    for name in _TAGS[platform]:
        found += [Tag(f"cp{version}", f"cp{version}", name), Tag(f"cp{version}", "abi3", name)]
    for name in _TAGS[platform]:
        found += [Tag(f"py{version[0]}", "none", name), Tag(f"cp{version}", "none", name)]
    return [*found, Tag(f"py{version[0]}", "none", "any"), Tag("py2.py3", "none", "any")]


def _selected(path, platform: str, python: str) -> set[tuple[str, str]]:
    lock = Pylock.from_dict(tomllib.loads(path.read_text()))  # validates PEP 751
    environment = Target(tuple(int(p) for p in python.split(".")), PLATFORMS[platform]).marker_environment()
    return {(package.name, str(package.version)) for package, _ in lock.select(environment=environment,
                                                                               tags=_tags(platform, python))}  # fmt: skip


def _pins(runner, *arguments: str) -> set[tuple[str, str]]:
    result = runner.invoke(main, ["closure", "--json", *arguments])
    assert result.exit_code == 0, result.output
    return {(p["name"], p["version"]) for p in json.loads(result.stdout)["pinned"]}


@pytest.mark.parametrize(
    ("arguments", "python"),
    [
        (("--root", str(CARAMBA), "--target", "agent"), "3.12"),
        (("--root", str(FIXTURES / "smallsvc"), "--target", "svc"), "3.11"),
        (("--root", str(FIXTURES / "forked"), "app/", "--python", "3.13"), "3.13"),
    ],
)
def test_a_pylock_output_installs_exactly_the_pins(runner, tmp_path, arguments, python):
    output = tmp_path / "pylock.agent.toml"
    result = runner.invoke(main, ["closure", *arguments, "-o", str(output), "-q"])
    assert result.exit_code == 0, result.output
    assert _selected(output, "linux-x86_64", python) == _pins(runner, *arguments)


def test_one_pylock_for_several_platforms_installs_each_ones_pins(runner, tmp_path):
    base = ("--root", str(CARAMBA), "--target", "agent")
    output = tmp_path / "pylock.toml"
    result = runner.invoke(main, ["closure", *base, "--platform", "linux-x86_64", "--platform", "macos-arm64",
                                  "-o", str(output), "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    for platform in ("linux-x86_64", "macos-arm64"):
        assert _selected(output, platform, "3.12") == _pins(runner, *base, "--platform", platform)


def test_the_artifacts_are_those_uv_exports_for_the_same_lock(runner, tmp_path):
    output = tmp_path / "pylock.toml"
    assert (
        runner.invoke(main, ["closure", "--root", str(CARAMBA), "--target", "agent", "-o", str(output)]).exit_code == 0
    )
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    exported = subprocess.run(
        [shutil.which("uv") or "uv", "export", "--frozen", "--format", "pylock.toml", "--all-extras",
         "--all-packages", "--no-emit-project"],
        cwd=CARAMBA, capture_output=True, text=True, env=environment, check=True,
    )  # fmt: skip

    def artifacts(document: dict) -> dict[tuple[str, str], set[tuple[str, str]]]:
        found = {}
        for package in document["packages"]:
            files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
            found[(package["name"], package.get("version"))] = {(f["url"], f["hashes"]["sha256"]) for f in files}
        return found

    ours, uvs = artifacts(tomllib.loads(output.read_text())), artifacts(tomllib.loads(exported.stdout))
    assert ours and all(uvs[key] == files for key, files in ours.items())


def test_a_target_may_keep_its_pins_as_a_pylock(runner, tmp_path):
    root = tmp_path / "svc"
    shutil.copytree(FIXTURES / "smallsvc", root)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("requirements/svc.txt", "requirements/pylock.svc.toml"))
    assert runner.invoke(main, ["check", "--root", str(root)]).exit_code == 1  # not written yet
    assert runner.invoke(main, ["sync", "--root", str(root)]).exit_code == 0
    assert runner.invoke(main, ["check", "--root", str(root)]).exit_code == 0
    assert _selected(root / "requirements" / "pylock.svc.toml", "linux-x86_64", "3.11") == _pins(
        runner, "--root", str(root), "--target", "svc"
    )


@pytest.mark.parametrize(
    ("name", "pylock"),
    [("pylock.toml", True), ("pylock.agent.toml", True), ("pylock.a-b_1.toml", True), ("requirements.txt", False),
     ("pylock..toml", False), ("pylock.a.b.toml", False), ("my-pylock.toml", False), ("pylock.toml.txt", False)],
)  # fmt: skip
def test_only_pep_751_names_are_pylock_files(name, pylock):
    assert is_pylock_name(name) is pylock


@pytest.mark.slow
def test_uv_pip_installs_exactly_the_pins_from_a_pylock(runner, tmp_path):
    from depmin.usecases.build_env import find_interpreter

    output = tmp_path / "pylock.toml"
    arguments = ("--root", str(FIXTURES / "smallsvc"), "--target", "svc")
    assert runner.invoke(main, ["closure", *arguments, "-o", str(output)]).exit_code == 0
    uv, venv = shutil.which("uv") or "uv", tmp_path / "venv"
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([uv, "venv", "-q", str(venv), "--python", find_interpreter("3.11")], check=True, env=environment)
    subprocess.run([uv, "pip", "sync", "-q", "--python", str(venv / "bin" / "python"), str(output)], check=True,
                   env=environment, timeout=600)  # fmt: skip
    listed = subprocess.run([uv, "pip", "list", "--format", "json", "--python", str(venv / "bin" / "python")],
                            capture_output=True, text=True, check=True, env=environment)  # fmt: skip
    assert {(p["name"].lower(), p["version"]) for p in json.loads(listed.stdout)} == _pins(runner, *arguments)
