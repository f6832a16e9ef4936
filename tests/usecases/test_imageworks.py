"""The image works: fixtures/imageworks (own version, a path dependency, a loopback index, package
data read three ways, a uvicorn string app, a FastAPI form) and fixtures/packagedir (bare names)
are verified for real, and the Dockerfile carries the same tree as verify."""

from __future__ import annotations

import json
import sys

import pytest
from dockerfile_parse import DockerfileParser

from depmin.commands import main
from depmin.imports.copy_plan import planned_files
from depmin.lock.parse import parse_lock
from depmin.model import Kind
from depmin.project.module_index import DEFAULT_EXCLUDES

from ..helpers import CARAMBA_LOCK, FIXTURES, app_copies, docker_copy, hadolint, run_analysis, write_tree

IMAGEWORKS = FIXTURES / "imageworks"
PACKAGEDIR = FIXTURES / "packagedir"


def closure():
    return run_analysis(IMAGEWORKS, "svc/", python=(3, 11), lock=IMAGEWORKS / "uv.lock").closure


def test_local_code_is_copied_with_its_metadata_never_pinned_from_an_index():
    result = closure()
    assert not result.errors, result.errors
    assert {(d.name, d.version) for d in result.local_distributions} == {
        ("helperlib", "2.1.0"),
        ("imageworks", "0.3.0"),
    }
    imageworks = next(d for d in result.local_distributions if d.name == "imageworks")
    assert imageworks.entry_points == (("console_scripts", "imageworks-check", "svc.check:main"),)
    assert "helperlib" not in {p.name for p in result.pinned}
    assert "vendor/helperlib/src" in result.image_path


def test_the_private_index_is_kept_in_the_requirements(runner, tmp_path):
    output = tmp_path / "requirements.txt"
    assert (
        runner.invoke(main, ["closure", "--root", str(IMAGEWORKS), "--no-cache", "svc/", "-o", str(output)]).exit_code
        == 0
    )
    lines = output.read_text().splitlines()
    assert "--extra-index-url http://127.0.0.1:38017/simple" in lines and "--index-url https://pypi.org/simple" in lines
    assert "loopdist==0.1.0" in lines and not any(line.startswith("helperlib") for line in lines)


def test_package_data_travels():
    result = closure()
    assert set(result.package_data) == {"svc/schema.json", "svc/templates/hello.txt", "svc/data/limits.csv"}


def test_a_fastapi_form_needs_python_multipart():
    multipart = next(r for r in closure().direct if r.name == "python-multipart")
    assert [(v.file, v.line, v.kind) for v in multipart.via] == [("svc/web.py", 1, Kind.DYNAMIC)]


def test_string_named_modules_are_followed(tmp_path):
    write_tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/serve.py": "import uvicorn\nuvicorn.run('app.web:api', port=1)\n",
            "app/web.py": "import yaml\n",
            "app/logs.py": "import logging.config\nlogging.config.dictConfig({'handlers': {'h': {'()': 'app.handlers.Handler'}}})\n",
            "app/handlers.py": "import rich\n",
            "app/form.py": "from starlette.requests import Request\nasync def view(request: Request):\n    return await request.form()\n",
        },
    )
    analysis = run_analysis(tmp_path, "app.serve", "app.logs", "app.form")
    assert {"app.web", "app.handlers"} <= set(analysis.closure.modules)
    pinned = {p.name for p in analysis.closure.pinned}
    assert {"pyyaml", "rich"} <= pinned
    uvicorn_via = next(r for r in analysis.closure.direct if r.name == "pyyaml").via[0]
    assert uvicorn_via.file == "app/web.py"
    warnings = [w.message for w in analysis.closure.warnings]
    assert "python-multipart" in pinned or any("python-multipart" in m for m in warnings)


@pytest.mark.network
def test_verify_proves_the_image_starts(runner, loopback_index):
    result = runner.invoke(main, ["verify", "--root", str(IMAGEWORKS), "--no-cache", "--json", "--target", "svc"])
    data = json.loads(result.stdout)
    assert result.exit_code == 0, data
    assert all(m["ok"] for m in data["modules"]) and len(data["modules"]) == 6
    assert data["smoke"] == {"command": "imageworks-check", "ok": True, "output": ""}
    assert {"loopdist", "python-multipart", "helperlib", "imageworks"} <= set(data["installed"])


@pytest.mark.network
def test_package_data_is_what_single_file_copies_need(runner, loopback_index):
    # Only svc.resources: its files are copied one by one, so the data must be named too.
    command = ["verify", "--root", str(IMAGEWORKS), "--no-cache", "--json", "--python", "3.11", "svc.resources"]
    with_data = json.loads(runner.invoke(main, command).stdout)
    assert with_data["ok"], with_data
    result = runner.invoke(main, [*command, "--no-package-data"])
    data = json.loads(result.stdout)
    assert result.exit_code == 1
    failed = {m["module"]: m for m in data["modules"] if not m["ok"]}
    assert set(failed) == {"svc.resources"} and "data file is missing" in failed["svc.resources"]["hint"]


@pytest.mark.network
def test_a_package_dir_repository_works_under_both_names(runner):
    result = runner.invoke(
        main, ["verify", "--root", str(PACKAGEDIR), "--no-cache", "--json", "--python", "3.11", "ai/"]
    )
    data = json.loads(result.stdout)
    assert result.exit_code == 0, data
    names = {m["module"] for m in data["modules"] if m["ok"]}
    assert {"ai.persona", "caramba.ai.persona"} <= names


def test_the_dockerfile_carries_the_verify_tree_and_the_metadata(runner, tmp_path):
    output = tmp_path / "Dockerfile"
    result = runner.invoke(
        main, ["dockerfile", "--root", str(IMAGEWORKS), "--no-cache", "--target", "svc", "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    (tmp_path / "parse").mkdir()
    parser = DockerfileParser(path=str(tmp_path / "parse"))
    parser.content = output.read_text()
    copy_lines = app_copies(parser)
    hadolint(output.read_text(), tmp_path)
    dockerignore = output.with_name("Dockerfile.dockerignore").read_text()
    by_verify = {destination for _, destination in planned_files(IMAGEWORKS, closure(), DEFAULT_EXCLUDES)}
    assert docker_copy(IMAGEWORKS, dockerignore, copy_lines) == by_verify
    assert "svc/templates/hello.txt" in by_verify
    runs = " ".join(i["value"] for i in parser.structure if i["instruction"] == "RUN")
    assert "imageworks-0.3.0.dist-info/METADATA" in runs and "/opt/venv/bin/imageworks-check" in runs
    env = next(i["value"] for i in parser.structure if i["instruction"] == "ENV" and "PYTHONPATH" in i["value"])
    assert "PYTHONPATH=/app/vendor/helperlib/src:/app" in env  # the roots in depmin's order, as in verify


def test_git_and_url_sources_keep_their_origin():
    lock = parse_lock(
        b"""version = 1
requires-python = ">=3.11"

[[package]]
name = "gitdist"
version = "1.0.0"
source = { git = "https://github.com/example/gitdist?rev=v1#0123456789abcdef0123456789abcdef01234567" }

[[package]]
name = "urldist"
version = "2.0.0"
source = { url = "https://example.com/urldist-2.0.0-py3-none-any.whl" }
""",
        "uv.lock",
    )
    from depmin.lock.closure import pinned_closure
    from depmin.model import Target

    pins = {p.name: p for p in pinned_closure(lock, {"gitdist": (), "urldist": ()}, Target((3, 12))).pins}
    assert pins["gitdist"].source == "git+https://github.com/example/gitdist@0123456789abcdef0123456789abcdef01234567"
    assert pins["urldist"].source == "https://example.com/urldist-2.0.0-py3-none-any.whl"


def test_entries_the_way_users_name_them(runner, tmp_path):
    scripts = runner.invoke(
        main, ["closure", "--root", str(IMAGEWORKS), "--no-cache", "--json", "--script", "imageworks-check"]
    )
    assert json.loads(scripts.stdout)["entries"] == ["svc.check"]
    colon = runner.invoke(main, ["closure", "--root", str(IMAGEWORKS), "--no-cache", "--json", "svc.web:app"])
    assert "svc.web" in json.loads(colon.stdout)["modules"]
    write_tree(
        tmp_path, {"examples/web/server.py": "from helper import greet\n", "examples/web/helper.py": "import yaml\n"}
    )
    (tmp_path / "uv.lock").write_bytes(CARAMBA_LOCK.read_bytes())
    (tmp_path / ".python-version").write_text("3.13\n")
    beside = runner.invoke(main, ["closure", "--root", str(tmp_path), "--no-cache", "--json", "examples/web/server.py"])
    data = json.loads(beside.stdout)
    assert beside.exit_code == 0, beside.output
    assert data["python"] == "3.13" and "helper" in data["modules"] and "pyyaml" in {p["name"] for p in data["pinned"]}


def test_verify_imports_third_party_modules_named_only_by_strings_and_hints_what_it_saw(tmp_path):
    from depmin.usecases.verify import outcome

    write_tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/logs.py": "import logging.config\nlogging.config.dictConfig({'formatters': {'f': {'()': 'yaml.loader.Loader'}}})\n",
            "app/opt.py": "try:\n    import rich\nexcept ImportError:\n    rich = None\n",
        },
    )
    analysis = run_analysis(tmp_path, "app/")
    assert analysis.closure.named_imports == ("yaml.loader",)
    missing_optional = {
        "module": "app.opt",
        "ok": False,
        "type": "ModuleNotFoundError",
        "message": "No module named 'rich'",
        "missing": "rich",
    }
    hint = outcome(missing_optional, False, analysis.index, analysis.closure).hint
    assert "optional (guarded) at app/opt.py:2" in hint and "cannot see" not in hint
    unseen = {**missing_optional, "missing": "secretplugin", "message": "No module named 'secretplugin'"}
    assert "cannot see" in outcome(unseen, False, analysis.index, analysis.closure).hint


def test_declared_dependencies_nothing_imports_are_named_once():
    closure = run_analysis(IMAGEWORKS, "svc.resources", python=(3, 11), lock=IMAGEWORKS / "uv.lock").closure
    kept_out = [w.message for w in closure.warnings if w.message.startswith("declared but not imported")]
    assert kept_out == [
        "declared but not imported by these entries, kept out: fastapi, loopdist, python-multipart, uvicorn "
        "(add to hidden-imports what is loaded by name)"
    ]


def test_a_workspace_member_or_path_dependency_by_name(runner):
    result = runner.invoke(
        main, ["closure", "--root", str(IMAGEWORKS), "--no-cache", "--json", "--package", "helperlib"]
    )
    data = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert data["entries"] == ["vendor/helperlib/src/"] and data["modules"] == ["helperlib"]
    unknown = runner.invoke(main, ["closure", "--root", str(IMAGEWORKS), "--no-cache", "--package", "nosuch"])
    assert unknown.exit_code == 2 and "known: helperlib, imageworks" in unknown.stderr


@pytest.mark.network
def test_a_git_source_is_installed_from_its_locked_commit(runner, tmp_path):
    """A git dependency (a local repository, so no network but PyPI is needed), locked by uv at test time."""
    import os
    import subprocess

    from depmin.usecases.build_env import uv_binary

    library = tmp_path / "gitdist"
    write_tree(library, {"src/gitdist/__init__.py": "WHERE = 'git'\n"})
    (library / "pyproject.toml").write_text(
        '[project]\nname = "gitdist"\nversion = "1.2.0"\nrequires-python = ">=3.10"\n\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )
    git = ["git", "-C", str(library), "-c", "user.email=depmin@example.invalid", "-c", "user.name=depmin"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "gitdist 1.2.0"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    app = tmp_path / "app"
    write_tree(app, {"app/__init__.py": "", "app/main.py": "import gitdist\n"})
    (app / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["gitdist"]\n\n'
        f'[tool.uv.sources]\ngitdist = {{ git = "{library.as_uri()}" }}\n'
    )
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run(
        [uv_binary(), "lock", "--quiet", "--python", sys.executable, "--project", str(app)], check=True, env=environment
    )
    output = tmp_path / "requirements.txt"
    assert runner.invoke(main, ["closure", "--root", str(app), "--no-cache", "app/", "-o", str(output)]).exit_code == 0
    assert f"gitdist @ git+{library.as_uri()}@{commit}" in output.read_text().splitlines()
    result = runner.invoke(main, ["verify", "--root", str(app), "--no-cache", "--json", "app/"])
    assert result.exit_code == 0, result.stdout


def test_gunicorn_settings_and_the_projects_own_entry_point_groups(tmp_path):
    write_tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/web.py": "import yaml\n",
            "app/plugins.py": "from importlib.metadata import entry_points\nfor point in entry_points(group='app.plugins'):\n    point.load()\n",
            "app/plugin_a.py": "import rich\n",
            "gunicorn.conf.py": "",
            "gunicorn_conf.py": "wsgi_app = 'app.web:api'\nworkers = 2\n",
        },
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "example"\nversion = "0"\n\n[project.entry-points."app.plugins"]\na = "app.plugin_a:Plugin"\n'
    )
    closure = run_analysis(tmp_path, "gunicorn_conf", "app.plugins").closure
    assert {"app.web", "app.plugin_a"} <= set(closure.modules)
    assert {"pyyaml", "rich"} <= {p.name for p in closure.pinned}
