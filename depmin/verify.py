"""Prove a closure: build the minimal tree and venv (with uv), import every module in it.

The only place depmin runs analysed code, and only inside the throwaway tree:
the import path of each check is that tree and that venv, nothing of the
user's repository or environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from depmin.copyplan import planned_files
from depmin.discover import ModuleIndex
from depmin.distinfo import dist_info_files, dist_info_name, script_files
from depmin.model import Closure

# Runs inside the built venv: forks once per module so one failure never hides the next,
# and each import starts from the same clean interpreter state.
_RUNNER = r"""
import json, os, sys, traceback
roots, modules, channel = json.loads(sys.stdin.read())
results = os.fdopen(channel, "w", buffering=1)  # private: the imported code prints to stdout
sys.path[:0] = roots
for name in modules:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.close(channel)
        try:
            import importlib
            importlib.import_module(name)
            outcome = {"module": name, "ok": True}
        except BaseException as exc:
            missing = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
            outcome = {"module": name, "ok": False, "type": type(exc).__name__,
                       "message": str(exc).splitlines()[0] if str(exc) else "", "missing": missing,
                       "filename": getattr(exc, "filename", None)}
        os.write(write, json.dumps(outcome).encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while True:
        chunk = os.read(read, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    text = b"".join(chunks).decode() or json.dumps({"module": name, "ok": False, "type": "Crash",
        "message": f"the interpreter died (status {status})", "missing": None, "filename": None})
    results.write(text.replace("\n", " ") + "\n")
"""


class VerifyError(Exception):
    """The tree or the venv could not be built (not a failed import)."""


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    module: str
    ok: bool
    optional: bool  # reached only through guarded imports: may fail on what it guards
    message: str = ""
    hint: str = ""

    @property
    def counts_as_failure(self) -> bool:
        return not self.ok and not self.optional


@dataclass(frozen=True)
class VerifyResult:
    tree: Path
    installed: tuple[str, ...]
    outcomes: tuple[ImportOutcome, ...]
    smoke: SmokeOutcome | None = None

    @property
    def ok(self) -> bool:
        return not any(o.counts_as_failure for o in self.outcomes) and (self.smoke is None or self.smoke.ok)


def copy_tree(root: Path, closure: Closure, excludes: tuple[str, ...], tree: Path) -> list[str]:
    """Copy exactly what the COPY lines copy (with the same excludes as the .dockerignore)."""
    written = []
    for source, destination in planned_files(root, closure, excludes):
        target = tree / destination
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        written.append(destination)
    return sorted(written)


def write_local_metadata(venv: Path, closure: Closure) -> None:
    """The dist-info of each first-party distribution whose code the tree carries (depmin.distinfo)."""
    for site in venv.glob("lib/python*/site-packages"):
        for distribution in closure.local_distributions:
            directory = site / dist_info_name(distribution)
            directory.mkdir(parents=True, exist_ok=True)
            for name, text in dist_info_files(distribution).items():
                (directory / name).write_text(text, "utf-8")
    for distribution in closure.local_distributions:
        for name, text in script_files(distribution, str(_python_in(venv))).items():
            launcher = _python_in(venv).parent / name
            launcher.write_text(text, "utf-8")
            launcher.chmod(0o755)


def uv_binary() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def build_venv(tree: Path, python: str, requirements: Path, log: Callable[[str], None]) -> Path:
    """`uv venv` + `uv pip install --no-deps -r`: exactly the pinned set, nothing resolved on the side."""
    uv = uv_binary()
    venv = tree / ".venv"
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": ""}
    environment.pop("PYTHONPATH", None)
    commands = [
        [uv, "venv", "--quiet", "--python", python, str(venv)],
        [uv, "pip", "install", "--quiet", "--no-deps", "--python", str(_python_in(venv)), "-r", str(requirements)],
    ]
    for command in commands:
        log(" ".join(Path(part).name if part == uv else part for part in command))
        completed = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
        if completed.returncode != 0:
            detail = _reason((completed.stderr or completed.stdout).strip().splitlines()) or str(completed.returncode)
            raise VerifyError(f"`{' '.join(command[1:3])}` failed: {detail}")
    return venv


def _reason(lines: list[str]) -> str:
    """uv's most telling line: the hash mismatch or the cause, rather than the last hash printed."""
    for marker in ("mismatch", "caused by", "error:"):
        for line in lines:
            if marker in line.lower():
                return line.strip().removeprefix("error:").strip()
    return lines[-1].strip() if lines else ""


def _python_in(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def installed_names(venv: Path) -> tuple[str, ...]:
    from packaging.utils import canonicalize_name

    names = set()
    for info in venv.glob("lib/python*/site-packages/*.dist-info"):
        names.add(canonicalize_name(info.name[: -len(".dist-info")].rsplit("-", 1)[0]))
    return tuple(sorted(names))


def import_modules(
    venv: Path, tree: Path, roots: Iterable[str], modules: Iterable[str], on_result: Callable[[dict], None]
) -> list[dict]:
    """Import each module in a fork of a fresh interpreter whose path is only the tree and the venv."""
    modules = list(modules)
    environment = {
        "PATH": str(_python_in(venv).parent) + os.pathsep + "/usr/bin:/bin",
        "HOME": str(tree),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "VIRTUAL_ENV": str(venv),
    }
    absolute_roots = [str(tree / root) if root != "." else str(tree) for root in roots]
    # Results come back on a pipe of their own, never on stdout, which the imported code shares:
    # a module that prints JSON can neither crash verify nor fake a verdict by accident.
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [str(_python_in(venv)), "-I", "-c", _RUNNER],
        cwd=tree,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        pass_fds=(write_end,),
    )
    os.close(write_end)
    assert process.stdin is not None
    process.stdin.write(json.dumps([absolute_roots, modules, write_end]))
    process.stdin.close()
    results = []
    expected = set(modules)
    with os.fdopen(read_end, encoding="utf-8", errors="replace") as channel:
        for line in channel:
            try:
                result = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(result, dict) or result.get("module") not in expected or not isinstance(result.get("ok"), bool):
                continue
            expected.discard(result["module"])
            results.append(result)
            on_result(result)
    process.wait()
    return results


@dataclass(frozen=True, slots=True)
class SmokeOutcome:
    command: str
    ok: bool
    output: str  # the last lines the command printed, for a failure


def run_smoke(venv: Path, tree: Path, roots: Iterable[str], command: str, timeout: float) -> SmokeOutcome:
    """Run the target's smoke command in the tree, with the venv first on PATH and the image's
    sys.path as PYTHONPATH: what the container's CMD would do."""
    import shlex

    environment = {
        "PATH": str(_python_in(venv).parent) + os.pathsep + "/usr/bin:/bin",
        "HOME": str(tree),
        "PYTHONPATH": os.pathsep.join(str(tree / root) if root != "." else str(tree) for root in roots),
        "PYTHONNOUSERSITE": "1",
        "VIRTUAL_ENV": str(venv),
    }
    try:
        words = shlex.split(command)
        completed = subprocess.run(words, cwd=tree, env=environment, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return SmokeOutcome(command, False, f"timed out after {timeout:g} s")
    except (OSError, ValueError) as exc:
        return SmokeOutcome(command, False, str(exc))
    lines = (completed.stdout + completed.stderr).strip().splitlines()
    if completed.returncode == 0:
        return SmokeOutcome(command, True, "")
    return SmokeOutcome(command, False, "\n".join([f"exit {completed.returncode}", *lines[-8:]]))


def outcome(result: dict, optional: bool, index: ModuleIndex, closure: Closure) -> ImportOutcome:
    if result.get("ok"):
        return ImportOutcome(result["module"], True, optional)
    message = f"{result.get('type')}: {result.get('message')}".rstrip(": ")
    return ImportOutcome(result["module"], False, optional, message, _hint(result, index, closure))


def _hint(result: dict, index: ModuleIndex, closure: Closure) -> str:
    missing = result.get("missing")
    if result.get("type") in ("ModuleNotFoundError", "ImportError") and missing:
        top = str(missing).partition(".")[0]
        if missing in index.modules or top in index.modules:
            return f"first-party module {missing} is not in the tree: a file is missing from the COPY list"
        for requirement in closure.optional:
            for via in requirement.via:
                if _imported_top(via.statement) == top:
                    return (f"depmin saw this import as optional (guarded) at {via.file}:{via.line}: {requirement.name} "
                            "is not installed; --include-optional installs it")  # fmt: skip
        if any(_imported_top(via.statement) == top for r in closure.direct for via in r.via):
            return f"depmin saw {missing!r} as required and pinned it; the installed distribution does not provide it"
        return (
            f"no installed distribution provides {missing!r}: it is imported in a way depmin cannot see "
            "(a computed name?); add it to hidden-imports, or to the project's dependencies"
        )
    if result.get("type") in ("FileNotFoundError", "IsADirectoryError", "NotADirectoryError"):
        return f"a data file is missing: {result.get('filename')}; add its directory to the target's `data`"
    return ""


def _imported_top(statement: str) -> str:
    """The top-level module of a described import (`from yaml import x` → yaml)."""
    words = statement.replace("(", " ").replace("'", " ").split()
    if len(words) >= 2 and words[0] in ("import", "from"):
        return words[1].lstrip(".").partition(".")[0]
    if len(words) >= 2 and words[0].startswith(("importlib.import_module", "__import__")):
        return words[1].partition(".")[0]
    return ""


def find_interpreter(version: str) -> str:
    """An installed interpreter of the target version; never a download.

    uv's own discovery misses pyenv's versions when they are not the active one,
    so depmin looks on PATH, then in pyenv's and uv's version folders, and asks
    each candidate what it is.
    """
    home = Path.home()
    pyenv_root = Path(os.environ.get("PYENV_ROOT", home / ".pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += [str(p) for p in sorted(pyenv_root.glob(f"versions/{version}*/bin/python{version}"), reverse=True)]
    candidates += [str(p) for p in sorted((home / ".local/share/uv/python").glob(f"cpython-{version}*/bin/python{version}"))]
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for candidate in candidates:
        if candidate and Path(candidate).exists() and _reports_version(candidate, version):
            return candidate
    raise VerifyError(f"no Python {version} interpreter is installed (looked on PATH, in pyenv and uv); install one or pass --python")


def _reports_version(executable: str, version: str) -> bool:
    try:
        completed = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return completed.returncode == 0 and completed.stdout.strip() == version


def remove_tree(tree: Path) -> None:
    shutil.rmtree(tree, ignore_errors=True)
