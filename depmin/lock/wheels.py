"""Which artifact of a locked package a target installs: the wheel whose tags the target
interpreter ranks best (as pip and uv rank them), else the sdist."""

from __future__ import annotations

from functools import cache

from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from depmin.lock.model import Artifact, LockedPackage
from depmin.model import Target


@cache
def platform_tags(target: Target) -> tuple[Tag, ...]:
    """Every tag the target interpreter accepts, most specific first (as pip orders them)."""
    platform = target.platform
    machine = platform.platform_machine
    if platform.libc == "musl":  # Alpine: musllinux wheels only, never manylinux (glibc)
        platforms = [f"musllinux_1_{minor}_{machine}" for minor in range(2, -1, -1)] + [f"linux_{machine}"]
    elif platform.sys_platform == "linux":
        platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(39, 16, -1)]
        platforms += [f"manylinux2014_{machine}"]
        if machine == "x86_64":
            platforms += [f"manylinux_2_{minor}_{machine}" for minor in range(16, 4, -1)]
            platforms += ["manylinux2010_x86_64", "manylinux1_x86_64"]
        platforms += [f"linux_{machine}"]
    elif platform.sys_platform == "darwin":
        platforms = list(mac_platforms((14, 0), "arm64" if machine == "arm64" else "x86_64"))
    else:
        platforms = ["win_arm64" if machine == "ARM64" else "win_amd64"]
    python = target.python
    return tuple(cpython_tags(python, platforms=platforms)) + tuple(
        compatible_tags(python, interpreter=f"cp{python[0]}{python[1]}", platforms=platforms)
    )


def best_artifact(package: LockedPackage, target: Target) -> Artifact | None:
    """The wheel the target would install (best tag), else the sdist."""
    priority = {tag: rank for rank, tag in enumerate(platform_tags(target))}
    best: tuple[int, Artifact] | None = None
    for wheel in package.wheels:
        try:
            _, _, _, tags = parse_wheel_filename(wheel.filename)
        except InvalidWheelFilename:
            continue
        ranks = [priority[tag] for tag in tags if tag in priority]
        if ranks and (best is None or min(ranks) < best[0]):
            best = (min(ranks), wheel)
    return best[1] if best else package.sdist
