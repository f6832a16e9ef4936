"""The pinned closure's lock semantics on small locks built in memory: a fork chosen for the
target on either side, a distribution reached both unconditionally and under a marker, extras."""

from __future__ import annotations

import pytest

from depmin.lock.closure import pinned_closure, select
from depmin.lock.model import Dependency, LockedPackage
from depmin.lock.parse import lock_from_packages
from depmin.model import PLATFORMS, Target

PY311, PY312 = Target((3, 11), PLATFORMS["linux-x86_64"]), Target((3, 12), PLATFORMS["linux-x86_64"])
PATCH = "python_full_version >= '3.12.4'"


def package(name, version="1.0", dependencies=(), optional=None, markers=(), kind="registry"):
    return LockedPackage(name, version, kind, "." if kind == "virtual" else None, tuple(dependencies),
                         optional or {}, tuple(markers), (), None)  # fmt: skip


def lock(*packages, member_dependencies=()):
    app = package("app", "0", member_dependencies, kind="virtual")
    return lock_from_packages("uv.lock", ">=3.11", (app, *packages), ("app",))


@pytest.mark.parametrize("order", [("numpy-old", "numpy-new"), ("numpy-new", "numpy-old")])
def test_a_fork_is_chosen_for_the_target_whichever_comes_first(order):
    forks = {
        "numpy-old": package("numpy", "1.26.4", markers=["python_full_version < '3.12'"]),
        "numpy-new": package("numpy", "2.2.0", markers=["python_full_version >= '3.12'"]),
    }
    locked = lock(*(forks[name] for name in order))
    assert select(locked, "numpy", None, PY311).version == "1.26.4"
    assert select(locked, "numpy", None, PY312).version == "2.2.0"
    for target, version in ((PY311, "1.26.4"), (PY312, "2.2.0")):
        assert [(p.name, p.version) for p in pinned_closure(locked, {"numpy": ()}, target).pins] == [("numpy", version)]


@pytest.mark.parametrize("first", ["conditional", "unconditional"])
def test_reached_unconditionally_and_under_a_marker_is_pinned_without_the_marker(first):
    conditional = package("a-cond", dependencies=[Dependency("shared", None, (), PATCH)])
    unconditional = package("b-plain", dependencies=[Dependency("shared", None, (), None)])
    if first == "unconditional":
        conditional, unconditional = (package("b-cond", dependencies=[Dependency("shared", None, (), PATCH)]),
                                      package("a-plain", dependencies=[Dependency("shared", None, (), None)]))  # fmt: skip
    locked = lock(conditional, unconditional, package("shared"))
    pins = {p.name: p for p in pinned_closure(locked, {conditional.name: (), unconditional.name: ()}, PY312).pins}
    assert pins["shared"].marker is None
    assert pins["shared"].parents == tuple(sorted((conditional.name, unconditional.name)))


def test_only_under_a_patch_release_marker_it_keeps_the_marker():
    locked = lock(package("a", dependencies=[Dependency("shared", None, (), PATCH)]), package("shared"))
    pins = {p.name: p for p in pinned_closure(locked, {"a": ()}, PY312).pins}
    assert pins["shared"].marker == PATCH
    assert "shared" not in {p.name for p in pinned_closure(locked, {"a": ()}, PY311).pins}


def test_an_extra_brings_its_dependencies_and_only_it():
    web = package(
        "web",
        optional={"http2": (Dependency("h2", None, (), None),), "socks": (Dependency("socksio", None, (), None),)},
    )
    locked = lock(web, package("h2"), package("socksio"))
    assert [p.name for p in pinned_closure(locked, {"web": ("http2",)}, PY312).pins] == ["h2", "web"]
    assert [p.name for p in pinned_closure(locked, {"web": ()}, PY312).pins] == ["web"]


def test_git_url_and_index_sources_are_written_as_uv_export_writes_them_without_credentials():
    def sourced(name, kind, url, path=None):
        return LockedPackage(name, "1.0", kind, path, (), {}, (), (), None, source_url=url)

    locked = lock(
        sourced("gitdep", "git", "https://user:token@github.com/o/r?rev=main#0123abc"),
        sourced("plaingit", "git", "https://github.com/o/p"),
        sourced("urldep", "url", "https://user:pw@files.example/urldep-1.0.tar.gz"),
        sourced("private", "registry", "https://ci:secret@pypi.example/simple"),
        sourced("public", "registry", None),
        sourced("wheelfile", "path", None, "wheels/wheelfile-1.0-py3-none-any.whl"),
    )
    names = ("gitdep", "plaingit", "urldep", "private", "public", "wheelfile")
    pins = {p.name: p for p in pinned_closure(locked, dict.fromkeys(names, ()), PY312).pins}
    assert pins["gitdep"].source == "git+https://github.com/o/r@0123abc"
    assert pins["plaingit"].source == "git+https://github.com/o/p"
    assert pins["urldep"].source == "https://files.example/urldep-1.0.tar.gz"
    assert (pins["private"].source, pins["private"].index) == ("", "https://pypi.example/simple")
    assert (pins["public"].source, pins["public"].index) == ("", "https://pypi.org/simple")
    assert pins["wheelfile"].local_file == "wheels/wheelfile-1.0-py3-none-any.whl"
    assert all(p.local_file == "" for name, p in pins.items() if name != "wheelfile")


def test_an_extra_the_lock_lacks_and_an_import_installed_only_elsewhere_are_warnings_at_the_lock():
    from depmin.errors import Code, Severity
    from depmin.lock.model import Artifact

    wheel = Artifact("web-1.0-py3-none-any.whl", "sha256:" + "ab" * 32, 10)
    web = LockedPackage("web", "1.0", "registry", None, (), {}, (), (wheel,), None)
    winonly = package("winonly")
    locked = lock(web, winonly, package("helper", dependencies=[Dependency("winonly", None, (), None)]),
                  member_dependencies=[Dependency("winonly", None, (), "sys_platform == 'win32'")])  # fmt: skip
    found = pinned_closure(locked, {"web": ("missing",), "winonly": ()}, PY312, with_hashes=True)
    assert [p.name for p in found.pins] == ["web"] and found.pins[0].hashes == ("sha256:" + "ab" * 32,)
    assert sorted((d.path, d.line, d.severity, d.code) for d in found.diagnostics) == [
        ("uv.lock", 0, Severity.WARNING, Code.LOCK_PLATFORM),
        ("uv.lock", 0, Severity.WARNING, Code.LOCK_PLATFORM),
    ]
    assert sorted(d.message.split()[0] for d in found.diagnostics) == ["web", "winonly"]
    assert pinned_closure(locked, {"web": ()}, PY312).pins[0].hashes == ()  # only when asked
    # brought in by another pinned distribution after all: pinned, no warning
    both = pinned_closure(locked, {"winonly": (), "helper": ()}, PY312)
    assert [p.name for p in both.pins] == ["helper", "winonly"] and both.diagnostics == ()
