"""verify --image: the fixtures/caramba agent image is really built (buildah, from a base made by
scripts/make_base_image.sh without any registry) and its modules and entry point run inside it.
Needs buildah and mmdebstrap (Debian: apt-get install buildah mmdebstrap) and root, as .ci/run has."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from depmin.commands import main
from depmin.usecases.image import buildah_containers, remove_stage_leftovers

from ..helpers import CARAMBA, REPOSITORY, needs, one_at_a_time

pytestmark = [pytest.mark.slow, pytest.mark.network]


def containers() -> set[str]:
    listed = subprocess.run(["buildah", "containers", "-q"], capture_output=True, text=True, check=False)
    return set(listed.stdout.split())


@pytest.fixture(scope="module")
def made_base():
    """The base made once (scripts/make_base_image.sh holds its own lock: two workers build it once)."""
    missing = [tool for tool in ("buildah", "mmdebstrap") if shutil.which(tool) is None]
    needs(not missing, f"needs {' and '.join(missing)} (apt-get install buildah mmdebstrap)")
    needs(os.geteuid() == 0, "needs root (buildah with vfs storage and mmdebstrap's chroot)")
    os.environ.setdefault("STORAGE_DRIVER", "vfs")
    made = subprocess.run(
        ["bash", str(REPOSITORY / "scripts" / "make_base_image.sh"), "3.12"],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


@pytest.fixture
def base_image(made_base):
    """One image test at a time uses buildah's store, and leaves no container behind."""
    with one_at_a_time("buildah-store"):
        before = containers()
        yield made_base
        assert containers() <= before, "a test left buildah containers behind"


def test_the_agent_image_builds_and_its_entry_point_runs_inside(runner, base_image):
    result = runner.invoke(
        main,
        [
            "verify",
            "--root",
            str(CARAMBA),
            "--target",
            "agent",
            "--no-cache",
            "--json",
            "--image",
            "--engine",
            "buildah",
            "--base",
            base_image,
            "--run",
            # litellm fetches its model cost map at import unless told to use the one it ships
            "env LITELLM_LOCAL_MODEL_COST_MAP=True python -m ai.entrypoint --help",
        ],
    )
    data = json.loads(result.stdout)
    assert result.exit_code == 0, data
    assert data["image"] == {"engine": "buildah", "base": base_image}
    assert len(data["modules"]) == 42 and all(m["ok"] for m in data["modules"])
    assert data["smoke"]["ok"] is True


def test_an_image_that_lacks_a_module_fails_inside_it(runner, base_image, tmp_path):
    root = tmp_path / "svc"
    shutil.copytree(REPOSITORY / "fixtures" / "smallsvc", root, ignore=shutil.ignore_patterns(".depmin_cache"))
    (root / "svc" / "named.py").write_text("import importlib\nimportlib.import_module('six')  # depmin: ignore\n")
    result = runner.invoke(
        main,
        [
            "verify",
            "--root",
            str(root),
            "--no-cache",
            "--json",
            "--python",
            "3.12",
            "--image",
            "--engine",
            "buildah",
            "--base",
            base_image,
            "svc/",
        ],
    )
    data = json.loads(result.stdout)
    assert result.exit_code == 1
    failed = {m["module"]: m for m in data["modules"] if not m["ok"]}
    assert set(failed) == {"svc.named"} and failed["svc.named"]["kind"] == "missing_distribution"


def test_the_fleet_base_and_two_targets_build_and_start(runner, base_image, caramba, monkeypatch):
    """dockerfile --all, built for real: the base once, then two persona images on it."""
    monkeypatch.chdir(caramba)
    written = runner.invoke(main, ["dockerfile", "--all", "--shared-by", "17", "--base", base_image, "-o", "fleet"])
    assert written.exit_code == 0, written.output
    tag = "localhost/depmin-test-fleet-base:latest"

    def build(name: str, *arguments: str) -> None:
        dockerfile = caramba / "fleet" / f"Dockerfile.{name}"
        ignore = caramba / "fleet" / f"Dockerfile.{name}.dockerignore"
        command = ["buildah", "bud", "--isolation", "chroot", "--ignorefile", str(ignore), "-f", str(dockerfile),
                   *arguments, str(caramba)]  # fmt: skip
        before = buildah_containers()
        built = subprocess.run(command, capture_output=True, text=True, timeout=1200, check=False)
        remove_stage_leftovers(before, dockerfile.read_text("utf-8"))
        assert built.returncode == 0, built.stderr[-3000:]

    def run(image: str, *command: str) -> subprocess.CompletedProcess[str]:
        container = subprocess.run(
            ["buildah", "from", image], capture_output=True, text=True, check=True
        ).stdout.strip()
        try:
            return subprocess.run(["buildah", "run", "--isolation", "chroot", container, "--", *command],
                                  capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        finally:
            subprocess.run(["buildah", "rm", container], capture_output=True, check=False)

    images = [tag]
    try:
        build("base", "-t", tag)
        for name in ("persona-writer", "agent"):
            image = f"localhost/depmin-test-{name}:latest"
            images.append(image)
            build(name, "--build-arg", f"BASE_IMAGE={tag}", "-t", image)
            started = run(image, "python", "-m", "ai.entrypoint", "--help")
            assert started.returncode == 0, started.stdout + started.stderr
            whoami = run(image, "id", "-u")
            assert whoami.stdout.strip() == "10001"
        persona = run(images[1], "ls", "config/personas")
        assert persona.stdout.split() == ["writer.yaml"]  # its own persona, not the others'
    finally:
        for image in images:
            subprocess.run(["buildah", "rmi", "-f", image], capture_output=True, check=False)


def test_the_compose_override_builds_the_base_once_and_two_personas_on_it(runner, base_image, caramba, monkeypatch):
    """dockerfile --all --compose, built for real from the override's `build:` sections as compose
    hands them to a builder: `service:` contexts become the image that service built."""
    import yaml

    monkeypatch.chdir(caramba)
    written = runner.invoke(
        main, ["dockerfile", "--all", "--shared-by", "17", "--base", base_image, "-o", "fleet", "--compose"]
    )
    assert written.exit_code == 0, written.output
    services = yaml.safe_load((caramba / "compose.depmin.yaml").read_text())["services"]
    built: dict[str, str] = {}  # service → the image it built

    def build(service: str) -> str:
        spec = services[service]["build"]
        image = services[service].get("image") or f"depmin-test-compose-{service}:latest"
        contexts: dict[str, str] = {}
        for name, value in spec.get("additional_contexts", {}).items():
            source = value.removeprefix("service:")
            assert source in built, f"{service} needs {source} built first"
            contexts[name] = f"localhost/{built[source]}"
        # BuildKit resolves `FROM ${BASE_IMAGE}` with BASE_IMAGE=fleet-base to the named context;
        # buildah 1.28 does not resolve a named context through an ARG, so it is given the image itself
        args = {key: contexts.get(value, value) for key, value in spec.get("args", {}).items()}
        arguments = [a for key, value in args.items() for a in ("--build-arg", f"{key}={value}")]
        dockerfile = caramba / spec["context"] / spec["dockerfile"]
        command = ["buildah", "bud", "--isolation", "chroot", "--ignorefile", f"{dockerfile}.dockerignore",
                   "-f", str(dockerfile), *arguments, "-t", image, str(caramba / spec["context"])]  # fmt: skip
        before = buildah_containers()
        result = subprocess.run(command, capture_output=True, text=True, timeout=1200, check=False)
        remove_stage_leftovers(before, dockerfile.read_text("utf-8"))
        assert result.returncode == 0, result.stderr[-3000:]
        built[service] = image
        return image

    try:
        build("depmin-fleet-base")
        for persona in ("writer", "architect"):
            image = build(persona)
            container = subprocess.run(["buildah", "from", f"localhost/{image}"], capture_output=True, text=True,
                                       check=True).stdout.strip()  # fmt: skip
            try:
                started = subprocess.run(["buildah", "run", "--isolation", "chroot", container, "--", "python", "-m",
                                          "ai.entrypoint", "--help"], capture_output=True, text=True, timeout=300,
                                         check=False)  # fmt: skip
                assert started.returncode == 0, started.stdout + started.stderr
            finally:
                subprocess.run(["buildah", "rm", container], capture_output=True, check=False)
    finally:
        for image in built.values():
            subprocess.run(["buildah", "rmi", "-f", f"localhost/{image}"], capture_output=True, check=False)


def test_the_uv_style_image_builds_from_the_pruned_tree_and_runs_the_entry(runner, base_image, tmp_path):
    """depmin prune --docker, then dockerfile --style uv, built for real: uv builds the project
    (setuptools, package-dir ".") and installs exactly the pins; the entry imports."""
    root, pruned = REPOSITORY / "fixtures" / "packagedir", tmp_path / "pruned"
    common = ["--root", str(root), "--python", "3.12", "ai/entrypoint.py"]
    written = runner.invoke(main, ["prune", *common, "--docker", "-o", str(pruned)])
    assert written.exit_code == 0, written.output
    dockerfile = pruned / "Dockerfile"
    written = runner.invoke(main, ["dockerfile", *common, "--style", "uv", "--base", base_image, "-o", str(dockerfile)])
    assert written.exit_code == 0, written.output
    pins = {
        (p["name"], p["version"])
        for p in json.loads(runner.invoke(main, ["closure", *common, "--json"]).stdout)["pinned"]
    }
    tag = "localhost/depmin-test-uv-style:latest"
    before = buildah_containers()
    built = subprocess.run(["buildah", "bud", "--isolation", "chroot", "-f", str(dockerfile), "-t", tag, str(pruned)],
                           capture_output=True, text=True, timeout=1200, check=False)  # fmt: skip
    remove_stage_leftovers(before, dockerfile.read_text("utf-8"))
    assert built.returncode == 0, built.stderr[-3000:]
    try:
        container = subprocess.run(["buildah", "from", tag], capture_output=True, text=True, check=True).stdout.strip()
        try:
            probe = (
                "import json, importlib.metadata as m, caramba.ai.entrypoint; "
                "print(json.dumps(sorted([d.metadata['Name'].lower(), d.version] for d in m.distributions())))"
            )
            ran = subprocess.run(["buildah", "run", "--isolation", "chroot", "--user", "10001:10001", container, "--",
                                  "python", "-c", probe], capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        finally:
            subprocess.run(["buildah", "rm", container], capture_output=True, check=False)
    finally:
        subprocess.run(["buildah", "rmi", "-f", tag], capture_output=True, check=False)
    assert ran.returncode == 0, ran.stderr
    installed = {tuple(d) for d in json.loads(ran.stdout.splitlines()[-1])}
    assert installed == pins | {("caramba", "0.1.0")}


def test_verify_image_in_the_uv_style_builds_from_the_pruned_tree(runner, base_image):
    result = runner.invoke(main, ["verify", "--root", str(REPOSITORY / "fixtures" / "packagedir"), "--python", "3.12",
                                  "--json", "--image", "--engine", "buildah", "--base", base_image, "--style", "uv",
                                  "--run", "python -m caramba.ai.entrypoint", "ai/entrypoint.py"])  # fmt: skip
    data = json.loads(result.stdout)
    assert result.exit_code == 0, data
    assert data["modules"] and all(m["ok"] for m in data["modules"])
    assert data["smoke"]["ok"] is True
