"""Import names without a .venv: uv's cache, the lock's structure, hints that name the fix."""

from __future__ import annotations

import json

from depmin.commands import main
from depmin.imports.distributions import DistributionFinder, cached_modules

from ..helpers import CARAMBA_LOCK, run_analysis, write_tree


def fake_uv_cache(directory, wheels: dict[str, list[str]]):
    """uv's layout: archive-v0/<id>/<name>-<version>.dist-info/RECORD beside the unpacked modules."""
    for number, (dist_info, files) in enumerate(wheels.items()):
        info = directory / "archive-v0" / f"entry{number}" / f"{dist_info}.dist-info"
        info.mkdir(parents=True)
        (info / "RECORD").write_text("".join(f"{path},sha256=x,1\n" for path in files))
    return directory


def test_uv_cache_answers_for_locked_versions_only(tmp_path):
    cache = fake_uv_cache(
        tmp_path / "uv",
        {
            "six-1.17.0": ["weirdname/__init__.py", "weirdname/deep.py"],
            "idna-0.0.1": ["otherweird/__init__.py"],  # not the locked version: never trusted
        },
    )
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
        locked=frozenset({"bs4", "beautifulsoup4", "soupsieve"}),
        overrides={},
        installed={},
        known={"bs4": ("beautifulsoup4",)},
        depends={"bs4": frozenset({"beautifulsoup4"}), "beautifulsoup4": frozenset({"soupsieve"})},
    )
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
    assert not [
        w for w in closure.warnings if "declared in pyproject.toml" in w.message or "no longer declared" in w.message
    ]


def test_the_table_generator_on_real_wheels():
    """scripts/build_module_table.py reads a wheel's file list from its zip central directory."""
    import importlib.util
    import zipfile

    from ..helpers import FIXTURES, REPOSITORY

    spec = importlib.util.spec_from_file_location(
        "build_module_table", REPOSITORY / "scripts" / "build_module_table.py"
    )
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)

    def rows(wheel: str, distribution: str):
        data = (FIXTURES / "wheels" / wheel).read_bytes()
        names = generator.zip_names(data[-65536:], lambda start, stop: data[start : stop + 1])
        assert names == zipfile.ZipFile(FIXTURES / "wheels" / wheel).namelist()  # the central directory, read by hand
        return generator.table_rows(distribution, names)

    assert rows("attrs-25.3.0-py3-none-any.whl", "attrs") == [("attr", "attrs")]  # attrs itself matches by name
    assert rows("six-1.17.0-py2.py3-none-any.whl", "six") == []
    assert rows("opentelemetry_semantic_conventions-0.58b0-py3-none-any.whl", "opentelemetry-semantic-conventions") == [
        ("opentelemetry.semconv", "opentelemetry-semantic-conventions")  # a namespace portion: its longest prefix
    ]
    assert rows("loopdist-0.1.0-py3-none-any.whl", "loopdist") == []


def test_the_bundled_table_is_generated_and_knows_the_names_real_repositories_needed():
    from depmin.imports.distributions import known_modules

    from ..helpers import REPOSITORY

    header = (REPOSITORY / "depmin" / "data" / "known-modules.txt").read_text().splitlines()[0]
    assert header.startswith("# Generated by scripts/build_module_table.py from ")
    table = known_modules()
    for module, distribution in [
        ("griffe", "griffelib"),
        ("pythonjsonlogger", "python-json-logger"),
        ("key_value", "py-key-value-aio"),
        ("docket", "pydocket"),
        ("yaml", "pyyaml"),
        ("bs4", "beautifulsoup4"),
    ]:
        assert distribution in table[module], module


def test_an_unlocked_import_names_the_distributions_considered(runner, tmp_path):
    root = tmp_path / "repo"
    write_tree(root, {"main.py": "import griffe\n"})
    (root / "uv.lock").write_bytes(CARAMBA_LOCK.read_bytes())
    result = runner.invoke(main, ["closure", "--root", str(root), "--no-cache", "--json", "main.py"])
    [error] = json.loads(result.stdout)["errors"]
    assert error["file"] == "main.py" and error["line"] == 1
    assert "considered griffelib, none of them locked" in error["message"] and "uv add" in error["message"]


def test_uv_cache_names_are_kept_until_uv_unpacks_another_wheel(tmp_path, monkeypatch):
    from dataclasses import replace

    from depmin.analysis import analyse
    from depmin.cache import ScanCache
    from depmin.project.config import load_project

    from ..helpers import request_for

    uv = fake_uv_cache(tmp_path / "uv", {"six-1.17.0": ["weirdname/__init__.py"]})
    monkeypatch.setenv("UV_CACHE_DIR", str(uv))
    root = write_tree(tmp_path / "repo", {"main.py": "import weirdname\nimport othername\n"})

    def direct() -> list[str]:
        request = replace(request_for(root, "main.py"), cache=ScanCache(root / ".depmin_cache"))
        return [r.name for r in analyse(load_project(root), request).closure.direct]

    assert direct() == ["six"]
    [table] = (root / ".depmin_cache").glob("uv-names-*.marshal")
    built = table.stat().st_mtime_ns
    assert direct() == ["six"] and table.stat().st_mtime_ns == built  # read back, not rebuilt
    info = uv / "archive-v0" / "new-entry" / "idna-3.20.dist-info"  # as `uv sync` adds a wheel
    info.mkdir(parents=True)
    (info / "RECORD").write_text("othername/__init__.py,sha256=x,1\n")
    assert direct() == ["idna", "six"]  # the kept table (and every kept edge) was not trusted
