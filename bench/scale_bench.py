"""Speed at monorepo scale: depmin against grimp on generated monorepos of 1k, 10k and 30k files,
each with the seed's 17 targets (bench/make_monorepo.py --targets 17).

    python bench/scale_bench.py [--sizes 1000 10000 30000] [--repeat 3]

Figures, all measured in this one run, each a whole process (start-up included):
- grimp cold: `grimp.build_graph(<every top-level package>, cache_dir=None)`;
- depmin whole-repository audit (`depmin audit --forbid torch ./`), cold (no scan cache) and warm;
- depmin warm `check` of all 17 targets (after one `sync`);
- the same audit and check after one module's content changed (an incremental run);
- peak resident memory of each process (its own, from wait4).
bench/run.py runs the same measurements and writes them, with the goals, into RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = Path("/tmp/depmin-scale")
GRIMP = "3.20"


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak MiB) of one whole process."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(
            f"{' '.join(command)} failed: {process.stderr.read().decode()[-400:] if process.stderr else ''}"
        )
    return wall, usage.ru_maxrss / 1024


def read_tree(tree: Path) -> None:
    """Read every source once, so that each timed run finds them in the page cache: this machine
    drops it freely, and a tool that reads the files (grimp, a cold depmin) would otherwise be
    timed against the disk, one run at 0.8 s and the next at 2.6 s with the same CPU time."""
    for path in tree.rglob("*.py"):
        if ".depmin_cache" not in path.parts:
            path.read_bytes()


def median(command: list[str], cwd: Path, repeat: int, before=None) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        if before:
            before()
        read_tree(cwd)
        runs.append(timed(command, cwd))
    return statistics.median(w for w, _ in runs), max(m for _, m in runs)


def peers() -> Path:
    venv = WORK / "peers"
    python = venv / "bin" / "python"
    if not python.exists():
        uv = shutil.which("uv") or "uv"
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(python), f"grimp=={GRIMP}"], check=True)
    # Where PYTHONDONTWRITEBYTECODE is set (it is here) grimp would compile its own modules on every
    # run; depmin's are compiled too (bench/run.py's compile_bytecode), so each starts the same way.
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([str(python), "-m", "compileall", "-q", purelib], capture_output=True, check=False)
    return python


def top_packages(tree: Path) -> list[str]:
    return sorted(p.name for p in tree.iterdir() if (p / "__init__.py").is_file())


def measure(size: int, repeat: int, grimp_python: Path) -> dict[str, float]:
    tree = WORK / f"mono{size}"
    if not (tree / "pyproject.toml").exists():
        subprocess.run([sys.executable, str(HERE / "make_monorepo.py"), str(tree), "--files", str(size),
                        "--lines", str(size * 80), "--targets", "17"], check=True)  # fmt: skip
    depmin = [sys.executable, "-m", "depmin"]
    cache = tree / ".depmin_cache"

    def clear() -> None:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(tree / ".grimp_cache", ignore_errors=True)

    packages = ", ".join(repr(p) for p in top_packages(tree))
    grimp = [str(grimp_python), "-c", f"import grimp; grimp.build_graph({packages}, cache_dir=None)"]
    audit = [*depmin, "audit", "-q", "--forbid", "torch", "./"]
    figures: dict[str, float] = {}
    figures["grimp cold"], figures["grimp cold MiB"] = median(grimp, tree, repeat, clear)
    startup = [sys.executable, "-c", "import depmin.commands.audit"]  # Python, click and depmin's imports
    figures["start-up"], _ = median(startup, tree, repeat)
    figures["audit cold"], figures["audit cold MiB"] = median(audit, tree, 1 if size > 10_000 else repeat, clear)
    figures["audit warm"], figures["audit warm MiB"] = median(audit, tree, repeat)
    edit = one_edit(tree)
    figures["audit one change"], _ = median(audit, tree, repeat, edit)
    subprocess.run([*depmin, "sync", "-q"], cwd=tree, check=True)
    check = [*depmin, "check", "-q"]
    figures["check warm"], figures["check warm MiB"] = median(check, tree, repeat)
    figures["check one change"], _ = median(check, tree, repeat, edit)
    return figures


def one_edit(tree: Path):
    """Before each run, a new line in one module in the middle of the tree (its content, and
    so its key, changes; what it imports does not): an incremental run, as on a commit."""
    files = sorted(p for p in tree.rglob("*.py") if ".depmin_cache" not in p.parts)
    victim = files[len(files) // 2]
    count = [0]

    def before() -> None:
        count[0] += 1
        victim.write_text(victim.read_text() + f"\n# edit {count[0]}\n")

    return before


def table(results: dict[int, dict[str, float]]) -> str:
    lines = [
        "| files | grimp cold | audit cold | ÷ grimp | audit warm | ÷ grimp | audit, 1 file changed | check 17 warm "
        "| ÷ grimp | check, 1 file changed | peak MiB: grimp / cold / warm / check |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, f in sorted(results.items()):
        g = f["grimp cold"]
        lines.append(
            f"| {size:,} | {g:.2f} s | {f['audit cold']:.2f} s | {f['audit cold'] / g:.2f}× | {f['audit warm']:.2f} s "
            f"| {f['audit warm'] / g:.2f}× | {f['audit one change']:.2f} s | {f['check warm']:.2f} s "
            f"| {f['check warm'] / g:.2f}× | {f['check one change']:.2f} s "
            f"| {f['grimp cold MiB']:.0f} / {f['audit cold MiB']:.0f} / {f['audit warm MiB']:.0f} / "
            f"{f['check warm MiB']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 30_000])
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    results = {size: measure(size, arguments.repeat, peers()) for size in arguments.sizes}
    print(table(results))


if __name__ == "__main__":
    main()
