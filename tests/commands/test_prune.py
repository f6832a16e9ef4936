"""depmin prune: the pruned repository. uv itself is the judge: `uv lock --check` passes in the
tree (the pruned pyproject files and lock agree), `uv export` of the tree gives exactly depmin's
pins for the target, and in the slow tests `uv sync --frozen --no-dev` installs exactly them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from depmin.commands import main
from depmin.lock.parse import parse_lock
from depmin.lock.prune import ProjectCut, pruned_lock_text
from depmin.model import PLATFORMS, Target
from depmin.usecases.build_env import find_interpreter

from ..helpers import CARAMBA, CARAMBA_LOCK, FIXTURES, only_diagnostic, write_tree

UV = shutil.which("uv") or "uv"


def _uv(tree: Path, *args: str, python: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_OFFLINE": "1"}
    environment.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [UV, *args, "--python", find_interpreter(python)],
        cwd=tree, capture_output=True, text=True, env=environment, timeout=600, check=False,
    )  # fmt: skip


def _prune(runner, root: Path, output: Path, *args: str) -> dict:
    result = runner.invoke(main, ["prune", "--root", str(root), "-o", str(output), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _pins(runner, root: Path, *args: str) -> set[tuple[str, str]]:
    result = runner.invoke(main, ["closure", "--root", str(root), "--json", *args])
    assert result.exit_code == 0, result.output
    return {(p["name"], p["version"]) for p in json.loads(result.stdout)["pinned"]}


def _exported(tree: Path, python: str, *extras: str) -> set[tuple[str, str]]:
    """What uv says `uv sync --frozen --no-dev` of the tree installs on Linux x86-64 at `python`:
    its universal export, with each line's marker evaluated for that environment."""
    flags = [f"--extra={extra}" for extra in extras]
    found = _uv(tree, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-workspace", *flags, python=python)
    assert found.returncode == 0, found.stderr
    environment = Target(tuple(int(p) for p in python.split(".")), PLATFORMS["linux-x86_64"]).marker_environment()
    installed = set()
    for line in found.stdout.splitlines():
        if not line.strip() or line.lstrip().startswith(("#", "-")):
            continue
        if line.startswith("./"):  # a wheel the lock takes from the repository
            name, version = Path(line.split(";")[0].strip()).name.split("-")[:2]
            installed.add((canonicalize_name(name), version))
            continue
        requirement = Requirement(line.strip())
        if requirement.marker is None or Marker(str(requirement.marker)).evaluate(environment):
            installed.add((canonicalize_name(requirement.name), str(requirement.specifier).removeprefix("==")))
    return installed


CASES = [
    # (fixture, arguments, Python, the kept projects)
    ("caramba", ("--target", "agent"), "3.12", ["caramba", "promptkit"]),
    ("caramba", ("--target", "trainer"), "3.12", ["caramba"]),  # the workspace member is dropped
    ("caramba", ("--target", "infer"), "3.12", ["caramba"]),
    ("smallsvc", ("--target", "svc"), "3.11", ["smallsvc"]),  # a virtual project
    ("packagedir", ("ai/entrypoint.py",), "3.11", ["caramba"]),  # setuptools package-dir "."
    ("extras", ("app/",), "3.11", ["extras-app"]),
    ("extras", ("app/", "--extra", "fast", "--extra", "dates"), "3.11", ["extras-app"]),
]


@pytest.mark.parametrize(("fixture", "arguments", "python", "projects"), CASES)
def test_uv_accepts_the_pruned_lock_and_would_install_exactly_the_pins(
    runner, tmp_path, fixture, arguments, python, projects
):
    root = FIXTURES / fixture
    summary = _prune(runner, root, tmp_path / "out", *arguments)
    tree = tmp_path / "out"
    pins = _pins(runner, root, *arguments)
    assert summary["projects"] == projects
    assert {(i["name"], i["version"]) for i in summary["installs"]} == pins
    checked = _uv(tree, "lock", "--check", python=python)
    assert checked.returncode == 0, checked.stderr
    extras = [arguments[i + 1] for i, a in enumerate(arguments) if a == "--extra"]
    assert _exported(tree, python, *extras) == pins
    lock = parse_lock((tree / "uv.lock").read_bytes(), "uv.lock")
    assert ("torch" in lock.by_name) == ("torch" in {name for name, _ in pins})


def test_docker_layers_split_manifests_from_code(runner, tmp_path):
    summary = _prune(runner, CARAMBA, tmp_path / "out", "--target", "agent", "--docker")
    manifests = sorted(p.relative_to(tmp_path / "out" / "json").as_posix() for p in (tmp_path / "out" / "json").rglob("*")
                       if p.is_file())  # fmt: skip
    assert manifests == ["libs/promptkit/pyproject.toml", "pyproject.toml", "uv.lock"]
    full = tmp_path / "out" / "full"
    for manifest in manifests:
        assert (full / manifest).read_bytes() == (tmp_path / "out" / "json" / manifest).read_bytes()
    copied = {p.relative_to(full).as_posix() for p in full.rglob("*.py")}
    closure = runner.invoke(main, ["closure", "--root", str(CARAMBA), "--target", "agent", "--json"])
    assert set(json.loads(closure.stdout)["files"]) <= copied
    assert not any(path.startswith(("model/", "trainer/", "cache/")) for path in copied)
    assert f"full/{manifests[1]}" in summary["files"]
    checked = _uv(tmp_path / "out" / "json", "lock", "--check", python="3.12")
    assert checked.returncode == 0, checked.stderr


def test_the_pruned_build_configuration_names_only_what_is_there(runner, tmp_path):
    _prune(runner, CARAMBA, tmp_path / "out", "--target", "agent")
    import tomllib

    pyproject = tomllib.loads((tmp_path / "out" / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert packages and all((tmp_path / "out" / p).is_dir() for p in packages)
    assert "depmin" not in pyproject["tool"]
    assert all(not d.startswith("torch") for d in pyproject["project"]["dependencies"])


def test_a_project_whose_code_is_not_needed_builds_an_empty_wheel(runner, tmp_path):
    root = write_tree(
        tmp_path / "repo",
        {
            "pyproject.toml": """
                [project]
                name = "root-app"
                version = "1.0"
                requires-python = ">=3.11"
                dependencies = ["lib"]

                [tool.uv.sources]
                lib = { workspace = true }

                [tool.uv.workspace]
                members = ["lib"]

                [build-system]
                requires = ["hatchling"]
                build-backend = "hatchling.build"
                """,
            "root_app/__init__.py": "",
            "lib/pyproject.toml": """
                [project]
                name = "lib"
                version = "1.0"
                requires-python = ">=3.11"

                [build-system]
                requires = ["hatchling"]
                build-backend = "hatchling.build"
                """,
            "lib/lib/__init__.py": "",
            "service.py": "import lib\n",
        },
    )
    locked = _uv(root, "lock", "--offline", python="3.11")
    if locked.returncode != 0:
        pytest.skip(f"uv cannot lock offline here: {locked.stderr.strip()[-200:]}")
    summary = _prune(runner, root, tmp_path / "out", "service.py")
    assert summary["projects"] == ["lib", "root-app"]
    import tomllib

    pyproject = tomllib.loads((tmp_path / "out" / "pyproject.toml").read_text())
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"] == {"bypass-selection": True}
    assert not (tmp_path / "out" / "root_app").exists()
    checked = _uv(tmp_path / "out", "lock", "--check", python="3.11")
    assert checked.returncode == 0, checked.stderr


def test_a_version_from_git_is_an_error_at_its_key(runner, tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "smallsvc", root)
    pyproject = (root / "pyproject.toml").read_text()
    pyproject = pyproject.replace('version = "0.1.0"\n', 'dynamic = ["version"]\n')
    pyproject += '\n[build-system]\nrequires = ["hatchling", "hatch-vcs"]\nbuild-backend = "hatchling.build"\n'
    pyproject += '\n[tool.hatch.version]\nsource = "vcs"\n'
    (root / "pyproject.toml").write_text(pyproject)
    result = runner.invoke(main, ["prune", "--root", str(root), "--target", "svc", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = [d for d in result.stderr.splitlines() if "[DM" in d]
    places = sorted(only_diagnostic(line)[0] for line in lines)
    key_line = pyproject.splitlines().index('source = "vcs"') + 1
    assert f"pyproject.toml:{key_line}" in places
    assert not (tmp_path / "out").exists()


def test_prune_never_replaces_a_directory_it_did_not_write(runner, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    result = runner.invoke(main, ["prune", "--root", str(FIXTURES / "smallsvc"), "--target", "svc", "-o", str(mine)])
    assert result.exit_code == 2
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    out = tmp_path / "out"
    _prune(runner, FIXTURES / "smallsvc", out, "--target", "svc")
    (out / "stale.py").write_text("")
    _prune(runner, FIXTURES / "smallsvc", out, "--target", "svc")
    assert not (out / "stale.py").exists() and (out / "uv.lock").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


_CARAMBA_TEXT = CARAMBA_LOCK.read_text()
_CARAMBA = parse_lock(_CARAMBA_TEXT.encode(), "uv.lock")
_ROOT = next(p for p in _CARAMBA.packages if p.name == "caramba")
_DECLARED = sorted({d.name for d in _ROOT.dependencies if d.name != "promptkit"})


@settings(max_examples=25, deadline=None)
@given(st.sets(st.sampled_from(_DECLARED), max_size=12), st.booleans())
def test_the_pruned_lock_is_closed_and_minimal(keep, with_member):
    """Every package the pruned lock keeps is reached from the kept projects, and everything a
    kept package depends on (under any marker, through the extras it is reached with) is kept."""
    kept_names = frozenset(keep) | ({"promptkit"} if with_member else set())
    cuts = {"caramba": ProjectCut("caramba", kept_names)}
    if with_member:
        cuts["promptkit"] = ProjectCut("promptkit", frozenset({"jinja2"}))
    pruned = parse_lock(pruned_lock_text(_CARAMBA_TEXT, _CARAMBA, cuts).encode(), "uv.lock")
    present = {(p.name, p.version) for p in pruned.packages}
    root = next(p for p in pruned.packages if p.name == "caramba")
    assert {d.name for d in root.dependencies} == kept_names
    reached: set[tuple[str, str]] = set()
    stack = [(d, ()) for p in pruned.packages if p.name in cuts for d in p.dependencies]
    while stack:
        dependency, _ = stack.pop()
        matches = [p for p in pruned.by_name.get(dependency.name, ()) if dependency.version in (None, p.version)]
        assert matches, f"{dependency.name} is referenced but not kept"
        for package in matches:
            for extra in ("", *dependency.extras):
                if (package.name, package.version, extra) in reached:
                    continue
                reached.add((package.name, package.version, extra))  # type: ignore[arg-type]
                edges = package.dependencies if not extra else package.optional_dependencies[extra]
                stack += [(d, ()) for d in edges]
    for package in pruned.packages:  # every extra a kept package lists is one something asks for
        if package.name not in cuts:
            asked = {e for n, v, e in reached if (n, v) == (package.name, package.version)}  # type: ignore[misc]
            assert set(package.optional_dependencies) <= asked
    reached_packages = {(n, v) for n, v, _ in reached} | {
        (p.name, p.version) for p in pruned.packages if p.name in cuts
    }  # type: ignore[misc]
    assert present == reached_packages
    assert pruned.members == ((("caramba", "promptkit")) if with_member else ("caramba",))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fixture", "arguments", "python", "modules"),
    [
        ("smallsvc", ("--target", "svc"), "3.11", ["svc.main"]),
        ("packagedir", ("ai/entrypoint.py",), "3.11", ["caramba.ai.entrypoint"]),
        ("extras", ("app/", "--extra", "fast"), "3.11", ["app.main"]),
        ("caramba", ("--target", "agent"), "3.12", ["ai.entrypoint", "console", "promptkit"]),
    ],
)
def test_uv_sync_of_the_pruned_tree_installs_exactly_the_pins(runner, tmp_path, fixture, arguments, python, modules):
    root = FIXTURES / fixture
    summary = _prune(runner, root, tmp_path / "out", *arguments)
    tree = tmp_path / "out"
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    environment.pop("VIRTUAL_ENV", None)
    extras = [arguments[i + 1] for i, a in enumerate(arguments) if a == "--extra"]
    command = [UV, "sync", "--frozen", "--no-dev", "--quiet", *(f"--extra={e}" for e in extras),
               "--python", find_interpreter(python)]  # fmt: skip
    synced = subprocess.run(command, cwd=tree, env=environment, capture_output=True, text=True, timeout=1200)
    assert synced.returncode == 0, synced.stderr
    python_path = tree / ".venv" / "bin" / "python"
    listed = subprocess.run([UV, "pip", "list", "--format", "json", "--python", str(python_path)], capture_output=True,
                            text=True, env=environment, check=True)  # fmt: skip
    installed = {(canonicalize_name(p["name"]), p["version"]) for p in json.loads(listed.stdout)}
    projects = {(n, v) for n, v in installed if n in summary["projects"]}
    built = {p.name for p in parse_lock((tree / "uv.lock").read_bytes(), "uv.lock").local_packages
             if p.source_kind != "virtual"}  # fmt: skip
    assert {n for n, _ in projects} == built  # built by uv, with their real metadata
    assert installed - projects == _pins(runner, root, *arguments)
    imported = subprocess.run([str(python_path), "-c", "import importlib, sys; [importlib.import_module(m) for m in "
                               f"{modules!r}]"], cwd=tree, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert imported.returncode == 0, imported.stderr


@pytest.mark.slow
def test_verify_in_the_uv_style_syncs_the_pruned_tree_and_imports_every_module(runner):
    result = runner.invoke(main, ["verify", "--root", str(FIXTURES / "packagedir"), "--style", "uv", "--json",
                                  "--run", "python -m caramba.ai.entrypoint", "ai/entrypoint.py"])  # fmt: skip
    data = json.loads(result.stdout)
    assert result.exit_code == 0, data
    assert sorted(data["installed"]) == ["caramba", "pyyaml"]  # the project, built by uv, and the pins
    assert data["modules"] and all(m["ok"] for m in data["modules"]) and data["smoke"]["ok"] is True


def test_an_extra_a_kept_project_asks_of_another_stays_chosen(runner, tmp_path):
    """The root requires lib[compat]: uv installs lib's compat extra, so the pruned tree keeps it
    (and the lock stays the one uv would write)."""
    wheel = "six-1.17.0-py2.py3-none-any.whl"
    root = write_tree(
        tmp_path / "repo",
        {
            "pyproject.toml": """
                [project]
                name = "root-app"
                version = "1.0"
                requires-python = ">=3.11"
                dependencies = ["lib[compat]"]

                [tool.uv.sources]
                lib = { workspace = true }

                [tool.uv.workspace]
                members = ["lib"]
                """,
            "lib/pyproject.toml": f"""
                [project]
                name = "lib"
                version = "1.0"
                requires-python = ">=3.11"

                [project.optional-dependencies]
                compat = ["six"]
                unused = ["six"]

                [tool.uv.sources]
                six = {{ path = "../wheels/{wheel}" }}

                [build-system]
                requires = ["hatchling"]
                build-backend = "hatchling.build"
                """,
            "lib/lib/__init__.py": "import six\n",
            "service.py": "import lib\n",
        },
    )
    (root / "wheels").mkdir()
    shutil.copy2(FIXTURES / "wheels" / wheel, root / "wheels" / wheel)
    locked = _uv(root, "lock", "--offline", python="3.11")
    assert locked.returncode == 0, locked.stderr
    summary = _prune(runner, root, tmp_path / "out", "service.py")
    assert [i["name"] for i in summary["installs"]] == ["six"]
    assert (tmp_path / "out" / "wheels" / wheel).is_file()
    checked = _uv(tmp_path / "out", "lock", "--check", python="3.11")
    assert checked.returncode == 0, checked.stderr
    assert _exported(tmp_path / "out", "3.11") == _pins(runner, root, "service.py")
