"""--lock pylock.toml: a PEP 751 lock as the lock source. The pylocks are what `uv export
--format pylock.toml` writes for the fixtures (no dependency graph: each package's Requires-Dist
comes from its artifact, recorded offline for the quick loop), and the answer is the uv.lock's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib

import pytest

from depmin.commands import main

from ..helpers import FIXTURES, only_diagnostic

UV = shutil.which("uv") or "uv"


def _exported(fixture: str, tmp_path, *flags: str):
    """A copy of the fixture with the pylock uv exports for it (every extra; `flags`, else --no-dev)."""
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root, ignore=shutil.ignore_patterns(".venv", ".depmin_cache"))
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_OFFLINE": "1"}
    subprocess.run([UV, "export", "--frozen", "--all-extras", "--format", "pylock.toml", "-q", "-o", "pylock.toml",
                    *(flags or ("--no-dev",))], cwd=root, env=environment, check=True, capture_output=True)  # fmt: skip
    return root


def _answer(runner, root, *arguments: str) -> tuple[list, list, list]:
    result = runner.invoke(main, ["closure", "--root", str(root), "--json", *arguments])
    data = json.loads(result.stdout)
    assert result.exit_code == 0, data["errors"]
    pins = sorted((p["name"], p["version"], p.get("marker")) for p in data["pinned"])
    direct = sorted((r["name"], tuple(r["extras"])) for r in data["direct"])
    return pins, direct, sorted({w["code"] for w in data["warnings"]})


@pytest.mark.parametrize(
    ("fixture", "arguments"),
    [
        ("caramba", ("--target", "agent")),
        ("caramba", ("--target", "trainer", "--platform", "linux-x86_64", "--platform", "macos-arm64")),
        ("smallsvc", ("--target", "svc")),
        ("extras", ("app/", "--extra", "fast")),
        ("forked", ("app/", "--python", "3.13")),
        ("forked", ("app/", "--python", "3.11", "--platform", "windows-x86_64")),
    ],
)
def test_a_pylock_gives_the_same_answer_as_the_uv_lock_it_was_exported_from(runner, tmp_path, fixture, arguments):
    # with the dependency groups, so that an import of one is known for what it is (DM112)
    root = _exported(fixture, tmp_path, "--all-groups")
    assert _answer(runner, root, "--lock", str(root / "pylock.toml"), *arguments) == _answer(runner, root, *arguments)


def test_the_graph_a_pylock_records_is_used_without_reading_any_artifact(runner, tmp_path, monkeypatch):
    """Where `packages.dependencies` is recorded (PEP 751 allows it), nothing needs reading: an
    empty cache offline still answers, as uv.lock's own graph says."""
    root = _exported("smallsvc", tmp_path)
    document = tomllib.loads((root / "pylock.toml").read_text())
    locked = tomllib.loads((root / "uv.lock").read_text())
    graph = {p["name"]: [d["name"] for d in p.get("dependencies", [])] for p in locked["package"]}
    lines = []
    for package in document["packages"]:
        lines += ["[[packages]]", f'name = "{package["name"]}"']
        if "directory" in package:
            lines.append(f'directory = {{ path = "{package["directory"]["path"]}" }}')
            continue
        lines.append(f'version = "{package["version"]}"')
        lines.append("dependencies = [" + ", ".join(f'{{ name = "{n}" }}' for n in graph[package["name"]]) + "]")
        wheel = package["wheels"][0]
        lines.append(f'wheels = [{{ url = "{wheel["url"]}", hashes = {{ sha256 = "{wheel["hashes"]["sha256"]}" }} }}]')
    (root / "pylock.toml").write_text('lock-version = "1.0"\nrequires-python = ">=3.11"\n' + "\n".join(lines) + "\n")
    monkeypatch.setenv("DEPMIN_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
    pins, _, _ = _answer(runner, root, "--lock", str(root / "pylock.toml"), "--target", "svc", "--offline")
    assert pins == _answer(runner, FIXTURES / "smallsvc", "--target", "svc")[0]


def test_offline_with_nothing_cached_is_an_error_at_the_package(runner, tmp_path, monkeypatch):
    root = _exported("smallsvc", tmp_path)
    monkeypatch.setenv("DEPMIN_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
    result = runner.invoke(main, ["closure", "--root", str(root), "--lock", str(root / "pylock.toml"), "--target",
                                  "svc", "--offline"])  # fmt: skip
    assert result.exit_code == 2
    place, severity, code, _ = only_diagnostic(result.stderr.strip().splitlines()[0])
    first = next(
        n for n, line in enumerate((root / "pylock.toml").read_text().splitlines(), 1) if line == "[[packages]]"
    )
    assert (place.rpartition(":")[2], severity, code) == (str(first), "error", "DM003")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('lock-version = "2.0"\n', 1),
        ('lock-version = "1.0"\n[[packages]]\nname = "x y"\nversion = "1"\n', 2),
        ('lock-version = "1.0"\n[[packages]]\nname = "x"\nversion = "not a version"\n', 2),
        ('lock-version = "1.0"\n[[packages]\n', 2),
    ],
)
def test_a_malformed_pylock_is_one_error_at_its_line(runner, tmp_path, text, line):
    shutil.copytree(FIXTURES / "smallsvc", tmp_path / "svc")
    (tmp_path / "svc" / "pylock.toml").write_text(text)
    result = runner.invoke(main, ["closure", "--root", str(tmp_path / "svc"), "--lock",
                                  str(tmp_path / "svc" / "pylock.toml"), "--target", "svc"])  # fmt: skip
    assert result.exit_code == 2 and "Traceback" not in result.output
    place, severity, code, _ = only_diagnostic(result.stderr.strip())
    assert (place, severity, code) == (f"pylock.toml:{line}", "error", "DM003")


def test_a_pep_751_lock_under_another_name_is_refused_with_the_names_it_must_have(runner, tmp_path):
    root = _exported("smallsvc", tmp_path)
    (root / "pylock.toml").rename(root / "locked.toml")
    result = runner.invoke(main, ["closure", "--root", str(root), "--lock", str(root / "locked.toml"), "svc/"])
    assert result.exit_code == 2
    assert only_diagnostic(result.stderr.strip())[:3] == ("locked.toml", "error", "DM003")
