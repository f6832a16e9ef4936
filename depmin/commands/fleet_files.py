"""The fleet's files (`dockerfile --all`, and `sync` / `check` of `[tool.depmin.fleet]`), from every
target analysed in one workspace: one place, so the two ways of writing them give the same bytes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from depmin.analysis import Analysis
    from depmin.commands.session import Session
    from depmin.outputs.fleet import FleetSpec
    from depmin.usecases.fleet import FleetPlan


@dataclass(frozen=True)
class FleetSettings:
    directory: str  # root-relative
    regenerate: str
    base: str | None = None
    command: str | None = None
    shared_by: int | None = None
    index_secret: bool = False
    ca_secret: bool = False
    compose: str | None = None  # root-relative


def fleet_outputs(
    done: Sequence[tuple[Session, Analysis]], settings: FleetSettings
) -> tuple[FleetPlan, FleetSpec, dict[str, str]]:
    """(the plan, the spec it was rendered with, {root-relative path: text})."""
    from depmin.outputs.dockerfile import parse_command, uv_version_for
    from depmin.outputs.fleet import FleetSpec, fleet_files
    from depmin.usecases.fleet import plan_fleet

    names = [s.target_config.name if s.target_config else "" for s, _ in done]
    analyses = [(name, a, s.request.data) for name, (s, a) in zip(names, done, strict=True)]
    closures = {name: a.closure for name, (_, a) in zip(names, done, strict=True)}
    fleet = plan_fleet(analyses, settings.shared_by)
    first = analyses[0][1].closure.target
    command = parse_command(settings.command) if settings.command else None
    spec = FleetSpec(
        directory=settings.directory,
        python_image=settings.base or f"python:{first.python_version}-{first.platform.python_image}",
        uv_version=uv_version_for(done[-1][0].lock.versions),
        regenerate=settings.regenerate,
        index_secret=settings.index_secret,
        ca_secret=settings.ca_secret,
        commands={name: command for name in names} if command else None,
        compose=settings.compose,
        services={
            n: s.target_config.service
            for n, (s, _) in zip(names, done, strict=True)
            if s.target_config and s.target_config.service
        },
    )
    return fleet, spec, fleet_files(fleet, closures, spec)
