"""Standard-library module names of the *target* Python, not of the interpreter running depmin."""

from __future__ import annotations

from functools import cache
from importlib import resources

SUPPORTED_PYTHONS: tuple[tuple[int, int], ...] = ((3, 10), (3, 11), (3, 12), (3, 13), (3, 14))


@cache
def stdlib_modules(python: tuple[int, int]) -> frozenset[str]:
    """Top-level standard-library names, generated from each interpreter's sys.stdlib_module_names."""
    if python not in SUPPORTED_PYTHONS:
        supported = ", ".join(f"{major}.{minor}" for major, minor in SUPPORTED_PYTHONS)
        raise ValueError(f"no standard-library table for Python {python[0]}.{python[1]} (supported: {supported})")
    text = resources.files("depmin.data").joinpath(f"stdlib-{python[0]}.{python[1]}.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def is_stdlib(name: str, python: tuple[int, int]) -> bool:
    return name.partition(".")[0] in stdlib_modules(python)
