"""depmin on real public uv-locked repositories, run the way a new user would; writes bench/REALWORLD.md.

    python bench/realworld.py [CLONES] [--only REPO]... [--raw DIR] [--depmin PATH]
                              [--skip-sync] [--skip-verify] [--render-only]

CLONES (default /work/realworld) holds one git clone per repository of REPOSITORIES below, under
the directory name given there (mcp-python-sdk, openai-agents, pydantic-ai, crewai, autogen,
fastmcp, livekit-agents, pipecat, camel). Nothing is fetched from git: clone them first at the
commits REALWORLD.md names. The machine needs uv, the Pythons the repositories target (pyenv's
versions are put on PATH ahead of its shims) and access to PyPI; this script needs Python 3.11+.
UV_PYTHON_DOWNLOADS=never everywhere. Repositories are measured one after the other (--only REPO
for some of them); every entry's measurements are kept as JSON under --raw (default
/tmp/depmin-realworld), and the Markdown is rendered from all of them, so a later --only run
adds to the earlier ones. --render-only rewrites REALWORLD.md from --raw. A whole run takes about
45 minutes on two cores, most of it in verify.

For each entry, from the repository's uv project (autogen: python/), with no .venv:
  1. cold: a fresh empty UV_CACHE_DIR and DEPMIN_CACHE_DIR: `depmin closure ARGS --json`;
  2. warm: the same DEPMIN_CACHE_DIR again; are the pins (name, version) identical to cold?
  3. uv cache: once per repository `uv sync --frozen --no-dev` into a fresh UV_CACHE_DIR (skipped
     when its export holds torch or CUDA), the .venv removed; then with a fresh DEPMIN_CACHE_DIR
     `depmin closure ARGS --json`, and again with `--offline`; identical to cold?
  4. `uv export --frozen --no-dev --no-hashes --no-emit-project EXPORT_ARGS`: its requirement lines
     against depmin's pins, and the pins the export lacks;
  5. `depmin verify ARGS --json` (exactly the pins in a throwaway venv, every closure module
     imported), skipped when the pins hold torch, CUDA or more than HEAVY_BYTES of wheels, and
     stopped after VERIFY_TIMEOUT seconds.
`--trim` measures only `depmin trim ARGS --json` for every entry, and for the targets of
fixtures/caramba (TRIM_FIXTURES), and writes its section of REALWORLD.md (between `<!-- trim -->`
and `<!-- /trim -->`), which a re-render keeps.
Hand-written notes in REALWORLD.md between `<!-- notes:REPO -->` and `<!-- /notes:REPO -->` (and
`notes:summary`) survive a re-render.
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
OUTPUT = HERE / "REALWORLD.md"
SOURCE = PROJECT  # the work tree of the depmin that --depmin runs (see source_of), whose state is reported

# Distributions that make a sync or a verify too big for a benchmark machine (several GB).
# nvidia-c* and nvidia-n* are the CUDA libraries (nvidia-cublas, nvidia-nccl, ...), not nvidia-riva-client.
HEAVY = ("torch", "torchvision", "torchaudio", "triton", "nvidia-c*", "nvidia-n*", "cuda-*", "tensorflow*", "jaxlib")
HEAVY_BYTES = 2_000_000_000
CLOSURE_TIMEOUT = 900
SYNC_TIMEOUT = 1800
VERIFY_TIMEOUT = 420


@dataclass(frozen=True)
class Entry:
    repo: str  # directory under CLONES
    label: str
    args: tuple[str, ...]  # depmin arguments (entries, --script, --package)
    export: tuple[str, ...] = ()  # extra `uv export` arguments for the comparison


@dataclass(frozen=True)
class Repository:
    name: str  # directory under CLONES
    upstream: str
    project: str = "."  # the uv project inside the clone


REPOSITORIES = (
    Repository("mcp-python-sdk", "modelcontextprotocol/python-sdk"),
    Repository("openai-agents", "openai/openai-agents-python"),
    Repository("pydantic-ai", "pydantic/pydantic-ai"),
    Repository("crewai", "crewAIInc/crewAI"),
    Repository("autogen", "microsoft/autogen", project="python"),
    Repository("fastmcp", "jlowin/fastmcp"),
    Repository("livekit-agents", "livekit/agents"),
    Repository("pipecat", "pipecat-ai/pipecat"),
    Repository("camel", "camel-ai/camel"),
)

MEMBER = ("--no-emit-workspace",)
ENTRIES = (
    # mcp-python-sdk: default-groups holds "docs", which `--no-dev` keeps; the script needs extra cli.
    Entry("mcp-python-sdk", "script-mcp", ("--script", "mcp"), ("--no-default-groups", "--extra", "cli")),
    Entry("mcp-python-sdk", "dir-src-mcp", ("src/mcp/",), ("--no-default-groups",)),
    Entry("mcp-python-sdk", "pkg-mcp-simple-auth", ("--package", "mcp-simple-auth"),
          ("--package", "mcp-simple-auth", *MEMBER)),
    # openai-agents: a single project; examples are scripts and packages of scripts.
    Entry("openai-agents", "dir-src-agents", ("src/agents/",)),
    Entry("openai-agents", "ex-financial-main", ("examples/financial_research_agent/main.py",)),
    Entry("openai-agents", "ex-voice-streamed", ("examples/voice/streamed/main.py",)),
    Entry("openai-agents", "ex-realtime-app-server", ("examples/realtime/app/server.py",)),
    # pydantic-ai: a workspace; clai is a member's console script.
    Entry("pydantic-ai", "script-clai", ("--script", "clai"), ("--package", "clai", *MEMBER)),
    Entry("pydantic-ai", "pkg-pydantic-graph", ("--package", "pydantic-graph"), ("--package", "pydantic-graph", *MEMBER)),
    Entry("pydantic-ai", "ex-chat-app", ("examples/pydantic_ai_examples/chat_app.py",),
          ("--package", "pydantic-ai-examples", *MEMBER)),
    # crewai: a workspace under lib/; .python-version says 3.13.
    Entry("crewai", "script-crewai", ("--script", "crewai"), ("--package", "crewai-cli", *MEMBER)),
    Entry("crewai", "pkg-crewai", ("--package", "crewai"), ("--package", "crewai", *MEMBER)),
    Entry("crewai", "pkg-crewai-tools", ("--package", "crewai-tools"), ("--package", "crewai-tools", *MEMBER)),
    # autogen: the uv project is python/, a virtual workspace over packages/*.
    Entry("autogen", "script-autogenstudio", ("--script", "autogenstudio"), ("--package", "autogenstudio", *MEMBER)),
    Entry("autogen", "script-m1", ("--script", "m1"), ("--package", "magentic-one-cli", *MEMBER)),
    Entry("autogen", "pkg-autogen-agentchat", ("--package", "autogen-agentchat"),
          ("--package", "autogen-agentchat", *MEMBER)),
    # fastmcp: a single project; examples are PEP 723 scripts; .python-version says 3.12.
    Entry("fastmcp", "script-fastmcp", ("--script", "fastmcp")),
    Entry("fastmcp", "dir-src-fastmcp", ("src/fastmcp/",)),
    Entry("fastmcp", "ex-screenshot", ("examples/screenshot.py",)),
    # livekit-agents: a workspace of about 80 members (plugins, examples).
    Entry("livekit-agents", "ex-basic-agent", ("examples/voice_agents/basic_agent.py",),
          ("--package", "livekit-example-voice-agents", *MEMBER)),
    Entry("livekit-agents", "pkg-plugins-openai", ("--package", "livekit-plugins-openai"),
          ("--package", "livekit-plugins-openai", *MEMBER)),
    Entry("livekit-agents", "pkg-example-voice-agents", ("--package", "livekit-example-voice-agents"),
          ("--package", "livekit-example-voice-agents", *MEMBER)),
    # pipecat: a single project; every example file name has dashes.
    Entry("pipecat", "script-pipecat", ("--script", "pipecat"), ("--extra", "cli")),
    Entry("pipecat", "dir-pipecat-pipeline", ("src/pipecat/pipeline/",)),
    Entry("pipecat", "ex-06-voice-agent", ("examples/getting-started/06-voice-agent.py",)),
    Entry("pipecat", "ex-06-voice-agent-modname", ("examples.getting-started.06-voice-agent",)),
    # camel: a single project with 544 locked packages.
    Entry("camel", "ex-single-agent", ("examples/agents/single_agent.py",)),
    Entry("camel", "srv-openapi", ("camel/services/agent_openapi_server.py",)),
    Entry("camel", "srv-agent-mcp", ("services/agent_mcp/agent_mcp_server.py",)),
)  # fmt: skip


# ----------------------------------------------------------------------------------------------
# The environment: Pythons, uv, temporary caches


def base_environment() -> dict[str, str]:
    """os.environ with UV_PYTHON_DOWNLOADS=never, no caches of our own, and pyenv's real version
    folders ahead of its shims (a shim fails inside a clone whose .python-version it lacks)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("UV_CACHE_DIR", "DEPMIN_CACHE_DIR", "VIRTUAL_ENV")}
    environment["UV_PYTHON_DOWNLOADS"] = "never"
    pyenv = Path(environment.get("PYENV_ROOT", Path.home() / ".pyenv"))
    versions = sorted(
        (
            p
            for p in pyenv.glob("versions/3.*")
            if re.fullmatch(r"3\.\d+\.\d+", p.name) and int(p.name.split(".")[1]) >= 10
        ),
        key=lambda p: tuple(int(x) for x in p.name.split(".")),
    )
    default = (pyenv / "version").read_text().split()[0] if (pyenv / "version").is_file() else ""
    versions.sort(key=lambda p: p.name != default)  # the user's default Python first, as its shim would be
    prepend = [str(p / "bin") for p in versions]
    environment["PATH"] = os.pathsep.join([*prepend, environment.get("PATH", "")])
    return environment


ENV = base_environment()


def uv_binary() -> str:
    found = shutil.which("uv", path=ENV["PATH"])
    if not found:
        sys.exit("uv is not on PATH")
    return found


class Scratch:
    """Temporary directories, all removed at the end."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="depmin-realworld-"))
        self.count = 0

    def new(self, what: str) -> Path:
        self.count += 1
        path = self.root / f"{self.count:03}-{what}"
        path.mkdir()
        return path

    def remove(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def run(command: list[str], cwd: Path, timeout: float, **variables: str) -> tuple[int, str, str, float]:
    """Run COMMAND; past TIMEOUT seconds it gets SIGTERM (depmin verify then removes its tree), then SIGKILL."""
    started = time.perf_counter()
    with subprocess.Popen(
        command, cwd=cwd, env={**ENV, **variables}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
            rc = process.returncode
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                out, err = process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
            rc, err = -9, (err or "") + f"\ntimed out after {timeout:g} s"
    return rc, out or "", err or "", round(time.perf_counter() - started, 1)


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


# ----------------------------------------------------------------------------------------------
# Measurements


def closure(depmin: str, cwd: Path, entry: Entry, uv_cache: Path, depmin_cache: Path, *extra: str) -> dict:
    """One `depmin closure --json` run, summarised; `raw` keeps stdout and stderr."""
    command = [depmin, "closure", *entry.args, *extra, "--json"]
    rc, out, err, seconds = run(
        command, cwd, CLOSURE_TIMEOUT, UV_CACHE_DIR=str(uv_cache), DEPMIN_CACHE_DIR=str(depmin_cache)
    )
    result: dict = {"rc": rc, "seconds": seconds, "stderr": err.strip()[-2000:], "raw": out}
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        result["json"] = False
        return result
    result.update(
        json=True,
        python=data.get("python"),
        pins=sorted([p["name"], p["version"]] for p in data.get("pinned", [])),
        direct=len(data.get("direct", [])),
        optional=len(data.get("optional", [])),
        modules=len(data.get("modules", [])),
        errors=[_problem(p) for p in data.get("errors", [])],
        warnings=[_problem(p) for p in data.get("warnings", [])],
    )
    return result


def _problem(problem: dict) -> dict:
    return {k: problem.get(k) for k in ("code", "file", "line", "message")}


def same_pins(a: dict, b: dict) -> bool | None:
    if not (a.get("json") and b.get("json")):
        return None
    return json.dumps(a["pins"]) == json.dumps(b["pins"])


def export(uv: str, cwd: Path, entry: Entry, uv_cache: Path) -> dict:
    command = [uv, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", *entry.export]
    rc, out, err, _ = run(command, cwd, 300, UV_CACHE_DIR=str(uv_cache))
    lines = [
        line.strip() for line in out.splitlines() if line.strip() and not line.startswith((" ", "#", "-", ".", "/"))
    ]
    names = sorted({canonical(re.split(r"[=<>;@\[ ~!]", line, maxsplit=1)[0]) for line in lines})
    return {
        "rc": rc,
        "command": " ".join(["uv", *command[1:]]),
        "lines": len(lines),
        "names": names,
        "stderr": err.strip()[-500:],
    }


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def heavy_reason(pins: list[list[str]], lock: dict) -> str:
    """Why installing these pins is too big for a benchmark (torch, CUDA, or many GB), or ""."""
    names = [name for name, _ in pins]
    heavy = sorted(n for n in names if any(fnmatch.fnmatch(n, pattern) for pattern in HEAVY))
    if heavy:
        return f"pins {', '.join(heavy[:3])}{'…' if len(heavy) > 3 else ''} ({len(heavy)} heavy)"
    size = sum(wheel_size(lock, name, version) for name, version in pins)
    if size > HEAVY_BYTES:
        return f"pins {size / 1e9:.1f} GB of wheels"
    return ""


def wheel_size(lock: dict, name: str, version: str) -> int:
    """The largest linux-x86_64 (or pure) wheel of NAME==VERSION in uv.lock, else its sdist."""
    for package in lock.get("package", []):
        if canonical(package.get("name", "")) == name and package.get("version") == version:
            sizes = [
                w.get("size", 0)
                for w in package.get("wheels", [])
                if "none-any" in w.get("url", w.get("path", "")) or "x86_64" in w.get("url", w.get("path", ""))
            ]
            return max(sizes, default=package.get("sdist", {}).get("size", 0))
    return 0


def sync(uv: str, cwd: Path, uv_cache: Path) -> dict:
    """`uv sync --frozen --no-dev` into UV_CACHE_DIR, unless it would install torch or CUDA; the
    .venv it makes is removed again (a .venv that was there before is left alone, and not synced)."""
    if (cwd / ".venv").exists():
        return {"skipped": "a .venv exists already"}
    rc, out, _, _ = run([uv, "export", "--frozen", "--no-dev", "--no-hashes"], cwd, 300, UV_CACHE_DIR=str(uv_cache))
    names = {canonical(re.split(r"[=<>;@\[ ~!]", line.strip(), maxsplit=1)[0]) for line in out.splitlines()}
    heavy = sorted(n for n in names if any(fnmatch.fnmatch(n, pattern) for pattern in HEAVY))
    if rc == 0 and heavy:
        return {"skipped": f"would install {', '.join(heavy[:3])}"}
    rc, out, err, seconds = run([uv, "sync", "--frozen", "--no-dev"], cwd, SYNC_TIMEOUT, UV_CACHE_DIR=str(uv_cache))
    config = cwd / ".venv" / "pyvenv.cfg"
    python = ""
    if config.is_file():
        python = next(
            (line.split("=", 1)[1].strip() for line in config.read_text().splitlines() if line.startswith("version")),
            "",
        )
    shutil.rmtree(cwd / ".venv", ignore_errors=True)
    result = {"rc": rc, "seconds": seconds, "python": python, "cache_bytes": directory_size(uv_cache)}
    if rc != 0:
        result["skipped"] = "uv sync failed: " + (err.strip().splitlines() or ["?"])[-1][:300]
    return result


def verify(depmin: str, cwd: Path, entry: Entry, uv_cache: Path, depmin_cache: Path) -> dict:
    command = [depmin, "verify", *entry.args, "--json"]
    rc, out, err, seconds = run(
        command, cwd, VERIFY_TIMEOUT, UV_CACHE_DIR=str(uv_cache), DEPMIN_CACHE_DIR=str(depmin_cache)
    )
    result: dict = {"rc": rc, "seconds": seconds, "stderr": err.strip()[-2000:]}
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        return result
    modules = data.get("modules", [])
    failed = [m for m in modules if not m.get("ok")]
    result.update(
        ok=data.get("ok"),
        installed=len(data.get("installed", [])),
        modules=len(modules),
        failed=[{k: m.get(k) for k in ("module", "kind", "optional", "message")} for m in failed],
        errors=[_problem(p) for p in data.get("errors", [])],
    )
    return result


def measure_repository(repository: Repository, entries: list[Entry], clones: Path, raw: Path, options) -> None:
    clone = clones / repository.name
    cwd = clone / repository.project
    uv = uv_binary()
    scratch = Scratch()
    lock = tomllib.loads((cwd / "uv.lock").read_text())
    commit = run(["git", "rev-parse", "HEAD"], clone, 30)[1].strip()
    state = depmin_state()
    out = raw / repository.name
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    verify_caches: dict[str, Path] = {}
    try:
        for entry in entries:
            say(f"{repository.name} {entry.label}: cold, warm")
            uv_cold, depmin_cache = scratch.new("uv-cold"), scratch.new("depmin")
            cold = closure(options.depmin, cwd, entry, uv_cold, depmin_cache)
            warm = closure(options.depmin, cwd, entry, uv_cold, depmin_cache)
            scratch.remove(uv_cold)
            verify_caches[entry.label] = depmin_cache
            results[entry.label] = {"entry": entry.__dict__, "commit": commit, "depmin": state, "cold": cold,
                                    "warm": warm, "warm_identical": same_pins(cold, warm)}  # fmt: skip
        uv_cache = scratch.new("uv-synced")
        synced = {"skipped": "--skip-sync"} if options.skip_sync else sync(uv, cwd, uv_cache)
        say(f"{repository.name}: sync {synced}")
        for entry in entries:
            record = results[entry.label]
            record["sync"] = synced
            if "skipped" not in synced:
                say(f"{repository.name} {entry.label}: uv cache, offline")
                online = closure(options.depmin, cwd, entry, uv_cache, scratch.new("depmin"))
                offline = closure(options.depmin, cwd, entry, uv_cache, scratch.new("depmin"), "--offline")
                record.update(uvcache=online, offline=offline,
                              uvcache_identical=same_pins(record["cold"], online),
                              offline_identical=same_pins(record["cold"], offline))  # fmt: skip
            record["export"] = export(uv, cwd, entry, uv_cache)
            record["verify"] = {"skipped": "not run (interrupted)"}
            (out / f"{entry.label}.json").write_text(json.dumps(record, indent=1))
        for entry in entries:
            record = results[entry.label]
            reason = "--skip-verify" if options.skip_verify else heavy_reason(record["cold"].get("pins", []), lock)
            if not reason and shutil.disk_usage(cwd).free < 10e9:
                reason = "less than 10 GB free"
            if reason:
                record["verify"] = {"skipped": reason}
                continue
            say(f"{repository.name} {entry.label}: verify")
            record["verify"] = verify(options.depmin, cwd, entry, uv_cache, verify_caches[entry.label])
            (out / f"{entry.label}.json").write_text(json.dumps(record, indent=1))
    finally:
        scratch.close()


def depmin_state() -> str:
    """depmin's commit, and a digest of its uncommitted changes under depmin/ when there are any
    (the benchmark runs the work tree's code, which may be edited meanwhile)."""
    head = run(["git", "rev-parse", "HEAD"], SOURCE, 30)[1].strip()
    diff = run(["git", "diff", "HEAD", "--", "depmin"], SOURCE, 60)[1]
    untracked = run(["git", "ls-files", "--others", "--exclude-standard", "--", "depmin"], SOURCE, 60)[1]
    if not diff and not untracked:
        return head
    changed = len(set(re.findall(r"^diff --git a/(\S+)", diff, flags=re.M))) + len(untracked.split())
    return f"{head[:12]}+{hashlib.sha1((diff + untracked).encode()).hexdigest()[:8]} ({changed} files changed)"


def source_of(depmin: str) -> Path:
    """The depmin work tree that the executable DEPMIN runs (its venv's project, e.g. a separate
    git worktree), else this script's own project."""
    for folder in Path(depmin).parents:
        if (folder / "depmin" / "__init__.py").is_file() and (folder / "pyproject.toml").is_file():
            return folder
    return PROJECT


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# The report


def codes(problems: list[dict]) -> str:
    counted = Counter(p["code"] for p in problems)
    return " ".join(f"{code}×{n}" for code, n in sorted(counted.items())) or "–"


def agreement(record: dict, key: str) -> str:
    """Does run KEY (warm, uvcache, offline) pin what cold pins? Also says when its exit code differs."""
    cold, other = record["cold"], record.get(key)
    if not other or not (cold.get("json") and other.get("json")):
        return "–"
    before, after = {tuple(p) for p in cold["pins"]}, {tuple(p) for p in other["pins"]}
    text = "yes" if before == after else f"**no** (+{len(after - before)} −{len(before - after)})"
    return text if other["rc"] == cold["rc"] else f"{text}, rc {other['rc']}"


def verify_cell(record: dict) -> str:
    result = record.get("verify", {})
    if "skipped" in result:
        return f"skipped: {result['skipped']}"
    if result.get("modules") is None:
        first = ([line for line in result.get("stderr", "").splitlines() if line.strip()] or ["no JSON"])[-1]
        return f"rc {result.get('rc')}: {_cell(first, 70)}"
    if result["rc"] == 2 and not result["modules"]:
        return "refused: closure errors (rc 2)"
    failed = result["failed"]
    kinds = Counter("optional" if f["optional"] else (f["kind"] or "?") for f in failed)
    detail = f" ({', '.join(f'{k}×{n}' for k, n in sorted(kinds.items()))})" if failed else ""
    return f"rc {result['rc']}: {result['modules'] - len(failed)}/{result['modules']} import{detail}"


def _cell(text: str, width: int) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def render(raw: Path, clones: Path, depmin: str) -> str:
    records = {}
    for repository in REPOSITORIES:
        for entry in ENTRIES:
            path = raw / repository.name / f"{entry.label}.json"
            if entry.repo == repository.name and path.is_file():
                records[(repository.name, entry.label)] = json.loads(path.read_text())
    head = run(["git", "-C", str(SOURCE), "rev-parse", "HEAD"], SOURCE, 30)[1].strip()
    dirty = run(["git", "-C", str(SOURCE), "status", "--porcelain", "--", "depmin"], SOURCE, 30)[1].strip()
    version = run([depmin, "--version"], PROJECT, 60)[1].strip()
    uv_version = run([uv_binary(), "--version"], PROJECT, 60)[1].strip()
    rows = list(records.values())
    states = sorted({r.get("depmin", "?") for r in rows})
    ok = sum(1 for r in rows if r["cold"]["rc"] == 0)
    identical = sum(
        1
        for r in rows
        if all(r.get(k) is not False for k in ("warm_identical", "uvcache_identical", "offline_identical"))
    )
    same_rc = sum(
        1 for r in rows if all(r[k]["rc"] == r["cold"]["rc"] for k in ("warm", "uvcache", "offline") if k in r)
    )
    compared = sum(1 for r in rows if r.get("uvcache_identical") is not None)
    verified = [r for r in rows if r.get("verify", {}).get("rc") in (0, 1)]
    passed = [r for r in verified if r["verify"]["rc"] == 0]
    refused = sum(1 for r in rows if r.get("verify", {}).get("rc") == 2)
    timed_out = sum(1 for r in rows if r.get("verify", {}).get("rc") == -9)
    skipped = sum(1 for r in rows if "skipped" in r.get("verify", {}))
    notes = existing_notes()
    lines = [
        "# depmin on real uv-locked repositories",
        "",
        f"Generated by `python bench/realworld.py` on {datetime.date.today().isoformat()}.",
        f"depmin `{head}` ({version}{', with uncommitted changes under depmin/' if dirty else ''}); {uv_version};"
        f" `UV_PYTHON_DOWNLOADS=never`; Python of the closure runs: the target depmin chose (`py` column).",
        f"depmin as each repository was measured: {', '.join(f'`{x}`' for x in states)}.",
        "",
        f"**{len(rows)} entries in {len({r['entry']['repo'] for r in rows})} repositories: {ok} exit 0;"
        f" {identical} give the same pins in every run that was made (warm; uv cache and offline in {compared}),"
        f" {same_rc} also the same exit code; {len(verified)} verified, {len(passed)} of them passing (rc 0),"
        f" {sum(1 for r in passed if not r['verify']['failed'])} of those with every module importing and the others"
        f" with only failures the analysis predicted (notes); {refused} refused by verify for closure errors,"
        f" {timed_out} timed out, {skipped} skipped.**",
        "",
        "Commands, from the repository's uv project (autogen: `python/`), with no `.venv`:",
        "",
        "1. cold: `UV_CACHE_DIR=<new> DEPMIN_CACHE_DIR=<new> depmin closure ARGS --json`",
        "2. warm: the same again with the same `DEPMIN_CACHE_DIR`; *warm* says whether `pinned` (names and versions) is"
        " identical to cold (`yes`, or `**no** (+added −removed)`; `, rc N` when the exit code differs from cold's)",
        "3. once per repository `UV_CACHE_DIR=<new> uv sync --frozen --no-dev`, then `rm -rf .venv`; then"
        " `UV_CACHE_DIR=<synced> DEPMIN_CACHE_DIR=<new> depmin closure ARGS --json` (*uv cache*) and the same"
        " with `--offline` and another new `DEPMIN_CACHE_DIR` (*offline*: names from uv's cache and the bundled table only)",
        "4. `uv export --frozen --no-dev --no-hashes --no-emit-project EXPORT_ARGS`: *pins / export* counts depmin's pins"
        " against the export's requirement lines (which include Windows- and macOS-only lines)",
        "5. `UV_CACHE_DIR=<synced> depmin verify ARGS --json`, with the cold run's `DEPMIN_CACHE_DIR`; skipped when the pins"
        f" hold torch, CUDA or more than {HEAVY_BYTES / 1e9:g} GB of wheels, stopped after {VERIFY_TIMEOUT} s."
        " `verify` refuses (rc 2) when the closure has errors; it exits 0 when the only failures are ones the analysis"
        " predicted (an optional or unpinned feature, another platform's pin, a module not needed at start), which it"
        " reports as notes.",
        "",
        f"<!-- notes:summary -->{notes.get('summary', chr(10))}<!-- /notes:summary -->",
        "",
        "| repository | commit | entry (depmin ARGS) | py | rc | errors / warnings | pins / export | warm | uv cache | offline | verify |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (repo, label), r in records.items():
        cold = r["cold"]
        exported = r.get("export", {})
        pins = len(cold.get("pins", [])) if cold.get("json") else "–"
        lines.append(
            f"| {repo} | {r['commit'][:8]} | {label} (`{' '.join(r['entry']['args'])}`) | {cold.get('python', '–')} |"
            f" {cold['rc']} | {codes(cold.get('errors', []))} / {codes(cold.get('warnings', []))} |"
            f" {pins} / {exported.get('lines', '–')} | {agreement(r, 'warm')} |"
            f" {agreement(r, 'uvcache')} | {agreement(r, 'offline')} | {verify_cell(r)} |"
        )
    for repository in REPOSITORIES:
        mine = {label: r for (repo, label), r in records.items() if repo == repository.name}
        if mine:
            lines += ["", *repository_section(repository, mine, notes.get(repository.name))]
    return "\n".join(lines) + "\n"


def repository_section(repository: Repository, records: dict[str, dict], notes: str | None) -> list[str]:
    first = next(iter(records.values()))
    synced = first.get("sync", {})
    if "skipped" in synced:
        sync_text = f"uv sync skipped: {synced['skipped']}"
    else:
        sync_text = (f"`uv sync --frozen --no-dev`: {synced.get('seconds')} s, Python {synced.get('python')},"
                     f" uv cache {synced.get('cache_bytes', 0) / 1e6:.0f} MB")  # fmt: skip
    lines = [
        f"## {repository.name} ({repository.upstream} at {first['commit'][:12]})",
        "",
        f"- depmin `{first.get('depmin', '?')}`; {sync_text}.",
    ]
    for label, r in records.items():
        cold = r["cold"]
        lines.append(f"- **{label}** `depmin closure {' '.join(r['entry']['args'])}`: rc {cold['rc']}, {cold['seconds']} s cold,"
                     f" {r['warm']['seconds']} s warm; {len(cold.get('pins', []))} pins, {cold.get('direct', '–')} direct,"
                     f" {cold.get('optional', '–')} optional.")  # fmt: skip
        if not cold.get("json"):
            lines.append(f"  - no JSON on stdout; stderr: `{_cell(cold['stderr'], 300)}`")
        for problem in cold.get("errors", []):
            lines.append(
                f"  - error {problem['code']} `{problem['file']}:{problem['line']}`: {_cell(problem['message'] or '', 400)}"
            )
        for key, what in (("warm", "warm"), ("uvcache", "uv cache"), ("offline", "offline")):
            other = r.get(key)
            if other and other.get("json") and cold.get("json") and other["pins"] != cold["pins"]:
                before, after = {tuple(p) for p in cold["pins"]}, {tuple(p) for p in other["pins"]}
                lines.append(f"  - {what} differs from cold: rc {other['rc']}, added {_pins(after - before)}, removed {_pins(before - after)};"
                             f" errors {codes(other['errors'])}")  # fmt: skip
            elif other and other["rc"] != cold["rc"]:
                lines.append(f"  - {what}: same pins but rc {other['rc']} (errors {codes(other.get('errors', []))})")
        exported = r.get("export", {})
        if exported:
            extra = sorted({n for n, _ in cold.get("pins", [])} - set(exported["names"]))
            missing = sorted(set(exported["names"]) - {n for n, _ in cold.get("pins", [])})
            lines.append(f"  - `{exported['command']}`: {exported['lines']} lines (rc {exported['rc']});"
                         f" {len(extra)} pins not in it{': ' + ', '.join(extra[:15]) if extra else ''}{' …' if len(extra) > 15 else ''};"
                         f" {len(missing)} export names not pinned{': ' + ', '.join(missing[:10]) if missing else ''}{' …' if len(missing) > 10 else ''}.")  # fmt: skip
        result = r.get("verify", {})
        if result.get("modules") is not None:
            groups: dict[tuple[str, str], list[str]] = {}
            for failure in result["failed"]:
                kind = failure["kind"] or "?"
                kind += " (optional)" if failure["optional"] and kind != "optional" else ""
                groups.setdefault((kind, failure["message"] or ""), []).append(failure["module"])
            for (kind, message), modules in groups.items():
                more = f" and {len(modules) - 1} more" if len(modules) > 1 else ""
                lines.append(f"  - verify: `{modules[0]}`{more}: {kind}: {_cell(message, 240)}")
        elif result and "skipped" not in result:
            lines.append(f"  - verify rc {result.get('rc')}: `{_cell(result.get('stderr', ''), 300)}`")
    body = notes if notes is not None else "\n(no notes yet)\n"
    lines += ["", f"<!-- notes:{repository.name} -->{body}<!-- /notes:{repository.name} -->"]
    return lines


def _pins(pairs: set) -> str:
    return ", ".join(f"{n} {v}" for n, v in sorted(pairs)) or "none"


def existing_notes() -> dict[str, str]:
    if not OUTPUT.is_file():
        return {}
    text = OUTPUT.read_text()
    return dict(re.findall(r"<!-- notes:([\w.-]+) -->(.*?)<!-- /notes:\1 -->", text, flags=re.S))


# ----------------------------------------------------------------------------------------------
# trim: what deferring one import would take out of each image

# (label, project directory, depmin arguments): depmin's own example monorepo
TRIM_FIXTURES = (
    ("caramba agent", PROJECT / "fixtures" / "caramba", ("--target", "agent")),
    ("caramba trainer", PROJECT / "fixtures" / "caramba", ("--target", "trainer")),
    ("caramba infer", PROJECT / "fixtures" / "caramba", ("--target", "infer")),
    ("caramba persona-architect", PROJECT / "fixtures" / "caramba", ("--target", "persona-architect")),
    ("trimstory server", PROJECT / "fixtures" / "trimstory", ("--target", "server")),
)
TRIM_SHOWN = 3  # cuts (and statements that cannot be deferred) listed per entry


def trim_runs(depmin: str, clones: Path, only: list[str]) -> list[dict]:
    runs = []
    scratch = Scratch()
    try:
        subjects = [(label, directory, args, "depmin") for label, directory, args in TRIM_FIXTURES]
        for repository in REPOSITORIES:
            if only and repository.name not in only:
                continue
            for entry in (e for e in ENTRIES if e.repo == repository.name):
                subjects.append((f"{repository.name} {entry.label}", clones / repository.name / repository.project,
                                 entry.args, repository.name))  # fmt: skip
        for label, directory, args, repo in subjects:
            say(f"trim {label}")
            command = [depmin, "trim", *args, "--json"]
            cache = scratch.new("depmin")
            rc, out, err, seconds = run(command, directory, CLOSURE_TIMEOUT, DEPMIN_CACHE_DIR=str(cache))
            scratch.remove(cache)
            try:
                data = json.loads(out)
            except json.JSONDecodeError:
                data = None
            commit = run(["git", "rev-parse", "HEAD"], directory, 30)[1].strip()
            runs.append({"label": label, "repo": repo, "args": list(args), "rc": rc, "seconds": seconds,
                         "commit": commit, "data": data, "stderr": err.strip()[-600:]})  # fmt: skip
    finally:
        scratch.close()
    return runs


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


def trim_section(runs: list[dict]) -> str:
    """The generated block: per entry, the ranked cuts with the bytes each would save."""
    lines = [
        "",
        "## trim: the import whose deferral takes the most out of each image",
        "",
        f"Generated by `python bench/realworld.py --trim` on {datetime.date.today().isoformat()} with depmin"
        f" `{depmin_state()}`: `depmin trim ARGS --json` from the same directory and with the same ARGS as the"
        " closure runs above (a fresh `DEPMIN_CACHE_DIR`), and for targets of depmin's own fixtures. *Cuts* are"
        " the statements trim ranks (they can be deferred safely; bytes are uv.lock's wheel sizes for the target);"
        " *cannot defer* are statements that would free something but that trim refuses, with its reason code;"
        " *import time only* counts statements used only in functions (a lazy import is still required, so the"
        " image keeps what they import). A target's `forbid` restricts the cuts to those that take a forbidden"
        " distribution out while one is reachable. trim does not answer on a closure with errors (rc 2).",
        "",
        "| entry | rc | s | image | cuts (best: bytes saved) | cannot defer | import time only |",
        "|---|---|---|---|---|---|---|",
    ]
    details: list[str] = []
    for item in runs:
        data = item["data"]
        if not data or "cuts" not in data:
            first = ([x for x in item["stderr"].splitlines() if x.strip()] or ["no JSON"])[-1]
            lines.append(f"| {item['label']} | {item['rc']} | {item['seconds']} | – | {_cell(first, 90)} | – | – |")
            continue
        cuts, blocked, later = data["cuts"], data["cannot_defer"], data["start_only"]
        best = f"{len(cuts)} ({_mb(cuts[0]['bytes'])})" if cuts else "0"
        lines.append(f"| {item['label']} | {item['rc']} | {item['seconds']} | {_mb(data['image_bytes'])} | {best} |"
                     f" {len(blocked)} | {len(later)} |")  # fmt: skip
        if not (cuts or blocked):
            continue
        details.append(f"- **{item['label']}** (`depmin trim {' '.join(item['args'])}`, at {item['commit'][:12]}):")
        for number, cut in enumerate(cuts[:TRIM_SHOWN], 1):
            names = ", ".join(d["name"] for d in cut["distributions"])
            details.append(f"  {number}. `{cut['file']}:{cut['line']}` `{cut['statement']}` [{cut['shape']}]:"
                           f" saves {_mb(cut['bytes'])}, {len(cut['distributions'])} distributions ({_cell(names, 200)})")  # fmt: skip
        for cut in blocked[:TRIM_SHOWN]:
            details.append(f"  - cannot defer `{cut['file']}:{cut['line']}` `{cut['statement']}`"
                           f" (would save {_mb(cut['bytes'])}): {cut['reason']}: {_cell(cut['detail'] or '', 160)}")  # fmt: skip
        if len(cuts) > TRIM_SHOWN or len(blocked) > TRIM_SHOWN:
            details.append(
                f"  - and {max(0, len(cuts) - TRIM_SHOWN)} more cuts, {max(0, len(blocked) - TRIM_SHOWN)} more that cannot be deferred"
            )
    notes = existing_notes().get("trim", "\n(no notes yet)\n")
    return "\n".join([*lines, "", *details, "", f"<!-- notes:trim -->{notes}<!-- /notes:trim -->", ""]) + "\n"


TRIM_BLOCK = re.compile(r"<!-- trim -->.*?<!-- /trim -->\n?", flags=re.S)


def existing_trim() -> str:
    if not OUTPUT.is_file():
        return ""
    found = TRIM_BLOCK.search(OUTPUT.read_text())
    return found.group(0) if found else ""


def with_trim(text: str, block: str) -> str:
    if not block:
        return text
    if TRIM_BLOCK.search(text):
        return TRIM_BLOCK.sub(lambda _m: block, text)
    return text.rstrip("\n") + "\n\n" + block


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("clones", nargs="?", type=Path, default=Path("/work/realworld"))
    parser.add_argument("--only", action="append", default=[], help="a repository name (repeatable)")
    parser.add_argument("--raw", type=Path, default=Path(tempfile.gettempdir()) / "depmin-realworld")
    parser.add_argument("--depmin", default=str(PROJECT / ".venv" / "bin" / "depmin"))
    parser.add_argument("--skip-sync", action="store_true")
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--trim", action="store_true", help="measure only `depmin trim`; write its section")
    options = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # clean up scratch directories
    options.depmin = str(Path(options.depmin).absolute())
    global SOURCE
    SOURCE = source_of(options.depmin)
    if options.trim:
        block = f"<!-- trim -->{trim_section(trim_runs(options.depmin, options.clones, options.only))}<!-- /trim -->\n"
        OUTPUT.write_text(with_trim(OUTPUT.read_text() if OUTPUT.is_file() else "", block))
        say(f"wrote the trim section of {OUTPUT}")
        return
    if not options.render_only:
        for repository in REPOSITORIES:
            if options.only and repository.name not in options.only:
                continue
            entries = [e for e in ENTRIES if e.repo == repository.name]
            measure_repository(repository, entries, options.clones, options.raw, options)
    OUTPUT.write_text(with_trim(render(options.raw, options.clones, options.depmin), existing_trim()))
    say(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
