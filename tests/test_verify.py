"""verify: real installs from PyPI through uv into a throwaway tree (fixtures/smallsvc)."""

from __future__ import annotations

import json
import re
import shutil
import sys

import pytest

from depmin.cli import main

from .helpers import FIXTURES


@pytest.fixture
def smallsvc(tmp_path):
    copy = tmp_path / "smallsvc"
    shutil.copytree(FIXTURES / "smallsvc", copy, ignore=shutil.ignore_patterns(".depmin_cache"))
    return copy


def snapshot(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and ".depmin_cache" not in p.parts}


def test_verify_passes_and_changes_nothing_in_the_repository(runner, smallsvc):
    before = snapshot(smallsvc)
    result = runner.invoke(main, ["verify", "--root", str(smallsvc), "--target", "svc", "--json", "--no-cache"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert [m["module"] for m in data["modules"]] == ["svc", "svc.main", "svc.schedule", "svc.settings"]
    assert all(m["ok"] for m in data["modules"])
    closure = json.loads(runner.invoke(main, ["closure", "--root", str(smallsvc), "--target", "svc", "--json"]).stdout)
    assert data["installed"] == sorted(p["name"] for p in closure["pinned"])  # exactly the pins, --no-deps
    assert {"pyyaml", "attrs", "rich", "python-dateutil"} <= set(data["installed"])
    assert "idna" not in data["installed"]  # locked, but nothing imports it
    assert snapshot(smallsvc) == before


def test_verify_catches_a_computed_import_of_an_unlocked_distribution(runner, smallsvc):
    (smallsvc / "svc" / "plugins.py").write_text('import importlib\n\naccelerated = importlib.import_module("num" + "py")\n')
    result = runner.invoke(main, ["verify", "--root", str(smallsvc), "--target", "svc", "--no-cache"])
    assert result.exit_code == 1
    assert "svc.plugins: ModuleNotFoundError: No module named 'numpy'" in result.stdout
    assert "no installed distribution provides 'numpy'" in result.stdout
    assert "FAILED: 4/5 modules import" in result.stdout


def test_verify_catches_a_missing_data_path(runner, smallsvc):
    pyproject = smallsvc / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('data = ["settings/"]\n', ""))
    (smallsvc / "svc" / "boot.py").write_text("from svc.settings import load\n\nSETTINGS = load()\n")
    result = runner.invoke(main, ["verify", "--root", str(smallsvc), "--target", "svc", "--no-cache"])
    assert result.exit_code == 1
    assert "svc.boot: FileNotFoundError:" in result.stdout
    assert "a data file is missing" in result.stdout


def test_the_users_environment_is_not_importable_from_the_tree(runner, smallsvc):
    # click is installed where depmin runs, but not locked for smallsvc: the check must not see it.
    (smallsvc / "svc" / "sneaky.py").write_text('import importlib\n\nimportlib.import_module("cli" + "ck")\n')
    assert "click" in sys.modules
    result = runner.invoke(main, ["verify", "--root", str(smallsvc), "--target", "svc", "--no-cache"])
    assert result.exit_code == 1
    assert "svc.sneaky: ModuleNotFoundError: No module named 'click'" in result.stdout


def test_hashes_from_the_lock_are_honoured(runner, smallsvc):
    pyproject = smallsvc / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('copy-list = "requirements/svc.copy"\n', 'copy-list = "requirements/svc.copy"\nhashes = true\n'))
    passed = runner.invoke(main, ["verify", "--root", str(smallsvc), "--target", "svc", "--no-cache"])
    assert passed.exit_code == 0, passed.output
    lock = smallsvc / "uv.lock"
    text = lock.read_text()
    start = text.index('name = "pyyaml"')
    end = text.index("[[package]]", start)

    def flip(match):  # same length, one digit off: only a real hash check notices
        digest = match.group(1)
        return f"sha256:{'1' if digest[0] == '0' else '0'}{digest[1:]}"

    lock.write_text(text[:start] + re.sub(r"sha256:([0-9a-f]{64})", flip, text[start:end]) + text[end:])
    failed = runner.invoke(main, ["verify", "--root", str(smallsvc), "--target", "svc", "--no-cache"])
    assert failed.exit_code == 2
    message = failed.stderr.strip().splitlines()[-1]
    assert message.startswith("depmin: error: `pip install` failed:") and "hash mismatch" in message.lower()
