"""PEP 508 markers evaluated for the target environment, over its patch releases.

A target names a minor Python (3.12), and a marker may split it (`python_full_version >=
'3.12.4'`, or a lock's fork between 3.12.4 and 3.12.8). A comparison with a version can only
change its truth at the patch release it names, so evaluating at the first and last patch, and at
each patch a marker names with its neighbours, decides the marker for every patch release."""

from __future__ import annotations

import re
from functools import lru_cache

from packaging.markers import InvalidMarker, Marker, UndefinedEnvironmentName

from depmin.model import Target

_EDGES = (0, 99)
_FULL_VERSION = re.compile(r"""(\d+)\.(\d+)\.(\d+)""")


@lru_cache(maxsize=4096)
def _marker(text: str) -> Marker:
    return Marker(text)


@lru_cache(maxsize=4096)
def _patches(marker: str, minor: tuple[int, int]) -> tuple[int, ...]:
    """The patch releases of `minor` at which the marker's truth may change, and the edges."""
    named = {
        int(patch)
        for major, minor_number, patch in _FULL_VERSION.findall(marker)
        if (int(major), int(minor_number)) == minor
    }
    around = {p + delta for p in named for delta in (-1, 0, 1) if p + delta >= 0}
    return tuple(sorted({*_EDGES, *around}))


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
    return len({marker_holds(marker, target, patch) for patch in _patches(marker, target.python)}) > 1


def in_scope(marker: str | None, target: Target) -> bool:
    """True when the marker holds for some patch release of the target's Python."""
    if not marker:
        return True
    return any(marker_holds(marker, target, patch) for patch in _patches(marker, target.python))
