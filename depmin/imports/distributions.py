"""Import name → the locked distributions that provide it.

Asked in order: the user's module-map; then, longest dotted prefix first, the import names the
locked artifacts really ship (depmin.artifacts: their file lists); for a distribution whose file
list is not known (offline with nothing cached, a git source), the bundled table and the
distribution's own name. The lock's structure breaks a tie. A `.venv` is never asked: a
committed one could claim anything, and the answer must not depend on what is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources

from packaging.utils import canonicalize_name


@cache
def known_modules() -> Mapping[str, tuple[str, ...]]:
    """The bundled table of import names whose distribution name differs."""
    text = resources.files("depmin.data").joinpath("known-modules.txt").read_text("utf-8")
    table: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2:
            table[fields[0]] = tuple(canonicalize_name(f) for f in fields[1:])
    return table


@dataclass(frozen=True)
class NameFacts:
    """What the locked artifacts provide, as the finder reads it."""

    provided: Mapping[str, frozenset[str]]  # import name → distributions whose artifact ships it
    without_facts: frozenset[str]  # locked distributions whose file list is not known
    console_scripts: Mapping[str, frozenset[str]] = field(default_factory=dict)  # command → distributions
    summary: str = ""  # where the facts came from, for -v
    # Distributions with an artifact whose file list this run could not read (offline, a network
    # failure): another machine may know it, so nothing this run concludes is kept for later.
    unread: frozenset[str] = frozenset()


def name_facts(facts: Mapping[str, tuple[Iterable[str], Iterable[tuple[str, str]]]], locked: Iterable[str],
               summary: str = "", unread: Iterable[str] = ()) -> NameFacts:  # fmt: skip
    """NameFacts from {distribution: (import names, console scripts)} for the distributions with facts."""
    provided: dict[str, set[str]] = {}
    scripts: dict[str, set[str]] = {}
    for distribution, (names, commands) in facts.items():
        for name in names:
            provided.setdefault(name, set()).add(distribution)
        for command, _ in commands:
            scripts.setdefault(command, set()).add(distribution)
    return NameFacts(
        {name: frozenset(found) for name, found in provided.items()},
        frozenset(locked) - frozenset(facts),
        {command: frozenset(found) for command, found in scripts.items()},
        summary,
        frozenset(unread),
    )


UNKNOWN = "unknown"  # find()'s source when an import cannot be named without file lists


@dataclass(frozen=True)
class DistributionFinder:
    locked: frozenset[str]
    overrides: Mapping[str, tuple[str, ...]]
    facts: Callable[[], NameFacts]  # gathered on first use: a warm run whose edges are kept never asks
    known: Mapping[str, tuple[str, ...]] = field(default_factory=known_modules)
    depends: Mapping[str, frozenset[str]] = field(default_factory=dict)  # lock: name → its dependencies
    # What the answers depend on (the lock's chosen artifacts, module-map, the bundled table):
    # equal fingerprints, equal answers. Empty: not known, so nothing derived from it is kept.
    fingerprint: str = ""

    @cached_property
    def names(self) -> NameFacts:
        return self.facts()

    def without_facts(self) -> frozenset[str]:
        """The locked distributions whose file lists are not known (none when never asked)."""
        return self.names.without_facts if "names" in self.__dict__ else frozenset()

    @property
    def settled(self) -> bool:
        """Whether what was concluded from these names holds on any machine: nothing was asked
        yet, or every locked artifact's file list was read."""
        return "names" not in self.__dict__ or not self.names.unread

    def find(self, name: str) -> tuple[tuple[str, ...], str]:
        """(distributions, how found) for a dotted import name; longest dotted prefix wins.

        An empty tuple means nothing in the lock provides it; the second item is then UNKNOWN
        when some locked distribution's file list is not known (so it might), or the unlocked
        distributions module-map names."""
        longest_first = prefixes(name)
        for prefix in longest_first:
            if prefix in self.overrides:
                mapped = self.overrides[prefix]
                locked = tuple(d for d in mapped if d in self.locked)
                return (locked, "module-map") if locked else ((), ", ".join(mapped))
        facts = self.names
        for prefix in longest_first:
            found = set(facts.provided.get(prefix, ()))
            source = "the locked artifacts"
            if not found and facts.without_facts:
                candidates = {canonicalize_name(prefix), *self.known.get(prefix, ())}
                found = candidates & facts.without_facts
                source = "known module names" if prefix in self.known else "distribution name"
            locked = self._untie(d for d in found if d in self.locked)
            if locked:
                return locked, source
        return (), (UNKNOWN if facts.without_facts else "")

    def ships(self, name: str) -> bool:
        """Whether a locked artifact ships the module `name` itself (not only a parent of it)."""
        if name in self.overrides:
            return any(d in self.locked for d in self.overrides[name])
        return any(d in self.locked for d in self.names.provided.get(name, ()))

    def console_script(self, command: str) -> tuple[str, ...]:
        """The locked distributions that install the console script `command`."""
        return tuple(sorted(d for d in self.names.console_scripts.get(command, ()) if d in self.locked))

    def _untie(self, candidates: Iterable[str]) -> tuple[str, ...]:
        """Several distributions for one name: one that only depends on another candidate (the
        `bs4` shim on beautifulsoup4) gives way to the one that ships the modules."""
        found = set(candidates)
        if len(found) > 1:
            shims = {d for d in found if self.depends.get(d, frozenset()) & (found - {d})}
            if found - shims:
                found -= shims
        return tuple(sorted(found))


def prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(len(parts), 0, -1)]
