"""Extras decide features: what the reference (`uv sync --no-dev` of the importing file's own
project, with the extras the target chooses) would not install is not pinned either.

For each distribution the code imports, judged at every place that imports it:
- the importing project's sync installs it: required as usual;
- only an extra of that project (or of another one, for a project that does not name it at all)
  would install it: a lazy or guarded import is an optional feature, reported with the extra
  (`openai: app[openai]`) and pinned only when the target chooses the extra (--extra, --all-extras,
  a target's `extras`, or its own install requesting it: see TargetInstall); an unguarded import
  at import time needs it to start, so it is pinned, with a warning naming the extra;
- only a dependency group holds it: never in an image; a warning where the import is lazy or
  guarded, an error where the program cannot start without it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from depmin.errors import Code, Diagnostic, Severity
from depmin.lock.reference import ExtraChoice, ProjectReference, references, requested_extras, whole
from depmin.model import Kind, Requirement, Target, Via

if TYPE_CHECKING:
    from depmin.lock.model import LockedPackage, LockFile

Owner = Callable[[str], "tuple[str, LockedPackage] | None"]


def target_projects(lock: LockFile, owner: Owner, entry_files: Iterable[str]) -> tuple[LockedPackage, ...]:
    """The local projects whose install the target is: the owners of the entries' files (every
    local project when one is owned by none, as `whole` judges such code)."""
    owners = [owner(file) for file in entry_files]
    if not owners or any(found is None for found in owners):
        return lock.local_packages
    return tuple({found[1].name: found[1] for found in owners if found is not None}.values())


@dataclass(frozen=True)
class TargetInstall:
    """What the target's own install (`uv sync --no-dev` of the projects owning its entries, with
    the extras it names) requests through uv.lock: it decides which extras count as chosen."""

    projects: tuple[LockedPackage, ...]  # the local projects owning the entries
    named: ExtraChoice  # --extra, --all-extras, a target's extras
    requested: Mapping[str, frozenset[str]]  # every package it installs → the extras requested of it
    references: Mapping[str, ProjectReference]  # each local project's sync, with these extras chosen

    def local_projects(self, lock: LockFile) -> tuple[LockedPackage, ...]:
        """The target's projects and every local project their install brings in."""
        own = {p.name for p in self.projects}
        return tuple(p for p in lock.local_packages if p.name in own or p.name in self.requested)

    def chooses(self, project: str, extra: str) -> bool:
        """Named, or requested by the install (`web` requires `core[fast]`: core's fast extra is
        chosen for web, as `uv sync --package web` installs it)."""
        return self.named(project, extra) or canonicalize_name(extra) in self.requested.get(
            canonicalize_name(project), frozenset()
        )


def target_install(
    lock: LockFile, target: Target, named: ExtraChoice, projects: Iterable[LockedPackage]
) -> TargetInstall:
    projects = tuple(projects)
    requested = requested_extras(lock, target, projects, named)
    install = TargetInstall(projects, named, requested, {})
    return replace(install, references=references(lock, target, install.chooses))


def provided_by(found: Mapping[str, ProjectReference], owner: Owner) -> Callable[[str, str], bool]:
    """(file, distribution) → whether the sync of the file's own project installs it, that is
    whether no unchosen extra and no dependency group is all that would (see _verdict)."""
    everything = whole(found)

    def provided(file: str, name: str) -> bool:
        if not found:
            return True
        reference = _reference(name, file, found, everything, owner)
        return reference.installs(name) or (name not in reference.features and name not in reference.groups)

    return provided


@dataclass(frozen=True)
class Judged:
    required: tuple[Requirement, ...]  # pinned
    features: tuple[Requirement, ...]  # optional features: reported with their extras, not pinned
    diagnostics: tuple[Diagnostic, ...]


def judge(
    direct: tuple[Requirement, ...],
    references: Mapping[str, ProjectReference],
    owner: Owner,
    at_start: Collection[Hashable],
) -> Judged:
    """`at_start`: the modules importing the entries imports (ImportGraph.at_start)."""
    everything = whole(references)
    required, features, diagnostics = [], [], []
    for requirement in direct:
        if requirement.version is None or not references:
            required.append(requirement)
            continue
        verdict = _verdict(requirement, references, everything, owner, at_start)
        if verdict.installed:
            required.append(requirement)
        elif verdict.extras and verdict.at_start is None:
            features.append(replace(requirement, features=verdict.extras))
        elif verdict.extras:
            required.append(requirement)
            start = verdict.at_start
            assert start is not None
            message = (
                f"imports {requirement.name} at import time, which only {' or '.join(verdict.extras)} installs: "
                "pinned, since the program cannot start without it (choose the extra with --extra, or import "
                "it where it is used)"
            )
            diagnostics.append(Diagnostic(start.file, start.line, message, Severity.WARNING, Code.FEATURE_EXTRA))
        elif verdict.groups:
            place = verdict.at_start or requirement.via[0]
            held = " or ".join(verdict.groups)
            if verdict.at_start is not None:
                message = (
                    f"imports {requirement.name} at import time, which only the dependency group {held} holds: "
                    "`uv sync --no-dev` does not install it, so the program cannot start there either"
                )
                severity = Severity.ERROR
            else:
                message = f"imports {requirement.name}, which only the dependency group {held} holds: never in an image"
                severity = Severity.WARNING
                features.append(replace(requirement, features=verdict.groups))
            diagnostics.append(Diagnostic(place.file, place.line, message, severity, Code.GROUP_ONLY))
        else:
            required.append(requirement)  # locked, installed by no project's sync: DM402 says where
    return Judged(tuple(required), tuple(features), tuple(diagnostics))


def labelled(
    optional: tuple[Requirement, ...], references: Mapping[str, ProjectReference], owner: Owner
) -> tuple[Requirement, ...]:
    """Guarded imports, each with the extras or groups that would install it (none when the
    reference already does)."""
    if not references:
        return optional
    everything = whole(references)
    found = []
    for requirement in optional:
        verdict = _verdict(requirement, references, everything, owner, ()) if requirement.version else _Verdict(True)
        labels = verdict.extras or verdict.groups
        found.append(replace(requirement, features=labels) if not verdict.installed and labels else requirement)
    return tuple(found)


_NOT_INSTALLED = frozenset({"python", "python3", "sh", "bash", "env", "true", "false", "exec"})


def command_requirements(
    commands: tuple[str, ...],
    console_script: Callable[[str], tuple[str, ...]],
    pinned: set[str],
    lock_versions: Mapping[str, str],
) -> tuple[list[Requirement], list[Diagnostic]]:
    """The distribution that installs each command's executable (`uvicorn pkg.app:app` in a project
    that declares uvicorn but never imports it), when no pinned one does; a warning where no locked
    distribution installs it."""
    import shlex

    found, diagnostics = [], []
    for command in commands:
        try:
            words = shlex.split(command)
        except ValueError:
            continue
        if words[:1] == ["env"]:
            words = words[1:]
        while words and "=" in words[0] and not words[0].startswith("-"):
            words = words[1:]  # VAR=value before the executable
        executable = words[0] if words else ""
        if not executable or "/" in executable or executable in _NOT_INSTALLED or executable.startswith("python3."):
            continue
        providers = console_script(executable)
        if not providers:
            message = f"command `{command}`: no locked distribution installs `{executable}`; the image will not have it"
            diagnostics.append(Diagnostic("", 0, message, Severity.WARNING, Code.COMMAND_UNPROVIDED))
        elif not set(providers) & pinned:
            name = providers[0]
            via = Via("", 0, "<command>", Kind.DYNAMIC, False, f"command: {command}")
            found.append(Requirement(name, lock_versions.get(name), (), (via,)))
    return found, diagnostics


@dataclass(frozen=True)
class _Verdict:
    installed: bool
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    at_start: Via | None = None  # the first unguarded import at import time, when there is one


def _verdict(
    requirement: Requirement,
    references: Mapping[str, ProjectReference],
    everything: ProjectReference,
    owner: Owner,
    at_start: Collection[Hashable],
) -> _Verdict:
    name = requirement.name
    extras: set[str] = set()
    groups: set[str] = set()
    start = None
    for via in requirement.via:
        reference = _reference(name, via.file, references, everything, owner)
        if reference.installs(name):
            return _Verdict(True)
        if via.kind is Kind.MODULE and not via.guarded and via.module in at_start and start is None:
            start = via
        extras.update(reference.features.get(name, ()))
        groups.update(reference.groups.get(name, ()))
    if not extras and not groups:
        return _Verdict(True)
    return _Verdict(False, tuple(sorted(extras)), tuple(sorted(groups)) if not extras else (), start)


def _reference(
    name: str, file: str, references: Mapping[str, ProjectReference], everything: ProjectReference, owner: Owner
) -> ProjectReference:
    """The reference that judges `file`'s import of `name`: its own project's, or for a project
    that does not name it at all (or code no project owns), what the whole workspace's sync would do."""
    owned = owner(file)
    reference = references.get(owned[1].name) if owned else None
    if reference is None or (name not in reference.features and name not in reference.groups):
        reference = reference if reference is not None and reference.installs(name) else everything
    return reference
