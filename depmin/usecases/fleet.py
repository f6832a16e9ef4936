"""The fleet: every target's image planned together, with a shared base layer.

The base holds the pins that enough targets share (all of them by default, so no image
receives anything it does not need); each target installs its delta on top. Sizes are the
wheel sizes uv.lock records for the target platform, so the footprint is computed, not claimed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from depmin.analysis import Analysis
from depmin.errors import UsageError
from depmin.model import CopyPath, Pin
from depmin.usecases.size_report import download_size


@dataclass(frozen=True)
class TargetPlan:
    name: str
    pinned: tuple[Pin, ...]  # the target's whole pinned closure
    delta: tuple[Pin, ...]  # what it installs on top of the base
    extra: tuple[Pin, ...]  # base pins it does not need (only with --shared-by below the fleet's size)
    copy: tuple[CopyPath, ...]
    data: tuple[str, ...]
    size: int  # its pinned closure alone, in bytes of wheels
    delta_size: int  # the pull when the base is already cached
    image_size: int  # built on the base: base + delta


@dataclass(frozen=True)
class Footprint:
    without_base: int  # every image carries its own copy of everything
    with_base: int  # the base layer once, as a registry and a host store it, plus every delta
    base_size: int

    @property
    def saved_percent(self) -> float:
        return 0.0 if not self.without_base else 100.0 * (self.without_base - self.with_base) / self.without_base


@dataclass(frozen=True)
class FleetPlan:
    shared_by: int  # a pin joins the base when at least this many targets pin it
    base: tuple[Pin, ...]
    targets: tuple[TargetPlan, ...]
    footprint: Footprint
    unknown_sizes: tuple[str, ...]  # distributions whose wheel size the lock does not record


def _key(pin: Pin) -> tuple[str, str]:
    return pin.name, pin.version


def plan_fleet(analyses: Sequence[tuple[str, Analysis, tuple[str, ...]]], shared_by: int | None = None) -> FleetPlan:
    """`analyses`: (target name, its analysis, its data paths), all of one lock and one platform."""
    if not analyses:
        raise UsageError("no targets to plan")
    count = len(analyses)
    threshold = count if shared_by is None else shared_by
    if not 1 <= threshold <= count:
        raise UsageError(f"--shared-by {threshold}: give a number from 1 to the {count} targets planned")
    lock, target = analyses[0][1].lock, analyses[0][1].closure.target
    if any(a.closure.target != target for _, a, _ in analyses):
        raise UsageError("the targets of one plan must share one Python and platform (pass --python/--platform)")
    pinned_by: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], Pin] = {}
    for _, analysis, _ in analyses:
        for pin in analysis.closure.pinned:
            pinned_by[_key(pin)] += 1
            first.setdefault(_key(pin), pin)
    base = tuple(sorted((first[k] for k, n in pinned_by.items() if n >= threshold), key=_key))
    base_keys = {_key(p) for p in base}
    unknown: set[str] = set()

    def size(pins: Sequence[Pin]) -> int:
        total, missing = download_size(lock, pins, target)
        unknown.update(missing)
        return total

    base_size = size(base)
    plans = []
    for name, analysis, data in analyses:
        closure = analysis.closure
        mine = {_key(p) for p in closure.pinned}
        delta = tuple(p for p in closure.pinned if _key(p) not in base_keys)
        extra = tuple(p for p in base if _key(p) not in mine)
        delta_size = size(delta)
        plans.append(
            TargetPlan(
                name=name,
                pinned=closure.pinned,
                delta=delta,
                extra=extra,
                copy=closure.copy,
                data=data,
                size=size(closure.pinned),
                delta_size=delta_size,
                image_size=base_size + delta_size,
            )
        )
    footprint = Footprint(
        without_base=sum(p.size for p in plans),
        with_base=base_size + sum(p.delta_size for p in plans),
        base_size=base_size,
    )
    return FleetPlan(threshold, base, tuple(plans), footprint, tuple(sorted(unknown)))
