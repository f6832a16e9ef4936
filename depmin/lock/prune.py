"""uv.lock → the lock of a pruned repository: the kept projects' entries cut to what they still
declare, and every package nothing kept reaches dropped.

The lock is edited as text, line by line in uv's own layout (one dependency per line), never
re-serialised: every line that stays is byte for byte what `uv lock` wrote, so `uv lock --check`
in the pruned tree finds the lock that it would write. Reachability is universal (every marker,
every platform), as uv's own lock is: only the install for one target is smaller.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from packaging.utils import canonicalize_name

from depmin.lock.model import Dependency, LockFile

_PACKAGE = "[[package]]"
_NAME = re.compile(r'^name = "([^"]+)"$', re.MULTILINE)
_VERSION = re.compile(r'^version = "([^"]+)"$', re.MULTILINE)
_EXTRA_MARKER = re.compile(r"extra == '([^']+)'")


@dataclass(frozen=True)
class ProjectCut:
    """What one kept local project (the root, a workspace member, a path dependency) still
    declares in the pruned tree."""

    name: str
    keep: frozenset[str]  # the dependencies it keeps, by name (for its extras too)
    extras: frozenset[str] = frozenset()  # its own extras that stay (the target chose them)
    narrowed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # dependency → the extras it keeps
    added: tuple[tuple[str, str], ...] = ()  # (name, version): pinned here because nothing kept brings it


def pruned_lock_text(text: str, lock: LockFile, cuts: Mapping[str, ProjectCut]) -> str:
    """`text` (the uv.lock that `lock` was parsed from) with only the kept projects and what they reach."""
    header, blocks = _split(text)
    edited: dict[int, str] = {}
    for number, block in enumerate(blocks):
        name = _block_name(block)
        if name in cuts:
            edited[number] = _cut_project(block, cuts[name])
    roots = [dependency for block in edited.values() for dependency in _edges(block, cuts[_block_name(block)].extras)]
    reached = _reachable(lock, roots)
    kept = []
    for number, block in enumerate(blocks):
        key = (_block_name(block), _block_version(block))
        if number in edited:
            kept.append(edited[number])
        elif key in reached and not _is_dropped_local(lock, block, cuts):
            kept.append(_cut_extras(block, reached[key]))
    return _join(_cut_members(header, frozenset(cuts)), kept)


def _split(text: str) -> tuple[str, list[str]]:
    parts = text.split(f"\n{_PACKAGE}\n")
    return parts[0], [f"{_PACKAGE}\n{part}" for part in parts[1:]]


def _join(header: str, blocks: Iterable[str]) -> str:
    return "\n".join([header, *blocks])


def _block_name(block: str) -> str:
    found = _NAME.search(block)
    return canonicalize_name(found.group(1)) if found else ""


def _block_version(block: str) -> str:
    found = _VERSION.search(block)
    return found.group(1) if found else ""


def _is_dropped_local(lock: LockFile, block: str, cuts: Mapping[str, ProjectCut]) -> bool:
    name = _block_name(block)
    return lock.is_local(name) and name not in cuts


# --- one kept project's entry ---------------------------------------------------------------


def _sections(block: str) -> list[tuple[str, list[str]]]:
    """The block's tables in order: ("", lines of [[package]]), ("package.metadata", lines), ..."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    for line in block.split("\n"):
        if line.startswith("[") and line.endswith("]") and not line.startswith(_PACKAGE):
            sections.append((line.strip("[]"), [line]))
        else:
            sections[-1][1].append(line)
    return sections


def _entries(lines: list[str]) -> list[tuple[str, list[str]]]:
    """A table's lines grouped by key: `key = [` opens an array that its `]` line closes."""
    grouped: list[tuple[str, list[str]]] = []
    open_array = False
    for line in lines:
        if open_array:
            grouped[-1][1].append(line)
            open_array = line != "]"
            continue
        key = line.partition(" = ")[0] if " = " in line and not line.startswith(" ") else ""
        grouped.append((key, [line]))
        open_array = line.endswith(" = [")
    return grouped


def _inline(line: str) -> dict[str, object]:
    value: dict[str, object] = tomllib.loads("v = " + line.strip().rstrip(","))["v"]
    return value


def _cut_project(block: str, cut: ProjectCut) -> str:
    out: list[str] = []
    for section, lines in _sections(block):
        if section in ("package.dev-dependencies", "package.metadata.requires-dev"):
            continue  # dependency groups never reach an image (`uv sync --no-dev`)
        if section == "":
            out += _cut_arrays(lines, cut, {"dependencies"}, "extra", [_added_edge(n) for n, _ in cut.added])
        elif section == "package.optional-dependencies":
            kept = _cut_arrays(lines[1:], cut, set(cut.extras), "extra", [], only_arrays=True)
            out += [lines[0], *kept] if any(line.endswith(" = [") for line in kept) else []
        elif section == "package.metadata":
            added = [_added_requirement(name, version) for name, version in cut.added]
            out += _cut_arrays(lines, cut, {"requires-dist"}, "extras", added)
        else:
            out += lines
    while len(out) > 1 and out[-1] == "" and out[-2] == "":
        out.pop()
    return "\n".join(out)


def _cut_arrays(lines: list[str], cut: ProjectCut, arrays: set[str], extras_key: str, added: list[str],
                *, only_arrays: bool = False) -> list[str]:  # fmt: skip
    """The table's lines with each of `arrays` cut to the kept items (narrowed, plus `added`); an
    array left empty is dropped, as uv writes none; `only_arrays` drops every other array (the
    extras of an optional-dependencies table). Also cuts `provides-extras`."""
    out: list[str] = []
    for key, group in _entries(lines):
        if key == "provides-extras":
            provided = tomllib.loads("\n".join(group))["provides-extras"]
            names = [e for e in provided if canonicalize_name(e) in cut.extras]
            out += ["provides-extras = [" + ", ".join(f'"{name}"' for name in names) + "]"] if names else []
            continue
        if canonicalize_name(key) not in arrays or not group[0].endswith(" = ["):
            out += [] if only_arrays and group[0].endswith(" = [") else group
            continue
        items = [_narrowed(line, cut, extras_key) for line in group[1:-1] if _kept(line, cut)]
        items = sorted([*items, *added], key=lambda line: canonicalize_name(str(_inline(line)["name"])))
        if items:
            out += [group[0], *items, group[-1]]
    return out


def _kept(line: str, cut: ProjectCut) -> bool:
    item = _inline(line)
    if canonicalize_name(str(item["name"])) not in cut.keep:
        return False
    extras = {canonicalize_name(e) for e in _EXTRA_MARKER.findall(str(item.get("marker", "")))}
    return not extras or bool(extras & cut.extras)


def _narrowed(line: str, cut: ProjectCut, extras_key: str) -> str:
    """The line with the dependency's extras cut to those the target needs."""
    name = canonicalize_name(str(_inline(line)["name"]))
    if name not in cut.narrowed:
        return line
    pattern = re.compile(rf", {extras_key} = \[[^\]]*\]")
    wanted = cut.narrowed[name]
    replacement = f", {extras_key} = [" + ", ".join(f'"{e}"' for e in wanted) + "]" if wanted else ""
    return pattern.sub(replacement, line, count=1)


def _added_edge(name: str) -> str:
    return f'    {{ name = "{name}" }},'


def _added_requirement(name: str, version: str) -> str:
    return f'    {{ name = "{name}", specifier = "=={version}" }},'


# --- what the kept projects reach --------------------------------------------------------------


def _edges(block: str, extras: frozenset[str]) -> list[Dependency]:
    """The dependencies a kept project's (edited) entry records, its kept extras' included."""
    data = tomllib.loads(block.replace(_PACKAGE, "[package]", 1))["package"]
    raw = list(data.get("dependencies", []))
    for extra, items in data.get("optional-dependencies", {}).items():
        if canonicalize_name(extra) in extras:
            raw += items
    return [
        Dependency(canonicalize_name(d["name"]), d.get("version"), tuple(d.get("extra", ())), d.get("marker"))
        for d in raw
    ]


def _reachable(lock: LockFile, roots: Iterable[Dependency]) -> dict[tuple[str, str], set[str]]:
    """(name, version) → the extras it is reached with ("" for itself)."""
    reached: dict[tuple[str, str], set[str]] = {}
    stack = list(roots)
    while stack:
        dependency = stack.pop()
        for package in lock.by_name.get(dependency.name, ()):
            if dependency.version is not None and package.version != dependency.version:
                continue
            key = (package.name, package.version)
            seen = reached.setdefault(key, set())
            wanted = {"", *dependency.extras} - seen
            if not wanted:
                continue
            seen.update(wanted)
            for extra in wanted:
                stack += package.dependencies if extra == "" else package.optional_dependencies.get(extra, ())
    return reached


def _cut_extras(block: str, reached: set[str]) -> str:
    """A kept package's entry with only the extras something kept asks for: uv records an
    extra's dependencies only when the resolution requests the extra (and then locks them)."""
    if "\n[package.optional-dependencies]\n" not in block:
        return block
    out: list[str] = []
    for section, lines in _sections(block):
        if section != "package.optional-dependencies":
            out += lines
            continue
        kept = [line for key, group in _entries(lines[1:]) if not key or canonicalize_name(key) in reached
                for line in group]  # fmt: skip
        if any(line.endswith(" = [") for line in kept):
            out += [lines[0], *kept]
    while len(out) > 1 and out[-1] == "" and out[-2] == "":
        out.pop()
    return "\n".join(out)


def _cut_members(header: str, kept: frozenset[str]) -> str:
    """The header with `[manifest] members` cut to the kept projects; uv lists none for a lone
    project, so neither does a pruned tree that keeps only one."""
    out: list[str] = []
    in_members = False
    for line in header.split("\n"):
        if line == "members = [":
            in_members = True
            if len(kept) > 1:
                out.append(line)
        elif in_members and line == "]":
            in_members = False
            if len(kept) > 1:
                out.append(line)
        elif not in_members or (len(kept) > 1 and canonicalize_name(line.strip().strip(",").strip('"')) in kept):
            out.append(line)
    text = "\n".join(out)
    return text.replace("\n[manifest]\n\n", "\n").removesuffix("\n[manifest]\n").removesuffix("\n[manifest]")
