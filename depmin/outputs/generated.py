"""The files a target declares in [tool.depmin.targets], with the text each must hold."""

from __future__ import annotations

from depmin.model import Closure
from depmin.outputs.copylist import copy_list_text
from depmin.outputs.requirements import requirements_text
from depmin.project.config import TargetConfig

# The name `check` and `sync` give the fleet's files ([tool.depmin.fleet]): no target can be named so.
FLEET = "[fleet]"


def sync_command(name: str) -> str:
    return "depmin sync" if name == FLEET else f"depmin sync --target {name}"


def target_outputs(target: TargetConfig, closure: Closure) -> tuple[tuple[str, str], ...]:
    """(root-relative path, expected text) for every output a target declares."""
    outputs = []
    if target.requirements:
        outputs.append((target.requirements, requirements_text(closure, sync_command(target.name))))
    if target.copy_list:
        outputs.append((target.copy_list, copy_list_text(closure)))
    return tuple(outputs)
