"""trim: the import statement whose deferral takes the most out of the image, and what cannot be
deferred, with the reason; --apply rewrites it, refuses files with local changes, and is a no-op
the second time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from depmin.commands import main
from depmin.lock.closure import select
from depmin.lock.wheels import best_artifact
from depmin.usecases.build_env import uv_binary

from ..helpers import FIXTURES, run_analysis, write_tree

TRIMSTORY = FIXTURES / "trimstory"


def git(root, *args):
    subprocess.run(
        ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def story(tmp_path):
    """fixtures/trimstory in a git repository of its own, committed."""
    root = tmp_path / "trimstory"
    shutil.copytree(TRIMSTORY, root, ignore=shutil.ignore_patterns(".depmin_cache", ".venv"))
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "story")
    return root


def trim_json(runner, root, *args):
    result = runner.invoke(main, ["trim", "--root", str(root), "--no-cache", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_trim_names_the_eager_re_export_and_the_bytes_it_frees(runner):
    data = trim_json(runner, TRIMSTORY, "--target", "server")
    assert data["reachable_forbidden"] == ["python-dateutil"]
    best = data["cuts"][0]
    assert (best["file"], best["line"], best["shape"], best["names"]) == ("core/__init__.py", 4, "re-export", ["Codec"])
    assert {d["name"] for d in best["distributions"]} == {"python-dateutil", "tzdata"}
    assert best["forbidden"] == ["python-dateutil"]
    assert [(hop["file"], hop["line"]) for hop in best["chain"]] == [("server/main.py", 7), ("core/__init__.py", 4)]
    # the bytes are the lock's wheel sizes for the target
    analysis = run_analysis(TRIMSTORY, "server/", lock=TRIMSTORY / "uv.lock")
    target = analysis.closure.target
    sizes = []
    for item in best["distributions"]:
        package = select(analysis.lock, item["name"], item["version"], target)
        assert package is not None
        artifact = best_artifact(package, target)
        assert artifact is not None and artifact.size
        sizes.append(artifact.size)
    assert best["bytes"] == sum(sizes) > 0
    assert len(data["cuts"]) == 1 and data["cannot_defer"] == []


APP = {
    "core/__init__.py": "from .codec import Codec\nfrom .settings import SETTINGS\n",
    "core/codec.py": "import six\n\nclass Codec: ...\n",
    "core/settings.py": "SETTINGS = {}\n",
    "core/queue.py": "from .settings import SETTINGS\n",
}


@pytest.mark.parametrize(
    ("app", "reason"),
    [
        ("from core.queue import SETTINGS\nfrom core import Codec\n", "asked-by-importer"),
        ("import core.queue\n", "module-object"),
        ("from core.queue import SETTINGS\nfrom core import Other\n", "asks-lazy-attribute"),
    ],
)
def test_a_re_export_a_reachable_module_asks_for_cannot_be_deferred(runner, tmp_path, app, reason):
    root = write_tree(tmp_path, {**APP, "app.py": app})
    data = trim_json(runner, root, "--lock", str(FIXTURES / "caramba" / "uv.lock"), "app.py")
    assert data["cuts"] == []
    (blocked,) = [c for c in data["cannot_defer"] if c["file"] == "core/__init__.py"]
    assert (blocked["line"], blocked["reason"], blocked["deferrable"]) == (1, reason, False)
    assert "six" in {d["name"] for d in blocked["distributions"]}


def test_an_import_used_when_the_module_runs_cannot_be_deferred(runner, tmp_path):
    root = write_tree(tmp_path, {**APP, "core/__init__.py": "from .codec import Codec\nDEFAULT = Codec()\n"})
    (root / "app.py").write_text("from core.queue import SETTINGS\n")
    data = trim_json(runner, root, "--lock", str(FIXTURES / "caramba" / "uv.lock"), "app.py")
    reasons = {(c["file"], c["line"]): c["reason"] for c in data["cannot_defer"]}
    assert reasons == {("core/__init__.py", 1): "used-at-import", ("app.py", 1): "unused"}


def test_an_import_used_only_in_functions_defers_import_time_not_the_image(runner, tmp_path):
    files = {
        "tools.py": "import heavy\n\ndef run():\n    return heavy.six\n",
        "heavy.py": "import six\n",
        "app.py": "from tools import run\n\nrun()\n",  # (`import tools` hands over the module: not deferred)
    }
    root = write_tree(tmp_path, files)
    data = trim_json(runner, root, "--lock", str(FIXTURES / "caramba" / "uv.lock"), "app.py")
    assert data["cuts"] == []
    (later,) = data["start_only"]
    assert (later["file"], later["line"], later["shape"], later["at_start"]) == ("tools.py", 1, "functions", ["six"])
    assert later["bytes"] == 0


def test_apply_defers_the_edge_the_forbidden_distribution_goes_and_a_second_apply_is_a_no_op(runner, story):
    first = runner.invoke(
        main, ["trim", "--root", str(story), "--no-cache", "--target", "server", "--apply", "--no-verify"]
    )
    assert first.exit_code == 0, first.output
    assert "+def __getattr__(name: str) -> object:" in first.stdout  # the diff
    assert "-from .event_codec import Codec" in first.stdout
    rewritten = (story / "core" / "__init__.py").read_text()
    audit = runner.invoke(main, ["audit", "--root", str(story), "--no-cache", "--target", "server", "--json"])
    assert audit.exit_code == 0 and json.loads(audit.stdout)["ok"] is True
    git(story, "commit", "-qam", "trimmed")
    second = runner.invoke(
        main, ["trim", "--root", str(story), "--no-cache", "--target", "server", "--apply", "--no-verify", "--json"]
    )
    assert second.exit_code == 0, second.output
    assert "applied" not in json.loads(second.stdout)
    assert (story / "core" / "__init__.py").read_text() == rewritten


def test_apply_refuses_a_file_with_local_changes_unless_forced(runner, story):
    init = story / "core" / "__init__.py"
    init.write_text(init.read_text() + "# a local change\n")
    before = init.read_text()
    args = ["trim", "--root", str(story), "--no-cache", "--target", "server", "--apply", "--no-verify"]
    refused = runner.invoke(main, args)
    assert refused.exit_code == 2
    assert init.read_text() == before
    forced = runner.invoke(main, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "def __getattr__" in init.read_text() and "# a local change" in init.read_text()


def test_apply_refuses_outside_git_and_a_symlink(runner, tmp_path):
    root = tmp_path / "story"
    shutil.copytree(TRIMSTORY, root)
    args = ["trim", "--root", str(root), "--no-cache", "--target", "server", "--apply", "--no-verify"]
    assert runner.invoke(main, args).exit_code == 2  # no git: local changes cannot be told
    init = root / "core" / "__init__.py"
    real = root / "core" / "real_init.py"
    init.rename(real)
    init.symlink_to(real.name)
    before = real.read_text()
    assert runner.invoke(main, [*args, "--force"]).exit_code == 2
    assert real.read_text() == before and init.is_symlink()


@pytest.mark.slow
@pytest.mark.network
def test_apply_verifies_and_the_projects_own_test_of_the_name_still_passes(runner, story):
    result = runner.invoke(
        main, ["trim", "--root", str(story), "--no-cache", "--target", "server", "--apply", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["applied"]["changed"] is True
    assert data["proof"]["still_reachable"] == [] and data["proof"]["verify"] is True
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": ""}
    tests = subprocess.run(
        [uv_binary(), "run", "--frozen", "--project", str(story), "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=story,
        capture_output=True,
        text=True,
        timeout=600,
        env=environment,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_why_and_report_point_at_the_cut(runner):

    def points(last_line):  # the place and the command, not the wording
        return "core/__init__.py:4" in last_line and "`depmin trim --target server`" in last_line

    args = ["--root", str(TRIMSTORY), "--no-cache", "--target", "server"]
    why = runner.invoke(main, ["why", "python-dateutil", *args])
    assert why.exit_code == 0, why.output
    assert points(why.stdout.splitlines()[-1])
    report = runner.invoke(main, ["report", *args])
    assert report.exit_code == 0, report.output
    assert points(report.stdout.splitlines()[-1])
    idna = runner.invoke(main, ["why", "idna", *args])  # no cut takes idna out: no hint
    assert not any(points(line) for line in idna.stdout.splitlines())


def test_an_entry_is_always_asked_a_console_script_reads_its_attribute(runner, tmp_path):
    """`fastmcp = "fastmcp.cli:app"`: the wrapper does `from fastmcp.cli import app`."""
    files = {
        "tool/__init__.py": "",
        "tool/cli/__init__.py": "from .cli import app\n",
        "tool/cli/cli.py": "import six\n\ndef app(): ...\n",
    }
    root = write_tree(tmp_path, files)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "tool"\nversion = "0"\n\n[project.scripts]\ntool = "tool.cli:app"\n'
    )
    data = trim_json(runner, root, "--lock", str(FIXTURES / "caramba" / "uv.lock"), "--script", "tool")
    assert data["cuts"] == []
    (blocked,) = data["cannot_defer"]
    assert (blocked["file"], blocked["line"], blocked["reason"]) == ("tool/cli/__init__.py", 1, "entry")


def test_apply_with_nothing_safe_to_cut_changes_nothing_and_exits_1(runner, tmp_path):
    root = write_tree(tmp_path, {**APP, "app.py": "from core.queue import SETTINGS\nfrom core import Codec\n"})
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "app")
    before = (root / "core" / "__init__.py").read_text()
    lock = str(FIXTURES / "caramba" / "uv.lock")
    result = runner.invoke(main, ["trim", "--root", str(root), "--no-cache", "--lock", lock, "--forbid", "six",
                                  "--apply", "--no-verify", "--json", "app.py"])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["reachable_forbidden"] == ["six"]
    assert (root / "core" / "__init__.py").read_text() == before


def test_apply_at_a_function_only_import_moves_it_into_the_functions(runner, tmp_path):
    files = {
        "tools.py": "# the heavy helper\nimport heavy\n\n\ndef run():\n    return heavy.six\n",
        "heavy.py": "import six\n",
        "app.py": "from tools import run\n\nrun()\n",
    }
    root = write_tree(tmp_path, files)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "app")
    lock = str(FIXTURES / "caramba" / "uv.lock")
    result = runner.invoke(main, ["trim", "--root", str(root), "--no-cache", "--lock", lock, "--apply",
                                  "--at", "tools.py:2", "--no-verify", "app.py"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        root / "tools.py"
    ).read_text() == "# the heavy helper\n\n\ndef run():\n    import heavy\n    return heavy.six\n"
    again = runner.invoke(main, ["trim", "--root", str(root), "--no-cache", "--lock", lock, "--json", "app.py"])
    assert json.loads(again.stdout)["start_only"] == []  # nothing left at start to defer
