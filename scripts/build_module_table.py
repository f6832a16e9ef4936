"""Write depmin/data/known-modules.txt from real wheel metadata, not by hand.

For each distribution in scripts/module_table_names.txt (the most-downloaded ones), it asks the
package index (PEP 691 JSON) for the newest release's wheels, reads one wheel's file list from
its zip central directory with HTTP range requests (never the whole wheel, whatever its size),
and records the import prefixes it ships. Namespace portions (`google/cloud/storage/...` without
`google/__init__.py`) map by their longest dotted prefix. Only prefixes whose normalised name
differs from the distribution's are written: depmin matches the rest by name anyway.

    python scripts/build_module_table.py [--index https://pypi.org/simple] [--workers 8]

The functions below take file lists, so tests run them on real wheels shipped in fixtures/wheels.
"""

from __future__ import annotations

import argparse
import datetime
import json
import struct
import sys
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion

ROOT = Path(__file__).resolve().parent.parent
NAMES = ROOT / "scripts" / "module_table_names.txt"
TABLE = ROOT / "depmin" / "data" / "known-modules.txt"
_NOT_MODULES = {"tests", "test", "testing", "docs", "doc", "examples", "example", "benchmarks", "scripts", "bin"}


def import_prefixes(files: Iterable[str]) -> set[str]:
    """The dotted import names a wheel's files provide at their top: packages and modules, and
    for namespace portions the first level that is a regular package or a module."""
    files = [f for f in files if ".dist-info/" not in f and ".data/" not in f.split("/", 1)[0] + "/"]
    present = set(files)
    found: set[str] = set()
    for path in files:
        if not path.endswith((".py", ".so", ".pyd")) or path.startswith(("..", "/")):
            continue
        parts = path.split("/")
        stem = parts[-1].split(".", 1)[0]
        module_parts = [*parts[:-1], stem] if stem != "__init__" else parts[:-1]
        if not module_parts or not all(p.isidentifier() for p in module_parts) or module_parts[0] in _NOT_MODULES:
            continue
        # descend through namespace directories (no __init__.py in this wheel) to the first real level
        depth = 1
        while depth < len(module_parts) and "/".join(module_parts[:depth]) + "/__init__.py" not in present:
            depth += 1
        found.add(".".join(module_parts[:depth]))
    return found


def table_rows(distribution: str, files: Iterable[str]) -> list[tuple[str, str]]:
    """(import prefix, distribution) where the name alone would not find the distribution."""
    name = canonicalize_name(distribution)
    return sorted((prefix, name) for prefix in import_prefixes(files) if canonicalize_name(prefix) != name)


def zip_names(tail: bytes, fetch_range) -> list[str]:
    """File names of a zip from its end (`tail`), fetching the central directory if it lies before."""
    end = tail.rfind(b"PK\x05\x06")
    if end < 0:
        raise ValueError("no end of central directory")
    size, offset = struct.unpack("<II", tail[end + 12 : end + 20])
    directory = fetch_range(offset, offset + size - 1)
    names, position = [], 0
    while position + 46 <= len(directory) and directory[position : position + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack("<HHH", directory[position + 28 : position + 34])
        names.append(directory[position + 46 : position + 46 + name_length].decode("utf-8", "replace"))
        position += 46 + name_length + extra_length + comment_length
    return names


def _get(url: str, headers: dict[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "depmin-module-table", **(headers or {})})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def _wheel_files(index: str, distribution: str) -> tuple[str, list[str]] | None:
    page = json.loads(
        _get(f"{index}/{canonicalize_name(distribution)}/", {"Accept": "application/vnd.pypi.simple.v1+json"})
    )
    wheels = [f for f in page.get("files", []) if f["filename"].endswith(".whl") and not f.get("yanked")]
    if not wheels:
        return None

    def rank(entry: dict) -> tuple:
        _, version, _, tags = parse_wheel_filename(entry["filename"])
        pure = any(t.abi == "none" and t.platform == "any" for t in tags)
        linux = any("manylinux" in t.platform and "x86_64" in t.platform for t in tags)
        return (version, pure or linux)

    ranked = []
    for entry in wheels:
        try:
            ranked.append((rank(entry), entry))
        except (InvalidWheelFilename, InvalidVersion):
            continue  # an ancient upload with a name no installer accepts
    if not ranked:
        return None
    best = max(ranked, key=lambda pair: pair[0])[1]
    url = best["url"]
    tail = _get(url, {"Range": "bytes=-65536"})
    names = zip_names(tail, lambda start, stop: _get(url, {"Range": f"bytes={start}-{stop}"}))
    return best["filename"], names


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default="https://pypi.org/simple")
    parser.add_argument("--workers", type=int, default=8)
    arguments = parser.parse_args()
    names = [line.strip() for line in NAMES.read_text().splitlines() if line.strip() and not line.startswith("#")]

    def one(name: str) -> tuple[str, list[tuple[str, str]], str]:
        try:
            found = _wheel_files(arguments.index, name)
        except Exception as exc:
            return name, [], f"{type(exc).__name__}: {exc}"
        return (name, table_rows(name, found[1]), "") if found else (name, [], "no wheel")

    with ThreadPoolExecutor(arguments.workers) as pool:
        results = list(pool.map(one, names))
    table: dict[str, set[str]] = {}
    for _, rows, _ in results:
        for prefix, distribution in rows:
            table.setdefault(prefix, set()).add(distribution)
    skipped = [(name, why) for name, _, why in results if why]
    stamp = datetime.date.today().isoformat()
    lines = [
        f"# Generated by scripts/build_module_table.py from {arguments.index} on {stamp}: the wheels of",
        f"# {len(names) - len(skipped)} of the {len(names)} distributions in scripts/module_table_names.txt. Do not edit.",
        "# Format: <dotted import name> <distribution> [<other distribution providing it> ...]",
        "# Where several distributions provide a name, the lock decides; more than one locked is an ambiguity.",
    ]
    lines += [f"{prefix} {' '.join(sorted(distributions))}" for prefix, distributions in sorted(table.items())]
    TABLE.write_text("\n".join(lines) + "\n", "utf-8")
    print(f"wrote {TABLE} ({len(table)} import names; {len(skipped)} distributions skipped)", file=sys.stderr)
    for name, why in skipped[:20]:
        print(f"  skipped {name}: {why}", file=sys.stderr)


if __name__ == "__main__":
    main()
