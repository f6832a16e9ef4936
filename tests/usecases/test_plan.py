"""depmin plan: the base, each target's delta, and the footprint, all computed from uv.lock."""

from __future__ import annotations

import functools
import json

import pytest

from depmin.commands import main
from depmin.lock.parse import read_lock
from depmin.model import Pin, Target
from depmin.usecases.size_report import download_size

from ..helpers import CARAMBA, diagnostics


def plan(runner, *args):
    result = runner.invoke(main, ["plan", "--root", str(CARAMBA), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def keys(pins):
    return {(p["name"], p["version"]) for p in pins}


@functools.cache
def caramba_lock():
    return read_lock(CARAMBA / "uv.lock", "uv.lock")


def wheel_bytes(pins) -> int:
    lock = caramba_lock()
    return download_size(lock, [Pin(n, v, None, ("",)) for n, v in sorted(pins)], Target((3, 12)))[0]


@pytest.mark.parametrize("shared_by", [None, 17, 1])
def test_base_and_delta_make_each_closure_and_never_overlap(runner, shared_by):
    data = plan(runner, *(["--shared-by", str(shared_by)] if shared_by else []))
    base = keys(data["base"]["pinned"])
    targets = data["targets"]
    assert len(targets) == 19  # agent, 16 more personas, trainer, infer
    for name, target in targets.items():
        pinned, delta, extra = keys(target["pinned"]), keys(target["delta"]), keys(target["extra"])
        assert base | delta == pinned | extra, name
        assert not base & delta, name
        assert extra == base - pinned, name
    counts = {}
    for target in targets.values():
        for key in keys(target["pinned"]):
            counts[key] = counts.get(key, 0) + 1
    threshold = shared_by or len(targets)
    assert base == {key for key, count in counts.items() if count >= threshold}


def test_the_default_base_gives_no_image_what_it_does_not_need(runner):
    data = plan(runner)
    assert all(not t["extra"] for t in data["targets"].values())
    agent, persona = data["targets"]["agent"], data["targets"]["persona-writer"]
    assert keys(agent["pinned"]) == keys(persona["pinned"])  # one code, another persona's data
    assert persona["data"] == ["config/personas/writer.yaml"]
    assert "torch" in {p["name"] for p in data["targets"]["trainer"]["delta"]}


def test_the_footprint_is_computed_from_the_locks_wheel_sizes(runner):
    data = plan(runner, "--shared-by", "17")
    base = keys(data["base"]["pinned"])
    assert data["base"]["size"] == wheel_bytes(base)
    total_alone = 0
    for target in data["targets"].values():
        assert target["size"] == wheel_bytes(keys(target["pinned"]))
        assert target["pull_size"] == wheel_bytes(keys(target["delta"]))
        assert target["image_size"] == data["base"]["size"] + target["pull_size"]
        total_alone += target["size"]
    footprint = data["footprint"]
    assert footprint["without_base"] == total_alone
    assert footprint["with_base"] == data["base"]["size"] + sum(t["pull_size"] for t in data["targets"].values())
    assert footprint["with_base"] < footprint["without_base"]
    personas = [t for n, t in data["targets"].items() if n == "agent" or n.startswith("persona-")]
    assert len(personas) == 17 and all(t["pull_size"] == 0 for t in personas)  # the seed's 17 images


def test_named_targets_and_bad_shared_by(runner):
    data = plan(runner, "--target", "agent", "--target", "trainer")
    assert sorted(data["targets"]) == ["agent", "trainer"]
    bad = runner.invoke(main, ["plan", "--root", str(CARAMBA), "--shared-by", "3", "--target", "agent"])
    assert bad.exit_code == 2 and diagnostics(bad.stderr)[0][2] == "DM001"
    text = runner.invoke(main, ["plan", "--root", str(CARAMBA)])
    assert "19 images without a base" in text.stdout and "19 images on the shared base" in text.stdout
