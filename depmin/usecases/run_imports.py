"""Importing modules, and running the smoke command, inside the throwaway environment.

What runs the analysed code is started the same way every time:
- through a launcher: a fresh interpreter started with a scrubbed environment in the tree, so
  the importer's parent holds no secret and its working directory is the tree; on Linux it
  adopts every orphan (a child subreaper) and kills what is left, daemons started with
  `setsid` included, when its child ends or depmin goes away;
- with a clean import path (the tree and the venv, `-I`) and none of the user's variables;
- results come back on a pipe of their own, each line authenticated with a key sent on stdin
  (never in the environment or the arguments): a module that writes to every descriptor it
  inherited cannot fake a verdict.

This is not a sandbox (README, Security): the code runs with the user's rights.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import signal
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from depmin.usecases.build_env import interruptions_held, python_in

# The importer's parent. argv[1]: {"parent": depmin's pid, "command": [...], "keep": [fds]}.
_LAUNCHER = r"""
import ctypes, json, os, signal, subprocess, sys, time
spec = json.loads(sys.argv[1])

def prctl(option, value):
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False

adopts = prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: orphans of the child become ours
prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: depmin gone means clean up and go
if os.getppid() != spec["parent"]:
    sys.exit(125)  # depmin went away before this process could notice

def descendants():
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append((int(entry), fields[0] == b"Z"))
    found, stack = [], [os.getpid()]
    while stack:
        for child, dead in children.get(stack.pop(), []):
            found.append((child, dead))
            stack.append(child)
    return found

def clean_up(child):
    if not adopts or not os.path.isdir("/proc"):
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except OSError:
            pass
        return
    for _ in range(200):  # until no descendant is left, not even an unreaped one
        left = descendants()
        if not left:
            return
        for pid, dead in left:
            if not dead:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        time.sleep(0.01)

def stop(signum, frame):
    raise SystemExit(128 + signum)

signal.signal(signal.SIGTERM, stop)
child = None
code = 1
try:
    try:
        child = subprocess.Popen(spec["command"], pass_fds=spec["keep"], start_new_session=not adopts)
    except OSError as exc:
        print(f"cannot run {spec['command'][0]}: {exc.strerror or exc}", file=sys.stderr)
        sys.exit(127)
    code = child.wait()
finally:
    if child is not None:
        clean_up(child)
sys.exit(code)
"""

# Runs inside the built venv: every module is imported in this one interpreter, so an expensive
# dependency (torch, litellm) is imported once, not once per module. What a failed import leaves
# in sys.modules stays, as in the real process: Python itself drops the module whose execution
# failed (so the next module that needs it runs it again and fails the same way), and what it
# imported whole stays imported. Taking that out too would run package __init__s a second time
# and make every later import of a C extension (numpy) fail with "cannot load module more than
# once per process". A module that blocks is stopped by an alarm; one that kills the interpreter
# ends this run, and depmin starts another for the modules left. With `watch`, each outcome
# also says which of those modules are imported once it is done ("loaded").
_RUNNER = r"""
import hashlib, hmac, importlib, json, os, signal, sys, time
roots, modules, channel, timeout, key, watch = json.loads(sys.stdin.readline())

def reporter(key, channel):
    os.set_inheritable(channel, False)  # what the imported code starts never holds it
    out = os.fdopen(channel, "w", buffering=1)
    def report(outcome):
        line = json.dumps(outcome, sort_keys=True)
        out.write(line + "\t" + hmac.new(key, line.encode(), hashlib.sha256).hexdigest() + "\n")
    return report

report = reporter(bytes.fromhex(key), channel)
del key
os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # nothing more to read on stdin, for anyone
sys.path[:0] = roots

class Blocked(BaseException):
    pass

def _alarm(signum, frame):
    raise Blocked()

signal.signal(signal.SIGALRM, _alarm)
for name in modules:
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        importlib.import_module(name)
        outcome = {"module": name, "ok": True}
    except Blocked:
        outcome = {"module": name, "ok": False, "type": "Timeout", "missing": None, "filename": None,
                   "message": f"timed out after {timeout:g} s (import blocked)"}
    except BaseException as exc:
        missing, cause, seen = None, exc if isinstance(exc, ImportError) else None, set()
        while cause is not None and missing is None and id(cause) not in seen:
            # `raise ImportError("pip install x") from error`: the missing name is the original error's
            seen.add(id(cause))
            missing = getattr(cause, "name", None) if isinstance(cause, ImportError) else None
            cause = cause.__cause__ or cause.__context__
        text = str(exc)
        outcome = {"module": name, "ok": False, "type": type(exc).__name__,
                   "message": text.splitlines()[0] if text else "", "missing": missing,
                   "filename": getattr(exc, "filename", None)}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    outcome["seconds"] = round(time.monotonic() - started, 3)
    if watch:
        outcome["loaded"] = [m for m in watch if m in sys.modules]
    report(outcome)
"""

# How long the launcher has to clean up after a TERM before it is killed outright.
_GRACE_SECONDS = 10.0


def import_modules(
    venv: Path,
    tree: Path,
    roots: Iterable[str],
    modules: Iterable[str],
    on_result: Callable[[dict], None],
    *,
    timeout: float = 60.0,
    watch: Iterable[str] = (),
) -> list[dict]:
    """Import every module in one interpreter whose path is only the tree and the venv; a run
    that dies or hangs past the alarm is replaced by a new one for the modules left. Each
    outcome lists the modules of `watch` imported once it is done, as "loaded"."""
    pending = list(modules)
    environment = {**scrubbed_environment(venv, tree), "PYTHONDONTWRITEBYTECODE": "1"}
    absolute_roots = _absolute_roots(tree, roots)
    watched = list(watch)
    results: list[dict] = []
    while pending:
        reported = _run_importer(venv, tree, environment, absolute_roots, pending, timeout, on_result, watched)
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


def import_alone(
    venv: Path,
    tree: Path,
    roots: Iterable[str],
    entries: Iterable[str],
    watch: Iterable[str],
    on_result: Callable[[dict | None], None],
    *,
    timeout: float = 60.0,
) -> tuple[dict[str, dict], frozenset[str]]:
    """Each entry imported alone in a fresh interpreter, as the program starts: (entry → its
    outcome, the modules of `watch` these imports loaded). An entry that an earlier one already
    imported whole needs no interpreter of its own (on_result(None) for it)."""
    watched = list(watch)
    alone: dict[str, dict] = {}
    loaded: set[str] = set()
    for entry in entries:
        if entry in loaded:
            on_result(None)
            continue
        for result in import_modules(venv, tree, roots, [entry], on_result, timeout=timeout, watch=watched):
            alone[result["module"]] = result
            found = result.get("loaded")
            if isinstance(found, list):
                loaded.update(m for m in found if isinstance(m, str))  # a failed entry is not among them
    return alone, frozenset(loaded)


def scrubbed_environment(venv: Path, tree: Path) -> dict[str, str]:
    """All the analysed code sees of the environment (README, Security): none of the user's variables."""
    return {
        "PATH": str(python_in(venv).parent) + os.pathsep + "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tree),
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "VIRTUAL_ENV": str(venv),
    }


def _absolute_roots(tree: Path, roots: Iterable[str]) -> list[str]:
    return [str(tree / root) if root != "." else str(tree) for root in roots]


def launch(
    venv: Path,
    tree: Path,
    command: list[str],
    environment: dict[str, str],
    *,
    keep: tuple[int, ...] = (),
    **popen: object,
) -> subprocess.Popen[bytes]:
    """`command` started by the launcher (see _LAUNCHER), in the tree, with `environment` only."""
    spec = json.dumps({"parent": os.getpid(), "command": command, "keep": list(keep)})
    return subprocess.Popen(  # type: ignore[call-overload]
        [str(python_in(venv)), "-I", "-c", _LAUNCHER, spec],
        cwd=tree,
        env=environment,
        pass_fds=keep,
        start_new_session=True,
        **popen,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask the launcher to clean up (it kills every process its child left), then make sure. A
    SIGTERM or Ctrl-C meanwhile waits until it is done: nothing may still write into the tree
    when it is removed."""
    with interruptions_held():
        if process.poll() is None:
            try:
                process.send_signal(signal.SIGTERM)
                process.wait(_GRACE_SECONDS)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:
                process.kill()
        process.wait()


def _run_importer(
    venv: Path,
    tree: Path,
    environment: dict[str, str],
    roots: list[str],
    modules: list[str],
    timeout: float,
    on_result: Callable[[dict], None],
    watch: list[str],
) -> list[dict]:
    import select

    # Results come back on a pipe of their own, never on stdout, which the imported code shares,
    # and each line carries a tag only this run's key makes.
    key = secrets.token_bytes(32)
    read_end, write_end = os.pipe()
    process = launch(
        venv,
        tree,
        [str(python_in(venv)), "-I", "-c", _RUNNER],
        environment,
        keep=(write_end,),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    assert process.stdin is not None
    try:
        process.stdin.write(json.dumps([roots, modules, write_end, timeout, key.hex(), watch]).encode() + b"\n")
        process.stdin.close()
    except OSError:
        pass  # the launcher is already gone: nothing will be reported, and the caller says so
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
                result = parse_result(line, expected, key)
                if result is not None:
                    expected.discard(result["module"])
                    results.append(result)
                    on_result(result)
    finally:
        os.close(read_end)
        stop(process)
    return results


def parse_result(line: bytes, expected: set[str], key: bytes) -> dict | None:
    """One reported outcome, or None when the line is not one this run's runner wrote."""
    payload, _, tag = line.rpartition(b"\t")
    if not hmac.compare_digest(tag, hmac.new(key, payload, hashlib.sha256).hexdigest().encode()):
        return None
    try:
        result = json.loads(payload.decode("utf-8", errors="replace"))
    except json.JSONDecodeError:
        return None
    if not isinstance(result, dict) or result.get("module") not in expected or not isinstance(result.get("ok"), bool):
        return None
    return result


@dataclass(frozen=True, slots=True)
class SmokeOutcome:
    command: str
    ok: bool
    output: str  # the last lines the command printed, for a failure


def run_smoke(venv: Path, tree: Path, roots: Iterable[str], command: str, timeout: float) -> SmokeOutcome:
    """Run the target's smoke command in the tree, with the venv first on PATH and the image's
    sys.path as PYTHONPATH: what the container's CMD would do."""
    import shlex

    environment = {**scrubbed_environment(venv, tree), "PYTHONPATH": os.pathsep.join(_absolute_roots(tree, roots))}
    try:
        words = shlex.split(command)
    except ValueError as exc:
        return SmokeOutcome(command, False, str(exc))
    if not words:
        return SmokeOutcome(command, False, "empty command")
    process = launch(venv, tree, words, environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT)  # fmt: skip
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(process)
        return SmokeOutcome(command, False, f"timed out after {timeout:g} s")
    finally:
        stop(process)
    lines = output.decode("utf-8", errors="replace").strip().splitlines()
    if process.returncode == 0:
        return SmokeOutcome(command, True, "")
    return SmokeOutcome(command, False, "\n".join([f"exit {process.returncode}", *lines[-8:]]))
