"""Mutation testing of depmin's core logic with mutmut: how many small, realistic bugs planted in
the code that decides correctness the quick test loop catches.

    uv run python bench/mutation.py                          # every core module below
    uv run python bench/mutation.py depmin/lock/markers.py   # some of them

Each module is mutated in a throwaway copy of the working tree (fixtures/ is linked, not copied:
it holds a symlink loop on purpose), and each mutant is tested by the quick loop's tests that
exercise that module (`-m "not slow"`, no xdist; every pytest run has its own empty scan cache,
tests/conftest.py). Results are merged into bench/mutation-results.json, and bench/MUTATION.md is
written from it: the score per module, and every surviving mutant with the reason it is
equivalent (it changes no behaviour) from bench/mutation-notes.toml, or marked unexplained.

Not part of CI: on two cores a module takes minutes to tens of minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from datetime import date
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
RESULTS = REPOSITORY / "bench" / "mutation-results.json"
NOTES = REPOSITORY / "bench" / "mutation-notes.toml"
REPORT = REPOSITORY / "bench" / "MUTATION.md"

# module → the quick tests that exercise it (mutmut runs, of these, those that reach the mutant)
CORE: dict[str, list[str]] = {
    "depmin/lock/markers.py": ["tests/lock"],
    "depmin/files/safety.py": ["tests/files", "tests/outputs/test_hostile_outputs.py"],
    "depmin/lock/closure.py": [
        "tests/lock",
        "tests/analysis/test_platforms.py",
        "tests/analysis/test_analysis.py",
        "tests/outputs/test_requirements.py",
    ],
    "depmin/scan/evaluate.py": ["tests/scan"],
    "depmin/imports/resolve.py": ["tests/imports", "tests/analysis/test_analysis.py"],
    "depmin/imports/copy_plan.py": ["tests/imports"],
    "depmin/lock/prune.py": ["tests/commands/test_prune.py"],
    "depmin/lock/pylock.py": ["tests/lock"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="repository-relative modules (default: every core module)")
    parser.add_argument("--report-only", action="store_true", help="only write MUTATION.md from the saved results")
    arguments = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if not arguments.report_only:
        for module in arguments.modules or list(CORE):
            if module not in CORE:
                parser.error(f"{module}: not a core module here (known: {', '.join(CORE)})")
            results[module] = run_module(module, CORE[module])
            RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    REPORT.write_text(report(results, notes()))
    print(f"wrote {REPORT.relative_to(REPOSITORY)}")
    return 0


def run_module(module: str, tests: list[str]) -> dict[str, object]:
    """{"mutants": {name: status}, "diffs": {name: diff of each survivor}} for one module."""
    work = Path(tempfile.mkdtemp(prefix="depmin-mutation-"))
    try:
        tracked = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPOSITORY,
            capture_output=True,
            check=True,
        ).stdout
        for name in tracked.decode().split("\0"):
            if name and not name.startswith("fixtures/") and (REPOSITORY / name).is_file():
                target = work / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPOSITORY / name, target)
        for place in (work, work / "mutants"):
            place.mkdir(exist_ok=True)
            (place / "fixtures").symlink_to(REPOSITORY / "fixtures")
        pyproject = work / "pyproject.toml"
        pyproject.write_text(pyproject.read_text() + _config(module, tests))
        mutmut = [sys.executable, "-m", "mutmut"]
        environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        print(f"{module}: mutating, tests {' '.join(tests)}", flush=True)
        ran = subprocess.run([*mutmut, "run", "--max-children", "2"], cwd=work, env=environment, check=False,
                             capture_output=True, text=True)  # fmt: skip
        listed = subprocess.run([*mutmut, "results", "--all", "true"], cwd=work, env=environment,
                                capture_output=True, text=True, check=False).stdout  # fmt: skip
        statuses = dict(re.findall(r"^\s*(\S+): (\S.*)$", listed, re.MULTILINE))
        if not statuses or all(status == "not checked" for status in statuses.values()):
            tail = [line for line in (ran.stdout + ran.stderr).splitlines() if "warn" not in line.lower()][-15:]
            print(f"{module}: mutmut checked nothing:", *tail, sep="\n  ", file=sys.stderr)
        diffs = {}
        for name, status in statuses.items():
            if status not in ("killed", "not checked"):
                shown = subprocess.run([*mutmut, "show", name], cwd=work, env=environment, capture_output=True,
                                       text=True, check=False).stdout  # fmt: skip
                diffs[name] = "\n".join(line for line in shown.splitlines() if line[:1] in "+-" and line[:3] not in
                                        ("+++", "---"))  # fmt: skip
        return {"mutants": statuses, "diffs": diffs, "tests": tests}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _config(module: str, tests: list[str]) -> str:
    return (
        "\n[tool.mutmut]\n"
        f"source_paths = [{json.dumps(module)}]\n"
        'also_copy = ["tests", "depmin", "scripts", "bench"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        'pytest_add_cli_args = ["-n0", "-p", "no:cacheprovider", "-m", "not slow", "-q"]\n'
    )


def notes() -> dict[str, str]:
    return tomllib.loads(NOTES.read_text())["equivalent"] if NOTES.exists() else {}


def report(results: dict[str, dict], explained: dict[str, str]) -> str:
    lines = [
        "# Mutation testing of the core logic",
        "",
        f"Generated by `uv run python bench/mutation.py` (mutmut; last written {date.today().isoformat()}).",
        "Each module is mutated alone and tested by the quick loop's tests that exercise it. A mutant that",
        "changes no behaviour is *equivalent*: each one is explained in `bench/mutation-notes.toml`.",
        "Score = killed / (mutants - equivalent).",
        "",
        "| module | mutants | killed | equivalent | survived | score | tests |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    survivors: list[str] = []
    for module, result in sorted(results.items()):
        statuses: dict[str, str] = result["mutants"]
        killed = sum(1 for s in statuses.values() if s == "killed")
        equivalent = [n for n, s in statuses.items() if s != "killed" and n in explained]
        alive = [n for n, s in statuses.items() if s != "killed" and n not in explained]
        counted = len(statuses) - len(equivalent)
        score = f"{100 * killed / counted:.0f} %" if counted else "–"
        lines.append(f"| `{module}` | {len(statuses)} | {killed} | {len(equivalent)} | {len(alive)} | {score} | "
                     f"{', '.join(f'`{t}`' for t in result['tests'])} |")  # fmt: skip
        for name in sorted([*equivalent, *alive]):
            why = explained.get(name, f"**not killed** ({statuses[name]})")
            survivors += [f"- `{name}`: {why}", "", "  ```diff", *(f"  {d}" for d in result["diffs"].get(name,
                          "").splitlines()), "  ```", ""]  # fmt: skip
    lines += ["", "## Mutants not killed", "", *(survivors or ["None."]), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
