"""verify: real installs from PyPI through uv into a throwaway tree (fixtures/smallsvc)."""

from __future__ import annotations

import json
import re
import sys

import pytest

from depmin.commands import main

from .test_verify_outcomes import extras_with_a_lazy_feature

pytestmark = [pytest.mark.network]


def snapshot(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".depmin_cache" not in p.parts
    }


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
    (smallsvc / "svc" / "plugins.py").write_text(
        'import importlib\n\naccelerated = importlib.import_module("num" + "py")\n'
    )
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
    pyproject.write_text(
        pyproject.read_text().replace(
            'copy-list = "requirements/svc.copy"\n', 'copy-list = "requirements/svc.copy"\nhashes = true\n'
        )
    )
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


def test_a_blocking_module_times_out_and_the_others_go_on(runner, smallsvc):
    (smallsvc / "svc" / "blocks.py").write_text("import time\ntime.sleep(120)\n")
    (smallsvc / "svc" / "spins.py").write_text("while True:\n    pass\n")
    (smallsvc / "svc" / "dies.py").write_text("import os\nos._exit(3)\n")
    result = runner.invoke(
        main, ["verify", "--root", str(smallsvc), "--json", "--no-cache", "--python", "3.11", "--timeout", "2", "svc/"]
    )
    data = json.loads(result.stdout)
    assert result.exit_code == 1
    by_module = {m["module"]: m for m in data["modules"]}
    assert (
        by_module["svc.blocks"]["kind"] == "timeout"
        and "timed out after 2 s (import blocked)" in by_module["svc.blocks"]["message"]
    )
    assert by_module["svc.spins"]["kind"] == "timeout"
    assert by_module["svc.dies"]["kind"] == "crash"
    assert all(by_module[m]["ok"] for m in ("svc", "svc.main", "svc.schedule", "svc.settings"))


def test_failures_are_classified_from_what_depmin_knows(runner, smallsvc):
    (smallsvc / "svc" / "reads.py").write_text("open('/nonexistent/config.yaml')\n")
    (smallsvc / "svc" / "metadata.py").write_text(
        "from importlib.metadata import version\nversion('not-installed-anywhere')\n"
    )
    (smallsvc / "svc" / "named.py").write_text(
        "import importlib\nimportlib.import_module('left' + 'pad')  # depmin: ignore\n"
    )
    (smallsvc / "svc" / "own.py").write_text("raise ValueError('the module itself')\n")
    result = runner.invoke(
        main, ["verify", "--root", str(smallsvc), "--json", "--no-cache", "--python", "3.11", "svc/"]
    )
    kinds = {m["module"]: m["kind"] for m in json.loads(result.stdout)["modules"] if not m["ok"]}
    assert kinds == {
        "svc.reads": "missing_file",
        "svc.metadata": "missing_metadata",
        "svc.named": "missing_distribution",
        "svc.own": "error",
    }


def test_a_module_whose_optional_feature_is_absent_is_a_note_not_a_failure(runner, tmp_path):
    # app.fast imports orjson, which only the `fast` extra installs, and app.main reaches app.fast
    # only through a lazy import: the analysis lists orjson as an optional feature and pins nothing.
    root = extras_with_a_lazy_feature(tmp_path)
    result = runner.invoke(
        main, ["verify", "--root", str(root), "--json", "--no-cache", "--python", "3.11", "app.main"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by_module = {m["module"]: m for m in data["modules"]}
    assert data["ok"] is True and "orjson" not in data["installed"]
    fast = by_module["app.fast"]
    assert (fast["ok"], fast["expected"], fast["kind"]) == (False, True, "unpinned_feature")
    assert by_module["app.main"]["ok"] is True
    text = runner.invoke(main, ["verify", "--root", str(root), "--no-cache", "--python", "3.11", "app.main"])
    assert text.exit_code == 0 and "note (unpinned_feature): app.fast:" in text.stdout


def test_verify_json_is_one_object_even_when_the_analysis_fails(runner, smallsvc):
    (smallsvc / "svc" / "broken.py").write_text("import os\ndef broken(:\n")
    result = runner.invoke(main, ["verify", "--root", str(smallsvc), "--json", "--no-cache", "svc/"])
    data = json.loads(result.stdout)
    assert result.exit_code == 2 and data["ok"] is False and data["errors"][0]["file"] == "svc/broken.py"


def test_sigterm_leaves_no_temporary_tree(smallsvc, tmp_path):
    import os
    import signal
    import subprocess
    import time

    (smallsvc / "svc" / "blocks.py").write_text("import time\ntime.sleep(120)\n")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "depmin", "verify", "--root", str(smallsvc), "--no-cache", "--python", "3.11", "svc/"],
        env={**os.environ, "TMPDIR": str(temporary)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any((p / ".venv").exists() for p in temporary.iterdir()):
        time.sleep(0.2)
    time.sleep(2)  # inside the imports now, blocked on svc.blocks
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) != 0
    assert list(temporary.iterdir()) == []
