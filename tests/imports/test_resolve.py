"""Import name → distribution, and uv.lock forks, extras and markers."""

from __future__ import annotations

import json

from depmin.commands import main
from depmin.imports.distributions import DistributionFinder, known_modules, name_facts
from depmin.imports.resolve import Category, Resolver, absolute_name
from depmin.project.module_index import ModuleIndex

from ..helpers import FIXTURES


def finder(*locked: str, overrides=None, facts=None) -> DistributionFinder:
    """A finder over `locked`; `facts` gives some of them file lists (the rest answer by the table)."""
    table = {name: (names, ()) for name, names in (facts or {}).items()}
    return DistributionFinder(frozenset(locked), overrides or {}, lambda: name_facts(table, locked), known_modules())


def test_known_table_is_large_and_normalised():
    table = known_modules()
    assert len(table) >= 100
    assert table["yaml"] == ("pyyaml",) and table["PIL"][0] == "pillow" and table["sklearn"] == ("scikit-learn",)


def test_longest_dotted_prefix_wins_among_namespace_packages():
    found = finder("google-cloud-storage", "protobuf", "azure-storage-blob", "azure-core", "google-api-core")
    assert found.find("google.cloud.storage.blob")[0] == ("google-cloud-storage",)
    assert found.find("google.protobuf.json_format")[0] == ("protobuf",)
    assert found.find("azure.storage.blob")[0] == ("azure-storage-blob",)
    assert found.find("google.api_core.exceptions")[0] == ("google-api-core",)
    assert found.find("google.nothing")[0] == ()


def test_the_lock_decides_between_providers_and_reports_ambiguity():
    assert finder("opencv-python-headless").find("cv2")[0] == ("opencv-python-headless",)
    assert finder("opencv-python", "opencv-python-headless").find("cv2")[0] == (
        "opencv-python",
        "opencv-python-headless",
    )
    assert finder("attrs").find("attr")[0] == ("attrs",)
    assert finder("attr", "attrs").find("attr")[0] == ("attr", "attrs")
    index = ModuleIndex(roots=(), modules={}, namespaces={}, names_by_path={})
    resolver = Resolver(index, finder("opencv-python", "opencv-python-headless"), (3, 12))
    assert resolver.resolve("cv2").category is Category.AMBIGUOUS


def test_order_overrides_then_file_lists_then_table_then_name():
    locked = ("orjson", "pyyaml", "ruamel-yaml")
    facts = {"orjson": ["fastjson", "fastjson.core"]}
    assert finder(*locked, facts=facts).find("fastjson.core") == (("orjson",), "the locked artifacts")
    assert finder(*locked, overrides={"yaml": ("ruamel-yaml",)}).find("yaml") == (("ruamel-yaml",), "module-map")
    assert finder(*locked).find("yaml") == (("pyyaml",), "known module names")
    assert finder(*locked).find("orjson") == (("orjson",), "distribution name")
    assert finder(*locked, facts={"orjson": ["orjson"], "pyyaml": ["yaml"], "ruamel-yaml": ["ruamel"]}).find(
        "fastjson"
    ) == ((), "")


def test_relative_names_as_importlib_computes_them():
    assert absolute_name("a.b.c", False, 1, "x") == "a.b.x"
    assert absolute_name("a.b", True, 1, "x") == "a.b.x"
    assert absolute_name("a.b.c", False, 2, "") == "a"
    assert absolute_name("a.b.c", False, 1, "x", "__name__") == "a.b.c.x"
    assert absolute_name("m", False, 1, "x", "pkg.sub") == "pkg.sub.x"


def test_the_lock_forks_by_python_version_and_platform(runner):
    def pins(*args):
        result = runner.invoke(
            main, ["closure", "--root", str(FIXTURES / "forked"), "--no-cache", "--json", *args, "app/"]
        )
        assert result.exit_code == 0, result.output
        return {p["name"]: p["version"] for p in json.loads(result.stdout)["pinned"]}

    assert pins() == {"numpy": "2.0.2", "pyyaml": "6.0.4"}  # default: the lowest Python the lock allows, 3.10
    assert pins("--python", "3.11")["numpy"] == "2.4.6"
    assert pins("--python", "3.13")["numpy"] == "2.5.5"
    assert "colorama" not in pins("--include-optional")
    assert pins("--include-optional", "--platform", "windows-x86_64")["colorama"] == "0.4.6"
