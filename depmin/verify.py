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
from typing import TYPE_CHECKING

from depmin.copyplan import planned_files
from depmin.discover import ModuleIndex
from depmin.distinfo import dist_info_files, dist_info_name, script_files
from depmin.errors import MessageError
from depmin.model import Closure

if TYPE_CHECKING:
    from depmin.analysis import Analysis

# Runs inside the built venv: every module is imported in this one interpreter, so an expensive
# dependency (torch, litellm) is imported once, not once per module. A failed import is taken
# back out of sys.modules with everything it added, so the next module that needs it fails the
# same way instead of being hidden. A module that blocks is stopped by an alarm; one that kills
# the interpreter ends this run, and depmin starts another for the modules left.
_RUNNER = r"""
import importlib, json, os, signal, sys, time
roots, modules, channel, timeout = json.loads(sys.stdin.read())
results = os.fdopen(channel, "w", buffering=1)  # private: the imported code prints to stdout
sys.path[:0] = roots

class Blocked(BaseException):
    pass

def _alarm(signum, frame):
    raise Blocked()

signal.signal(signal.SIGALRM, _alarm)
for name in modules:
    before = set(sys.modules)
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        importlib.import_module(name)
        outcome = {"module": name, "ok": True}
    except Blocked:
        outcome = {"module": name, "ok": False, "type": "Timeout", "missing": None, "filename": None,
                   "message": f"timed out after {timeout:g} s (import blocked)"}
    except BaseException as exc:
        missing = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
        text = str(exc)
        outcome = {"module": name, "ok": False, "type": type(exc).__name__,
                   "message": text.splitlines()[0] if text else "", "missing": missing,
                   "filename": getattr(exc, "filename", None)}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if not outcome["ok"]:
        for added in set(sys.modules) - before:
            sys.modules.pop(added, None)
    outcome["seconds"] = round(time.monotonic() - started, 3)
    results.write(json.dumps(outcome) + "\n")
"""


class VerifyError(MessageError):
    """The tree or the venv could not be built (not a failed import)."""

    code = "DM006"


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    module: str
    ok: bool
    optional: bool  # reached only through guarded imports: may fail on what it guards
    message: str = ""
    hint: str = ""
    # What the failure is, from what depmin knows: optional, missing_distribution, missing_file,
    # missing_metadata, timeout, crash, or error (an exception of the module's own code).
    kind: str = ""

    @property
    def counts_as_failure(self) -> bool:
        return not self.ok and not self.optional


@dataclass(frozen=True)
class VerifyResult:
    tree: Path  # the built tree, or `engine:tag` of the image
    installed: tuple[str, ...]
    outcomes: tuple[ImportOutcome, ...]
    smoke: SmokeOutcome | None = None
    kept: bool = False  # the tree and venv were left for inspection
    image: tuple[str, str] | None = None  # (engine, base) when verified inside an image

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
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--compile-bytecode",
            "--python",
            str(_python_in(venv)),
            "-r",
            str(requirements),
        ],
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
    venv: Path,
    tree: Path,
    roots: Iterable[str],
    modules: Iterable[str],
    on_result: Callable[[dict], None],
    *,
    timeout: float = 60.0,
) -> list[dict]:
    """Import every module in one interpreter whose path is only the tree and the venv; a run
    that dies or hangs past the alarm is replaced by a new one for the modules left."""
    pending = list(modules)
    environment = {**_scrubbed_environment(venv, tree), "PYTHONDONTWRITEBYTECODE": "1"}
    absolute_roots = _absolute_roots(tree, roots)
    results: list[dict] = []
    while pending:
        reported = _run_importer(venv, tree, environment, absolute_roots, pending, timeout, on_result)
        results += reported
        done = {r["module"] for r in reported}
        pending = [m for m in pending if m not in done]
        if pending:  # the interpreter died or hung on the first module it did not report
            stuck = pending.pop(0)
            failure = {
                "module": stuck,
                "ok": False,
                "type": "Crash",
                "missing": None,
                "filename": None,
                "message": f"the interpreter died or hung importing it (no answer within {timeout:g} s)",
            }
            results.append(failure)
            on_result(failure)
    return results


def _scrubbed_environment(venv: Path, tree: Path) -> dict[str, str]:
    """All the analysed code sees of the environment (README, Security): none of the user's variables."""
    return {
        "PATH": str(_python_in(venv).parent) + os.pathsep + "/usr/bin:/bin",
        "HOME": str(tree),
        "PYTHONNOUSERSITE": "1",
        "VIRTUAL_ENV": str(venv),
    }


def _absolute_roots(tree: Path, roots: Iterable[str]) -> list[str]:
    return [str(tree / root) if root != "." else str(tree) for root in roots]


def _run_importer(
    venv: Path,
    tree: Path,
    environment: dict[str, str],
    roots: list[str],
    modules: list[str],
    timeout: float,
    on_result: Callable[[dict], None],
) -> list[dict]:
    import select

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
        start_new_session=True,  # its children go with it when it is stopped
    )
    os.close(write_end)
    assert process.stdin is not None
    process.stdin.write(json.dumps([roots, modules, write_end, timeout]))
    process.stdin.close()
    results: list[dict] = []
    expected = set(modules)
    buffer = b""
    try:
        while True:
            ready, _, _ = select.select([read_end], [], [], timeout + 10)  # the alarm is inside; this is the watchdog
            if not ready:
                break  # stuck where no alarm reaches (a C loop): replaced by a new interpreter
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                result = _parse_result(line, expected)
                if result is not None:
                    expected.discard(result["module"])
                    results.append(result)
                    on_result(result)
    finally:
        os.close(read_end)
        _stop(process)
    return results


def _parse_result(line: bytes, expected: set[str]) -> dict | None:
    try:
        result = json.loads(line.decode("utf-8", errors="replace"))
    except json.JSONDecodeError:
        return None
    if not isinstance(result, dict) or result.get("module") not in expected or not isinstance(result.get("ok"), bool):
        return None
    return result


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        import signal

        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            process.kill()
    process.wait()


def compile_tree(venv: Path, tree: Path) -> None:
    """Byte-compile the copied tree once, so no import compiles it again (and installs are compiled)."""
    subprocess.run(
        [str(_python_in(venv)), "-I", "-m", "compileall", "-q", "-j", "0", str(tree)],
        capture_output=True,
        check=False,
        cwd=tree,
    )


@dataclass(frozen=True, slots=True)
class SmokeOutcome:
    command: str
    ok: bool
    output: str  # the last lines the command printed, for a failure


def run_smoke(venv: Path, tree: Path, roots: Iterable[str], command: str, timeout: float) -> SmokeOutcome:
    """Run the target's smoke command in the tree, with the venv first on PATH and the image's
    sys.path as PYTHONPATH: what the container's CMD would do."""
    import shlex

    environment = {**_scrubbed_environment(venv, tree), "PYTHONPATH": os.pathsep.join(_absolute_roots(tree, roots))}
    try:
        words = shlex.split(command)
        completed = subprocess.run(
            words, cwd=tree, env=environment, capture_output=True, text=True, timeout=timeout, check=False
        )
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
    hint = _hint(result, index, closure)
    return ImportOutcome(result["module"], False, optional, message, hint, _kind(result, optional, index, hint))


def _kind(result: dict, optional: bool, index: ModuleIndex, hint: str) -> str:
    failure = result.get("type")
    if optional:
        return "optional"
    if failure == "Timeout":
        return "timeout"
    if failure == "Crash":
        return "crash"
    if failure == "PackageNotFoundError":
        return "missing_metadata"
    if failure in ("FileNotFoundError", "IsADirectoryError", "NotADirectoryError"):
        return "missing_file"
    missing = str(result.get("missing") or "")
    if failure in ("ModuleNotFoundError", "ImportError") and missing:
        if missing in index.modules or missing.partition(".")[0] in index.modules:
            return "missing_file"
        return "missing_distribution"
    return "error"


def _hint(result: dict, index: ModuleIndex, closure: Closure) -> str:
    missing = result.get("missing")
    if result.get("type") in ("ModuleNotFoundError", "ImportError") and missing:
        top = str(missing).partition(".")[0]
        if missing in index.modules or top in index.modules:
            return f"first-party module {missing} is not in the tree: a file is missing from the COPY list"
        for requirement in closure.optional:
            for via in requirement.via:
                if _imported_top(via.statement) == top:
                    return (
                        f"depmin saw this import as optional (guarded) at {via.file}:{via.line}: {requirement.name} "
                        "is not installed; --include-optional installs it"
                    )
        if any(_imported_top(via.statement) == top for r in closure.direct for via in r.via):
            return f"depmin saw {missing!r} as required and pinned it; the installed distribution does not provide it"
        return (
            f"no installed distribution provides {missing!r}: it is imported in a way depmin cannot see "
            "(a computed name?); add it to hidden-imports, or to the project's dependencies"
        )
    if result.get("type") in ("FileNotFoundError", "IsADirectoryError", "NotADirectoryError"):
        return f"a data file is missing: {result.get('filename')}; add its directory to the target's `data`"
    if result.get("type") == "PackageNotFoundError":
        return (
            "a distribution's metadata is missing (importlib.metadata): if it is first-party, it is not "
            "in uv.lock as a package of this project; otherwise add it to hidden-imports"
        )
    if result.get("type") == "Timeout":
        return "the import blocks (a server started or input awaited at import time?); raise --timeout or guard it"
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
    candidates += [
        str(p) for p in sorted((home / ".local/share/uv/python").glob(f"cpython-{version}*/bin/python{version}"))
    ]
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for candidate in candidates:
        if candidate and Path(candidate).exists() and _reports_version(candidate, version):
            return candidate
    raise VerifyError(
        f"no Python {version} interpreter is installed (looked on PATH, in pyenv and uv); install one or pass --python"
    )


def _reports_version(executable: str, version: str) -> bool:
    try:
        completed = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return completed.returncode == 0 and completed.stdout.strip() == version


def remove_tree(tree: Path) -> None:
    shutil.rmtree(tree, ignore_errors=True)


# -- the use case -------------------------------------------------------------------------

Progress = Callable[[dict | None], None]


@dataclass(frozen=True)
class VerifyRequest:
    root: Path
    excludes: tuple[str, ...]
    requirements: str  # the requirements file's text, exactly as `closure -o` writes it
    smoke: str | None = None
    timeout: float = 60.0
    keep: bool = False


def importable(closure: Closure) -> tuple[str, ...]:
    """What verify imports: the closure's modules, but not `__main__` modules (importing one runs
    the program, as `python -m` does; they are copied, not imported), and what only strings name."""
    modules = [m for m in closure.modules if m.rpartition(".")[2] != "__main__"]
    return (*modules, *closure.named_imports)


def verify_tree(
    analysis: Analysis,
    request: VerifyRequest,
    *,
    log: Callable[[str], None],
    progress: Callable[[str, int | None], Progress],
) -> VerifyResult:
    """Copy the closure's tree, install its pins with uv, import every module, run the smoke
    command. `progress(description, total)` gives the callback each step reports to."""
    import tempfile

    closure = analysis.closure
    workdir = Path(tempfile.mkdtemp(prefix="depmin-verify-"))
    tree, requirements = workdir / "app", workdir / "requirements.txt"
    try:
        files = copy_tree(request.root, closure, request.excludes, tree)
        log(f"copied {len(files)} files into {tree}")
        requirements.write_text(request.requirements, "utf-8")
        python = find_interpreter(closure.target.python_version)
        progress("installing pinned distributions", None)
        venv = build_venv(workdir, python, requirements, log)
        write_local_metadata(venv, closure)
        compile_tree(venv, tree)
        modules = importable(closure)
        results = import_modules(
            venv,
            tree,
            closure.image_path,
            modules,
            progress("importing modules", len(modules)),
            timeout=request.timeout,
        )
        outcomes = outcomes_of(analysis, results)
        smoked = run_smoke(venv, tree, closure.image_path, request.smoke, request.timeout) if request.smoke else None
        return VerifyResult(tree if request.keep else workdir, installed_names(venv), outcomes, smoked, request.keep)
    finally:
        if not request.keep:
            remove_tree(workdir)


def outcomes_of(analysis: Analysis, results: Iterable[dict]) -> tuple[ImportOutcome, ...]:
    """Each importer report as an outcome, and a crash for every module nothing reported."""
    closure = analysis.closure
    optional = {m for m in analysis.layers.optional if isinstance(m, str)}
    outcomes = [outcome(r, r["module"] in optional, analysis.index, closure) for r in results]
    seen = {o.module for o in outcomes}
    outcomes += [
        ImportOutcome(m, False, m in optional, "the import check did not report", kind="crash")
        for m in importable(closure)
        if m not in seen
    ]
    return tuple(outcomes)
