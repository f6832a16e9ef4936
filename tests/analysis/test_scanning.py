"""The scan cache: content-addressed, safe under concurrency and corruption, never stale."""

from __future__ import annotations

import marshal
import os
import shutil
import subprocess
import sys

from depmin.analysis.lock_cache import read_lock_cached
from depmin.analysis.scanning import decoded_scan, scan_files
from depmin.cache import ScanCache
from depmin.lock.parse import read_lock
from depmin.model import Target

from ..helpers import CARAMBA, CARAMBA_LOCK

TARGET = Target((3, 12))


def python_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py") if ".depmin_cache" not in p.parts)


def test_a_warm_run_scans_nothing_and_one_change_rescans_one_file(tmp_path):
    project = tmp_path / "caramba"
    shutil.copytree(CARAMBA, project, ignore=shutil.ignore_patterns(".depmin_cache"))
    paths = python_files(project)
    cold = ScanCache(tmp_path / "cache")
    first = scan_files(project, paths, TARGET, cold)
    assert (cold.hits, cold.misses) == (0, len(paths))
    warm = ScanCache(tmp_path / "cache")
    assert scan_files(project, paths, TARGET, warm) == first
    assert (warm.hits, warm.misses) == (len(paths), 0)
    (project / "ai" / "config.py").write_text((project / "ai" / "config.py").read_text() + "\nimport orjson\n")
    after = ScanCache(tmp_path / "cache")
    results = scan_files(project, paths, TARGET, after)
    assert (after.hits, after.misses) == (len(paths) - 1, 1)
    assert results["ai/config.py"].records[-1].target == "orjson"


def scan_one(tmp_path, source: bytes, target: Target, cache: ScanCache):
    (tmp_path / "project").mkdir(exist_ok=True)
    (tmp_path / "project" / "m.py").write_bytes(source)
    return scan_files(tmp_path / "project", ["m.py"], target, cache)["m.py"]


def test_the_key_covers_the_target(tmp_path):
    cache = ScanCache(tmp_path / "cache")
    source = b"import sys\nif sys.version_info >= (3, 13):\n    import new\n"
    assert cache.key(source, Target((3, 12))) != cache.key(source, Target((3, 13)))
    assert [r.target for r in scan_one(tmp_path, source, Target((3, 12)), cache).records] == ["sys"]
    assert [r.target for r in scan_one(tmp_path, source, Target((3, 13)), cache).records] == ["sys", "new"]


def test_corrupt_or_truncated_entries_are_ignored_and_rewritten(tmp_path):
    cache = ScanCache(tmp_path / "cache")
    source = b"import yaml\n"
    good = scan_one(tmp_path, source, TARGET, cache)
    key = cache.key(source, TARGET)
    (pack,) = (tmp_path / "cache").glob("pack-*.marshal")  # one file for every scan result
    assert list((tmp_path / "cache").rglob("*.json")) == []
    wrong = marshal.dumps({key: {"records": [[1, 2]], "problems": []}})
    for damage in (pack.read_bytes()[:10], b"", wrong, b"\xff\xfe", marshal.dumps([1, 2])):
        pack.write_bytes(damage)
        for snapshot in (tmp_path / "cache").glob("snapshot-*"):
            snapshot.unlink()  # the snapshot would answer first; the pack itself is under test
        again = ScanCache(tmp_path / "cache")
        assert scan_one(tmp_path, source, TARGET, again) == good
        assert again.misses == 1
        assert decoded_scan(ScanCache(tmp_path / "cache").pack().get(key)) == good  # rewritten


def test_two_processes_at_once_share_one_cache(tmp_path):
    project = tmp_path / "caramba"
    shutil.copytree(CARAMBA, project, ignore=shutil.ignore_patterns(".depmin_cache"))
    cache = tmp_path / "cache"
    command = [sys.executable, "-m", "depmin", "closure", "--root", str(project), "--cache-dir", str(cache), "--json",
               "ai/", "console/"]  # fmt: skip
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert all(process.returncode == 0 for process in processes), outputs
    assert len({out for out, _ in outputs}) == 1
    warm = subprocess.run(command, capture_output=True, timeout=120)
    assert warm.stdout == outputs[0][0]
    assert not list(cache.rglob("*.tmp"))
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    assert not (project / ".depmin_cache").exists()  # nothing is written into the repository


def test_the_parsed_lock_is_cached_by_content(tmp_path):
    cache = ScanCache(tmp_path)
    first = read_lock_cached(CARAMBA_LOCK, "uv.lock", cache)
    assert first == read_lock(CARAMBA_LOCK, "uv.lock")
    assert read_lock_cached(CARAMBA_LOCK, "uv.lock", cache) == first
    changed = tmp_path / "uv.lock"
    changed.write_text(CARAMBA_LOCK.read_text().replace('version = "6.0.4"', 'version = "6.0.9"', 1))
    assert read_lock_cached(changed, "uv.lock", cache) != first


def test_a_damaged_snapshot_is_ignored_and_an_old_one_is_used_only_for_unchanged_files(tmp_path):
    project = tmp_path / "caramba"
    shutil.copytree(CARAMBA, project, ignore=shutil.ignore_patterns(".depmin_cache"))
    paths = python_files(project)
    for path in paths:  # old files: the snapshot may vouch for them by their stat
        os.utime(project / path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    first = scan_files(project, paths, TARGET, ScanCache(tmp_path / "cache"))
    snapshots = list((tmp_path / "cache").glob("snapshot-*.marshal"))
    assert len(snapshots) == 1
    warm = ScanCache(tmp_path / "cache")
    assert scan_files(project, paths, TARGET, warm) == first and warm.misses == 0
    changed = project / "console" / "log.py"
    changed.write_text(changed.read_text() + "import orjson\n")  # new size and a fresh mtime
    after = ScanCache(tmp_path / "cache")
    assert scan_files(project, paths, TARGET, after)["console/log.py"].records[-1].target == "orjson"
    assert after.misses == 1
    snapshots[0].write_bytes(
        marshal.dumps({"taken": 1, "entries": {"console/log.py": [1, 2, "x", {"records": "bad"}]}})
    )
    damaged = ScanCache(tmp_path / "cache")
    assert scan_files(project, paths, TARGET, damaged)["console/log.py"].records[-1].target == "orjson"
    snapshots[0].write_bytes(b"\xfb{not marshal")
    assert scan_files(project, paths, TARGET, ScanCache(tmp_path / "cache")) == scan_files(project, paths, TARGET, None)
