"""Record the facts (import names, console scripts, Requires-Dist) of every artifact the fixture
locks pin for the targets the tests use (and of each locked version, which a pylock reads), so that the quick test loop names imports exactly as a
networked run would, without the network.

    uv run python scripts/record_artifact_facts.py      # rewrites tests/data/artifact-facts.json.gz

Run it after changing a fixture's uv.lock; tests/conftest.py seeds every test run's cache with it.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from depmin.artifacts import Chosen, chosen_artifacts, chosen_for_each_version, gather
from depmin.artifacts.network import network_for
from depmin.lock.parse import read_lock
from depmin.model import PLATFORMS, Target

REPOSITORY = Path(__file__).resolve().parent.parent
OUTPUT = REPOSITORY / "tests" / "data" / "artifact-facts.json.gz"
PYTHONS = ((3, 10), (3, 11), (3, 12), (3, 13))


def main() -> int:
    wanted: dict[str, Chosen] = {}
    for lock_path in sorted((REPOSITORY / "fixtures").glob("*/uv.lock")):
        lock = read_lock(lock_path, str(lock_path))
        for python in PYTHONS:
            for platform in PLATFORMS.values():
                target = Target(python, platform)
                local = {p.name for p in lock.local_packages}
                every_version = chosen_for_each_version((p for p in lock.packages if p.name not in local), target)
                for item in (*chosen_artifacts(lock, target).values(), *every_version.values()):
                    if not item.local_path:
                        wanted.setdefault(item.digest, item)
    # gather() keys by name; the same name at several versions or tags is gathered in turns
    facts: dict[str, list[object]] = {}
    pending = dict(wanted)
    while pending:
        batch: dict[str, Chosen] = {}
        for digest, item in list(pending.items()):
            if item.name not in batch:
                batch[item.name] = item
                del pending[digest]
        found = gather(batch, cache=None, uv_cache=None, lock_directory=REPOSITORY, root=REPOSITORY,
                       network=network_for([{}]))  # fmt: skip
        for name, why in found.refused:  # left to the bundled table in the tests, as offline
            print(f"not recorded: {name} {batch[name].artifact.filename}: {why}", file=sys.stderr)
        for name, item in batch.items():
            if name in found.facts:
                facts[item.read_key] = found.facts[name].data()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(dict(sorted(facts.items())), separators=(",", ":"), sort_keys=True)
    OUTPUT.write_bytes(gzip.compress(text.encode(), mtime=0))
    print(f"recorded {len(facts)} artifacts into {OUTPUT.relative_to(REPOSITORY)} ({OUTPUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
