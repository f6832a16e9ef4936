"""verify --image: build the Dockerfile depmin writes, with whichever engine is installed, then
import every module and run the smoke command inside the image. The real proof, and a real
sandbox: the analysed code runs in the container, not with the user's rights on the host.

The build context is a temporary copy of exactly what the COPY lines name (and the generated
requirements file), so the image can only contain what verify's tree contains.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from depmin.imports.copy_plan import planned_files
from depmin.model import Closure
from depmin.usecases.build_env import VerifyError, write_files
from depmin.usecases.prune import MANIFEST_TREE, SOURCE_TREE
from depmin.usecases.run_imports import SmokeOutcome, parse_result
from depmin.usecases.verify import VerifyRequest, VerifyResult, importable, outcomes_of

if TYPE_CHECKING:
    from depmin.analysis import Analysis

ENGINES = ("docker", "podman", "buildah")

# Runs inside the image with its own PYTHONPATH; one authenticated JSON line per module (the key
# comes on stdin, where the imported code cannot read it from argv or the environment), so a
# module's own output is never taken for a result.
_CHECK = r"""
import hashlib, hmac, importlib, json, os, sys
key = bytes.fromhex(sys.stdin.readline().strip())
os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
modules = json.loads(sys.argv[1])
out = os.fdopen(os.dup(1), "w", buffering=1)

def report(outcome, key=key, out=out):
    line = json.dumps(outcome, sort_keys=True)
    out.write(line + "\t" + hmac.new(key, line.encode(), hashlib.sha256).hexdigest() + "\n")

del key
for name in modules:
    try:
        importlib.import_module(name)
        outcome = {"module": name, "ok": True}
    except BaseException as exc:
        text = str(exc)
        outcome = {"module": name, "ok": False, "type": type(exc).__name__,
                   "message": text.splitlines()[0] if text else "",
                   "missing": getattr(exc, "name", None) if isinstance(exc, ImportError) else None,
                   "filename": getattr(exc, "filename", None)}
    report(outcome)
"""


class ImageError(VerifyError):
    """The engine is missing or the image could not be built (uv's or the engine's telling line)."""


@dataclass(frozen=True)
class ImageRun:
    engine: str
    tag: str
    results: tuple[dict, ...]
    smoke_ok: bool | None
    smoke_output: str


def find_engine(requested: str | None) -> str:
    for engine in (requested,) if requested else ENGINES:
        if engine and shutil.which(engine):
            return engine
    wanted = requested or " or ".join(ENGINES)
    raise ImageError(f"no container engine found ({wanted}); install one (Debian: apt-get install buildah)")


def build_context(
    root: Path, closure: Closure, excludes: tuple[str, ...], files: dict[str, str], directory: Path
) -> Path:
    """The COPY sources at their repository paths, plus the generated files (Dockerfile, requirements)."""
    context = directory / "context"
    for source, _ in planned_files(root, closure, excludes):
        target = context / source.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    for relative, text in files.items():
        path = context / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return context


def run_in_image(
    engine: str,
    context: Path,
    dockerfile: str,
    ignore: str,
    modules: Iterable[str],
    smoke: str | None,
    timeout: float,
    log: Callable[[str], None],
) -> ImageRun:
    tag = f"localhost/depmin-verify:{secrets.token_hex(6)}"
    dockerfile_path, ignore_path = context / "Dockerfile", context / ".dockerignore"
    dockerfile_path.write_text(dockerfile, "utf-8")
    ignore_path.write_text(ignore + "!Dockerfile\n!.dockerignore\n", "utf-8")
    build = {
        "buildah": ["buildah", "bud", "--isolation", "chroot", "--ignorefile", str(ignore_path)],
        "podman": ["podman", "build", "--ignorefile", str(ignore_path)],
        "docker": ["docker", "build"],
    }[engine] + ["-f", str(dockerfile_path), "-t", tag, str(context)]
    log(" ".join(build[:2]) + " ...")
    before = buildah_containers() if engine == "buildah" else {}
    try:
        completed = subprocess.run(build, capture_output=True, text=True, check=False)
    finally:
        if engine == "buildah":
            remove_stage_leftovers(before, dockerfile)
    if completed.returncode != 0:
        lines = (completed.stderr or completed.stdout).strip().splitlines()
        telling = next((line for line in reversed(lines) if "error" in line.lower()), lines[-1] if lines else "")
        raise ImageError(f"the image did not build: {telling.strip()}")
    try:
        key = secrets.token_bytes(32)
        wanted = list(modules)
        output = _run(engine, tag, ["python", "-c", _CHECK, json.dumps(wanted)], timeout * 10, key.hex() + "\n")
        found = (parse_result(line.encode(), set(wanted), key) for line in output[1].splitlines())
        results = tuple(result for result in found if result is not None)
        smoke_ok, smoke_output = None, ""
        if smoke:
            import shlex

            code, text = _run(engine, tag, shlex.split(smoke), timeout)
            smoke_ok, smoke_output = code == 0, "\n".join(text.strip().splitlines()[-8:]) if code else ""
        return ImageRun(engine, tag, results, smoke_ok, smoke_output)
    finally:
        _remove(engine, tag)


def _run(engine: str, tag: str, command: list[str], timeout: float, stdin: str = "") -> tuple[int, str]:
    try:
        if engine == "buildah":
            container = subprocess.run(
                ["buildah", "from", tag], capture_output=True, text=True, check=True
            ).stdout.strip()
            try:
                completed = subprocess.run(
                    ["buildah", "run", "--isolation", "chroot", container, "--", *command],
                    input=stdin,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    check=False,
                )
            finally:
                subprocess.run(["buildah", "rm", container], capture_output=True, check=False)
        else:
            completed = subprocess.run(
                [engine, "run", "--rm", "-i", tag, *command],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout:g} s"
    return completed.returncode, completed.stdout + completed.stderr


def _stage_images(dockerfile: str) -> frozenset[str]:
    """The images the Dockerfile's stages start FROM, with the ARG defaults filled in."""
    defaults = dict(re.findall(r"(?m)^\s*ARG\s+(\w+)=(\S+)", dockerfile))
    images = set()
    for image in re.findall(r"(?im)^\s*FROM\s+(?:--\S+\s+)*(\S+)", dockerfile):
        images.add(re.sub(r"\$\{?(\w+)\}?", lambda match: defaults.get(match[1], match[0]), image))
    return frozenset(images)


def buildah_containers() -> dict[str, tuple[str, str]]:
    listed = subprocess.run(["buildah", "containers", "--json"], capture_output=True, text=True, check=False)
    try:
        rows = json.loads(listed.stdout or "[]") or []
    except ValueError:
        return {}
    return {row["id"]: (row.get("imagename", ""), row.get("containername", "")) for row in rows if "id" in row}


def remove_stage_leftovers(before: dict[str, tuple[str, str]], dockerfile: str) -> None:
    """buildah leaves a working container behind for a named stage that is only copied from
    (`FROM uv AS uv` ... `COPY --from=uv`, containers/buildah#4572): remove the ones this build
    made, and nothing else."""
    images = _stage_images(dockerfile)
    for container, (image, name) in buildah_containers().items():
        if container in before or image not in images or "-working-container" not in name:
            continue
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False)


def _remove(engine: str, tag: str) -> None:
    command = ["buildah", "rmi", "-f", tag] if engine == "buildah" else [engine, "rmi", "-f", tag]
    subprocess.run(command, capture_output=True, check=False)


def temporary_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="depmin-image-"))


def default_base(engine: str, python: str) -> str:
    """The base image made by scripts/make_base_image.sh when buildah holds it, else python:X.Y-slim."""
    local = f"localhost/depmin-python:{python}"
    if engine == "buildah":
        inspected = subprocess.run(["buildah", "inspect", "--type", "image", local], capture_output=True, check=False)
        if inspected.returncode == 0:
            return local
    return f"python:{python}-slim"


def verify_image(
    analysis: Analysis,
    request: VerifyRequest,
    engine: str,
    base: str,
    dockerfile: str,
    ignore: str,
    log: Callable[[str], None],
) -> VerifyResult:
    """Build `dockerfile` from a context of exactly the closure's files, then import every module
    and run the smoke command inside the image."""
    closure = analysis.closure
    directory = temporary_directory()
    try:
        if request.pruned is not None:  # the uv style: the build context is the prune directory
            context = directory / "context"
            layers = {f"{SOURCE_TREE}/{path}": data for path, data in request.pruned.items()}
            layers |= {f"{MANIFEST_TREE}/{path}": request.pruned[path] for path in request.manifests}
            write_files(context, layers)
        else:
            context = build_context(
                request.root, closure, request.excludes, {"requirements.txt": request.requirements}, directory
            )
        run = run_in_image(
            engine, context, dockerfile, ignore, importable(closure), request.smoke, request.timeout, log
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    outcomes = outcomes_of(analysis, run.results)
    smoked = SmokeOutcome(request.smoke, bool(run.smoke_ok), run.smoke_output) if request.smoke else None
    installed = tuple(p.name for p in closure.pinned)
    return VerifyResult(Path(f"{engine}:{run.tag}"), installed, outcomes, smoked, image=(engine, base))
