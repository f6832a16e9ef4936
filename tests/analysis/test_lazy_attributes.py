"""PEP 562: an import inside a module's own `__getattr__` is followed only where a module the
entries reach may ask that module for a name it does not bind itself."""

from __future__ import annotations

import pytest

from depmin.imports.graph import DistributionNode
from depmin.model import Kind, Reach

from ..helpers import run_analysis, write_tree

PACKAGE = {
    "core/__init__.py": """
        from typing import TYPE_CHECKING

        from .settings import SETTINGS

        if TYPE_CHECKING:
            from .codec import Codec

        __all__ = ["SETTINGS", "Codec"]


        def __getattr__(name):
            if name == "Codec":
                from .codec import Codec

                return Codec
            raise AttributeError(name)
    """,
    "core/codec.py": "import six\n\nclass Codec: ...\n",
    "core/settings.py": "SETTINGS = {}\n",
    "core/queue.py": "from .settings import SETTINGS\n\ndef enqueue(job): return job\n",
}


def reach_of_six(tmp_path, app: str) -> Reach:
    root = write_tree(tmp_path, {**PACKAGE, "app.py": app})
    analysis = run_analysis(root, "app.py")
    assert not analysis.closure.errors, analysis.closure.errors
    return analysis.layers.of(DistributionNode("six"))


@pytest.mark.parametrize(
    "app",
    [
        "from core.queue import enqueue\n",  # a submodule only: the package runs, nothing asks it
        "def handle():\n    from core.queue import enqueue\n",  # lazily, as the story's server does
        "from core import SETTINGS\n",  # a name the package binds itself
        "from core import queue\n",  # a submodule, by name
        # only a type checker asks
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from core import Codec\nfrom core.queue import enqueue\n",
    ],
)
def test_the_lazy_import_is_not_followed_when_nothing_asks_for_it(tmp_path, app):
    assert reach_of_six(tmp_path, app) in (Reach.TYPE_ONLY, Reach.UNREACHABLE)


@pytest.mark.parametrize(
    "app",
    [
        "from core import Codec\n",  # the name it serves
        "def later():\n    from core import Codec\n",  # lazily is still required
        "import core\n",  # the module object: any attribute may be read
        "import core.queue\n",  # binds core too
        "from core import *\n",  # __all__ names Codec
        "import importlib\nimportlib.import_module('core')\n",
        "from core import Missing\n",  # a name it does not bind: __getattr__ runs
        "import helper\n",  # asked further down the graph
    ],
)
def test_the_lazy_import_is_followed_when_a_reachable_module_may_ask_for_it(tmp_path, app):
    (tmp_path / "helper.py").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "helper.py").write_text("from core import Codec\n")
    assert reach_of_six(tmp_path, app) is Reach.REQUIRED


def test_the_scanner_marks_only_the_modules_own_getattr(tmp_path):
    root = write_tree(
        tmp_path,
        {
            **PACKAGE,
            "other.py": "def __getattr__(name):\n    import idna\n\nclass K:\n    def __getattr__(self, name):\n        import yaml\n",
            "app.py": "from other import K\n",
        },
    )
    analysis = run_analysis(root, "app.py")
    kinds = {
        target.name: {v.kind for v in analysis.graph.vias("other", target)}
        for target in analysis.graph.successors("other")
        if isinstance(target, DistributionNode)
    }
    assert kinds.get("pyyaml") == {Kind.LAZY}  # a method's __getattr__ is an ordinary function
    assert "idna" not in kinds  # `from other import K` asks for a name other binds
    assert analysis.layers.of(DistributionNode("pyyaml")) is Reach.REQUIRED


def test_an_entry_package_is_always_asked(tmp_path):
    root = write_tree(tmp_path, PACKAGE)
    analysis = run_analysis(root, "core")  # `core:Codec` as a console script would name it
    assert analysis.layers.of(DistributionNode("six")) is Reach.REQUIRED
