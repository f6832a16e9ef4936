"""Import name → first-party module, standard library, or locked distribution.

The order follows Python's own: a source root's regular module or package wins,
then the standard library, then installed distributions; a namespace directory
only counts when nothing else provides the name (a data folder `yaml/` never
hides PyYAML).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from depmin.imports.distributions import DistributionFinder, prefixes
from depmin.imports.stdlib import is_stdlib
from depmin.project.module_index import ModuleIndex


class Category(enum.StrEnum):
    FIRST_PARTY = "first_party"
    STDLIB = "stdlib"
    DISTRIBUTION = "distribution"
    MISSING = "missing"  # nothing in the repository, the stdlib or the lock provides it
    BROKEN = "broken"  # a first-party name that no first-party module provides
    AMBIGUOUS = "ambiguous"  # several locked distributions provide it


@dataclass(frozen=True, slots=True)
class Resolution:
    category: Category
    name: str  # the absolute dotted name that was resolved
    modules: tuple[str, ...] = ()  # first-party modules it executes, parents first
    distributions: tuple[str, ...] = ()  # one for DISTRIBUTION, several for AMBIGUOUS
    source: str = ""  # how the distribution was found, for explanations


class RelativeImportError(ValueError):
    pass


def absolute_name(importer: str, importer_is_package: bool, level: int, target: str, anchor: str | None = None) -> str:
    """The absolute module a (possibly relative) import names, as importlib computes it."""
    if level == 0:
        return target
    if anchor == "__name__":
        package = importer
    elif anchor is not None:
        package = anchor
    else:
        package = importer if importer_is_package else importer.rpartition(".")[0]
    if not package:
        raise RelativeImportError(f"relative import in {importer}, which is not inside a package")
    parts = package.split(".")
    if level > len(parts):
        raise RelativeImportError(
            f"relative import {'.' * level}{target} goes beyond the top-level package {parts[0]!r}"
        )
    base = ".".join(parts[: len(parts) - level + 1])
    return f"{base}.{target}" if target else base


@dataclass(frozen=True)
class Resolver:
    index: ModuleIndex
    finder: DistributionFinder
    python: tuple[int, int]
    _memo: dict[str, Resolution] = field(default_factory=dict, compare=False, repr=False)
    _from_memo: dict[tuple[str, tuple[str, ...]], list[Resolution]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def resolve(self, name: str) -> Resolution:
        """What an absolute import name is; pure, so remembered (a monorepo asks the same names often)."""
        found = self._memo.get(name)
        if found is None:
            found = self._memo[name] = self._resolve(name)
        return found

    def _resolve(self, name: str) -> Resolution:
        top = name.partition(".")[0]
        if top in self.index.modules:
            return self._first_party(name)
        if is_stdlib(top, self.python):
            return Resolution(Category.STDLIB, name)
        hit = next((prefix for prefix in prefixes(name) if prefix in self.index.modules), None)
        # A module inside a namespace portion of ours, unless a locked distribution ships that very
        # module: its regular package wins over a namespace directory wherever it is on sys.path
        # (`mcp/server.py` in a folder of scripts does not hide the mcp distribution's mcp.server).
        if hit is not None and not self.finder.ships(hit):
            return self._first_party(name)
        distributions, source = self.finder.find(name)
        if len(distributions) == 1:
            return Resolution(Category.DISTRIBUTION, name, distributions=distributions, source=source)
        if distributions:
            return Resolution(Category.AMBIGUOUS, name, distributions=distributions, source=source)
        if top in self.index.namespaces and (name in self.index.namespaces or name == top):
            return Resolution(Category.FIRST_PARTY, name, modules=())
        return Resolution(Category.MISSING, name, source=source)

    def resolve_from(self, name: str, names: tuple[str, ...]) -> list[Resolution]:
        """`from name import a, b`: the package itself, plus each name that is a submodule."""
        key = (name, names)
        found = self._from_memo.get(key)
        if found is None:
            found = self._from_memo[key] = self._resolve_from(name, names)
        return found

    def _resolve_from(self, name: str, names: tuple[str, ...]) -> list[Resolution]:
        base = self.resolve(name)
        if base.category is Category.FIRST_PARTY:
            submodules = [f"{name}.{n}" for n in names if n != "*" and f"{name}.{n}" in self.index.modules]
            return [base, *(self._first_party(s) for s in submodules)]
        if base.category in (Category.STDLIB,):
            return [base]
        if name in self.index.namespaces and any(self._ours(f"{name}.{n}") for n in names if n != "*"):
            # `from livekit.plugins import xai`: a namespace package several distributions share
            # and one of ours adds to; each name is a submodule, from whichever portion has it
            return [self.resolve(f"{name}.{n}") for n in names if n != "*"]
        # `from google.cloud import storage` names a deeper distribution than `google.cloud`.
        deeper = [self.resolve(f"{name}.{n}") for n in names if n != "*"]
        specific = [r for r in deeper if r.category is Category.DISTRIBUTION and r.distributions != base.distributions]
        if specific and base.category is not Category.DISTRIBUTION:
            return specific
        return [base, *specific]

    def _ours(self, name: str) -> bool:
        return name in self.index.modules or name in self.index.namespaces

    def _first_party(self, name: str) -> Resolution:
        modules = self.index.modules
        if name not in modules and name not in self.index.namespaces:
            found = next((p for p in prefixes(name) if p in modules), None)
            if found is not None and not modules[found].is_package:
                return Resolution(Category.BROKEN, name, source=f"first-party module {found} is not a package")
            return Resolution(Category.BROKEN, name, source=f"no first-party module {name}")
        chain = tuple(p for p in reversed(prefixes(name)) if p in modules)
        return Resolution(Category.FIRST_PARTY, name, modules=chain)
