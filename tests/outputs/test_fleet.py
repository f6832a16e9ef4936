"""dockerfile --all: the base, one Dockerfile per target on it, their requirements and the bake file."""

from __future__ import annotations

import json
import re
import shlex

import pytest
from dockerfile_parse import DockerfileParser
from packaging.requirements import Requirement

from depmin.commands import main

from ..helpers import hadolint


def pins(text: str) -> set[tuple[str, str]]:
    found = set()
    for line in text.splitlines():
        if line and line[0].isalnum():
            requirement = Requirement(line.split(" \\")[0])
            found.add((requirement.name, str(requirement.specifier).removeprefix("==")))
    return found


@pytest.fixture
def fleet(runner, caramba, monkeypatch):
    monkeypatch.chdir(caramba)
    result = runner.invoke(main, ["dockerfile", "--all", "--shared-by", "17", "--command", "python -m ai.entrypoint",
                                  "-o", "docker/fleet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("wrote 61 files in docker/fleet/")
    return caramba / "docker" / "fleet"


def test_every_dockerfile_parses_and_passes_hadolint(fleet, tmp_path):
    dockerfiles = sorted(p for p in fleet.glob("Dockerfile.*") if not p.name.endswith(".dockerignore"))
    assert len(dockerfiles) == 20
    (tmp_path / "parsed").mkdir()
    for path in dockerfiles:
        parser = DockerfileParser(path=str(tmp_path / "parsed"))
        parser.content = path.read_text()
        instructions = [i["instruction"] for i in parser.structure]
        assert "FROM" in instructions, path.name
        hadolint(path.read_text(), tmp_path)
    target = (fleet / "Dockerfile.persona-writer").read_text()
    assert "FROM ${BASE_IMAGE}\n" in target and "ARG BASE_IMAGE=" in target and "USER 10001:10001" in target
    assert "uv pip install" not in target  # the persona stack is all in the base: no delta to install
    assert "uv pip install" in (fleet / "Dockerfile.trainer").read_text()  # torch and friends are its own


def test_base_and_each_delta_install_exactly_the_targets_pins(runner, fleet):
    plan = json.loads(runner.invoke(main, ["plan", "--shared-by", "17", "--json"]).stdout)
    base = pins((fleet / "base.txt").read_text())
    assert base == {(p["name"], p["version"]) for p in plan["base"]["pinned"]}
    for name, target in plan["targets"].items():
        delta = pins((fleet / f"{name}.txt").read_text())
        assert delta == {(p["name"], p["version"]) for p in target["delta"]}, name
        assert base | delta >= {(p["name"], p["version"]) for p in target["pinned"]}, name


def test_the_bake_file_builds_the_base_then_every_target(fleet):
    bake = (fleet / "docker-bake.hcl").read_text()
    declared = re.findall(r'^target "([^"]+)"', bake, re.MULTILINE)
    assert declared[0] == "base" and len(declared) == 20
    group = re.search(r"targets = \[(.*)\]", bake).group(1)
    assert sorted(json.loads(f"[{group}]")) == sorted(declared[1:])
    for name in declared[1:]:
        assert f'dockerfile = "docker/fleet/Dockerfile.{name}"' in bake
    assert bake.count('contexts = { fleet-base = "target:base" }') == 19


def test_each_file_says_how_to_regenerate_it_and_that_command_works(runner, fleet):
    written = {p.name: p.read_text() for p in fleet.iterdir()}
    line = next(line for line in written["Dockerfile.agent"].splitlines() if line.startswith("# Regenerate: "))
    words = shlex.split(line.removeprefix("# Regenerate: "))
    for text in written.values():
        assert line.removeprefix("# Regenerate: ") in text
    for path in fleet.iterdir():
        path.unlink()
    result = runner.invoke(main, words[1:])
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_text() for p in fleet.iterdir()} == written


def test_a_source_root_that_cannot_be_written_is_refused_in_the_fleet_too():
    from depmin.errors import UnsafeOutput
    from depmin.outputs.fleet import FleetSpec, fleet_files
    from depmin.usecases.fleet import FleetPlan, Footprint, TargetPlan

    from ..helpers import bare_closure

    closure = bare_closure(image_path=(".", "my lib"))
    plan = FleetPlan(1, (), (TargetPlan("svc", (), (), (), (), (), 0, 0, 0),), Footprint(0, 0, 0), ())
    spec = FleetSpec(directory="fleet", python_image="python:3.12-slim", uv_version="0.13.9", regenerate="x")
    with pytest.raises(UnsafeOutput):
        fleet_files(plan, {"svc": closure}, spec)
    fine = fleet_files(plan, {"svc": bare_closure()}, spec)
    assert "ENV PYTHONPATH=/app\n" in fine["fleet/Dockerfile.svc"]
