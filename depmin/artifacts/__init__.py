"""Facts about the artifacts uv.lock pins: the import names a wheel really ships, its console
scripts, its Requires-Dist. Each comes from the artifact the lock pins for the target, found in
this order, every source giving the same answer:

1. depmin's own cache of artifact facts, in the user's cache;
2. uv's cache, where uv's record of an unpacked wheel carries that sha256;
3. a wheel or sdist the lock takes from the repository itself, read from the file;
4. the index, by HTTP range requests on the locked URL (zip central directory and dist-info),
   unless offline (--offline, UV_OFFLINE=1, DEPMIN_OFFLINE=1).

The cache is shared by every repository the user analyses, and a repository is untrusted: facts
whose bytes were checked against the sha256 (uv's cache, a whole sdist or local file) are kept
under that sha256; facts read by range requests, which never see the whole file, are kept under
the sha256 *and* the URL they were read from, so a lock that pairs a popular wheel's sha256 with
another URL cannot change what that wheel is said to ship for the next repository.

What none of them answers is left to the bundled table (depmin.imports.distributions).
"""

from __future__ import annotations

import hashlib
import io
import marshal
import tarfile
import zipfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from depmin.artifacts.facts import FACTS_VERSION, INDEX, REPOSITORY, STORE, ArtifactFacts, sdist_facts, wheel_facts
from depmin.artifacts.network import Network, Refused
from depmin.artifacts.uv_cache import wheel_from_uv_cache
from depmin.artifacts.zip_reader import TAIL, NotAZip, RemoteZip
from depmin.cache import ScanCache, file_stamp, merged_for_save, read_marshal, write_quietly
from depmin.files.reading import read_regular, resolves_inside
from depmin.lock.closure import select
from depmin.lock.model import Artifact, LockedPackage, LockFile
from depmin.lock.wheels import best_artifact
from depmin.model import Target

_PARALLEL = 16
_LARGEST_SDIST = 32 * 1024 * 1024  # an sdist has no central directory: it is read whole, up to this


@dataclass(frozen=True, slots=True)
class Chosen:
    """The artifact of one locked distribution that the target installs."""

    name: str
    version: str
    artifact: Artifact
    local_path: str = ""  # a file of the repository (`source = { path = ... }`), relative to the lock

    @property
    def digest(self) -> str:
        return (self.artifact.hash or "").partition(":")[2]

    @property
    def is_wheel(self) -> bool:
        return self.artifact.filename.endswith(".whl")

    @property
    def read_key(self) -> str:
        """Where facts read from the index, unverified, are kept: the sha256 with the URL."""
        return f"{self.digest}@{self.artifact.url}"


def chosen_artifacts(lock: LockFile, target: Target) -> dict[str, Chosen]:
    """name → the artifact the target installs, for every locked distribution that has one with a
    sha256 (git sources have none: their names come from the bundled table). A distribution with no
    wheel for the target (pywin32 on Linux, a package that builds from its sdist there) is named by
    its first wheel: a release's wheels ship the same names, and a wheel says which, an sdist does not."""
    chosen: dict[str, Chosen] = {}
    for name in sorted(lock.by_name):
        if lock.is_local(name):
            continue
        package = select(lock, name, None, target)
        artifact = best_artifact(package, target) if package else None
        if package is not None and (artifact is None or artifact is package.sdist) and package.wheels:
            artifact = min(package.wheels, key=lambda wheel: wheel.filename)
        if package is None or artifact is None or not (artifact.hash or "").startswith("sha256:"):
            continue
        local = package.source_path or "" if package.source_kind == "path" else ""
        chosen[name] = Chosen(name, package.version, artifact, local)
    return chosen


def chosen_for_each_version(packages: Iterable[LockedPackage], target: Target) -> dict[str, Chosen]:
    """ "name==version" → the artifact of that version the target installs (else its first wheel),
    for every package given: where a lock holds several versions of one name, each is read."""
    chosen: dict[str, Chosen] = {}
    for package in packages:
        artifact = best_artifact(package, target)
        if (artifact is None or artifact is package.sdist) and package.wheels:
            artifact = min(package.wheels, key=lambda wheel: wheel.filename)
        if artifact is not None and (artifact.hash or "").startswith("sha256:"):
            local = package.source_path or "" if package.source_kind == "path" else ""
            chosen[f"{package.name}=={package.version}"] = Chosen(package.name, package.version, artifact, local)
    return chosen


@dataclass
class Gathered:
    facts: dict[str, ArtifactFacts] = field(default_factory=dict)  # name → facts
    missing: list[str] = field(default_factory=list)  # names whose facts no source gave
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name, why the index was not read)

    def count(self, source: str) -> int:
        return sum(1 for f in self.facts.values() if f.source == source)


def gather(
    chosen: Mapping[str, Chosen],
    *,
    cache: ScanCache | None,
    uv_cache: Path | None,
    lock_directory: Path,
    root: Path,
    network: Network | None,
) -> Gathered:
    """Facts for every chosen artifact, from the first source that has them (see the module),
    under the key it is chosen under."""
    found = Gathered()
    store = _Store(cache) if cache is not None and cache.prepare() else None
    pending: list[tuple[str, Chosen]] = []
    for key, item in chosen.items():
        if item.local_path and not item.digest:
            continue
        facts = (store.get(item.digest) or store.get(item.read_key)) if store else None
        if facts is None and item.local_path:
            facts = _local_file(item, lock_directory, root)
        if facts is None and uv_cache is not None and item.is_wheel:
            facts = wheel_from_uv_cache(uv_cache, item.name, item.digest)
        if facts is None:
            pending.append((key, item))
            continue
        found.facts[key] = facts
        if store and facts.source != STORE:
            store.put(item.digest, facts)
    if pending and network is not None:
        with ThreadPoolExecutor(max_workers=_PARALLEL) as pool:
            results = pool.map(lambda pair: _from_index(pair[1], network), pending)
            for (key, item), result in zip(pending, results, strict=True):
                if isinstance(result, ArtifactFacts):
                    found.facts[key] = result
                    if store:
                        store.put(item.read_key if result.source == INDEX else item.digest, result)
                else:
                    found.refused.append((item.name, result))
    found.missing = sorted(name for name in chosen if name not in found.facts)
    if store:
        store.save()
    return found


def _from_index(item: Chosen, network: Network) -> ArtifactFacts | str:
    """The facts read from the locked URL, or why not."""
    url = item.artifact.url
    try:
        if item.is_wheel or url.endswith(".zip"):
            tail, size = network.get(url, suffix=TAIL)
            archive = RemoteZip(lambda start, end: network.get(url, start, end)[0], size, tail)
            return _zip_facts(archive, item, INDEX)
        if item.artifact.size is not None and item.artifact.size > _LARGEST_SDIST:
            return f"sdist of {item.artifact.size} bytes, over {_LARGEST_SDIST}"
        data, _ = network.get(url)
        if hashlib.sha256(data).hexdigest() != item.digest:
            return "its sha256 is not the one uv.lock records"
        return _tar_facts(data, INDEX)
    except (Refused, NotAZip, OSError, ValueError, tarfile.TarError, EOFError) as exc:
        return str(exc) or type(exc).__name__


def _zip_facts(archive: RemoteZip, item: Chosen, source: str) -> ArtifactFacts:
    members = archive.members()
    names = sorted(members)

    def read(member: str) -> bytes | None:
        return archive.read(members[member]) if member in members else None

    return wheel_facts(names, read, source) if item.is_wheel else sdist_facts(names, read, source)


def _tar_facts(data: bytes, source: str) -> ArtifactFacts:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        members = {m.name: m for m in archive.getmembers() if m.isfile()}

        def read(member: str) -> bytes | None:
            extracted = archive.extractfile(members[member]) if member in members else None
            return extracted.read(4 * 1024 * 1024) if extracted else None

        return sdist_facts(sorted(members), read, source)


def _local_file(item: Chosen, lock_directory: Path, root: Path) -> ArtifactFacts | None:
    """A wheel or sdist the lock takes from the repository, read from the file (inside the root)."""
    path = lock_directory / item.local_path
    if not resolves_inside(root, path):
        return None
    try:
        data = read_regular(path, 512 * 1024 * 1024)
        if hashlib.sha256(data).hexdigest() != item.digest:
            return None  # not the file the lock names: its names are not trusted
        if item.is_wheel:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = sorted(archive.namelist())
                return wheel_facts(names, lambda m: archive.read(m) if m in names else None, REPOSITORY)
        return _tar_facts(data, REPOSITORY)
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError, KeyError):
        return None


def store_facts(cache: ScanCache, facts: Mapping[str, ArtifactFacts]) -> None:
    """Keep facts read elsewhere (sha256, or Chosen.read_key, → facts) in depmin's cache, as if read here."""
    if cache.prepare():
        store = _Store(cache)
        for digest, found in facts.items():
            store.put(digest, found)
        store.save()


class _Store:
    """depmin's cache of artifact facts: {sha256 or read_key: facts} in one file shared by every project."""

    def __init__(self, cache: ScanCache) -> None:
        self.file = cache.shared_file(f"artifacts-v{FACTS_VERSION}")
        self.stamp = file_stamp(self.file)
        self.entries: dict[str, object] = read_marshal(self.file)
        self.added: dict[str, object] = {}

    def get(self, digest: str) -> ArtifactFacts | None:
        data = self.entries.get(digest)
        if data is None:
            return None
        try:
            return ArtifactFacts.from_data(data, STORE)
        except (ValueError, TypeError):
            return None  # damaged: read again from another source

    def put(self, digest: str, facts: ArtifactFacts) -> None:
        self.entries[digest] = self.added[digest] = facts.data()

    def save(self) -> None:
        if self.added:
            merged = merged_for_save(self.file, self.stamp, self.entries, self.added, read_marshal)
            write_quietly(self.file, marshal.dumps(merged))
