"""The throwaway environment verify imports in: the closure's tree copied, a venv made by uv with
exactly the pinned set, the first-party metadata written, an installed interpreter found (never
downloaded)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from depmin.errors import Code, MessageError
from depmin.imports.copy_plan import planned_files
from depmin.model import Closure
from depmin.project.dist_info import dist_info_files, dist_info_name, script_files

if TYPE_CHECKING:
    pass


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
            str(python_in(venv)),
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
    subprocess.run(
        [str(python_in(venv)), "-I", "-m", "compileall", "-q", "-j", "0", str(tree)],
        capture_output=True,
        check=False,
        cwd=tree,
    )


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
