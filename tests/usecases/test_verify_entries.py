"""verify imports each entry module alone in a fresh interpreter first, as the program starts,
then every module in one interpreter. Projects without dependencies, locked by `uv lock --offline`:
the venv installs nothing, so these need no registry."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from depmin.commands import main

PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


def bare_project(root: Path, files: dict[str, str]) -> Path:
    from uv import find_uv_bin

    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "bare"\nversion = "0.1.0"\nrequires-python = ">={PYTHON}"\ndependencies = []\n'
    )
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(textwrap.dedent(text))
    subprocess.run([find_uv_bin(), "lock", "--offline", "--quiet"], cwd=root, check=True, capture_output=True)
    return root


def verify(root: Path, *entries: str):
    result = CliRunner().invoke(
        main, ["verify", "--root", str(root), "--no-cache", "--json", "--python", PYTHON, "--timeout", "20", *entries]
    )
    assert "Traceback" not in result.output, result.output
    return result.exit_code, {m["module"]: m for m in json.loads(result.stdout)["modules"]}


def test_an_entry_that_fails_alone_fails_even_when_it_imports_after_the_others(tmp_path):
    # In one interpreter app.aaa_setup (reached lazily, imported first in name order) prepares what
    # app.main needs at import time; the program starts at app.main alone, where it is missing.
    root = bare_project(
        tmp_path / "repo",
        {
            "app/__init__.py": "",
            "app/aaa_setup.py": "import builtins\nbuiltins.APP_READY = True\n",
            "app/main.py": """
                import builtins
                READY = builtins.APP_READY

                def later():
                    import app.aaa_setup
            """,
        },
    )
    code, modules = verify(root, "app.main")
    assert code == 1
    main_outcome = modules["app.main"]
    assert (main_outcome["ok"], main_outcome["entry"], main_outcome["phase"]) == (False, True, "entry")
    assert main_outcome["kind"] == "error" and main_outcome["expected"] is False
    assert modules["app.aaa_setup"]["ok"] is True and modules["app.aaa_setup"]["entry"] is False


def test_a_failure_only_after_other_modules_were_imported_is_order_dependent(tmp_path):
    # app.main imports app.zzz at start; both import alone. In one interpreter, app.aaa_patch
    # (reached lazily) is imported before them and breaks what app.zzz checks.
    root = bare_project(
        tmp_path / "repo",
        {
            "app/__init__.py": "",
            "app/aaa_patch.py": "import builtins\nbuiltins.APP_PATCHED = True\n",
            "app/zzz.py": "import builtins\nassert not getattr(builtins, 'APP_PATCHED', False), 'patched'\n",
            "app/main.py": """
                import app.zzz

                def later():
                    import app.aaa_patch
            """,
        },
    )
    code, modules = verify(root, "app.main")
    assert code == 0
    for name in ("app.main", "app.zzz"):
        assert (modules[name]["ok"], modules[name]["kind"], modules[name]["expected"]) == (
            False,
            "order_dependent",
            True,
        )
        assert modules[name]["phase"] == "all"
    assert modules["app.main"]["entry"] is True and modules["app.zzz"]["entry"] is False


def test_entries_that_import_alone_and_together_pass(tmp_path):
    root = bare_project(
        tmp_path / "repo",
        {
            "app/__init__.py": "",
            "app/main.py": "import app.util\n",
            "app/util.py": "VALUE = 1\n",
            "app/other.py": "import app.util\n",
        },
    )
    code, modules = verify(root, "app/")
    assert code == 0
    assert all(m["ok"] for m in modules.values())
    # a directory's program starts at its package; its other modules are imported together
    assert {name for name, m in modules.items() if m["entry"]} == {"app"}


def test_a_package_target_starts_few_interpreters_however_many_modules_it_reaches_lazily(tmp_path, monkeypatch):
    # crewai: 509 modules, most reached only lazily; each imported alone took its own interpreter.
    # Now only the package and the console script's module are imported alone.
    lazy = {f"app/plugins/p{i:02}.py": f"VALUE = {i}\n" for i in range(12)}
    root = bare_project(
        tmp_path / "repo",
        {
            "app/__init__.py": "def load(name):\n    import importlib\n    return importlib.import_module(name)\n",
            "app/plugins/__init__.py": "",
            "app/cli.py": "def main():\n    from app.plugins import p00\n",
            **lazy,
        },
    )
    with (root / "pyproject.toml").open("a") as handle:
        handle.write('\n[project.scripts]\napp = "app.cli:main"\n')
    subprocess.run([find_uv(), "lock", "--offline", "--quiet"], cwd=root, check=True, capture_output=True)
    from depmin.usecases import run_imports

    launched: list[list[str]] = []
    real_launch = run_imports.launch

    def counting_launch(venv, tree, command, environment, **popen):
        launched.append(command)
        return real_launch(venv, tree, command, environment, **popen)

    monkeypatch.setattr(run_imports, "launch", counting_launch)
    code, modules = verify(root, "app/")
    # app.cli alone (which imports its parent app), then every module in one interpreter
    assert len(launched) == 2
    assert code == 0 and all(m["ok"] for m in modules.values())
    assert {f"app.plugins.p{i:02}" for i in range(12)} <= set(modules)
    assert {name for name, m in modules.items() if m["entry"]} == {"app", "app.cli"}


def find_uv() -> str:
    from uv import find_uv_bin

    return find_uv_bin()
