"""Metadata for first-party distributions whose code is copied rather than installed.

`importlib.metadata.version("own-package")`, `entry_points()` and `distribution()` need a
`<name>-<version>.dist-info` directory on sys.path; copying sources gives none. depmin
writes a minimal one (METADATA, entry_points.txt, INSTALLER, an empty RECORD) into the
venv: `verify` writes the files, the Dockerfile writes the same bytes with printf.
"""

from __future__ import annotations

from packaging.utils import canonicalize_name

from depmin.model import LocalDistribution


def dist_info_name(distribution: LocalDistribution) -> str:
    return f"{canonicalize_name(distribution.name).replace('-', '_')}-{distribution.version}.dist-info"


def dist_info_files(distribution: LocalDistribution) -> dict[str, str]:
    """{file name inside the dist-info directory: its text}."""
    files = {
        "METADATA": f"Metadata-Version: 2.1\nName: {distribution.name}\nVersion: {distribution.version}\n",
        "INSTALLER": "depmin\n",
        "RECORD": "",
    }
    groups: dict[str, list[str]] = {}
    for group, name, value in distribution.entry_points:
        groups.setdefault(group, []).append(f"{name} = {value}")
    if groups:
        files["entry_points.txt"] = "".join(
            f"[{group}]\n" + "\n".join(lines) + "\n\n" for group, lines in sorted(groups.items())
        )
    return files


def script_files(distribution: LocalDistribution, python: str) -> dict[str, str]:
    """{command name: launcher text} for its console and GUI scripts, as an installer writes them
    into the venv's bin/ (`python` is the venv interpreter's path)."""
    scripts = {}
    for group, name, value in distribution.entry_points:
        if group in ("console_scripts", "gui_scripts"):
            module, _, attribute = value.partition(":")
            call = attribute or "main"
            scripts[name] = f"#!{python}\nimport sys\nfrom {module} import {call.split('.')[0]}\nsys.exit({call}())\n"
    return scripts
