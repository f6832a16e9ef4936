"""The files a target declares in [tool.depmin.targets], with the text each must hold."""

from __future__ import annotations

import posixpath

from depmin.files.safety import is_pylock_name
from depmin.lock.model import LockFile
from depmin.model import Closure
from depmin.outputs.copylist import copy_list_text
from depmin.outputs.pylock import pylock_text
from depmin.outputs.requirements import requirements_text
from depmin.project.config import TargetConfig

# The name `check` and `sync` give the fleet's files ([tool.depmin.fleet]): no target can be named so.
FLEET = "[fleet]"


def sync_command(name: str) -> str:
    return "depmin sync" if name == FLEET else f"depmin sync --target {name}"


def target_outputs(target: TargetConfig, closure: Closure, lock: LockFile) -> tuple[tuple[str, str], ...]:
    """(root-relative path, expected text) for every output a target declares: the requirements
    as a PEP 751 lock where the file is named so (pylock.toml, pylock.<name>.toml)."""
    outputs = []
    if target.requirements:
        outputs.append(
            (target.requirements, pins_file_text(target.requirements, closure, lock, sync_command(target.name)))
        )
    if target.copy_list:
        outputs.append((target.copy_list, copy_list_text(closure)))
    return tuple(outputs)


def pins_file_text(path: str, closure: Closure, lock: LockFile, command: str) -> str:
    """The pins in the format the file's name asks for (`path` relative to the root, where uv.lock lies)."""
    if is_pylock_name(posixpath.basename(path)):
        return pylock_text(closure, lock, command, posixpath.relpath(".", posixpath.dirname(path) or "."))
    return requirements_text(closure, command)
