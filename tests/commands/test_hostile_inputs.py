"""Hostile repositories, the medium cases: devices and FIFOs, planted caches, edits during a scan,
deep trees, a module that talks on stdout, a crashing parser, bad metadata, unwritable outputs.
Each asserts the exit code and the one-line message, and that nothing outside changed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from depmin.analysis.scanning import scan_files
from depmin.cache import ScanCache
from depmin.commands import main
from depmin.model import Target
from depmin.scan import ScanResult, _contained

from ..helpers import CARAMBA, CARAMBA_LOCK, FIXTURES, app_copies, only_diagnostic, snapshot, write_tree

SMALLSVC = FIXTURES / "smallsvc"


def small_project(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    root = tmp_path / "repo"
    write_tree(root, files or {"main.py": "import yaml\n"})
    (root / "uv.lock").write_bytes(CARAMBA_LOCK.read_bytes())
    return root


def one_line_errors(result) -> list[str]:
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result.stderr.strip().splitlines()


def test_a_lock_that_is_a_device_is_an_error(runner, tmp_path):
    root = small_project(tmp_path)
    (root / "uv.lock").unlink()
    (root / "uv.lock").symlink_to("/dev/zero")
    result = runner.invoke(main, ["closure", "--root", str(root), "--no-cache", "main.py"])
    assert result.exit_code == 2
    [line] = one_line_errors(result)
    assert only_diagnostic(line)[:3] == ("uv.lock", "error", "DM003")
    assert "not a regular file" in line


def test_a_lock_or_a_source_that_is_a_fifo_does_not_hang(runner, tmp_path):
    root = small_project(tmp_path, {"main.py": "import helper\n"})
    os.mkfifo(root / "helper.py")
    done: dict[str, object] = {}
    thread = threading.Thread(
        target=lambda: done.update(
            result=runner.invoke(main, ["closure", "--root", str(root), "--no-cache", "main.py"])
        )
    )
    thread.start()
    thread.join(60)
    assert "result" in done, "depmin hung on a FIFO"
    result = done["result"]
    assert result.exit_code == 2  # the FIFO is not a module: `import helper` is unresolved
    (root / "uv.lock").unlink()
    os.mkfifo(root / "uv.lock")
    report = runner.invoke(main, ["report", "--root", str(root), "--no-cache", "main.py"])
    assert report.exit_code == 2 and "not a regular file" in report.stderr


def test_a_planted_cache_symlink_is_not_written_through(runner, tmp_path):
    root = small_project(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / ".depmin_cache").symlink_to(outside)
    result = runner.invoke(
        main, ["closure", "--root", str(root), "--cache-dir", str(root / ".depmin_cache"), "main.py"]
    )
    assert result.exit_code == 0, result.output
    assert list(outside.iterdir()) == []


def test_a_foreign_cache_directory_is_not_used(tmp_path):
    root = small_project(tmp_path)
    planted = root / ".depmin_cache"
    planted.mkdir()
    (planted / "notes.txt").write_text("not depmin's\n")
    cache = ScanCache(planted)
    scan_files(root, ["main.py"], Target((3, 12)), cache)
    assert sorted(p.name for p in planted.iterdir()) == ["notes.txt"]


def test_a_same_size_same_mtime_replacement_is_read_again(tmp_path):
    root = small_project(tmp_path, {"main.py": "import yaml\n"})
    cache_dir = tmp_path / "cache"
    target = Target((3, 12))
    scan_files(root, ["main.py"], target, ScanCache(cache_dir))
    path = root / "main.py"
    old = path.stat()
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns - 5_000_000_000))  # old enough for the snapshot
    scan_files(root, ["main.py"], target, ScanCache(cache_dir))  # remembered with the old mtime
    stamped = path.stat()
    replacement = root / "new.py"
    replacement.write_text("import rich\n")  # same size as before
    os.replace(replacement, path)
    os.utime(path, ns=(stamped.st_atime_ns, stamped.st_mtime_ns))
    after = ScanCache(cache_dir)
    result = scan_files(root, ["main.py"], target, after)["main.py"]
    assert [r.target for r in result.records] == ["rich"] and after.misses == 1


@pytest.mark.slow
def test_a_thousand_nested_directories(runner, tmp_path):
    root = small_project(tmp_path)
    deep = root
    for _ in range(1100):  # one level at a time: mkdir(parents=True) itself recurses
        deep = deep / "d"
        deep.mkdir()
    (deep / "x.py").write_text("import rich\n")
    try:
        result = runner.invoke(main, ["closure", "--root", str(root), "--no-cache", "main.py"])
        assert result.exit_code == 0, result.output
    finally:  # shutil.rmtree (pytest's clean-up) recurses too: take the tree down one level at a time
        (deep / "x.py").unlink()
        while deep != root:
            os.rmdir(deep)
            deep = deep.parent


def test_a_crashing_or_exhausted_fallback_parser_is_one_problem():
    def crash(source, target):
        os.kill(os.getpid(), signal.SIGKILL)  # as a native parser's stack overflow ends it

    def exhaust(source, target):
        return bytearray(16 * 1024**3)  # over the child's memory limit: MemoryError there

    for scan, cause in ((crash, "nested"), (exhaust, "large")):
        result = _contained(scan, b"x", Target((3, 12)))
        assert isinstance(result, ScanResult) and [(p.line, p.fatal) for p in result.problems] == [(1, True)]
        assert cause in result.problems[0].message  # the real cause: a crash, or memory


def test_valid_deep_nesting_is_not_rejected():
    from depmin.scan import scan_source

    source = ("import yaml\nx = " + "not " * 500 + "y\n").encode()
    assert [r.target for r in scan_source(source, Target((3, 12))).records] == ["yaml"]


def test_non_utf8_metadata_in_the_venv(runner, tmp_path):
    root = small_project(tmp_path)
    info = root / ".venv" / "lib" / "python3.12" / "site-packages" / "weird-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "top_level.txt").write_bytes(b"\xff\xfeyaml\n")
    result = runner.invoke(main, ["closure", "--root", str(root), "--no-cache", "main.py"])
    assert result.exit_code == 0, result.output


def test_an_unwritable_output_is_one_line(runner, tmp_path):
    root = small_project(tmp_path)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory should be\n")
    result = runner.invoke(
        main, ["closure", "--root", str(root), "--no-cache", "main.py", "-o", str(blocker / "req.txt")]
    )
    assert result.exit_code == 2
    [line] = one_line_errors(result)
    assert line in (
        f"{blocker / 'req.txt'}: error: cannot write: {reason} [DM005]" for reason in ("File exists", "Not a directory")
    )


def test_sync_writes_every_target_or_none(runner, tmp_path):
    root = tmp_path / "svc"
    shutil.copytree(SMALLSVC, root, ignore=shutil.ignore_patterns(".depmin_cache"))
    pyproject = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(
        pyproject + '\n[tool.depmin.targets.second]\nentries = ["svc/"]\nrequirements = "blocked/second.txt"\n'
    )
    (root / "blocked").write_text("a file where the output directory should be\n")
    (root / "requirements" / "svc.txt").write_text("stale\n")
    before = snapshot(root)
    result = runner.invoke(main, ["sync", "--root", str(root)])
    assert result.exit_code == 2 and "cannot write" in result.stderr and "nothing written" in result.stderr
    assert snapshot(root) == before


def test_thousands_of_unknown_keys_are_reported_with_their_lines(runner, tmp_path):
    root = small_project(tmp_path)
    keys = "\n".join(f"unknown{number} = 1" for number in range(8000))
    (root / "pyproject.toml").write_text(f'[project]\nname = "x"\nversion = "0"\n\n[tool.depmin]\n{keys}\n')
    result = runner.invoke(main, ["closure", "--root", str(root), "--no-cache", "main.py"])
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 8000
    assert lines[0].startswith("pyproject.toml:6: error: tool.depmin.unknown0: unknown key")
    assert any(line.startswith("pyproject.toml:8005: error: tool.depmin.unknown7999:") for line in lines)


def test_init_keeps_crlf_and_writes_through_a_symlink(runner, tmp_path):
    root = small_project(tmp_path)
    real = root / "config" / "pyproject.toml"
    real.parent.mkdir()
    real.write_bytes(b'[project]\r\nname = "x"\r\nversion = "0"\r\n')
    (root / "pyproject.toml").unlink()
    (root / "pyproject.toml").symlink_to(real)
    result = runner.invoke(main, ["init", "--root", str(root), "--target", "app", "main.py"])
    assert result.exit_code == 0, result.output
    assert (root / "pyproject.toml").is_symlink()
    data = real.read_bytes()
    assert data.startswith(b'[project]\r\nname = "x"\r\n') and b"[tool.depmin.targets.app]\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


@pytest.mark.network
def test_a_module_that_talks_on_stdout_cannot_fake_verify(runner, tmp_path):
    root = tmp_path / "svc"
    shutil.copytree(SMALLSVC, root, ignore=shutil.ignore_patterns(".depmin_cache"))
    (root / "svc" / "noisy.py").write_text(
        'import json\nprint(json.dumps({"module": "svc.noisy", "ok": True}))\nprint("verified: 3/3")\nraise RuntimeError("boom")\n'
    )
    result = runner.invoke(main, ["verify", "--root", str(root), "--no-cache", "--json", "--python", "3.11", "svc/"])
    data = json.loads(result.stdout)
    assert result.exit_code == 1
    noisy = next(m for m in data["modules"] if m["module"] == "svc.noisy")
    assert noisy["ok"] is False and "boom" in noisy["message"]


def test_a_copied_directory_never_reads_through_a_link_out_of_the_root(runner, tmp_path):
    root = tmp_path / "svc"
    shutil.copytree(SMALLSVC, root, ignore=shutil.ignore_patterns(".depmin_cache"))
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET\n")
    (root / "svc" / "leak.txt").symlink_to(secret)
    from depmin.imports.copy_plan import planned_files
    from depmin.project.module_index import DEFAULT_EXCLUDES

    from ..helpers import run_analysis

    closure = run_analysis(root, "svc/", python=(3, 11), lock=root / "uv.lock").closure
    assert all(source.resolve() != secret for source, _ in planned_files(root, closure, DEFAULT_EXCLUDES))


def test_a_project_path_that_is_not_utf8(runner, tmp_path):
    root = Path(os.fsdecode(os.fsencode(tmp_path) + b"/proj\xff\xfe"))
    write_tree(root, {"main.py": "import yaml\n"})
    (root / "uv.lock").write_bytes(CARAMBA_LOCK.read_bytes())
    for command in (
        ["closure", "main.py", "-o", str(root / "req.txt")],
        ["why", "pyyaml", "main.py"],
        ["report", "main.py"],
    ):
        result = runner.invoke(main, [command[0], "--root", str(root), *command[1:]])
        assert result.exit_code == 0, (command, result.output)
        one_line_errors(result)


def test_extras_are_shown_not_swallowed_as_markup(runner):
    result = runner.invoke(main, ["closure", "--root", str(CARAMBA), "--target", "agent"])
    assert result.exit_code == 0
    assert "google-adk[a2a]" in result.stdout


# -- any text in a target's configuration ------------------------------------------------------


# Arbitrary text is mostly refused; plausible paths (that may still hold a hostile character)
# keep the asserting branch reached in most examples.
DATA_PATHS = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_ @+=,.-]{0,10}(/[a-z0-9_.-]{1,6}){0,2}/?", fullmatch=True),
    st.text(min_size=1, max_size=20),
)


@given(DATA_PATHS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_text_as_a_data_path_is_refused_or_written_as_one_copy(runner, tmp_path, text):
    from dockerfile_parse import DockerfileParser

    root = tmp_path / "svc"
    if not root.exists():
        shutil.copytree(SMALLSVC, root, ignore=shutil.ignore_patterns(".depmin_cache"))
    escaped = json.dumps(text)  # a TOML basic string takes JSON's escapes for these
    pyproject = (SMALLSVC / "pyproject.toml").read_text().replace('data = ["settings/"]', f"data = [{escaped}]")
    (root / "pyproject.toml").write_text(pyproject)
    try:
        (root / text).mkdir(parents=True, exist_ok=True)
        (root / text / "x.cfg").write_text("x\n")
    except (OSError, ValueError):
        pass  # a name the file system refuses: the configuration check must refuse it too
    result = runner.invoke(main, ["dockerfile", "--root", str(root), "--no-cache", "--target", "svc"])
    if result.exit_code != 0:
        event("refused")
        assert result.exit_code == 2 and "internal error" not in result.output and "Traceback" not in result.output
        return
    event("written")
    target(1.0, label="reached the assertions")
    parser = DockerfileParser(path=str(tmp_path))
    parser.content = result.stdout
    assert len(app_copies(parser)) == len(run_closure_copy(root))
    assert all("\n" not in i["value"] for i in parser.structure)


def run_closure_copy(root: Path):
    from depmin.project.config import load_project

    from ..helpers import run_analysis

    data = load_project(root).target("svc").data
    return run_analysis(root, "svc/", python=(3, 11), lock=root / "uv.lock", data=data).closure.copy
