"""Import names without a .venv: uv's cache, the lock's structure, hints that name the fix."""

from __future__ import annotations

import json

from depmin.cli import main
from depmin.resolve import DistributionFinder, cached_modules

from .helpers import CARAMBA_LOCK, run_analysis, write_tree


def fake_uv_cache(directory, wheels: dict[str, list[str]]):
    """uv's layout: archive-v0/<id>/<name>-<version>.dist-info/RECORD beside the unpacked modules."""
    for number, (dist_info, files) in enumerate(wheels.items()):
        info = directory / "archive-v0" / f"entry{number}" / f"{dist_info}.dist-info"
        info.mkdir(parents=True)
        (info / "RECORD").write_text("".join(f"{path},sha256=x,1\n" for path in files))
    return directory


def test_uv_cache_answers_for_locked_versions_only(tmp_path):
    cache = fake_uv_cache(tmp_path / "uv", {
        "six-1.17.0": ["weirdname/__init__.py", "weirdname/deep.py"],
        "idna-0.0.1": ["otherweird/__init__.py"],  # not the locked version: never trusted
    })  # fmt: skip
    found = cached_modules(cache, {"six": frozenset({"1.17.0"}), "idna": frozenset({"3.10"})})
    assert found == {"weirdname": frozenset({"six"}), "weirdname.deep": frozenset({"six"})}


def test_without_a_venv_uv_cache_resolves_a_surprising_name(tmp_path, monkeypatch):
    monkeypatch.setenv("UV_CACHE_DIR", str(fake_uv_cache(tmp_path / "uv", {"six-1.17.0": ["weirdname/__init__.py"]})))
    root = tmp_path / "repo"
    write_tree(root, {"main.py": "import weirdname\n"})
    closure = run_analysis(root, "main.py").closure
    assert not closure.errors and [r.name for r in closure.direct] == ["six"]
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty"))
    assert [e.line for e in run_analysis(root, "main.py").closure.errors] == [1]


def test_a_shim_that_only_depends_on_the_real_distribution_gives_way():
    finder = DistributionFinder(
        locked=frozenset({"bs4", "beautifulsoup4", "soupsieve"}), overrides={}, installed={},
        known={"bs4": ("beautifulsoup4",)}, depends={"bs4": frozenset({"beautifulsoup4"}), "beautifulsoup4": frozenset({"soupsieve"})},
    )  # fmt: skip
    assert finder.find("bs4") == (("beautifulsoup4",), "known module names")


def test_the_hint_names_a_declared_distribution_that_resembles_the_import(runner, tmp_path):
    root = tmp_path / "repo"
    write_tree(root, {"main.py": "import azure_storage\n"})
    (root / "uv.lock").write_bytes(CARAMBA_LOCK.read_bytes())
    result = runner.invoke(main, ["closure", "--root", str(root), "--no-cache", "--json", "main.py"])
    [error] = json.loads(result.stdout)["errors"]
    assert "uv's cache" in error["message"] and "azure-storage-blob" in error["message"]
    assert "uv add" not in error["message"]


def test_dynamic_dependencies_are_no_reason_to_warn(tmp_path):
    root = tmp_path / "repo"
    write_tree(root, {"main.py": "import yaml\n"})
    (root / "pyproject.toml").write_text('[project]\nname = "caramba"\nversion = "0"\ndynamic = ["dependencies"]\n')
    (root / "uv.lock").write_bytes(CARAMBA_LOCK.read_bytes())
    closure = run_analysis(root, "main.py", lock=root / "uv.lock").closure
    assert not [w for w in closure.warnings if "declared in pyproject.toml" in w.message or "no longer declared" in w.message]
