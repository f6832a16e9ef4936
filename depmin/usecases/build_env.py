"""The throwaway environment verify imports in: the closure's tree copied, a venv made by uv with
exactly the pinned set, the first-party metadata written, an installed interpreter found (never
downloaded)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from depmin.errors import Code, MessageError
from depmin.files.reading import resolves_inside
from depmin.imports.copy_plan import planned_files
from depmin.model import Closure
from depmin.project.dist_info import dist_info_files, dist_info_name, script_files


class VerifyError(MessageError):
    """The tree or the venv could not be built (not a failed import)."""

    code = Code.VERIFY_BUILD


def copy_tree(root: Path, closure: Closure, excludes: tuple[str, ...], tree: Path) -> list[str]:
    """Copy exactly what the COPY lines copy (with the same excludes as the .dockerignore)."""
    written = []
    for source, destination in planned_files(root, closure, excludes):
        target = tree / destination
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        written.append(destination)
    return sorted(written)


def copy_local_files(root: Path, closure: Closure, workdir: Path) -> None:
    """The wheels and sdists the pins take from the repository, at the paths the requirements
    file names them by (`./wheels/x.whl`, relative to the directory uv installs from)."""
    for pin in closure.pinned:
        if pin.local_file:
            source = root / pin.local_file
            if not resolves_inside(root, source) or not source.is_file():
                raise VerifyError(f"{pin.name}: the locked file {pin.local_file} is missing or not a regular file")
            target = workdir / pin.local_file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


@contextmanager
def away_from(repository: Path, workdir: Path) -> Iterator[None]:
    """While the analysed code runs: depmin's own process is not readable through /proc by the
    processes of its user (Linux: not dumpable, so /proc/<depmin>/environ and cwd are closed to
    them) and its working directory is the throwaway one, not the repository."""
    previous = os.getcwd()
    dumpable = _set_dumpable(False)
    os.chdir(workdir)
    try:
        yield
    finally:
        os.chdir(previous)
        if dumpable:
            _set_dumpable(True)


def _set_dumpable(value: bool) -> bool:
    """PR_SET_DUMPABLE; True when it took effect (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        return bool(ctypes.CDLL(None, use_errno=True).prctl(4, int(value), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def write_local_metadata(venv: Path, closure: Closure) -> None:
    """The dist-info of each first-party distribution whose code the tree carries (depmin.distinfo)."""
    for site in venv.glob("lib/python*/site-packages"):
        for distribution in closure.local_distributions:
            directory = site / dist_info_name(distribution)
            directory.mkdir(parents=True, exist_ok=True)
            for name, text in dist_info_files(distribution).items():
                (directory / name).write_text(text, "utf-8")
    for distribution in closure.local_distributions:
        for name, text in script_files(distribution, str(python_in(venv))).items():
            launcher = python_in(venv).parent / name
            launcher.write_text(text, "utf-8")
            launcher.chmod(0o755)


def uv_binary() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


# What uv needs of the user's environment to create a venv and install from the indexes: where
# to reach them (proxies, CA bundles) and uv's own settings (index URLs and their credentials).
# Nothing else reaches uv, nor the build backends it runs for the lock's sdists.
_NETWORK_VARIABLES = frozenset(
    {
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "NETRC",
    }
)  # fmt: skip


def uv_environment(workdir: Path) -> dict[str, str]:
    """The environment uv runs in for verify: HOME is the throwaway directory, uv's cache is the
    user's (found before HOME changes), and only the network settings and UV_* variables pass."""
    from depmin.artifacts.uv_cache import uv_cache_directory

    environment = {
        key: value
        for key, value in os.environ.items()
        if key in _NETWORK_VARIABLES or (key.startswith("UV_") and key not in ("UV_PROJECT_ENVIRONMENT", "UV_PYTHON"))
    }
    netrc = Path.home() / ".netrc"
    if "NETRC" not in environment and netrc.is_file():
        environment["NETRC"] = str(netrc)
    cache = uv_cache_directory()
    if cache is not None:
        environment["UV_CACHE_DIR"] = str(cache)
    environment.update(
        {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(workdir),
            "LANG": "C.UTF-8",
            "UV_PYTHON_DOWNLOADS": "never",
        }
    )
    return environment


def build_venv(tree: Path, python: str, requirements: Path, log: Callable[[str], None]) -> Path:
    """`uv venv` + `uv pip install --no-deps -r`: exactly the pinned set, nothing resolved on the
    side. uv runs in the requirements file's directory (where a pinned local wheel's `./path`
    lies) with uv_environment()."""
    uv = uv_binary()
    venv = tree / ".venv"
    environment = uv_environment(tree)
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
            str(python_in(venv)),
            "-r",
            str(requirements),
        ],
    ]
    for command in commands:
        log(" ".join(Path(part).name if part == uv else part for part in command))
        completed = run_whole(command, env=environment, cwd=requirements.parent)
        if completed.returncode != 0:
            detail = _reason((completed.stderr or completed.stdout).strip().splitlines()) or str(completed.returncode)
            raise VerifyError(f"`{' '.join(command[1:3])}` failed: {detail}")
    return venv


def write_files(tree: Path, files: Mapping[str, bytes]) -> None:
    for relative, data in files.items():
        path = tree / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def sync_venv(tree: Path, venv: Path, python: str, extras: tuple[str, ...], log: Callable[[str], None]) -> Path:
    """`uv sync --frozen --no-dev --no-editable` in a pruned tree, into `venv`: the pins, and the
    first-party projects built by uv with their real metadata."""
    uv = uv_binary()
    environment = {**uv_environment(tree), "UV_PROJECT_ENVIRONMENT": str(venv)}
    command = [uv, "sync", "--quiet", "--frozen", "--no-dev", "--no-editable", "--compile-bytecode",
               *(f"--extra={extra}" for extra in extras), "--python", python]  # fmt: skip
    log(" ".join(Path(part).name if part == uv else part for part in command))
    completed = run_whole(command, env=environment, cwd=tree)
    if completed.returncode != 0:
        detail = _reason((completed.stderr or completed.stdout).strip().splitlines()) or str(completed.returncode)
        raise VerifyError(f"`uv sync` of the pruned tree failed: {detail}")
    return venv


def _reason(lines: list[str]) -> str:
    """uv's most telling line: the hash mismatch or the cause, rather than the last hash printed."""
    for marker in ("mismatch", "caused by", "error:"):
        for line in lines:
            if marker in line.lower():
                return line.strip().removeprefix("error:").strip()
    return lines[-1].strip() if lines else ""


def python_in(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def installed_names(venv: Path) -> tuple[str, ...]:
    from packaging.utils import canonicalize_name

    names = set()
    for info in venv.glob("lib/python*/site-packages/*.dist-info"):
        names.add(canonicalize_name(info.name[: -len(".dist-info")].rsplit("-", 1)[0]))
    return tuple(sorted(names))


def compile_tree(venv: Path, tree: Path) -> None:
    """Byte-compile the copied tree once, so no import compiles it again (and installs are compiled)."""
    run_whole([str(python_in(venv)), "-I", "-m", "compileall", "-q", "-j", "0", str(tree)], cwd=tree)


def run_whole(
    command: list[str], *, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `command` in a process group of its own; when verify is interrupted (Ctrl-C, SIGTERM)
    the whole group is killed before the tree is removed: uv's and compileall's worker processes
    would otherwise go on writing into the tree after it was removed."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)  # fmt: skip
    try:
        stdout, stderr = process.communicate()
    except BaseException:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


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
        if candidate and Path(candidate).exists():
            executable = _executable_of(candidate, version)
            if executable:
                return executable
    raise VerifyError(
        f"no Python {version} interpreter is installed (looked on PATH, in pyenv and uv); install one or pass --python"
    )


def _executable_of(candidate: str, version: str) -> str:
    """The interpreter itself behind `candidate` (a pyenv shim needs the user's environment; the
    interpreter does not), when it is Python `version`; "" otherwise."""
    try:
        completed = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.executable)"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = completed.stdout.split("\n")
    if completed.returncode != 0 or len(lines) < 2 or lines[0].strip() != version:
        return ""
    return lines[1].strip() if lines[1].strip() and Path(lines[1].strip()).is_file() else candidate


# What ends verify from outside. While a throwaway tree is made or removed, or the importer is
# reaped, they wait (blocked): a second SIGTERM, or Ctrl-C pressed twice, must not cut that short.
_INTERRUPTIONS = frozenset({signal.SIGTERM, signal.SIGINT})


@contextmanager
def terminated_as_exit() -> Iterator[None]:
    """For as long as it lasts, SIGTERM ends the process as Ctrl-C does: by an exception
    (SystemExit 143), so every `finally` runs and the throwaway tree is removed."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread has signal handlers
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def interruptions_held() -> Iterator[None]:
    """SIGTERM and SIGINT are blocked for the block, then act as they would have: their handler
    runs (and raises) as the block ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    pending: BaseException | None = None
    previous: set[int | signal.Signals] | None = None
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTIONS)
    except (OSError, ValueError):
        pass  # not blocked: the block runs unprotected
    except BaseException as exc:  # re-raised once the block is done
        # A signal caught just before: its handler ran (and raised) as the mask changed, which it
        # did all the same. What the block does still happens, then the exception goes on.
        pending = exc
    try:
        yield
    finally:
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # what came meanwhile is handled here
        elif pending is not None:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTIONS)
        if pending is not None:
            raise pending


def throwaway_directory(prefix: str) -> Path:
    """A new temporary directory; one that a signal interrupts in the making is removed again."""
    made: list[Path] = []
    try:
        with interruptions_held():
            made.append(Path(tempfile.mkdtemp(prefix=prefix)))
    except BaseException:
        for path in made:
            remove_tree(path)
        raise
    return made[0]


def remove_tree(tree: Path) -> None:
    """Remove the throwaway tree whole: a SIGTERM or Ctrl-C that comes meanwhile waits until it is
    gone, then ends the process as it would have."""
    with interruptions_held():
        shutil.rmtree(tree, ignore_errors=True)
