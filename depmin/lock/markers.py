"""PEP 508 markers evaluated for the target environment, over its patch releases."""

from __future__ import annotations

from functools import lru_cache

from packaging.markers import InvalidMarker, Marker, UndefinedEnvironmentName

from depmin.model import Target

_PATCHES = (0, 99)


@lru_cache(maxsize=4096)
def _marker(text: str) -> Marker:
    return Marker(text)


def marker_holds(marker: str | None, target: Target, patch: int = 0) -> bool:
    if not marker:
        return True
    try:
        return _marker(marker).evaluate(target.marker_environment(patch))
    except (InvalidMarker, UndefinedEnvironmentName):
        return False


def marker_matters(marker: str | None, target: Target) -> bool:
    """True when the marker's truth depends on something the target leaves open (the patch release)."""
    if not marker:
        return False
    return len({marker_holds(marker, target, patch) for patch in _PATCHES}) > 1


def in_scope(marker: str | None, target: Target) -> bool:
    return any(marker_holds(marker, target, patch) for patch in _PATCHES)
