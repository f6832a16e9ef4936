"""The importer verify runs in the throwaway tree, against a venv made here from this interpreter
(stdlib only: no registry, so these tests are quick)."""

from __future__ import annotations

import venv
from pathlib import Path

import pytest

from depmin.usecases.run_imports import import_modules

from ..helpers import write_tree


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with nothing installed: what the runner needs of one is its interpreter."""
    directory = tmp_path_factory.mktemp("venv") / ".venv"
    venv.create(directory, with_pip=False, symlinks=True)
    return directory


def run(venv_path: Path, tree: Path, modules: list[str], **options) -> dict[str, dict]:
    results = import_modules(venv_path, tree, ["."], modules, lambda _result: None, timeout=30, **options)
    return {r["module"]: r for r in results}


def test_a_failed_import_leaves_what_it_imported_successfully(bare_venv, tmp_path):
    # `a` imports the package `p`, then fails. Python drops `a` itself from sys.modules; `p` was
    # imported whole and stays, as it would in the real process: importing it again (a numpy, a
    # package __init__ with side effects) would make every later module fail for nothing.
    tree = write_tree(
        tmp_path / "tree",
        {
            "p/__init__.py": "import sys\nsys.p_runs = getattr(sys, 'p_runs', 0) + 1\n",
            "a.py": "import p\nraise RuntimeError('a fails after importing p')\n",
            "b.py": "import sys\nimport p\nassert sys.p_runs == 1, f'p ran {sys.p_runs} times'\n",
        },
    )
    results = run(bare_venv, tree, ["a", "b"])
    assert results["a"]["ok"] is False and results["a"]["type"] == "RuntimeError"
    assert results["b"]["ok"] is True, results["b"]


def test_the_failed_module_itself_still_fails_again_for_the_next_importer(bare_venv, tmp_path):
    tree = write_tree(
        tmp_path / "tree",
        {
            "broken.py": "raise ValueError('broken on purpose')\n",
            "user.py": "import broken\n",
        },
    )
    results = run(bare_venv, tree, ["broken", "user"])
    assert (results["broken"]["ok"], results["user"]["ok"]) == (False, False)
    assert results["user"]["type"] == "ValueError"


def test_a_librarys_own_install_hint_names_the_module_that_is_really_missing(bare_venv, tmp_path):
    # pydantic-ai and many others: `except ImportError as e: raise ImportError("pip install x") from e`
    hint = "try:\n    import not_installed_zz\nexcept ImportError as error:\n    raise ImportError('install zz') from error\n"
    tree = write_tree(tmp_path / "tree", {"hinted.py": hint, "plain.py": "raise ImportError('no name at all')\n"})
    results = run(bare_venv, tree, ["hinted", "plain"])
    assert (results["hinted"]["type"], results["hinted"]["missing"]) == ("ImportError", "not_installed_zz")
    assert results["plain"]["missing"] is None
