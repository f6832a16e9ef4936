"""What the analysis decides across files: constants of first-party modules, __main__ blocks,
star imports, excludes, and that why / audit never answer on an incomplete graph."""

from __future__ import annotations

import json

from depmin.commands import main
from depmin.imports.copy_plan import planned_files
from depmin.outputs.dockerfile import dockerignore_text
from depmin.project.module_index import DEFAULT_EXCLUDES

from ..helpers import CARAMBA_LOCK, run_analysis, write_tree


def pinned(analysis) -> set[str]:
    return {pin.name for pin in analysis.closure.pinned}


def test_a_constant_of_a_first_party_compat_module_decides_the_branch(tmp_path):
    write_tree(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/compat.py": "import sys\nWIN = sys.platform == 'win32'\nPY2 = sys.version_info[0] == 2\n",
            "svc/main.py": """
                from .compat import WIN
                from . import compat
                if WIN:
                    import colorama
                if compat.PY2:
                    import six
                else:
                    import yaml
            """,
        },
    )
    linux = run_analysis(tmp_path, "svc.main")
    assert not linux.closure.errors
    assert {"pyyaml"} <= pinned(linux) and not {"colorama", "six"} & pinned(linux)
    windows = run_analysis(tmp_path, "svc.main", platform="windows-x86_64")
    assert "colorama" in pinned(windows)


def test_an_undecidable_constant_elsewhere_keeps_both_branches(tmp_path):
    write_tree(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/compat.py": "import os\nWIN = os.environ.get('FORCE_WIN')\n",
            "svc/main.py": "from svc.compat import WIN\nif WIN:\n    import colorama\nelse:\n    import yaml\n",
        },
    )
    assert {"colorama", "pyyaml"} <= pinned(run_analysis(tmp_path, "svc/"))


def test_a_main_block_runs_only_for_the_entry(tmp_path):
    write_tree(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/tool.py": "import yaml\nif __name__ == '__main__':\n    import rich\nelse:\n    import six\n",
            "svc/app.py": "from svc import tool\n",
        },
    )
    imported = run_analysis(tmp_path, "svc.app")
    assert "rich" not in pinned(imported) and {"pyyaml", "six"} <= pinned(imported)
    run = run_analysis(tmp_path, "svc.tool")  # `python -m svc.tool` may run either branch
    assert {"rich", "six", "pyyaml"} <= pinned(run)


def test_star_import_follows_the_submodules_all_names(tmp_path):
    write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "__all__ = ['loaders', 'helper_name']\n__all__ += ['writers']\n",
            "pkg/loaders.py": "from .deep import *\n",
            "pkg/deep/__init__.py": "__all__ = ('yamlish',)\n",
            "pkg/deep/yamlish.py": "import yaml\n",
            "pkg/writers.py": "import rich\n",
            "pkg/unused.py": "import torch\n",
            "app.py": "from pkg import *\n",
        },
    )
    analysis = run_analysis(tmp_path, "app")
    assert {"pkg.loaders", "pkg.writers", "pkg.deep.yamlish"} <= set(analysis.closure.modules)
    assert "pkg.unused" not in analysis.closure.modules
    assert {"pyyaml", "rich"} <= pinned(analysis) and "torch" not in pinned(analysis)


def test_a_reached_module_that_looks_like_a_test_is_kept_everywhere(tmp_path):
    write_tree(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/main.py": "from svc import ab_test\nfrom tests import fixtures_runtime\n",
            "svc/ab_test.py": "import yaml\n",
            "tests/__init__.py": "",
            "tests/fixtures_runtime.py": "",
            "tests/test_main.py": "import torch\n",
        },
    )
    closure = run_analysis(tmp_path, "svc/").closure
    assert not closure.errors
    assert {"svc/ab_test.py", "tests/fixtures_runtime.py"} <= set(closure.files)
    assert "svc.ab_test" in closure.modules and "pyyaml" in {p.name for p in closure.pinned}
    copied = {destination for _, destination in planned_files(tmp_path, closure, DEFAULT_EXCLUDES)}
    assert {"svc/ab_test.py", "tests/fixtures_runtime.py"} <= copied and "tests/test_main.py" not in copied
    ignore = dockerignore_text(closure, "requirements.txt", DEFAULT_EXCLUDES).splitlines()
    assert ignore.index("!svc/ab_test.py") > ignore.index("**/*_test.py")  # last match wins


def test_why_and_audit_exit_2_on_an_incomplete_graph(runner, tmp_path):
    write_tree(
        tmp_path,
        {
            "main.py": "import helper\n",
            "helper.py": "import six\ndef broken(:\n",
        },
    )
    (tmp_path / "uv.lock").write_bytes(CARAMBA_LOCK.read_bytes())
    why = runner.invoke(main, ["why", "six", "--root", str(tmp_path), "main"])
    assert why.exit_code == 2
    assert "not reachable" not in why.output and "helper.py:2" in why.output
    audit = runner.invoke(main, ["audit", "--forbid", "six", "--root", str(tmp_path), "main"])
    assert audit.exit_code == 2 and " ok" not in audit.output and "helper.py:2" in audit.output
    as_json = runner.invoke(main, ["audit", "--json", "--forbid", "six", "--root", str(tmp_path), "main"])
    data = json.loads(as_json.stdout)
    assert as_json.exit_code == 2 and data["ok"] is False and data["errors"][0]["line"] == 2
