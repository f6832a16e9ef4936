"""Every option, declared once (pip-tools' options.py is the model). Commands compose them;
the decorators gather their values into frozen dataclasses, so no command passes `**options`."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

_DIRECTORY = click.Path(file_okay=False, path_type=Path)
_FILE = click.Path(dir_okay=False, path_type=Path)

root = click.option("--root", type=_DIRECTORY, help="Project root (default: nearest ancestor holding pyproject.toml).")
lock = click.option("--lock", type=_FILE, help="uv.lock, or a PEP 751 pylock.toml, to read (default: <root>/uv.lock).")
python = click.option("--python", metavar="X.Y", help="Target Python (default: the lowest the lock allows).")
platform = click.option(
    "--platform",
    "platforms",
    multiple=True,
    metavar="NAME",
    help="linux-x86_64 (default), linux-aarch64, linux-musl-x86_64, linux-musl-aarch64 (Alpine), macos-arm64, "
    "macos-x86_64, windows-x86_64 or windows-arm64. closure and dockerfile take it "
    "several times: one requirements file for every platform, markers where they differ.",
)
target = click.option(
    "--target", "target_name", metavar="NAME", help="A target from [tool.depmin.targets] instead of ENTRY arguments."
)
only_targets = click.option(
    "--target",
    "only_targets",
    metavar="NAME",
    multiple=True,
    help="Only this target (repeatable; default: every target).",
)
script = click.option(
    "--script",
    "scripts",
    multiple=True,
    metavar="NAME",
    help="An entry named by [project.scripts] (of the project or a workspace member). Repeatable.",
)
package = click.option(
    "--package",
    "packages",
    multiple=True,
    metavar="MEMBER",
    help="Every module of this uv workspace member (or path dependency). Repeatable.",
)
exclude = click.option(
    "--exclude", "excludes", multiple=True, metavar="GLOB", help="Also exclude these paths from directory entries."
)
offline = click.option(
    "--offline",
    is_flag=True,
    help="Read no locked artifact from its index (also UV_OFFLINE=1 or DEPMIN_OFFLINE=1): names come from "
    "depmin's and uv's caches, then the bundled table.",
)
cache_dir = click.option(
    "--cache-dir",
    type=_DIRECTORY,
    help="depmin's cache (default: $DEPMIN_CACHE_DIR, else the user's cache folder, e.g. ~/.cache/depmin).",
)
no_cache = click.option("--no-cache", is_flag=True, help="Scan every file again; do not read or write the cache.")
no_package_data = click.option(
    "--no-package-data",
    is_flag=True,
    help="Carry only Python files of the closure's packages, not the data beside them.",
)
include_optional = click.option(
    "--include-optional", is_flag=True, help="Pin distributions of guarded (optional) imports too."
)
optional_name = click.option(
    "--optional",
    "optional_names",
    multiple=True,
    metavar="NAME",
    help="Pin this optional distribution (not all of them). Repeatable.",
)
extra = click.option(
    "--extra",
    "extras",
    multiple=True,
    metavar="NAME",
    help="Choose a local project's extra, as `uv sync --extra` does: its distributions are pinned. Repeatable.",
)
all_extras = click.option("--all-extras", is_flag=True, help="Choose every extra of the local projects.")
hashes = click.option("--hashes", is_flag=True, help="Add the --hash lines that uv.lock records.")
index_secret = click.option(
    "--index-secret",
    is_flag=True,
    help="Install from the index URL (credentials included) of the BuildKit secret `index_url`.",
)
ca_secret = click.option(
    "--ca-secret", is_flag=True, help="Trust the CA bundle of the BuildKit secret `ca_bundle` while installing."
)
json_flag = click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout and nothing else.")
quiet = click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors (and the requested output).")
verbose = click.option("-v", "--verbose", is_flag=True, help="Show what depmin does: roots, cache, uv commands.")
color = click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour in human output (NO_COLOR is honoured by auto).",
)


def output_format(*choices: str) -> Callable[[F], F]:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(list(choices)),
        default=None,
        help=f"Output format ({', '.join(choices)}; default: text). --json means --format json.",
    )


@dataclass(frozen=True)
class Ui:
    """How a command talks: quiet, verbose, colour, the terminal's width."""

    quiet: bool = False
    verbose: bool = False
    color: str = "auto"

    @property
    def colored(self) -> bool:
        """--color, else the conventions of no-color.org and force-color.org: a non-empty NO_COLOR
        turns colour off, FORCE_COLOR or CLICOLOR_FORCE turns it on, TERM=dumb off; else a terminal."""
        if self.color != "auto":
            return self.color == "always"
        if os.environ.get("NO_COLOR"):
            return False
        if os.environ.get("FORCE_COLOR") or os.environ.get("CLICOLOR_FORCE", "0") not in ("", "0"):
            return True
        if os.environ.get("TERM") == "dumb":
            return False
        return sys.stdout.isatty()

    @property
    def animated(self) -> bool:
        """A spinner on stderr: only on a terminal that takes escape sequences, never when quiet."""
        if self.quiet or self.color == "never" or os.environ.get("TERM") == "dumb" or os.environ.get("NO_COLOR"):
            return False
        return sys.stderr.isatty()

    @property
    def width(self) -> int:
        """The terminal's columns; unbounded when stdout is a pipe or a file, so that what
        scripts and `grep` read is one line per message."""
        if not sys.stdout.isatty():
            return 100_000
        import shutil

        return shutil.get_terminal_size((80, 24)).columns


@dataclass(frozen=True)
class AnalysisOptions:
    """What selects the code, the lock, the target, the names and the cache of one analysis."""

    root: Path | None = None
    lock: Path | None = None
    python: str | None = None
    platforms: tuple[str, ...] = ()
    target_name: str | None = None
    only_targets: tuple[str, ...] = ()  # check and sync: the targets chosen (none: every one)
    scripts: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    offline: bool = False
    cache_dir: Path | None = None
    no_cache: bool = False
    no_package_data: bool = False
    include_optional: bool = False
    optional_names: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    hashes: bool = False


def _gather(function: F, into: str, kind: type, names: tuple[str, ...]) -> F:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in names if name in kwargs}
        if kind is Ui:  # -q, -v, --color may also come before the command (`depmin -v closure`)
            given = _group_ui()
            values = {
                "quiet": values.get("quiet", False) or given.quiet,
                "verbose": values.get("verbose", False) or given.verbose,
                "color": values.get("color", "auto") if values.get("color", "auto") != "auto" else given.color,
            }
        kwargs[into] = kind(**values)
        return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _group_ui() -> Ui:
    context = click.get_current_context(silent=True)
    found = context.find_root().obj if context is not None else None
    return found if isinstance(found, Ui) else Ui()


def _apply(function: F, options: tuple[Callable[[F], F], ...]) -> F:
    for option in reversed(options):
        function = option(function)
    return function


_UI_NAMES = ("quiet", "verbose", "color")
_ANALYSIS_NAMES = tuple(AnalysisOptions.__dataclass_fields__)


def ui_options(function: F) -> F:
    """-q, -v, --color, gathered into `ui: Ui`."""
    return _apply(_gather(function, "ui", Ui, _UI_NAMES), (quiet, verbose, color))


def analysis_options(*, optional: bool = False, with_hashes: bool = False) -> Callable[[F], F]:
    """The options of one analysis, gathered into `options: AnalysisOptions` (and -q/-v/--color)."""
    chosen = [
        root,
        lock,
        python,
        platform,
        target,
        script,
        package,
        exclude,
        offline,
        cache_dir,
        no_cache,
        no_package_data,
        extra,
        all_extras,
    ]
    if optional:
        chosen += [include_optional, optional_name]
    if with_hashes:
        chosen.append(hashes)

    def decorate(function: F) -> F:
        gathered = _gather(function, "options", AnalysisOptions, _ANALYSIS_NAMES)
        return ui_options(_apply(gathered, tuple(chosen)))

    return decorate


def target_options(function: F) -> F:
    """check and sync: every target (or those named), and what finds names and caches scans."""
    gathered = _gather(function, "options", AnalysisOptions, _ANALYSIS_NAMES)
    return ui_options(_apply(gathered, (root, only_targets, offline, cache_dir, no_cache)))
