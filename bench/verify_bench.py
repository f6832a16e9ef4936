"""verify's speed goal: 30 modules that all import one module costing 2 s to import.

Builds that tree (no third-party dependencies, a real `uv lock`), then measures in one run:
- depmin verify, whole: venv creation, install from uv's cache, byte-compiling, every import;
- the old way, one fresh interpreter per module (what verify did before), in the same venv.
Prints a Markdown table; `python bench/verify_bench.py >> bench/RESULTS.md` keeps it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODULES = 30
COST = 2.0


def make_tree(root: Path) -> None:
    (root / "svc").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "benchsvc"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
    )
    (root / "svc" / "__init__.py").write_text("")
    (root / "svc" / "heavy.py").write_text(f"import time\ntime.sleep({COST})\n")
    for number in range(MODULES):
        (root / "svc" / f"m{number:02}.py").write_text("from svc import heavy\n")
    uv = _uv()
    subprocess.run(
        [uv, "lock", "--quiet", "--project", str(root)], check=True, env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    )


def _uv() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def timed(command: list[str], **kwargs) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - started


def main() -> None:
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory) / "bench"
        make_tree(root)
        depmin = [
            sys.executable,
            "-m",
            "depmin",
            "verify",
            "--root",
            str(root),
            "--no-cache",
            "--python",
            python,
            "svc/",
        ]
        new = timed(depmin)
        venv = Path(directory) / "venv"
        subprocess.run([_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
        modules = ["svc", "svc.heavy", *(f"svc.m{n:02}" for n in range(MODULES))]
        environment = {"PATH": f"{venv}/bin:/usr/bin:/bin", "PYTHONPATH": str(root)}
        started = time.perf_counter()
        for module in modules:
            subprocess.run([str(venv / "bin" / "python"), "-c", f"import {module}"], check=True, env=environment)
        old = time.perf_counter() - started
    print(f"\n## verify: {MODULES} modules importing one that costs {COST:g} s (bench/verify_bench.py)\n")
    print("| method | seconds | ratio to depmin verify |")
    print("|---|---:|---:|")
    print(f"| depmin verify (whole: venv, install, compile, imports) | {new:.1f} | 1.0 |")
    print(f"| one fresh interpreter per module (imports only) | {old:.1f} | {old / new:.1f} |")
    print(f"\nGoal: well under 25 s for depmin verify: {'met' if new < 25 else 'NOT met'} ({new:.1f} s).")


if __name__ == "__main__":
    main()
