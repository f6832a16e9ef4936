"""Importing modules, and running the smoke command, inside the throwaway environment: a clean
import path (the tree and the venv), a scrubbed environment, results on a channel of their own."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from depmin.usecases.build_env import python_in

if TYPE_CHECKING:
    pass


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
        "PATH": str(python_in(venv).parent) + os.pathsep + "/usr/bin:/bin",
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
        [str(python_in(venv)), "-I", "-c", _RUNNER],
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
