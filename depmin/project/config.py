"""The analysed project: its root, pyproject.toml, `[tool.depmin]` and named targets.

Every key is checked: a misspelt key or a wrong type is reported with the key's
path and line, never silently ignored.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from depmin.errors import Code, ConfigError, Diagnostic, is_code
from depmin.files.reading import NotRegularFile, read_regular, toml_error
from depmin.files.safety import breaks_line, is_entry, is_plain_path, is_pylock_name, is_service_name
from depmin.model import PLATFORMS, Platform
from depmin.project.module_index import DEFAULT_EXCLUDES, SourceRoot

PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class TargetConfig:
    name: str
    entries: tuple[str, ...]
    data: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    requirements: str | None = None
    copy_list: str | None = None
    python: str | None = None
    platform: str | None = None
    hidden_imports: tuple[str, ...] = ()
    hashes: bool = False
    cut: tuple[str, ...] = ()  # import names whose edges this target does not follow
    smoke: str | None = None  # a command verify runs inside the built tree (`python -m svc --help`)
    ignore: tuple[str, ...] = ()  # diagnostic codes this target silences
    extras: tuple[str, ...] = ()  # the local projects' extras this image carries (as `uv sync --extra`)
    service: str | None = None  # the docker compose service this target builds (default: its name)


@dataclass(frozen=True)
class FleetConfig:
    """`[tool.depmin.fleet]`: the files `dockerfile --all` writes, kept by sync and check."""

    directory: str
    compose: str | None = None  # the compose override, root-relative
    shared_by: int | None = None
    base: str | None = None
    command: str | None = None


@dataclass(frozen=True)
class Config:
    python: str | None = None
    platform: str | None = None
    lock: str | None = None
    source_roots: tuple[SourceRoot, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    module_map: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    hidden_imports: tuple[str, ...] = ()
    ignore_imports: tuple[str, ...] = ()  # import names (globs) never followed
    ignore: tuple[str, ...] = ()  # diagnostic codes silenced everywhere (`ignore = ["DM105"]`)
    targets: Mapping[str, TargetConfig] = field(default_factory=dict)
    fleet: FleetConfig | None = None


@dataclass(frozen=True)
class Project:
    root: Path
    pyproject: Mapping[str, Any]
    config: Config

    def target(self, name: str) -> TargetConfig:
        try:
            return self.config.targets[name]
        except KeyError:
            known = ", ".join(sorted(self.config.targets)) or "none defined"
            raise ConfigError(
                [
                    Diagnostic(
                        PYPROJECT,
                        0,
                        f"no target named {name!r} in [tool.depmin.targets] (known: {known})",
                        code=Code.USAGE,
                    )
                ]
            ) from None


def find_root(start: Path) -> Path | None:
    """The project above `start`, as uv finds it: the nearest pyproject.toml, unless a workspace
    above it lists that directory among its members, which makes the workspace's root the root."""
    nearest = next((d for d in (start, *start.parents) if (d / PYPROJECT).is_file()), None)
    if nearest is None:
        return None
    for directory in nearest.parents:
        if (directory / PYPROJECT).is_file() and _is_member(directory, nearest):
            return directory
    return nearest


def _is_member(workspace: Path, directory: Path) -> bool:
    try:
        data = tomllib.loads(read_regular(workspace / PYPROJECT).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    table = data.get("tool", {}).get("uv", {}).get("workspace", {})
    if not isinstance(table, dict):
        return False
    relative = directory.relative_to(workspace).as_posix()

    def listed(key: str) -> bool:
        patterns = table.get(key, [])
        return isinstance(patterns, list) and any(
            isinstance(p, str) and fnmatch.fnmatchcase(relative, p.strip("/").removeprefix("./")) for p in patterns
        )

    return listed("members") and not listed("exclude")


def load_project(root: Path) -> Project:
    path = root / PYPROJECT
    try:
        text = read_regular(path).decode("utf-8")
    except FileNotFoundError:
        return Project(root, {}, Config())
    except NotRegularFile as exc:
        raise ConfigError(
            [Diagnostic(PYPROJECT, 0, f"cannot read: {str(exc).split(': ', 1)[-1]}", code=Code.CONFIG)]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Diagnostic(PYPROJECT, 0, f"cannot read: {exc}", code=Code.CONFIG)]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, message = toml_error(exc)
        raise ConfigError([Diagnostic(PYPROJECT, line, f"invalid TOML: {message}", code=Code.CONFIG)]) from None
    raw = data.get("tool", {}).get("depmin", {})
    checker = _Checker(text)
    config = checker.config(raw)
    if not checker.problems:
        _check_paths(checker, config, root)
    if checker.problems:
        raise ConfigError(checker.problems)
    return Project(root, data, config)


def key_line(pyproject: Path, dotted: str) -> int:
    """The line of a dotted key in a pyproject.toml (0 when it cannot be told)."""
    try:
        text = read_regular(pyproject).decode("utf-8", errors="replace")
    except OSError:
        return 0
    return _Checker(text)._line_of(dotted)


def parse_platform(name: str) -> Platform:
    try:
        return PLATFORMS[name]
    except KeyError:
        raise ValueError(f"unknown platform {name!r} (choose from {', '.join(PLATFORMS)})") from None


def parse_python(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)\.(\d+)(?:\.\d+)?", text.strip())
    if not match:
        raise ValueError(f"invalid Python version {text!r}: expected X.Y such as 3.12")
    return int(match.group(1)), int(match.group(2))


# -- validation ------------------------------------------------------------------

# Files `sync` must never replace, whatever a target's configuration says.
_PROTECTED_NAMES = frozenset({"uv.lock", PYPROJECT, ".gitignore", ".python-version"})
_PROTECTED_SUFFIXES = frozenset({".py", ".pyi", ".toml", ".lock", ".cfg"})


def _check_paths(checker: _Checker, config: Config, root: Path) -> None:
    """Every path the configuration names resolves, after symlinks, inside the root; an output
    path never names the lock, pyproject.toml, a source file or anything under .git."""
    if config.lock is not None:
        checker.inside("tool.depmin.lock", config.lock, root)
    for source_root in config.source_roots:
        checker.inside("tool.depmin.source-roots", source_root.path or ".", root)
    for name, target in config.targets.items():
        key = f"tool.depmin.targets.{name}"
        if not _TARGET_NAME.fullmatch(name):
            checker._problem(key, "a target name is letters, digits, '.', '_' and '-', starting with a letter or digit")
        for entry in target.entries:
            if ":" in entry:  # `pkg.app:app`: a module, not a path
                if not is_entry(entry):
                    checker._problem(f"{key}.entries", f"{entry!r} is neither a path nor module:attribute")
                continue
            checker.inside(f"{key}.entries", entry, root)
        for item in target.data:
            checker.inside(f"{key}.data", item, root)
        for output, value in (("requirements", target.requirements), ("copy-list", target.copy_list)):
            if value is not None:
                checker.inside(f"{key}.{output}", value, root, output=True)
    if config.fleet is not None:
        checker.inside("tool.depmin.fleet.directory", config.fleet.directory, root)
        if config.fleet.compose is not None:
            checker.inside("tool.depmin.fleet.compose", config.fleet.compose, root, output=True)


_TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

_TOP_KEYS = {
    "python",
    "platform",
    "lock",
    "source-roots",
    "exclude",
    "extend-exclude",
    "module-map",
    "hidden-imports",
    "ignore-imports",
    "ignore",
    "targets",
    "fleet",
}
_FLEET_KEYS = {"directory", "compose", "shared-by", "base", "command"}
_TARGET_KEYS = {
    "entries",
    "data",
    "forbid",
    "requirements",
    "copy-list",
    "python",
    "platform",
    "hidden-imports",
    "hashes",
    "cut",
    "smoke",
    "ignore",
    "extras",
    "service",
}


class _Checker:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.problems: list[Diagnostic] = []
        self._header_lines: dict[tuple[str, ...], int] | None = None
        self._table_keys: dict[int, dict[str, int]] = {}

    def config(self, raw: Any) -> Config:
        if not isinstance(raw, dict):
            self._problem("tool.depmin", "must be a table")
            return Config()
        self._unknown("tool.depmin", raw, _TOP_KEYS)
        exclude = self._strings("tool.depmin.exclude", raw.get("exclude", list(DEFAULT_EXCLUDES)))
        exclude += self._strings("tool.depmin.extend-exclude", raw.get("extend-exclude", []))
        targets_raw = raw.get("targets", {})
        targets: dict[str, TargetConfig] = {}
        if not isinstance(targets_raw, dict):
            self._problem("tool.depmin.targets", "must be a table of targets")
        else:
            for name, table in targets_raw.items():
                target = self._target(name, table)
                if target is not None:
                    targets[name] = target
        return Config(
            python=self._python("tool.depmin.python", raw.get("python")),
            platform=self._platform("tool.depmin.platform", raw.get("platform")),
            lock=self._string("tool.depmin.lock", raw.get("lock")),
            source_roots=self._source_roots(raw.get("source-roots", [])),
            exclude=tuple(exclude),
            module_map=self._module_map(raw.get("module-map", {})),
            hidden_imports=tuple(self._strings("tool.depmin.hidden-imports", raw.get("hidden-imports", []))),
            ignore_imports=tuple(self._strings("tool.depmin.ignore-imports", raw.get("ignore-imports", []))),
            ignore=self._codes("tool.depmin.ignore", raw.get("ignore", [])),
            targets=targets,
            fleet=self._fleet(raw.get("fleet")),
        )

    def _fleet(self, table: Any) -> FleetConfig | None:
        key = "tool.depmin.fleet"
        if table is None:
            return None
        if not isinstance(table, dict):
            self._problem(key, "must be a table")
            return None
        self._unknown(key, table, _FLEET_KEYS)
        directory = self._string(f"{key}.directory", table.get("directory"))
        if directory is None:
            self._problem(key, "needs `directory` (where the fleet's Dockerfiles go)")
            return None
        shared_by = table.get("shared-by")
        if shared_by is not None and (isinstance(shared_by, bool) or not isinstance(shared_by, int) or shared_by < 1):
            self._problem(f"{key}.shared-by", "must be a whole number of targets, 1 or more")
            shared_by = None
        return FleetConfig(
            directory=directory,
            compose=self._string(f"{key}.compose", table.get("compose")),
            shared_by=shared_by,
            base=self._string(f"{key}.base", table.get("base")),
            command=self._string(f"{key}.command", table.get("command")),
        )

    def _target(self, name: str, table: Any) -> TargetConfig | None:
        key = f"tool.depmin.targets.{name}"
        if not isinstance(table, dict):
            self._problem(key, "must be a table")
            return None
        self._unknown(key, table, _TARGET_KEYS)
        if "entries" not in table:
            self._problem(key, "needs `entries` (a list of directories, files or module names)")
        entries = self._strings(f"{key}.entries", table.get("entries", []))
        if isinstance(table.get("entries"), list) and not entries:
            self._problem(f"{key}.entries", "must name at least one entry")
        hashes = table.get("hashes", False)
        if not isinstance(hashes, bool):
            self._problem(f"{key}.hashes", f"must be true or false, not {type(hashes).__name__}")
            hashes = False
        return TargetConfig(
            name=name,
            entries=tuple(entries),
            data=tuple(self._strings(f"{key}.data", table.get("data", []))),
            forbid=tuple(self._strings(f"{key}.forbid", table.get("forbid", []))),
            requirements=self._string(f"{key}.requirements", table.get("requirements")),
            copy_list=self._string(f"{key}.copy-list", table.get("copy-list")),
            python=self._python(f"{key}.python", table.get("python")),
            platform=self._platform(f"{key}.platform", table.get("platform")),
            hidden_imports=tuple(self._strings(f"{key}.hidden-imports", table.get("hidden-imports", []))),
            hashes=hashes,
            cut=tuple(self._strings(f"{key}.cut", table.get("cut", []))),
            smoke=self._string(f"{key}.smoke", table.get("smoke")),
            ignore=self._codes(f"{key}.ignore", table.get("ignore", [])),
            extras=tuple(self._strings(f"{key}.extras", table.get("extras", []))),
            service=self._service(f"{key}.service", table.get("service")),
        )

    def _service(self, key: str, value: Any) -> str | None:
        """A compose service name, as the compose specification allows them."""
        name = self._string(key, value)
        if name is not None and not is_service_name(name):
            self._problem(key, f"{name!r} is not a compose service name (letters, digits, `.`, `_`, `-`)")
            return None
        return name

    def _codes(self, key: str, value: Any) -> tuple[str, ...]:
        """Diagnostic codes to silence (`ignore = ["DM105"]`), as ruff's `ignore` names rules."""
        codes = self._strings(key, value)
        unknown = [c for c in codes if not is_code(c)]
        if unknown:
            self._problem(key, f"unknown diagnostic code {unknown[0]!r} (codes look like DM101; see `depmin codes`)")
        return tuple(c for c in codes if is_code(c))

    def _source_roots(self, raw: Any) -> tuple[SourceRoot, ...]:
        key = "tool.depmin.source-roots"
        if not isinstance(raw, list):
            self._problem(key, f"must be a list, not {type(raw).__name__}")
            return ()
        roots = []
        for item in raw:
            if isinstance(item, str):
                roots.append(SourceRoot(_normal_dir(item)))
            elif isinstance(item, dict) and isinstance(item.get("path"), str):
                self._unknown(key, item, {"path", "package"})
                package = item.get("package", "")
                if not isinstance(package, str) or (package and not all(p.isidentifier() for p in package.split("."))):
                    self._problem(key, f"package {package!r} is not a dotted module name")
                    continue
                roots.append(SourceRoot(_normal_dir(item["path"]), package))
            else:
                self._problem(key, 'items must be paths or tables like {path = ".", package = "caramba"}')
        return tuple(roots)

    def _module_map(self, raw: Any) -> dict[str, tuple[str, ...]]:
        key = "tool.depmin.module-map"
        if not isinstance(raw, dict):
            self._problem(key, "must be a table of module = distribution")
            return {}
        mapping = {}
        for module, value in raw.items():
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not names:
                self._problem(f"{key}.{module}", "must be a distribution name or a list of them")
                continue
            mapping[module] = tuple(str(canonicalize_name(n)) for n in names)
        return mapping

    def _python(self, key: str, value: Any) -> str | None:
        text = self._string(key, value)
        if text is not None:
            try:
                parse_python(text)
            except ValueError as exc:
                self._problem(key, str(exc))
                return None
        return text

    def _platform(self, key: str, value: Any) -> str | None:
        text = self._string(key, value)
        if text is not None and text not in PLATFORMS:
            self._problem(key, f"unknown platform {text!r} (choose from {', '.join(PLATFORMS)})")
            return None
        return text

    def _string(self, key: str, value: Any) -> str | None:
        if value is None or (isinstance(value, str) and self._one_line(key, value)):
            return value
        if not isinstance(value, str):
            self._problem(key, f"must be a string, not {type(value).__name__}")
        return None

    def _strings(self, key: str, value: Any) -> list[str]:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [v for v in value if self._one_line(key, v)]
        self._problem(key, "must be a list of strings")
        return []

    def _one_line(self, key: str, value: str) -> bool:
        """Every configured string is one line of printable text: it reaches terminals, CI logs
        and generated files, where a line break or a control character would start a new line."""
        if breaks_line(value):
            self._problem(key, f"{value!r} holds a line break or a control character")
            return False
        return True

    def inside(self, key: str, value: str, root: Path, *, output: bool = False) -> None:
        if not is_plain_path(value.rstrip("/") or "."):
            self._problem(
                key, f"{value!r} holds characters depmin cannot write safely (quotes, $, globs, control characters)"
            )
            return
        if Path(value).is_absolute():
            self._problem(key, f"{value!r} must be relative to the project root")
            return
        try:
            real_root = root.resolve()
            resolved = (root / value).resolve()
        except (OSError, RuntimeError) as exc:
            self._problem(key, f"{value!r} cannot be resolved: {exc}")
            return
        if resolved != real_root and real_root not in resolved.parents:
            self._problem(key, f"{value!r} resolves outside the project root (symlinks followed)")
            return
        if output:
            relative = resolved.relative_to(real_root)
            if (
                resolved.name in _PROTECTED_NAMES
                or (resolved.suffix in _PROTECTED_SUFFIXES and not is_pylock_name(resolved.name))
                or ".git" in relative.parts
                or resolved.is_dir()
            ):
                self._problem(
                    key,
                    f"{value!r} is not a file depmin may write "
                    "(it is the lock, a project or source file, or a directory)",
                )

    def _unknown(self, key: str, table: dict[str, Any], allowed: set[str]) -> None:
        for name in sorted(set(table) - allowed):
            self._problem(f"{key}.{name}", f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def _problem(self, key: str, message: str) -> None:
        self.problems.append(Diagnostic(PYPROJECT, self._line_of(key), f"{key}: {message}", code=Code.CONFIG))

    def _line_of(self, dotted: str) -> int:
        """Best-effort line of a key: the last component after its table header. Linear overall:
        headers and each table's keys are indexed once (8,000 unknown keys stay fast)."""
        parts = dotted.split(".")
        headers = self._headers()
        for split in range(len(parts), 0, -1):
            number = headers.get(tuple(parts[:split]))
            if number is None:
                continue
            if split == len(parts):
                return number
            return self._keys_after(number).get(parts[split], number)
        return 0

    def _headers(self) -> dict[tuple[str, ...], int]:
        if self._header_lines is None:
            self._header_lines = {}
            for number, line in enumerate(self.lines, 1):
                key = _table_header(line)
                if key is not None:
                    self._header_lines.setdefault(key, number)
        return self._header_lines

    def _keys_after(self, header: int) -> dict[str, int]:
        if header not in self._table_keys:
            keys: dict[str, int] = {}
            for number, line in enumerate(self.lines[header:], header + 1):
                if line.lstrip().startswith("["):
                    break
                key = _key_name(line)
                if key:
                    keys.setdefault(key, number)
            self._table_keys[header] = keys
        return self._table_keys[header]


# String methods, not regular expressions: a hostile pyproject.toml must not make a backtracking
# pattern spend minutes on one line. Each line is read in time linear in its length.


def _table_header(line: str) -> tuple[str, ...] | None:
    """`[a.b]` / `[[a.b]]` / `[tool."x y"]` → ("a", "b"); None when the line is not a header."""
    text = line.strip()
    if not text.startswith("["):
        return None
    inner, closed, _ = text.lstrip("[").partition("]")
    if not closed or not inner.strip():
        return None
    return tuple(part.strip().strip('"') for part in inner.split("."))


def _key_name(line: str) -> str:
    """The key of a `key = value` / `"key" = value` line ("" when there is none)."""
    key, equals, _ = line.partition("=")
    key = key.strip()
    if key.startswith('"'):
        key = key[1:]
    if key.endswith('"'):
        key = key[:-1]
    if not equals or not key or any(ch.isspace() or ch in '"=' for ch in key):
        return ""
    return key


def _normal_dir(path: str) -> str:
    cleaned = path.strip().strip("/")
    return "" if cleaned in ("", ".") else cleaned.removeprefix("./")
