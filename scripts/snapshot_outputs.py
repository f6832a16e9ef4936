"""Every output depmin writes for the bundled fixtures, into one directory: run it before and after a
change that must not change behaviour, then `diff -r BEFORE AFTER`.

    uv run python scripts/snapshot_outputs.py /tmp/before
    ... change ...
    uv run python scripts/snapshot_outputs.py /tmp/after && diff -r /tmp/before /tmp/after

Each fixture is copied to a temporary directory first (nothing under fixtures/ is written), every
command runs with --no-cache, and what it prints (stdout, stderr, exit code) is kept per command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
FIXTURES = REPOSITORY / "fixtures"

# (fixture, name, arguments): arguments run from the fixture's copy; {out} is the command's own output folder.
RUNS: list[tuple[str, str, list[str]]] = [
    ("caramba", "closure-agent", ["closure", "--target", "agent", "--json"]),
    ("caramba", "closure-agent-text", ["closure", "--target", "agent", "--color", "never"]),
    ("caramba", "closure-files", ["closure", "ai/", "console/", "-o", "{out}/req.txt", "--copy-list", "{out}/copy"]),
    ("caramba", "closure-hashes", ["closure", "--target", "agent", "--hashes", "-o", "{out}/req.txt"]),
    ("caramba", "closure-optional", ["closure", "ai/", "--include-optional", "--json"]),
    (
        "caramba",
        "closure-platforms",
        ["closure", "ai/", "--platform", "linux-x86_64", "--platform", "macos-arm64", "-o", "{out}/req.txt"],
    ),
    ("caramba", "closure-sarif", ["closure", "--target", "agent", "--format", "sarif"]),
    ("caramba", "closure-github", ["closure", "--target", "agent", "--format", "github"]),
    ("caramba", "why-torch", ["why", "torch", "--target", "trainer"]),
    ("caramba", "why-json", ["why", "pydantic", "--target", "agent", "--json"]),
    ("caramba", "audit", ["audit", "--json"]),
    ("caramba", "audit-text", ["audit"]),
    ("caramba", "check", ["check", "--json"]),
    ("caramba", "report", ["report", "--target", "agent", "--json"]),
    ("caramba", "report-md", ["report", "--target", "agent", "--markdown"]),
    ("caramba", "plan", ["plan", "--json"]),
    ("caramba", "dockerfile", ["dockerfile", "--target", "agent", "--json"]),
    ("caramba", "dockerfile-all", ["dockerfile", "--all", "-o", "docker/fleet"]),
    ("caramba", "codes", ["codes"]),
    ("smallsvc", "closure", ["closure", "--target", "svc", "--json"]),
    ("smallsvc", "check", ["check"]),
    ("forked", "closure-310", ["closure", "app/", "--python", "3.10", "--json"]),
    ("forked", "closure-312-win", ["closure", "app/", "--python", "3.12", "--platform", "windows-x86_64", "--json"]),
    ("packagedir", "closure", ["closure", "ai/", "--json"]),
    ("packagedir", "dockerfile", ["dockerfile", "ai/", "--requirements", "r.txt"]),
    ("bad", "closure", ["closure", "./", "--json"]),
    ("bad", "closure-text", ["closure", "./"]),
    ("hostile", "check", ["check", "--json"]),
    ("hostile", "closure", ["closure", "--target", "service", "--json"]),
    ("imageworks", "closure", ["closure", "--target", "svc", "--json"]),
    ("oracle", "closure", ["closure", "oracle_app/", "--json"]),
]


def main(destination: Path) -> int:
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="depmin-snapshot-") as scratch:
        # The artifacts' facts the tests use, and no network: the same answer on every machine.
        environment = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "DEPMIN_OFFLINE": "1",
                       "DEPMIN_CACHE_DIR": str(Path(scratch) / "cache")}  # fmt: skip
        environment.pop("FORCE_COLOR", None)
        os.environ["DEPMIN_CACHE_DIR"] = environment["DEPMIN_CACHE_DIR"]
        sys.path.insert(0, str(REPOSITORY))
        from tests.conftest import seed_artifact_facts

        seed_artifact_facts()
        for fixture, name, arguments in RUNS:
            work = Path(scratch) / fixture
            if not work.exists():
                shutil.copytree(
                    FIXTURES / fixture, work, symlinks=True, ignore=shutil.ignore_patterns(".depmin_cache", ".venv")
                )
            out = destination / fixture / name
            out.mkdir(parents=True, exist_ok=True)
            written = work / f"out-{name}"  # relative to the fixture, as a user names an output
            argv = [a.replace("{out}", written.name) for a in arguments]
            command = [sys.executable, "-m", "depmin", *argv[:1], "--no-cache", *argv[1:]]
            if argv[0] == "codes":
                command.remove("--no-cache")
            completed = subprocess.run(command, cwd=work, capture_output=True, text=True, env=environment)
            shown = completed.stdout.replace(str(work), "<root>").replace(str(out), "<out>")
            (out / "stdout").write_text(shown, "utf-8")
            (out / "stderr").write_text(
                completed.stderr.replace(str(work), "<root>").replace(str(out), "<out>"), "utf-8"
            )
            (out / "rc").write_text(f"{completed.returncode}\n", "utf-8")
            if written.is_dir():
                shutil.copytree(written, out, dirs_exist_ok=True)
                shutil.rmtree(written)
            generated = work / "docker" / "fleet"
            if generated.is_dir():
                shutil.copytree(generated, out / "fleet", dirs_exist_ok=True)
                shutil.rmtree(generated)
    print(f"wrote {len(RUNS)} runs under {destination}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
