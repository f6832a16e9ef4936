"""Benchmark depmin against its peers on the same trees, in one run, and write bench/RESULTS.md.

    uv run python bench/run.py [--repeat 3] [--workdir /tmp/depmin-bench] [--skip-peers]
                               [--scale-sizes 1000 10000 30000]

Trees: fixtures/caramba; a generated monorepo (bench/make_monorepo.py, 10,000 files,
800,000 lines); sympy 1.14 from PyPI with a real uv.lock; and the scale trees of
bench/scale_bench.py (1k, 10k and 30k files with 17 targets, against grimp). Peers (grimp, deptry, pydeps,
FawltyDeps, pipreqs) are installed by uv into <workdir>/peers from PyPI. Every command
runs as a whole process; each time is the median of --repeat runs, with the peak
resident memory of that process (GNU time). Timings are this machine's, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import scale_bench  # bench/ is on sys.path when this script runs

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
PEERS = {"grimp": "3.20", "deptry": "0.25.1", "pydeps": "3.0.9", "fawltydeps": "0.20.0", "pipreqs": "0.5.0"}
SYMPY = "1.14.0"
GNU_TIME = shutil.which("time") if Path("/usr/bin/time").exists() else None


@dataclass
class Measurement:
    tree: str
    tool: str
    case: str
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    failure: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds and not self.failure else None

    @property
    def memory(self) -> float | None:
        return max(self.peak_mb) if self.peak_mb else None


def run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 900
) -> tuple[float, float | None, subprocess.CompletedProcess]:
    wrapped = ["/usr/bin/time", "-f", "__peak_kb=%M", *command] if GNU_TIME else command
    start = time.perf_counter()
    completed = subprocess.run(wrapped, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    elapsed = time.perf_counter() - start
    peak = None
    for line in completed.stderr.splitlines():
        if line.startswith("__peak_kb="):
            peak = int(line.split("=", 1)[1]) / 1024
    return elapsed, peak, completed


def measure(
    results: list[Measurement],
    tree: str,
    tool: str,
    case: str,
    command: list[str],
    cwd: Path,
    *,
    repeat: int,
    ok_codes: tuple[int, ...] = (0,),
    before=None,
    env: dict[str, str] | None = None,
) -> Measurement:
    measurement = Measurement(tree, tool, case)
    for _ in range(repeat):
        if before is not None:
            before()
        scale_bench.read_tree(cwd)  # every tool starts with the sources in the page cache
        try:
            elapsed, peak, completed = run(command, cwd, env)
        except subprocess.TimeoutExpired:
            measurement.failure = "timed out after 900 s"
            break
        if completed.returncode not in ok_codes:
            tail = [
                line
                for line in completed.stderr.splitlines()
                if not line.startswith(("__peak_kb", "Command exited with non-zero status")) and line.strip()
            ]
            measurement.failure = f"exit {completed.returncode}: {(tail or ['no message'])[-1][:160]}"
            break
        measurement.seconds.append(elapsed)
        if peak is not None:
            measurement.peak_mb.append(peak)
    results.append(measurement)
    shown = f"{measurement.median:.2f} s" if measurement.median is not None else measurement.failure
    print(f"  {tree:10} {tool:12} {case:34} {shown}", flush=True)
    return measurement


# -- trees ---------------------------------------------------------------------------------------


def uv() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def make_trees(workdir: Path) -> dict[str, Path]:
    trees = {}
    caramba = workdir / "caramba"
    shutil.rmtree(caramba, ignore_errors=True)
    shutil.copytree(REPOSITORY / "fixtures" / "caramba", caramba, ignore=shutil.ignore_patterns(".depmin_cache"))
    trees["caramba"] = caramba
    mono = workdir / "monorepo"
    subprocess.run(
        [
            sys.executable,
            str(HERE / "make_monorepo.py"),
            str(mono),
            "--files",
            "10000",
            "--lines",
            "800000",
            "--seed",
            "1",
        ],
        check=True,
    )
    trees["monorepo"] = mono
    trees["sympy"] = make_sympy(workdir)
    return trees


def make_sympy(workdir: Path) -> Path:
    tree = workdir / "sympy-tree"
    if not (tree / "uv.lock").exists():
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        download = workdir / "sympy-install"
        environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        subprocess.run(
            [
                uv(),
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--python",
                sys.executable,
                "--target",
                str(download),
                f"sympy=={SYMPY}",
            ],
            check=True,
            env=environment,
        )
        shutil.copytree(download / "sympy", tree / "sympy", ignore=shutil.ignore_patterns("__pycache__"))
        (tree / "pyproject.toml").write_text(
            '[project]\nname = "sympy-tree"\nversion = "0"\nrequires-python = ">=3.11"\ndependencies = ["mpmath>=1.1"]\n'
            "\n[tool.depmin]\n# sympy probes optional packages through its own helpers; they are not in the lock.\n"
        )
        subprocess.run(
            [uv(), "lock", "--python", sys.executable], cwd=tree, check=True, env=environment, capture_output=True
        )
    return tree


def install_peers(workdir: Path) -> Path | None:
    venv = workdir / "peers"
    python = venv / "bin" / "python"
    if not python.exists():
        environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        created = subprocess.run(
            [uv(), "venv", "--python", sys.executable, str(venv)], env=environment, capture_output=True, text=True
        )
        if created.returncode != 0:
            return None
        specs = [f"{name}=={version}" for name, version in PEERS.items()]
        installed = subprocess.run(
            [uv(), "pip", "install", "--python", str(python), *specs], env=environment, capture_output=True, text=True
        )
        if installed.returncode != 0:
            print(f"peers could not be installed: {installed.stderr.strip().splitlines()[-1:]}")
            return None
    return venv


def compile_bytecode(peers: Path | None) -> None:
    """Byte-compile every tool's code first: where PYTHONDONTWRITEBYTECODE is set (it is on these
    machines) each run would otherwise compile every module it imports, depmin's and the peers' alike."""
    import sysconfig

    targets = [sysconfig.get_paths()["purelib"], str(REPOSITORY / "depmin")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *targets], capture_output=True, check=False)
    if peers is not None:
        peer_python = str(peers / "bin" / "python")
        code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        purelib = subprocess.run([peer_python, "-c", code], capture_output=True, text=True, check=False).stdout.strip()
        if purelib:
            subprocess.run([peer_python, "-m", "compileall", "-q", purelib], capture_output=True, check=False)


# -- the runs -----------------------------------------------------------------------------------


def depmin_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "depmin", *args]


def clear_cache(tree: Path):
    return lambda: shutil.rmtree(tree / ".depmin_cache", ignore_errors=True)


def top_packages(tree: Path) -> list[str]:
    return sorted(p.name for p in tree.iterdir() if (p / "__init__.py").exists())


def peer_runs(
    results: list[Measurement], tree_name: str, tree: Path, venv: Path, packages: list[str], repeat: int
) -> None:
    bin_dir = venv / "bin"
    environment = {**os.environ, "PYTHONPATH": str(tree), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    # cold, as the goals compare against: without cache_dir=None grimp reuses its .grimp_cache
    grimp_code = f"import grimp; grimp.build_graph({', '.join(repr(p) for p in packages)}, cache_dir=None)"
    measure(
        results,
        tree_name,
        "grimp",
        "build import graph (cold: cache_dir=None)",
        [str(bin_dir / "python"), "-c", grimp_code],
        tree,
        repeat=repeat,
        env=environment,
    )
    measure(
        results,
        tree_name,
        "deptry",
        "deptry .",
        [str(bin_dir / "deptry"), "."],
        tree,
        repeat=repeat,
        ok_codes=(0, 1),
        env=environment,
    )
    pydeps = [str(bin_dir / "pydeps"), packages[0], "--noshow", "--no-output", "--show-deps", "--max-bacon", "0"]
    measure(results, tree_name, "pydeps", f"pydeps {packages[0]}", pydeps, tree, repeat=repeat, env=environment)
    fawlty = [str(bin_dir / "fawltydeps"), "--code", ".", "--deps", "pyproject.toml", "--pyenv", str(venv)]
    measure(
        results,
        tree_name,
        "FawltyDeps",
        "fawltydeps --code .",
        fawlty,
        tree,
        repeat=repeat,
        ok_codes=(0, 3),
        env=environment,
    )
    pipreqs = [str(bin_dir / "pipreqs"), "--print", "--mode", "no-pin", "."]
    measure(
        results,
        tree_name,
        "pipreqs",
        "pipreqs --print . (asks PyPI's JSON API)",
        pipreqs,
        tree,
        repeat=repeat,
        env=environment,
    )
    measure(
        results,
        tree_name,
        "pipreqs",
        "pipreqs --use-local --print .",
        [*pipreqs[:1], "--use-local", *pipreqs[1:]],
        tree,
        repeat=repeat,
        env=environment,
    )


def rescans_after_one_change(tree: Path, entry: str) -> tuple[int, int]:
    """(files scanned cold, files scanned after touching one): counted by depmin's own cache."""
    code = (
        "from pathlib import Path; from depmin.commands.options import AnalysisOptions;"
        " from depmin.commands.session import Printer, open_session;"
        f"s = open_session(AnalysisOptions(root=Path('.')), ({entry!r},), Printer()); s.analyse();"
        " print(s.request.cache.misses)"
    )
    shutil.rmtree(tree / ".depmin_cache", ignore_errors=True)
    cold = int(
        subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=True).stdout
    )
    victim = sorted(p for p in tree.rglob("*.py") if "tests" not in p.parts)[len(list(tree.rglob("*.py"))) // 2]
    victim.write_text(victim.read_text() + "\n# touched by the benchmark\n")
    after = int(
        subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=True).stdout
    )
    return cold, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "depmin-bench")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--scale-sizes", type=int, nargs="*", default=[1000, 10_000, 30_000],
                        help="generated monorepos (17 targets) for the scale goals; none: skip them")  # fmt: skip
    arguments = parser.parse_args()
    workdir = arguments.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    repeat = arguments.repeat
    print("building trees ...", flush=True)
    trees = make_trees(workdir)
    venv = None if arguments.skip_peers else install_peers(workdir)
    compile_bytecode(venv)
    results: list[Measurement] = []

    caramba = trees["caramba"]
    agent = ["closure", "--json", "ai/", "console/"]
    measure(
        results,
        "caramba",
        "depmin",
        "closure ai/ console/ (cold)",
        depmin_command(*agent),
        caramba,
        repeat=repeat,
        before=clear_cache(caramba),
    )
    measure(results, "caramba", "depmin", "closure ai/ console/ (warm)", depmin_command(*agent), caramba, repeat=repeat)

    mono = trees["monorepo"]
    measure(
        results,
        "monorepo",
        "depmin",
        "closure ai/ console/ (cold)",
        depmin_command(*agent),
        mono,
        repeat=repeat,
        before=clear_cache(mono),
    )
    measure(results, "monorepo", "depmin", "closure ai/ console/ (warm)", depmin_command(*agent), mono, repeat=repeat)
    audits(results, "monorepo", mono, "./", "audit whole repo", repeat)
    sympy = trees["sympy"]
    audits(results, "sympy", sympy, "sympy/", "audit sympy/", repeat)
    if venv is not None:
        peer_runs(results, "sympy", sympy, venv, ["sympy"], repeat)
        peer_runs(results, "monorepo", mono, venv, top_packages(mono), repeat)
    rescans = rescans_after_one_change(sympy, "sympy/")
    scale = {size: scale_bench.measure(size, repeat, scale_bench.peers()) for size in arguments.scale_sizes}
    floors = {size: parse_floor(scale_bench.WORK / f"mono{size}") for size in arguments.scale_sizes}
    sympy_floor = parse_floor(sympy)
    write_results(results, rescans, repeat, venv is not None, scale, floors, sympy_floor)


def audits(results: list[Measurement], name: str, tree: Path, entry: str, case: str, repeat: int) -> None:
    """depmin's whole-tree audit: cold (cache cleared before each run), warm, and --no-cache."""
    audit = ["audit", "--forbid", "torch", "--json", entry]
    for state, extra, before in (
        ("cold", (), clear_cache(tree)),
        ("warm", (), None),
        ("--no-cache", ("--no-cache",), None),
    ):
        measure(results, name, "depmin", f"{case} ({state})", depmin_command(*audit, *extra), tree,
                repeat=repeat, ok_codes=(0, 1, 2), before=before)  # fmt: skip


def parse_floor(tree: Path) -> float:
    """CPU seconds CPython's own `ast.parse` needs for every Python file of a tree, in one process:
    the least any scanner built on it can spend cold (depmin parses over all cores)."""
    code = (  # each tree dropped once parsed, and the collector tuned as depmin tunes it
        "import ast, gc, pathlib, time; gc.set_threshold(200_000, 30, 30); files = [p.read_bytes() for p in"
        " pathlib.Path('.').rglob('*.py') if '.depmin_cache' not in p.parts]; t = time.process_time()\n"
        "for f in files: ast.parse(f)\nprint(time.process_time() - t)"
    )
    return float(subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True).stdout)


# -- RESULTS.md ---------------------------------------------------------------------------------


def find(results: list[Measurement], tree: str, tool: str, case: str | None = None) -> Measurement | None:
    return next((m for m in results if m.tree == tree and m.tool == tool and (case is None or m.case == case)), None)


def verdict(value: Measurement | None, limit: float | None, what: str) -> str:
    if value is None or value.median is None or limit is None:
        return f"| {what} | not measured | — | ? |"
    ok = value.median <= limit
    return f"| {what} | {value.median:.3f} s | ≤ {limit:.3f} s | {'met' if ok else '**not met**'} |"


def scale_lines(scale: dict[int, dict[str, float]], floors: dict[int, float]) -> list[str]:
    """The issue-15 goals on the generated 10k tree with 17 targets, and the curve at every size."""
    lines = ["", "## Scale: generated monorepos with 17 targets (bench/scale_bench.py)", ""]
    if not scale:
        return [*lines, "Not measured in this run (--scale-sizes given no sizes)."]
    lines += [
        f"Every figure below comes from this one run: whole processes, median of the runs, grimp {scale_bench.GRIMP}"
        ' building the graph of every top-level package without its cache. "audit" is `depmin audit --forbid'
        ' torch ./` over the whole repository, "check" is `depmin check` of the 17 targets after one `sync`;'
        ' "1 file changed" adds a line to one module before each run (an incremental run, as on a commit).',
        "",
        "| goal (10k files) | measured | limit | |",
        "|---|---:|---:|---|",
    ]
    ten = scale.get(10_000)
    if ten is not None:
        grimp = ten["grimp cold"]
        for what, key, factor in (
            ("warm whole-repository audit ≤ 1.0× grimp cold", "audit warm", 1.0),
            ("warm `check` of all 17 targets ≤ 1.5× grimp cold", "check warm", 1.5),
            ("cold whole-repository audit ≤ 4× grimp cold", "audit cold", 4.0),
        ):
            met = ten[key] <= factor * grimp
            lines.append(
                f"| {what} | {ten[key]:.2f} s ({ten[key] / grimp:.2f}×) | {factor * grimp:.2f} s "
                f"| {'met' if met else '**not met**'} |"
            )
        peak = max(ten["audit cold MiB"], ten["audit warm MiB"], ten["check warm MiB"])
        verdict = "met" if peak <= 286 else "**not met**"
        lines.append(f"| peak memory under 300 MB | {peak:.0f} MiB | 286 MiB (300 MB) | {verdict} |")
        if ten["audit warm"] > grimp or ten["check warm"] > 1.5 * grimp:
            lines += [
                "",
                f"Why a warm goal is not met: {ten['start-up']:.2f} s of each warm run is starting Python and"
                " importing click and depmin (`python -c 'import depmin.commands.audit'`, measured in this run);"
                " the rest is reading the snapshot, edge store and lock, a `stat` per file, replaying every kept"
                " edge into the graph and assembling the closure, all in Python. grimp's figure is its whole"
                " cold build, in Rust.",
            ]
    lines += ["", "The curve (time and memory against size):", "", scale_bench.table(scale).rstrip("\n"), ""]
    for size, floor in sorted(floors.items()):
        grimp = scale[size]["grimp cold"]
        cores = os.cpu_count() or 1
        lines.append(
            f"- {size:,} files: CPython's `ast.parse` alone needs {floor:.2f} s of CPU for this tree, "
            f"{floor / cores:.2f} s on {cores} cores at best: {floor / cores / grimp:.1f}× grimp's whole cold build "
            "(grimp parses in Rust)."
        )
    return lines


def write_results(
    results: list[Measurement],
    rescans: tuple[int, int],
    repeat: int,
    peers: bool,
    scale: dict[int, dict[str, float]],
    floors: dict[int, float],
    sympy_floor: float,
) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `bench/run.py` on {platform.node() or 'this machine'}: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.platform()}. Median of {repeat} runs per row, whole "
        "processes; peak = peak resident memory of the process (GNU time). Regenerate with "
        "`uv run python bench/run.py`.",
        "",
        "## Targets",
        "",
        "| target | measured | limit | |",
        "|---|---:|---:|---|",
    ]
    deptry = find(results, "sympy", "deptry")
    grimp = find(results, "sympy", "grimp")
    lines.append(
        verdict(find(results, "caramba", "depmin", "closure ai/ console/ (cold)"), 1.0, "caramba closure, cold")
    )
    lines.append(
        verdict(find(results, "caramba", "depmin", "closure ai/ console/ (warm)"), 0.3, "caramba closure, warm")
    )
    lines.append(
        verdict(
            find(results, "monorepo", "depmin", "closure ai/ console/ (cold)"),
            2.0,
            "10k-file monorepo agent closure, cold",
        )
    )
    lines.append(
        verdict(
            find(results, "sympy", "depmin", "audit sympy/ (cold)"),
            2 * deptry.median if deptry and deptry.median else None,
            "sympy whole-repo audit, cold (≤ 2× deptry)",
        )
    )
    lines.append(
        verdict(
            find(results, "sympy", "depmin", "audit sympy/ (warm)"),
            1.0 * grimp.median if grimp and grimp.median else None,
            "sympy whole-repo audit, warm (≤ 1.0× grimp cold)",
        )
    )
    cold, after = rescans
    lines.append(
        f"| sympy: files scanned again after one file changes | {after} (of {cold}) | 1 | {'met' if after == 1 else '**not met**'} |"
    )
    cores = os.cpu_count() or 1
    lines += [
        "",
        f"CPython's `ast.parse` alone needs {sympy_floor:.2f} s of CPU for sympy's files, {sympy_floor / cores:.2f} s "
        f"on {cores} cores at best"
        + (
            f" ({sympy_floor / cores / deptry.median:.1f}× deptry's whole run, which parses in Rust)"
            if deptry and deptry.median
            else ""
        )
        + ": the floor under any cold scan that uses it.",
    ]
    lines += [
        "",
        "## All measurements",
        "",
        "Ratios are depmin's whole-tree audit time divided by the peer's time on the same tree (below 1: depmin is faster).",
        "",
        "| tree | tool | case | median | peak | depmin cold ÷ tool | depmin warm ÷ tool |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for measurement in results:
        median = f"{measurement.median:.3f} s" if measurement.median is not None else f"failed: {measurement.failure}"
        memory = f"{measurement.memory:.0f} MB" if measurement.memory else "—"
        ratios = ["—", "—"]
        if measurement.tool != "depmin" and measurement.median:
            stem = "audit sympy/" if measurement.tree == "sympy" else "audit whole repo"
            for column, state in enumerate(("cold", "warm")):
                reference = find(results, measurement.tree, "depmin", f"{stem} ({state})")
                if reference and reference.median:
                    ratios[column] = f"{reference.median / measurement.median:.2f}"
        lines.append(
            f"| {measurement.tree} | {measurement.tool} | {measurement.case} | {median} | {memory} | {ratios[0]} | {ratios[1]} |"
        )
    lines += [
        "",
        "Notes: pydeps follows one package per run, so on the monorepo it traces `ai` only. pipreqs asks",
        "PyPI's JSON API for every import it cannot map; that address is not reachable from this machine",
        "(only the package index is), so its default mode fails here and `--use-local` is measured too.",
        "FawltyDeps and deptry run offline. Timings are one machine's; tests never assert them.",
    ]
    if not peers:
        lines += ["", "Peers were not measured in this run (--skip-peers, or they could not be installed)."]
    lines += scale_lines(scale, floors)
    lines += [
        "",
        "Earlier measurements (verify, the house redesign, the first scale runs) are kept in",
        "[HISTORY.md](HISTORY.md); this file is rewritten by every run of `bench/run.py`.",
    ]
    failures = [m for m in results if m.failure]
    if failures:
        lines += ["", "## Peers that failed", ""]
        lines += [f"- {m.tool} on {m.tree}: {m.failure}" for m in failures]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    (HERE / "results.json").write_text(
        json.dumps([m.__dict__ | {"median": m.median} for m in results], indent=2) + "\n"
    )
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
