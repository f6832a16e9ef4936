"""The throwaway tree goes away however verify ends: a SIGTERM during the run, or during the
removal itself, still removes all of it (100-200 MB venvs were left in /tmp/depmin-verify-*)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from .test_verify_entries import PYTHON, bare_project

# Removes the tree given as argv[1] with verify's remove_tree, under verify's SIGTERM handling,
# and sends itself a SIGTERM as the first file is unlinked: in the middle of the removal.
_INTERRUPTED_REMOVAL = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from depmin.usecases.build_env import remove_tree, terminated_as_exit

    unlink = os.unlink
    def interrupting_unlink(*args, **kwargs):
        os.unlink = unlink
        os.kill(os.getpid(), signal.SIGTERM)
        return unlink(*args, **kwargs)

    with terminated_as_exit():
        os.unlink = interrupting_unlink
        remove_tree(Path(sys.argv[1]))
        print("went on after the SIGTERM", flush=True)
    """
)


def many_files(root: Path, count: int) -> None:
    for number in range(count):
        directory = root / f"d{number % 50}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"f{number}").write_text("x")


def test_a_sigterm_during_the_removal_still_removes_the_whole_tree(tmp_path):
    tree = tmp_path / "depmin-verify-x"
    many_files(tree, 2000)
    completed = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_REMOVAL, str(tree)], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 128 + signal.SIGTERM, completed.stderr
    assert "went on" not in completed.stdout  # the SIGTERM still ends the process, once the tree is gone
    assert not tree.exists()


# A module that fills the tree at import time, so that removing the tree takes a while.
_FILLER = """
    import os
    for number in range(30000):
        directory = f"bulk/d{number % 100}"
        os.makedirs(directory, exist_ok=True)
        open(f"{directory}/f{number}", "w").close()
    open("bulk/done", "w").close()
"""


@pytest.mark.slow
def test_a_sigterm_while_verify_removes_its_tree_leaves_nothing_behind(tmp_path):
    root = bare_project(tmp_path / "repo", {"app/__init__.py": "", "app/fill.py": _FILLER})
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    command = [sys.executable, "-m", "depmin", "verify", "--root", str(root), "--no-cache", "--python", PYTHON, "app/"]
    process = subprocess.Popen(
        command,
        env={**os.environ, "TMPDIR": str(temporary)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300  # a guard against a hang, not a measure
        markers: list[Path] = []
        while time.monotonic() < deadline and process.poll() is None:
            if not markers:
                done = list(temporary.glob("depmin-verify-*/app/bulk/done"))
                if done:
                    workdir = done[0].parents[2]
                    markers = [done[0], workdir / "requirements.txt", workdir / ".venv" / "pyvenv.cfg"]
                    markers += [workdir / "app" / "app" / "fill.py", done[0].parent / "d0" / "f0"]
            elif not all(marker.exists() for marker in markers):
                break  # the removal has begun
            time.sleep(0.001)
        assert markers, "verify never filled its tree"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert list(temporary.iterdir()) == []


def test_an_interrupted_step_kills_the_workers_it_started_too(tmp_path):
    """uv and compileall start worker processes; when verify is interrupted, they must die with
    the step, or they go on writing into the tree after it is removed."""
    import os
    import signal
    import sys
    import threading
    import time

    import pytest

    from depmin.usecases.build_env import run_whole

    pid_file = tmp_path / "worker.pid"
    worker = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(300)"
    step = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {worker!r}]); time.sleep(300)"

    def interrupt_once_the_worker_runs() -> None:
        while not (pid_file.exists() and pid_file.read_text()):
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGUSR1)

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGUSR1, stop)
    try:
        threading.Thread(target=interrupt_once_the_worker_runs, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            run_whole([sys.executable, "-c", step], cwd=tmp_path)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    worker_pid = int(pid_file.read_text())

    def alive() -> bool:
        try:
            state = Path(f"/proc/{worker_pid}/status").read_text()
        except FileNotFoundError:
            return False
        return "\nState:\tZ" not in state

    for _ in range(200):  # SIGKILL is immediate; this only waits for the kernel to record it
        if not alive():
            break
        time.sleep(0.05)
    assert not alive()
