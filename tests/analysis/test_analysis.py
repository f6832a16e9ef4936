"""Each semantic of DESIGN.md on a tiny inline project (locked against fixtures/caramba/uv.lock)."""

from __future__ import annotations

import pytest

from depmin.model import Kind

from ..helpers import run_analysis, write_tree


def names(requirements):
    return [r.name for r in requirements]


def test_parent_packages_run_first_and_their_imports_count(tmp_path):
    write_tree(
        tmp_path,
        {
            "app/__init__.py": "import yaml\n",
            "app/sub/__init__.py": "import rich\n",
            "app/sub/leaf.py": "X = 1\n",
            "main.py": "import app.sub.leaf\n",
        },
    )
    closure = run_analysis(tmp_path, "main.py").closure
    assert closure.modules == ("app", "app.sub", "app.sub.leaf", "main")
    assert names(closure.direct) == ["pyyaml", "rich"]


def test_from_package_import_submodule_resolves_the_submodule(tmp_path):
    write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/x.py": "import httpx\n",
            "pkg/y.py": "import torch\n",
            "main.py": "from pkg import x\n",
        },
    )
    closure = run_analysis(tmp_path, "main").closure
    assert "pkg.x" in closure.modules and "pkg.y" not in closure.modules
    assert names(closure.direct) == ["httpx"]


def test_relative_imports_resolve_against_the_package(tmp_path):
    write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a/__init__.py": "from . import b\nfrom ..c import helper\n",
            "pkg/a/b.py": "from .d import *\n",
            "pkg/a/d.py": "import yaml\n",
            "pkg/c.py": "def helper():\n    pass\n",
        },
    )
    closure = run_analysis(tmp_path, "pkg.a").closure
    assert closure.modules == ("pkg", "pkg.a", "pkg.a.b", "pkg.a.d", "pkg.c")
    assert names(closure.direct) == ["pyyaml"] and closure.ok


def test_relative_import_beyond_top_level_is_an_error_not_a_crash(tmp_path):
    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/m.py": "from ... import nothing\n"})
    closure = run_analysis(tmp_path, "pkg/m.py").closure
    assert [(e.path, e.line) for e in closure.errors] == [("pkg/m.py", 1)]
    assert "beyond the top-level package" in closure.errors[0].message


def test_a_relative_import_a_script_only_type_checks_is_a_warning(tmp_path):
    write_tree(
        tmp_path, {"server.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .app import App\n"}
    )
    closure = run_analysis(tmp_path, "server.py").closure
    assert closure.errors == ()
    assert [(w.path, w.line, w.code) for w in closure.warnings] == [("server.py", 3, "DM103")]


def test_namespace_directories_are_packages_but_never_hide_a_distribution(tmp_path):
    write_tree(
        tmp_path,
        {
            "ns/inner/mod.py": "import yaml\n",  # PEP 420: no __init__.py anywhere
            "yaml/schema.yml": "a: 1\n",  # a data folder named like PyYAML's module
            "main.py": "import ns.inner.mod\n",
        },
    )
    closure = run_analysis(tmp_path, "main.py").closure
    assert closure.modules == ("main", "ns.inner.mod")
    assert names(closure.direct) == ["pyyaml"] and closure.ok


def test_src_layout_and_workspace_member_roots(tmp_path):
    write_tree(
        tmp_path,
        {
            "src/app/__init__.py": "import helpers\n",
            "libs/promptkit/pyproject.toml": '[project]\nname = "promptkit"\nversion = "0"\n',
            "libs/promptkit/src/promptkit/__init__.py": "import jinja2\n",
            "src/helpers.py": "import promptkit\n",
        },
    )
    closure = run_analysis(tmp_path, "app").closure  # the caramba lock declares libs/promptkit a member
    assert closure.files == ("libs/promptkit/src/promptkit/__init__.py", "src/app/__init__.py", "src/helpers.py")
    assert names(closure.direct) == ["jinja2"] and "promptkit" not in [p.name for p in closure.pinned]


def test_type_checking_imports_are_reported_not_required(tmp_path):
    write_tree(
        tmp_path,
        {
            "main.py": """
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    import torch
                    from heavy import Model
                else:
                    import rich
                """,
            "heavy.py": "import transformers\n",
        },
    )
    closure = run_analysis(tmp_path, "main.py").closure
    assert names(closure.direct) == ["rich"]
    assert names(closure.type_only) == ["torch", "transformers"]
    assert "heavy" not in closure.modules and "torch" not in [p.name for p in closure.pinned]


def test_guarded_imports_are_optional_unless_also_unguarded(tmp_path):
    write_tree(
        tmp_path,
        {
            "main.py": """
                import contextlib
                try:
                    import orjson
                except ModuleNotFoundError:
                    orjson = None
                with contextlib.suppress(ImportError):
                    import networkx
                try:
                    import not_locked_anywhere
                except ImportError:
                    pass
                try:
                    import rich
                except ImportError:
                    pass
                """,
            "other.py": "import rich\n",
            "both.py": "import main, other\n",
        },
    )
    closure = run_analysis(tmp_path, "both.py").closure
    assert names(closure.direct) == ["rich"]
    assert names(closure.optional) == ["networkx", "not-locked-anywhere", "orjson"]
    assert [r.version for r in closure.optional][1] is None  # reported, not an error
    assert closure.ok
    pinned = [p.name for p in closure.pinned]
    assert "orjson" not in pinned
    with_optional = run_analysis(tmp_path, "both.py", include_optional=True).closure
    assert "orjson" in [p.name for p in with_optional.pinned]


def test_lazy_imports_are_required_and_shown_as_lazy(tmp_path):
    write_tree(tmp_path, {"main.py": "def f():\n    import httpx\n"})
    closure = run_analysis(tmp_path, "main.py").closure
    assert names(closure.direct) == ["httpx"]
    assert closure.direct[0].via[0].kind is Kind.LAZY


def test_literal_dynamic_imports_are_followed_and_computed_ones_warned(tmp_path):
    write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/main.py": """
                import importlib
                importlib.import_module(".plugin", package="pkg")
                __import__("yaml")
                importlib.import_module("pkg." + input())
                """,
            "pkg/plugin.py": "import rich\n",
            "pkg/other.py": "import torch\n",
        },
    )
    closure = run_analysis(tmp_path, "pkg/main.py").closure
    assert "pkg.plugin" in closure.modules and "pkg.other" not in closure.modules
    assert names(closure.direct) == ["pyyaml", "rich"]
    assert [(w.path, w.line) for w in closure.warnings] == [("pkg/main.py", 4)]


def test_hidden_imports_name_what_only_a_runtime_string_imports(tmp_path):
    write_tree(tmp_path, {"main.py": "import importlib\nimportlib.import_module(name)\n", "plugin.py": "import rich\n"})
    closure = run_analysis(tmp_path, "main.py", hidden_imports=("plugin", "orjson")).closure
    assert "plugin" in closure.modules
    assert names(closure.direct) == ["orjson", "rich"]


def test_version_info_dead_branches_neither_require_nor_error(tmp_path):
    write_tree(
        tmp_path,
        {
            "main.py": """
                import sys
                if sys.version_info >= (3, 11):
                    import tomllib
                else:
                    import tomli
                """,
        },
    )
    assert run_analysis(tmp_path, "main.py", python=(3, 12)).closure.ok
    old = run_analysis(tmp_path, "main.py", python=(3, 10)).closure
    assert [(e.path, e.line) for e in old.errors] == [("main.py", 5)]  # tomli is not in the lock


def test_stdlib_names_are_those_of_the_target_python(tmp_path):
    write_tree(tmp_path, {"main.py": "import tomllib\n"})
    assert run_analysis(tmp_path, "main.py", python=(3, 11)).closure.ok
    old = run_analysis(tmp_path, "main.py", python=(3, 10)).closure
    assert "no distribution in uv.lock provides 'tomllib'" in old.errors[0].message


def test_future_and_star_imports(tmp_path):
    write_tree(
        tmp_path,
        {
            "main.py": "from __future__ import annotations\nfrom helpers import *\n",
            "helpers.py": "from pydantic import *\n",
        },
    )
    closure = run_analysis(tmp_path, "main.py").closure
    assert closure.modules == ("helpers", "main") and names(closure.direct) == ["pydantic"]


def test_first_party_code_outside_the_entries_joins_the_closure(tmp_path):
    write_tree(
        tmp_path,
        {
            "agent/__init__.py": "",
            "agent/run.py": "from shared.text import clean\n",
            "shared/__init__.py": "",
            "shared/text.py": "import re\ndef clean(s):\n    return s\n",
            "shared/tensor.py": "import torch\n",
        },
    )
    closure = run_analysis(tmp_path, "agent/").closure
    assert closure.files == ("agent/__init__.py", "agent/run.py", "shared/__init__.py", "shared/text.py")
    assert [c.source for c in closure.copy] == ["agent/", "shared/__init__.py", "shared/text.py"]


def test_test_files_are_excluded_from_directory_entries(tmp_path):
    write_tree(
        tmp_path,
        {
            "agent/__init__.py": "",
            "agent/core.py": "",
            "agent/test_core.py": "import pytest\n",
            "agent/core_test.py": "import pytest\n",
            "agent/conftest.py": "import pytest\n",
            "agent/tests/__init__.py": "",
            "agent/tests/test_more.py": "import pytest\n",
        },
    )
    closure = run_analysis(tmp_path, "agent/").closure
    assert closure.modules == ("agent", "agent.core") and closure.ok
    assert [c.source for c in closure.copy] == ["agent/"]


def test_an_import_nothing_provides_is_an_error_naming_file_and_line(tmp_path):
    write_tree(tmp_path, {"main.py": "import os\n\nimport nonexistent_dist_xyz.sub\n"})
    closure = run_analysis(tmp_path, "main.py").closure
    assert [(e.path, e.line) for e in closure.errors] == [("main.py", 3)]
    assert "nonexistent_dist_xyz" in closure.errors[0].message and "module-map" in closure.errors[0].message


def test_namespace_prefixes_pick_the_longest_distribution(tmp_path):
    write_tree(
        tmp_path,
        {
            "main.py": """
                from google.cloud import storage
                import google.protobuf.json_format
                from google.adk.agents import LlmAgent
                import azure.storage.blob
                """,
        },
    )
    closure = run_analysis(tmp_path, "main.py").closure
    assert names(closure.direct) == ["azure-storage-blob", "google-adk", "google-cloud-storage", "protobuf"]


def test_module_map_overrides_win(tmp_path):
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\nversion = "0"\n[tool.depmin.module-map]\nfancy_yaml = "ruamel.yaml"\n',
            "main.py": "import fancy_yaml\n",
        },
    )
    closure = run_analysis(tmp_path, "main.py").closure
    assert names(closure.direct) == ["ruamel-yaml"] and closure.ok


def test_bad_entries_are_errors(tmp_path):
    write_tree(tmp_path, {"main.py": ""})
    closure = run_analysis(tmp_path, "missing/", "no.such.module", "main.py").closure
    assert sorted(e.path for e in closure.errors) == ["missing/", "no.such.module"]


@pytest.mark.parametrize(("function", "deep"), [("iter_modules", False), ("walk_packages", True)])
def test_plugin_discovery_brings_in_every_submodule_of_the_package(tmp_path, function, deep):
    loop = f"for info in pkgutil.{function}(__path__):\n    importlib.import_module(f'{{__name__}}.{{info.name}}')\n"
    write_tree(
        tmp_path,
        {
            "main.py": "import plugins\n",
            "plugins/__init__.py": "import importlib, pkgutil\n" + loop,
            "plugins/one.py": "import rich\n",
            "plugins/sub/__init__.py": "",
            "plugins/sub/deep.py": "import httpx\n",
            "other.py": "import torch\n",
        },
    )
    closure = run_analysis(tmp_path, "main.py").closure
    assert {"plugins.one", "plugins.sub"} <= set(closure.modules) and "other" not in closure.modules
    assert ("plugins.sub.deep" in closure.modules) is deep
    assert not closure.warnings


def test_a_namespace_folder_of_scripts_does_not_hide_the_distribution_that_ships_its_module(tmp_path):
    """`mcp/server.py` in a folder of scripts: `from mcp.server.fastmcp import ...` is the mcp
    distribution's (its regular package wins over a namespace directory, as Python imports it)."""
    write_tree(
        tmp_path,
        {
            "scripts/agent.py": "from mcp.server.fastmcp import FastMCP\n",
            "scripts/mcp/server.py": "from mcp.server.fastmcp import FastMCP\n",
        },
    )
    closure = run_analysis(tmp_path, "scripts/agent.py").closure
    assert not closure.errors
    assert "mcp" in names(closure.direct)


def test_a_namespace_package_shared_with_distributions_gives_each_name_its_portion(tmp_path):
    """`from google.cloud import storage, ours`: google.cloud is a namespace that several locked
    distributions and this repository add to; neither name is ambiguous."""
    write_tree(
        tmp_path,
        {
            "main.py": "from google.cloud import ours, storage\n",
            "google/cloud/ours/__init__.py": "import rich\n",
        },
    )
    closure = run_analysis(tmp_path, "main.py").closure
    assert not closure.errors
    assert "google.cloud.ours" in closure.modules
    assert {"google-cloud-storage", "rich"} <= set(names(closure.direct))


def test_a_script_inside_a_members_namespace_package_is_also_that_packages_module(tmp_path):
    """`python examples/pkg/app.py` runs it as `app`; `uvicorn.run("pkg.app:app")` imports it again
    from the workspace member `examples` (pydantic-ai's examples)."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\nversion = "0"\n[tool.depmin]\nsource-roots = ["examples"]\n',
            "examples/pkg/app.py": 'import uvicorn\nimport pkg.helpers\nuvicorn.run("pkg.app:app")\n',
            "examples/pkg/helpers.py": "import rich\n",
        },
    )
    closure = run_analysis(tmp_path, "examples/pkg/app.py").closure
    assert not closure.errors, closure.errors
    assert {"app", "pkg.app", "pkg.helpers"} <= set(closure.modules)
    assert "rich" in names(closure.direct)


@pytest.mark.parametrize(
    ("first", "fallback", "pinned", "optional"),
    [
        ("import rich", "import orjson", "rich", "orjson"),  # both locked: the first choice is needed
        ("import not_locked_anywhere", "import orjson", "orjson", None),  # the fallback is what runs
    ],
)
def test_a_fallback_import_is_needed_only_when_the_first_choice_cannot_be_installed(
    tmp_path, first, fallback, pinned, optional
):
    write_tree(tmp_path, {"main.py": f"try:\n    {first}\nexcept ImportError:\n    {fallback}\n"})
    closure = run_analysis(tmp_path, "main.py").closure
    assert not closure.errors, closure.errors
    assert names(closure.direct) == [pinned]
    assert optional is None or optional in names(closure.optional)


def test_a_relative_first_choice_in_a_package_makes_the_script_style_fallback_optional(tmp_path):
    """openai-agents' examples: `from .my_workflow import x` in a package, `from my_workflow import x`
    when run as a script; in the package the fallback never runs, so it is not an error."""
    source = "try:\n    from .my_workflow import run\nexcept ImportError:\n    from my_workflow import run\n"
    write_tree(tmp_path, {"app/__init__.py": "", "app/main.py": source, "app/my_workflow.py": "run = 1\n"})
    closure = run_analysis(tmp_path, "app/main.py").closure
    assert not closure.errors, closure.errors
    assert "app.my_workflow" in closure.modules
