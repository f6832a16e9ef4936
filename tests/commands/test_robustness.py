"""Bad input: one line per problem, never a traceback, never a hang, nothing executed, nothing lost."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.requirements import Requirement

from depmin.commands import main
from depmin.model import Pin
from depmin.outputs.requirements import requirements_text

from ..helpers import CARAMBA, FIXTURES, REPOSITORY, bare_closure, diagnostics, only_diagnostic, write_tree

BAD = FIXTURES / "bad"
HOSTILE = FIXTURES / "hostile"
# A diagnostic with its place and code, or depmin's one-line summary of what it did not do.
ONE_LINE = re.compile(
    r"^(depmin|[^\s:]+(:\d+)?): (error|warning): \S.* \[DM\d{3}\]$|^depmin: (?!.*(error|warning): ).+$"
)


def closure(runner, root, *args):
    return runner.invoke(main, ["closure", "--root", str(root), "--no-cache", *args])


@pytest.mark.parametrize(
    ("entry", "exit_code", "place", "code", "detail"),
    [
        ("syntax_error.py", 2, "syntax_error.py:4", "DM201", "invalid syntax"),
        ("undecodable.py", 2, "undecodable.py:1", "DM201", "0xff"),
        ("nul_bytes.py", 2, "nul_bytes.py:1", "DM201", "'\\0'"),
        ("beyond/mod.py", 2, "beyond/mod.py:1", "DM103", "'beyond'"),
        ("missing_dist.py", 2, "missing_dist.py:3", "DM101", "'left_pad_xyz'"),
        ("nothere.py", 2, "nothere.py", "DM301", ""),
        ("escape.py", 2, "escape.py", "DM301", "outside the project root"),
        ("../caramba/ai/config.py", 2, "../caramba/ai/config.py", "DM301", "outside the project root"),
        ("latin1.py", 0, None, None, None),
        ("bom.py", 0, None, None, None),
        ("empty.py", 0, None, None, None),
    ],
)
def test_each_bad_input_is_one_line_with_its_place(runner, entry, exit_code, place, code, detail):
    result = closure(runner, BAD, entry)
    assert result.exit_code == exit_code, result.output
    if place is None:
        assert result.stderr.strip() == ""
        return
    found = only_diagnostic(result.stderr)
    assert found[:3] == (place, "error", code)
    assert detail in found[3]


@pytest.mark.parametrize(
    ("entry", "warning"),
    [
        ("uses_common.py", ("common.py", "warning", "DM302")),
        ("uses_six.py", ("six.py", "warning", "DM106")),
        ("./", ("loop", "warning", "DM302")),
        ("./", ("escape.py", "warning", "DM302")),
    ],
)
def test_warnings_keep_the_analysis_going(runner, entry, warning):
    result = closure(runner, BAD, entry)
    assert warning in [found[:3] for found in diagnostics(result.stdout)]
    assert "Traceback" not in result.output


def test_encodings_are_read_as_python_reads_them(runner):
    for entry in ("latin1.py", "bom.py"):
        result = runner.invoke(main, ["closure", "--root", str(BAD), "--no-cache", "--json", entry])
        assert '"name": "pyyaml"' in result.stdout


@pytest.mark.slow
def test_a_very_large_file_is_scanned(runner, tmp_path):
    body = "".join(f"value_{i} = {i}\n" for i in range(400_000))  # ~6 MB
    write_tree(tmp_path, {"big.py": body + "import yaml\n"})
    shutil.copy(BAD / "uv.lock", tmp_path / "uv.lock")
    result = runner.invoke(main, ["closure", "--root", str(tmp_path), "--no-cache", "--json", "big.py"])
    assert result.exit_code == 0
    assert '"line": 400001' in result.stdout


def test_an_unreadable_file_is_an_error_not_a_crash(runner, tmp_path, monkeypatch):
    write_tree(tmp_path, {"main.py": "import secret\n", "secret.py": "import yaml\n"})
    shutil.copy(BAD / "uv.lock", tmp_path / "uv.lock")
    real_open = os.open  # root reads any file: deny this one where depmin opens sources

    def guarded_open(path, *args, **kwargs):
        if str(path).endswith("secret.py"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    result = runner.invoke(main, ["closure", "--root", str(tmp_path), "--no-cache", "main.py"])
    assert result.exit_code == 2
    assert only_diagnostic(result.stderr) == ("secret.py", "error", "DM201", "cannot read: Permission denied")


def test_missing_and_malformed_locks(runner, tmp_path):
    write_tree(tmp_path, {"main.py": "import yaml\n"})
    missing = runner.invoke(main, ["closure", "--root", str(tmp_path), "main.py"])
    assert missing.exit_code == 2
    assert only_diagnostic(missing.stderr)[:3] == ("uv.lock", "error", "DM003")
    lines = (BAD / "uv.lock").read_text().splitlines()
    lines[6] = 'name = "pyyaml'  # an unterminated string on line 7
    (tmp_path / "uv.lock").write_text("\n".join(lines) + "\n")
    malformed = runner.invoke(main, ["closure", "--root", str(tmp_path), "main.py"])
    assert malformed.exit_code == 2
    assert only_diagnostic(malformed.stderr)[:3] == ("uv.lock:7", "error", "DM003")


def test_a_lock_that_does_not_match_pyproject_is_a_warning_naming_the_dependency(runner, tmp_path):
    project = tmp_path / "bad"
    shutil.copytree(BAD, project, symlinks=True)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"pyyaml>=6"', '"pyyaml>=6.1", "rich"'))
    result = closure(runner, project, "empty.py")
    assert result.exit_code == 0
    stale = [found[3] for found in diagnostics(result.stdout) if found[:3] == ("uv.lock", "warning", "DM401")]
    assert len(stale) == 2
    assert "pyyaml" in stale[0] or "pyyaml" in stale[1]
    assert any("rich" in message for message in stale)


def test_bad_configuration_and_usage(runner, tmp_path):
    write_tree(tmp_path, {"pyproject.toml": "[tool.depmin\n", "main.py": ""})
    result = runner.invoke(main, ["closure", "--root", str(tmp_path), "main.py"])
    assert result.exit_code == 2
    assert only_diagnostic(result.stderr)[:3] == ("pyproject.toml:1", "error", "DM002")
    no_root = runner.invoke(main, ["closure", "--root", str(tmp_path / "nope"), "x"])
    assert no_root.exit_code == 2 and "does not exist" in no_root.stderr
    bad_python = closure(runner, BAD, "--python", "2.7", "empty.py")
    assert bad_python.exit_code == 2
    assert only_diagnostic(bad_python.stderr)[:3] == ("depmin", "error", "DM001")
    assert "2.7" in bad_python.stderr


COMMANDS = [
    ["closure"],
    ["closure", "--json"],
    ["why", "pyyaml"],
    ["audit", "--forbid", "torch"],
    ["report"],
    ["dockerfile", "--requirements", "requirements.txt"],
]
BAD_ENTRIES = [
    "syntax_error.py",
    "undecodable.py",
    "nul_bytes.py",
    "beyond/mod.py",
    "missing_dist.py",
    "nothere.py",
    "escape.py",
    "./",
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_on_every_bad_input_speaks_in_one_line_messages(runner, command):
    for entry in BAD_ENTRIES:
        result = runner.invoke(main, [*command, "--root", str(BAD), "--no-cache", entry])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code in (0, 1, 2), result.stderr
        assert "Traceback" not in result.output
        for line in result.stderr.splitlines():
            assert ONE_LINE.match(line), f"{command} {entry}: {line!r}"


# -- never execute --------------------------------------------------------------------------------


@pytest.mark.network  # verify installs from the registry
def test_no_command_but_verify_runs_the_code_it_reads(tmp_path):
    project = tmp_path / "hostile"
    shutil.copytree(HOSTILE, project)
    marker = tmp_path / "marker"
    environment = {**os.environ, "DEPMIN_HOSTILE_MARKER": str(marker)}
    runs = [
        ["closure", "service/", "-o", str(tmp_path / "req.txt")],
        ["why", "pyyaml", "service/"],
        ["audit", "--forbid", "torch", "service/"],
        ["sync"],
        ["check"],
        ["report", "--target", "service"],
        ["dockerfile", "--target", "service"],
        ["init", "--target", "other", "service/main.py"],
    ]
    for command in runs:
        completed = subprocess.run(
            [sys.executable, "-m", "depmin", *command, "--root", str(project)],
            capture_output=True,
            text=True,
            timeout=60,
            env=environment,
            cwd=tmp_path,
        )
        assert completed.returncode == 0, (command, completed.stdout, completed.stderr)
        assert not marker.exists(), command
    assert "exits" not in completed.stdout  # sys.exit never ran: depmin printed its own output


# -- never lose data -------------------------------------------------------------------------------


def test_a_kill_during_a_write_leaves_the_previous_file_intact(tmp_path):
    target = tmp_path / "requirements.txt"
    target.write_text("previous\n")
    script = (
        "import sys\nfrom pathlib import Path\nfrom depmin.files.writing import write_atomic\n"
        "text = 'x' * 200_000_000\nprint('ready', flush=True)\n"
        "while True:\n    write_atomic(Path(sys.argv[1]), text)\n"
    )
    for delay in (0.05, 0.2, 0.5):
        process = subprocess.Popen(
            [sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE, text=True, cwd=REPOSITORY
        )
        assert process.stdout.readline().strip() == "ready"
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        content = target.read_bytes()
        assert content == b"previous\n" or content == b"x" * 200_000_000
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "requirements.txt"]
    for name in leftovers:  # a killed writer may leave its temporary file, never a torn target
        assert name.startswith(".requirements.txt.") and name.endswith(".tmp")


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".depmin_cache" not in p.parts
    }


def test_depmin_changes_only_the_outputs_it_was_asked_for(runner, tmp_path):
    project = tmp_path / "caramba"
    shutil.copytree(CARAMBA, project, ignore=shutil.ignore_patterns(".depmin_cache"))
    before = snapshot(project)
    for command in (
        ["closure", "ai/", "console/"],
        ["why", "torch", "--target", "agent"],
        ["audit", "--target", "agent"],
        ["check"],
        ["report", "--target", "agent"],
        ["dockerfile", "--target", "agent"],
    ):
        result = runner.invoke(main, [*command, "--root", str(project)])
        assert result.exit_code in (0, 1), (command, result.output)
    assert snapshot(project) == before
    output = tmp_path / "out.txt"
    runner.invoke(main, ["closure", "--root", str(project), "ai/", "-o", str(output)])
    assert snapshot(project) == before and output.exists()


# -- properties ----------------------------------------------------------------------------------------

NAMES = st.from_regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,5}){0,2}", fullmatch=True)
VERSIONS = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}(\.post[0-9]|rc[0-9]|\.dev[0-9])?", fullmatch=True)
MARKERS = st.sampled_from(
    [None, "python_full_version < '3.12.4'", "sys_platform == 'linux' and python_version >= '3.11'"]
)
HASHES = st.lists(st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True), max_size=3, unique=True)


@given(
    st.lists(
        st.tuples(NAMES, VERSIONS, MARKERS, HASHES, st.lists(NAMES, max_size=3)), max_size=12, unique_by=lambda t: t[0]
    )
)
@settings(max_examples=80, deadline=None)
def test_requirements_text_parses_back_to_the_same_pins(rows):
    pins = tuple(
        Pin(name, version, marker, tuple(sorted(set(parents))) or ("",), tuple(hashes))
        for name, version, marker, hashes, parents in sorted(rows)
    )
    text = requirements_text(bare_closure(pinned=pins), "depmin closure app/")
    parsed = {}
    hashes: dict[str, list[str]] = {}
    current = None
    for line in re.sub(r"\\\n", " ", text).splitlines():
        if not line or line.lstrip().startswith("#"):
            continue
        requirement_text, *hash_parts = line.split(" --hash=")
        requirement = Requirement(requirement_text.strip())
        current = requirement.name
        parsed[current] = (str(requirement.specifier), str(requirement.marker) if requirement.marker else None)
        hashes[current] = [h.strip() for h in hash_parts]
    assert parsed == {p.name: (f"=={p.version}", str(Marker(p.marker)) if p.marker else None) for p in pins}
    assert hashes == {p.name: list(p.hashes) for p in pins}
