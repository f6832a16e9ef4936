"""One requirements file for several platforms (`--platform linux-x86_64 --platform linux-aarch64`,
for `buildx --platform linux/amd64,linux/arm64`): the union of each platform's closure, with an
environment marker on every pin that not all of them need, so one file installs right on each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from depmin.errors import Diagnostic
from depmin.model import Closure, CopyPath, Ignored, LocalDistribution, Pin, Platform, Requirement, via_order


def platform_marker(platform: Platform) -> str:
    return f'sys_platform == "{platform.sys_platform}" and platform_machine == "{platform.platform_machine}"'


def same_markers(one: Platform, other: Platform) -> bool:
    """Whether no marker can tell the two apart (glibc and musl Linux on one machine type)."""
    return platform_marker(one) == platform_marker(other)


def _where(platforms: Sequence[Platform]) -> str:
    markers = [platform_marker(p) for p in platforms]
    return markers[0] if len(markers) == 1 else " or ".join(f"({m})" for m in markers)


def merge_platforms(closures: Sequence[Closure]) -> Closure:
    """The closures of one set of entries on several platforms (one Python), as one closure."""
    if len(closures) == 1:
        return closures[0]
    every = [c.target.platform for c in closures]
    present: dict[tuple[str, str, str | None], list[Platform]] = {}
    merged: dict[tuple[str, str, str | None], Pin] = {}
    for closure in closures:
        for pin in closure.pinned:
            key = (pin.name, pin.version, pin.marker)
            present.setdefault(key, []).append(closure.target.platform)
            known = merged.get(key)
            merged[key] = (
                pin
                if known is None
                else replace(
                    known,
                    parents=tuple(sorted(set(known.parents) | set(pin.parents))),
                    hashes=tuple(sorted(set(known.hashes) | set(pin.hashes))),
                )
            )
    pins = []
    for key in sorted(merged, key=lambda k: (k[0], k[1], k[2] or "")):
        pin, where = merged[key], present[key]
        if len(where) < len(every):
            platforms = _where(where)
            marker = f"({pin.marker}) and ({platforms})" if pin.marker else platforms
            pin = replace(pin, marker=marker)
        pins.append(pin)
    first = closures[0]
    return replace(
        first,
        modules=_union(c.modules for c in closures),
        files=_union(c.files for c in closures),
        package_data=_union(c.package_data for c in closures),
        copy=_copy_union(c.copy for c in closures),
        direct=_requirements(c.direct for c in closures),
        optional=_requirements(c.optional for c in closures),
        type_only=_requirements(c.type_only for c in closures),
        pinned=tuple(pins),
        local_distributions=tuple(sorted(set[LocalDistribution]().union(*(c.local_distributions for c in closures)))),
        named_imports=_union(c.named_imports for c in closures),
        ignored=tuple(sorted(set[Ignored]().union(*(c.ignored for c in closures)))),
        warnings=tuple(sorted(set[Diagnostic]().union(*(c.warnings for c in closures)))),
        errors=tuple(sorted(set[Diagnostic]().union(*(c.errors for c in closures)))),
        platforms=tuple(every),
    )


def _union(parts: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(sorted(set[str]().union(*parts)))


def _copy_union(parts: Iterable[tuple[CopyPath, ...]]) -> tuple[CopyPath, ...]:
    """Every COPY any platform needs, without a file that a copied directory already carries."""
    copies = {c.source: c for part in parts for c in part}
    directories = [s for s in copies if s.endswith("/")]
    kept = [c for s, c in copies.items() if not any(s != d and s.startswith(d) for d in directories)]
    return tuple(sorted(kept, key=lambda c: c.source))


def _requirements(parts: Iterable[tuple[Requirement, ...]]) -> tuple[Requirement, ...]:
    by_name: dict[str, Requirement] = {}
    for part in parts:
        for requirement in part:
            known = by_name.get(requirement.name)
            if known is None:
                by_name[requirement.name] = requirement
            else:
                vias = tuple(sorted(set(known.via) | set(requirement.via), key=via_order))
                by_name[requirement.name] = replace(known, via=vias)
    return tuple(by_name[name] for name in sorted(by_name))
