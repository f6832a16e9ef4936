"""The project's own docker compose file, as far as the fleet's override needs it: which services
it defines. Read, never run; a file compose would not read the same way is reported, not guessed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from depmin.files.reading import CONFIG_SIZE_LIMIT, read_regular, resolves_inside

# The names `docker compose` looks for in the project directory, in its order.
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


@dataclass(frozen=True)
class Mismatch:
    path: str  # the compose file it concerns, root-relative
    message: str


def _compose_file(root: Path) -> str | None:
    """The compose file `docker compose` reads in the root, the first of its names that is there."""
    return next((name for name in COMPOSE_NAMES if (root / name).exists()), None)


def user_compose_name(root: Path) -> str:
    """The compose file `docker compose` would read in the root (docker-compose.yml when none is there)."""
    return _compose_file(root) or "docker-compose.yml"


def compose_services(root: Path) -> tuple[str, tuple[str, ...]] | None:
    """(file, the services it builds from the repository: those with a `build:`) of the project's
    compose file; None when there is none. Raises ValueError naming the file when it cannot be read
    as a compose file. A service that only runs an image (postgres, redis) is not depmin's."""
    import yaml

    name = _compose_file(root)
    if name is None:
        return None
    if not resolves_inside(root, root / name):
        raise ValueError(f"{name}: a symlink out of the project; not read")
    try:
        data = yaml.safe_load(read_regular(root / name, CONFIG_SIZE_LIMIT))
    except (OSError, yaml.YAMLError, RecursionError) as exc:
        raise ValueError(f"{name}: cannot be read as a compose file: {str(exc).splitlines()[0]}") from None
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return name, ()
    return name, tuple(str(service) for service, body in services.items() if isinstance(body, dict) and "build" in body)


def compose_mismatches(root: Path, services: dict[str, str]) -> list[Mismatch]:
    """Targets whose service the project's compose file lacks (the override alone only says how to
    build it), and compose services no target builds. `services`: target → service."""
    try:
        found = compose_services(root)
    except ValueError as exc:
        return [Mismatch("", str(exc))]
    if found is None:
        return [Mismatch("", "no compose file in the project (compose.yaml, docker-compose.yml): the override "
                             "defines only how each service is built")]  # fmt: skip
    name, defined = found
    problems = [
        Mismatch(name, f"target {target}: service {service!r} is not in {name}; the override only says how to build it")
        for target, service in sorted(services.items())
        if service not in defined
    ]
    built = set(services.values())
    problems += [
        Mismatch(name, f"service {service!r} has no depmin target (`service = {service!r}` in the one that builds it)")
        for service in defined
        if service not in built
    ]
    return problems
