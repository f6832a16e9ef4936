"""copyplan: the fewest COPY lines that carry exactly the closure's files, and package data."""

from __future__ import annotations

from depmin.imports.copy_plan import copy_paths, package_data
from depmin.project.module_index import SourceRoot, build_index

from ..helpers import write_tree


def test_a_whole_directory_is_one_line_and_a_partial_one_is_its_files(tmp_path):
    write_tree(tmp_path, {"ai/__init__.py": "", "ai/a.py": "", "ai/b.py": "", "utils/__init__.py": "",
                          "utils/text.py": "", "utils/heavy.py": ""})  # fmt: skip
    index = build_index(tmp_path, (SourceRoot(""),))
    files = ["ai/__init__.py", "ai/a.py", "ai/b.py", "utils/__init__.py", "utils/text.py"]
    copies, problems = copy_paths(tmp_path, index, files, (), ())
    assert [c.source for c in copies] == ["ai/", "utils/__init__.py", "utils/text.py"]
    assert all(c.source == c.destination for c in copies)
    assert not problems


def test_data_paths_are_copied_and_a_missing_one_is_reported(tmp_path):
    write_tree(tmp_path, {"svc/__init__.py": "", "config/personas/a.yaml": "x: 1\n"})
    index = build_index(tmp_path, (SourceRoot(""),))
    copies, problems = copy_paths(tmp_path, index, ["svc/__init__.py"], (), ("config/personas/", "missing/"))
    assert [c.source for c in copies] == ["config/personas/", "svc/"]
    assert [(p.path, p.code) for p in problems] == [("missing/", "DM303")]


def test_a_package_dir_root_lands_under_its_package_name(tmp_path):
    write_tree(tmp_path, {"lib/__init__.py": "", "lib/x.py": ""})
    index = build_index(tmp_path, (SourceRoot("lib", "vendored"),))
    copies, _ = copy_paths(tmp_path, index, ["lib/x.py"], (), ())
    assert [(c.source, c.destination) for c in copies] == [("lib/x.py", "vendored/x.py")]


def test_package_data_is_what_a_wheel_would_carry(tmp_path):
    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/templates/page.html": "<p/>", "pkg/sub/__init__.py": "",
                          "pkg/sub/other.txt": "", "pkg/.hidden": "", "pkg/__pycache__/x.pyc": "",
                          "pkg/tests/data.json": "{}"})  # fmt: skip
    index = build_index(tmp_path, (SourceRoot(""),))
    data = package_data(tmp_path, index, ["pkg"], ("tests/",))
    assert data == ["pkg/templates/page.html"]  # not sub-packages' files, hidden files, caches, excludes
