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


@cache
def _stdlib_names(python: tuple[int, int]) -> dict[str, frozenset[str]] | None:
    """Public stdlib module → the names it defines, from scripts/build_stdlib_names.py; None
    when no table was built for that version (its imports then stay undecided)."""
    table = resources.files("depmin.data").joinpath(f"stdlib-names-{python[0]}.{python[1]}.txt")
    if not table.is_file():
        return None
    found: dict[str, frozenset[str]] = {}
    for line in table.read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            module, *names = line.split(" ")
            found[module] = frozenset(names)
    return found


def stdlib_provides(module: str, names: tuple[str, ...], python: tuple[int, int]) -> bool:
    """Whether `import module` (no names) or `from module import names` surely works on the target.

    False when unsure: a module or name the table does not hold, or a version without a table.
    """
    if not is_stdlib(module, python):
        return False
    table = _stdlib_names(python)
    if table is None:
        return not names and "." not in module and module in stdlib_modules(python)
    defined = table.get(module)
    if defined is None:
        return False
    return all(name in defined or f"{module}.{name}" in table for name in names)
