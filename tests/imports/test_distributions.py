"""Import names from the locked artifacts themselves: their file lists, from depmin's cache, uv's
cache (hash-matched), a file in the repository or the index; the bundled table only for what no
file list answers; the same answer from every source, and never from a .venv."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from depmin.artifacts import Chosen, chosen_artifacts, gather
from depmin.artifacts.facts import ArtifactFacts, names_from_paths, names_from_sdist, wheel_facts
from depmin.artifacts.network import Network, Refused, declared_indexes, network_for
from depmin.artifacts.uv_cache import wheel_from_uv_cache
from depmin.artifacts.zip_reader import TAIL, RemoteZip
from depmin.cache import ScanCache
from depmin.commands import main
from depmin.imports.distributions import UNKNOWN, DistributionFinder, name_facts
from depmin.lock.model import Artifact
from depmin.lock.parse import read_lock
from depmin.model import Target

from ..helpers import CARAMBA, CARAMBA_LOCK, FIXTURES, json_problems, write_tree

WHEELS = FIXTURES / "wheels"


def finder(facts: dict[str, list[str]], *without: str, known=None, depends=None) -> DistributionFinder:
    locked = set(facts) | set(without)
    table = {name: (names, ()) for name, names in facts.items()}
    return DistributionFinder(
        frozenset(locked), {}, lambda: name_facts(table, locked), known=known or {}, depends=depends or {}
    )


# -- names from file lists ------------------------------------------------------------------------


def test_a_wheel_provides_its_modules_packages_extensions_and_namespace_portions():
    names = names_from_paths(
        [
            "attr/__init__.py",
            "attr/_make.py",
            "google/protobuf/message.py",  # no google/__init__.py: a namespace portion
            "yaml/_yaml.cpython-312-x86_64-linux-gnu.so",
            "six.py",
            "pkg-1.0.data/purelib/extra_mod.py",
            "pkg-1.0.data/scripts/tool",
            "pkg-1.0.dist-info/METADATA",
            "requests-stubs/__init__.pyi",  # not an import name
            "a/b/c/d/e/f.py",
        ]
    )
    assert names == (
        "a", "a.b", "a.b.c", "a.b.c.d", "a.b.c.d.e", "a.b.c.d.e.f", "attr", "attr._make", "extra_mod", "google",
        "google.protobuf", "google.protobuf.message", "six", "yaml", "yaml._yaml",
    )  # fmt: skip


def test_names_reach_where_a_distribution_s_own_code_starts_below_deep_namespaces():
    """opentelemetry's exporters share the namespace opentelemetry.exporter.otlp.proto, five parts
    deep: each is told apart by the first regular package under it, and deeper names are cut."""
    http = names_from_paths(
        [
            "opentelemetry/exporter/otlp/proto/http/__init__.py",
            "opentelemetry/exporter/otlp/proto/http/trace_exporter/__init__.py",
            "opentelemetry/exporter/otlp/proto/http/trace_exporter/encoder/deep/x.py",
        ]
    )
    common = names_from_paths(["opentelemetry/exporter/otlp/proto/common/__init__.py"])
    assert "opentelemetry.exporter.otlp.proto.http" in http
    assert "opentelemetry.exporter.otlp.proto.http.trace_exporter" not in http  # below its own package: cut
    assert max(len(name.split(".")) for name in http) == 5
    found = finder(
        {"opentelemetry-exporter-otlp-proto-http": list(http), "opentelemetry-exporter-otlp-proto-common": list(common)}
    )
    assert found.find("opentelemetry.exporter.otlp.proto.http.trace_exporter")[0] == (
        "opentelemetry-exporter-otlp-proto-http",
    )
    assert found.find("opentelemetry.exporter.otlp.proto.common")[0] == ("opentelemetry-exporter-otlp-proto-common",)


def test_an_sdist_listing_gives_its_packages_not_its_tests_and_build_scripts():
    names = names_from_sdist(
        [
            "pkg-1.0/PKG-INFO",
            "pkg-1.0/setup.py",
            "pkg-1.0/src/pkg/__init__.py",
            "pkg-1.0/src/pkg/core.py",
            "pkg-1.0/src/pkg/_speed.pyx",
            "pkg-1.0/tests/test_core.py",
            "pkg-1.0/docs/conf.py",
        ]
    )
    assert names == ("pkg", "pkg._speed", "pkg.core")


def test_the_wheel_facts_carry_console_scripts_and_requires_dist():
    data = (WHEELS / "attrs-25.3.0-py3-none-any.whl").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        facts = wheel_facts(sorted(archive.namelist()), archive.read, "the file")
    assert "attr" in facts.names and "attrs" in facts.names
    assert any(r.startswith("cloudpickle") for r in facts.requires_dist)


@pytest.mark.parametrize("wheel", sorted(p.name for p in WHEELS.glob("*.whl")))
def test_the_central_directory_read_by_ranges_is_zipfiles(wheel):
    data = (WHEELS / wheel).read_bytes()
    asked: list[tuple[int, int]] = []

    def read(start: int, end: int) -> bytes:
        asked.append((start, end))
        return data[start:end]

    archive = RemoteZip(read, len(data), data[-TAIL:])
    members = archive.members()
    with zipfile.ZipFile(io.BytesIO(data)) as reference:
        assert sorted(members) == sorted(reference.namelist())
        for name in reference.namelist():
            assert archive.read(members[name]) == reference.read(name)


# -- the finder: facts first, the table only where no file list is known -----------------------


def test_the_file_lists_decide_even_against_the_distribution_name():
    # mcp ships mcp/types.py; mcp-types is locked too: the name `mcp.types` must not guess it.
    found = finder({"mcp": ["mcp", "mcp.types"], "mcp-types": ["mcp_types"]})
    assert found.find("mcp.types") == (("mcp",), "the locked artifacts")
    assert found.find("mcp_types")[0] == ("mcp-types",)


def test_the_longest_prefix_that_an_artifact_ships_wins_among_namespace_portions():
    found = finder(
        {
            "livekit": ["livekit", "livekit.rtc"],
            "livekit-api": ["livekit", "livekit.api"],
            "protobuf": ["google", "google.protobuf"],
            "google-genai": ["google", "google.genai", "google.genai.types"],
        }
    )
    assert found.find("livekit.api.room")[0] == ("livekit-api",)
    assert found.find("livekit.rtc")[0] == ("livekit",)
    assert found.find("google.genai.types")[0] == ("google-genai",)
    assert found.find("google")[0] == ("google-genai", "protobuf")  # the namespace alone is both
    assert found.find("google.nothing")[0] == ("google-genai", "protobuf")


def test_without_file_lists_the_table_and_the_name_answer_and_an_unknown_name_is_unknown():
    found = finder({"attrs": ["attr", "attrs"]}, "pyyaml", "orjson", known={"yaml": ("pyyaml",)})
    assert found.find("yaml") == (("pyyaml",), "known module names")
    assert found.find("orjson") == (("orjson",), "distribution name")
    assert found.find("attr") == (("attrs",), "the locked artifacts")
    assert found.find("fastjson") == ((), UNKNOWN)  # orjson might ship it: cannot tell
    assert finder({"attrs": ["attr"]}).find("fastjson") == ((), "")  # every file list known: nothing ships it


def test_a_shim_that_only_depends_on_the_real_distribution_gives_way():
    found = finder(
        {"bs4": ["bs4"], "beautifulsoup4": ["bs4"], "soupsieve": ["soupsieve"]},
        depends={"bs4": frozenset({"beautifulsoup4"}), "beautifulsoup4": frozenset({"soupsieve"})},
    )
    assert found.find("bs4")[0] == ("beautifulsoup4",)


# -- sources -------------------------------------------------------------------------------------


def fake_uv_cache(directory: Path, name: str, wheel: Path, sha256: str) -> Path:
    """uv's layout: wheels-v8/pypi/<name>/<stem>.http (its record, holding the sha256) beside a
    symlink <stem> → archive-v0/<id>/ (the unpacked wheel)."""
    archive = directory / "archive-v0" / "abc123"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as unpacked:
        unpacked.extractall(archive)
    folder = directory / "wheels-v8" / "pypi" / name
    folder.mkdir(parents=True)
    stem = wheel.name.split("-", 1)[1].removesuffix(".whl")
    (folder / f"{stem}.http").write_bytes(b"\x95\xb0abc123\x91\x81\xa6Sha256\xd9@" + sha256.encode())
    (folder / stem).symlink_to(archive)
    return directory


def test_uv_cache_answers_only_for_the_artifact_with_the_locked_hash(tmp_path):
    wheel = WHEELS / "six-1.17.0-py2.py3-none-any.whl"
    cache = fake_uv_cache(tmp_path / "uv", "six", wheel, "a" * 64)
    facts = wheel_from_uv_cache(cache, "six", "a" * 64)
    assert facts is not None and facts.names == ("six",)
    assert wheel_from_uv_cache(cache, "six", "b" * 64) is None  # another build of six: never trusted


def test_every_source_gives_the_same_facts(tmp_path):
    wheel = WHEELS / "attrs-25.3.0-py3-none-any.whl"
    data = wheel.read_bytes()
    with zipfile.ZipFile(wheel) as archive:
        from_file = wheel_facts(sorted(archive.namelist()), archive.read, "the file")
    ranged = RemoteZip(lambda start, end: data[start:end], len(data), data[-TAIL:])
    members = ranged.members()
    from_ranges = wheel_facts(sorted(members), lambda m: ranged.read(members[m]) if m in members else None, "index")
    from_uv = wheel_from_uv_cache(fake_uv_cache(tmp_path / "uv", "attrs", wheel, "c" * 64), "attrs", "c" * 64)
    assert from_uv is not None
    assert from_file.data() == from_ranges.data() == from_uv.data()


def test_facts_are_kept_in_depmins_cache_by_hash(tmp_path):
    lock = read_lock(CARAMBA_LOCK, "uv.lock")
    chosen = {name: item for name, item in chosen_artifacts(lock, Target((3, 12))).items() if name == "pyyaml"}
    cache = ScanCache(tmp_path / "cache", tmp_path / "secret")
    facts = ArtifactFacts(("yaml",), (), (), "")
    from depmin.artifacts import store_facts

    store_facts(cache, {chosen["pyyaml"].digest: facts})
    found = gather(chosen, cache=ScanCache(tmp_path / "cache", tmp_path / "secret"), uv_cache=None,
                   lock_directory=CARAMBA, root=CARAMBA, network=None)  # fmt: skip
    assert found.facts["pyyaml"].names == ("yaml",) and found.missing == []
    other_secret = gather(chosen, cache=ScanCache(tmp_path / "cache", tmp_path / "other"), uv_cache=None,
                          lock_directory=CARAMBA, root=CARAMBA, network=None)  # fmt: skip
    assert other_secret.missing == ["pyyaml"]  # entries another secret wrote are never read


# -- the network is untrusted input ---------------------------------------------------------------


def test_only_https_on_declared_index_hosts_is_requested():
    network = network_for(
        [{"tool": {"uv": {"index": [{"name": "corp", "url": "https://pkgs.example.com/simple"}]}}}],
        {"UV_EXTRA_INDEX_URL": "https://user:pw@extra.example.org/simple http://insecure.example/simple"},
    )
    assert network.check("https://files.pythonhosted.org/packages/x.whl") == "files.pythonhosted.org"
    assert network.check("https://pkgs.example.com/x.whl") == "pkgs.example.com"
    assert network.credentials["extra.example.org"] == ("user", "pw")
    for url in (
        "http://files.pythonhosted.org/x.whl",  # not https
        "https://169.254.169.254/latest/meta-data",  # not a declared index
        "https://insecure.example/x.whl",  # declared over http only
        "file:///etc/passwd",
    ):
        with pytest.raises(Refused):
            network.check(url)


def test_a_redirect_off_the_declared_hosts_is_refused(monkeypatch):
    import http.client

    class Redirecting:
        status = 302

        def getheader(self, name, default=None):
            return "https://169.254.169.254/steal" if name == "Location" else default

        def read(self, *_):
            return b""

    class Connection:
        def __init__(self, *args, **kwargs):
            self.requests = []

        def request(self, *args, **kwargs):
            self.requests.append(args)

        def getresponse(self):
            return Redirecting()

        def close(self):
            pass

    monkeypatch.setattr(http.client, "HTTPSConnection", Connection)
    network = Network(frozenset({"files.pythonhosted.org"}))
    with pytest.raises(Refused, match="not the host of an index"):
        network.get("https://files.pythonhosted.org/x.whl", suffix=100)


class _Scripted:
    """An index whose responses are the `statuses` given, one per request; 200 serves `body`."""

    def __init__(self, statuses, body=b"PK-the-end"):
        self.statuses, self.body, self.requests = list(statuses), body, 0

    def connection(self, *args, **kwargs):
        index = self

        class Response:
            def __init__(self, status):
                self.status = status

            def getheader(self, name, default=None):
                return str(len(index.body)) if name == "Content-Length" else default

            def read(self, *_):
                return index.body if self.status == 200 else b""

        class Connection:
            def request(self, *args, **kwargs):
                index.requests += 1

            def getresponse(self):
                status = index.statuses.pop(0)
                if isinstance(status, Exception):
                    raise status
                return Response(status)

            def close(self):
                pass

        return Connection()


@pytest.mark.parametrize("first", [503, 429, ConnectionResetError("reset by peer"), TimeoutError("timed out")])
def test_a_transient_failure_is_tried_again(monkeypatch, first):
    import http.client

    index = _Scripted([first, first, 200])
    monkeypatch.setattr(http.client, "HTTPSConnection", index.connection)
    monkeypatch.setattr("depmin.artifacts.network.time.sleep", lambda _: None)
    data, size = Network(frozenset({"files.pythonhosted.org"})).get("https://files.pythonhosted.org/x.whl")
    assert (data, size, index.requests) == (b"PK-the-end", 10, 3)


@pytest.mark.parametrize("statuses", [[404], [403], [503, 503, 503]])
def test_a_refusal_or_a_lasting_failure_is_not_tried_forever(monkeypatch, statuses):
    import http.client

    index = _Scripted(statuses)
    monkeypatch.setattr(http.client, "HTTPSConnection", index.connection)
    monkeypatch.setattr("depmin.artifacts.network.time.sleep", lambda _: None)
    with pytest.raises(Refused, match=str(statuses[0])):
        Network(frozenset({"files.pythonhosted.org"})).get("https://files.pythonhosted.org/x.whl")
    assert index.requests == len(statuses)


class ServedFrom(Network):
    """An index that serves `files` (URL → bytes), by ranges as a real one does."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(frozenset({"files.pythonhosted.org"}))
        object.__setattr__(self, "files", files)

    def get(self, url, start=None, end=None, *, suffix=0):
        self.check(url)
        data = self.files[url]  # type: ignore[attr-defined]
        if suffix:
            return data[-suffix:], len(data)
        if start is not None:
            return data[start:end], len(data)
        return data, len(data)


def test_a_lock_cannot_change_what_a_wheel_ships_for_the_next_repository(tmp_path):
    """A hostile lock pairs attrs' real sha256 with a URL serving six: the next repository that
    locks the real attrs wheel (offline, same user cache) is not told that it ships `six`."""
    import hashlib

    attrs = (WHEELS / "attrs-25.3.0-py3-none-any.whl").read_bytes()
    digest = hashlib.sha256(attrs).hexdigest()
    evil = "https://files.pythonhosted.org/packages/evil/attrs-25.3.0-py3-none-any.whl"
    real = "https://files.pythonhosted.org/packages/real/attrs-25.3.0-py3-none-any.whl"
    network = ServedFrom({evil: (WHEELS / "six-1.17.0-py2.py3-none-any.whl").read_bytes(), real: attrs})

    def chosen(url: str) -> dict[str, Chosen]:
        artifact = Artifact("attrs-25.3.0-py3-none-any.whl", f"sha256:{digest}", len(attrs), url)
        return {"attrs": Chosen("attrs", "25.3.0", artifact)}

    def facts(url: str, over: Network | None):
        cache = ScanCache(tmp_path / "cache", tmp_path / "secret")
        return gather(chosen(url), cache=cache, uv_cache=None, lock_directory=tmp_path, root=tmp_path, network=over)

    assert facts(evil, network).facts["attrs"].names == ("six",)  # what that URL really serves
    assert facts(real, None).missing == ["attrs"]  # nothing trusted for the real one yet
    shipped = facts(real, network).facts["attrs"].names
    assert {"attr", "attrs"} <= set(shipped) and "six" not in shipped
    assert facts(real, None).facts["attrs"].names == shipped  # kept for the real URL


def test_a_whole_sdist_or_local_file_must_have_the_locked_sha256(tmp_path):
    wheel = (WHEELS / "six-1.17.0-py2.py3-none-any.whl").read_bytes()
    (tmp_path / "six-1.17.0-py2.py3-none-any.whl").write_bytes(wheel)
    artifact = Artifact("six-1.17.0-py2.py3-none-any.whl", "sha256:" + "0" * 64, len(wheel), "")
    item = Chosen("six", "1.17.0", artifact, local_path="six-1.17.0-py2.py3-none-any.whl")
    found = gather({"six": item}, cache=ScanCache(tmp_path / "cache", tmp_path / "secret"), uv_cache=None,
                   lock_directory=tmp_path, root=tmp_path, network=None)  # fmt: skip
    assert found.missing == ["six"]  # a file that is not the locked one says nothing


def test_uv_index_environment_settings_are_declared_indexes():
    found = declared_indexes([], {"UV_INDEX": "corp=https://a.example/simple https://b.example/simple"})
    assert found == [("corp", "https://a.example/simple"), ("", "https://b.example/simple")]


# -- what users see ---------------------------------------------------------------------------------


def test_a_committed_fake_venv_changes_nothing(runner, tmp_path):
    """A .venv whose metadata claims torch/__init__.py for six must not hide torch from an audit."""
    root = tmp_path / "caramba"
    shutil.copytree(CARAMBA, root)
    info = root / ".venv" / "lib" / "python3.12" / "site-packages" / "six-1.17.0.dist-info"
    info.mkdir(parents=True)
    (info / "RECORD").write_text("torch/__init__.py,,\ntorch/nn/__init__.py,,\n")
    (info / "top_level.txt").symlink_to("/proc/self/pagemap")
    (root / ".venv" / "lib" / "python3.12" / "site-packages" / "escape").symlink_to("/etc")
    result = runner.invoke(main, ["audit", "--root", str(root), "--no-cache", "--json", "--target", "trainer",
                                  "--forbid", "torch"])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "torch" in {v["name"] for a in json.loads(result.stdout)["audits"] for v in a["violations"]}


def test_offline_without_file_lists_an_unknown_name_is_an_error_naming_the_fix(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("DEPMIN_CACHE_DIR", str(tmp_path / "empty-cache"))  # nothing recorded
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))  # whatever installs ran before
    root = write_tree(tmp_path / "repo", {"main.py": "import weirdname\nimport yaml\n"})
    (root / "uv.lock").write_bytes((FIXTURES / "smallsvc" / "uv.lock").read_bytes())
    result = runner.invoke(main, ["closure", "--root", str(root), "--no-cache", "--offline", "--json", "main.py",
                                  "--python", "3.12"])  # fmt: skip
    assert result.exit_code == 2 and result.stderr == ""
    [(place, severity, code, message)] = json_problems(result.stdout)
    assert (place, severity, code) == ("main.py:1", "error", "DM110")
    assert "module-map" in message


@pytest.mark.parametrize(
    ("source", "severity"),
    [
        ("def later():\n    import weirdname\n", "error"),  # lazy, but a networked run would pin it
        ("try:\n    import weirdname\nexcept ImportError:\n    weirdname = None\n", "warning"),  # optional
    ],
)
def test_offline_a_name_that_would_change_the_pins_is_an_error_wherever_it_is_required(
    runner, tmp_path, monkeypatch, source, severity
):
    monkeypatch.setenv("DEPMIN_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
    root = write_tree(tmp_path / "repo", {"main.py": source})
    (root / "uv.lock").write_bytes((FIXTURES / "smallsvc" / "uv.lock").read_bytes())
    result = runner.invoke(main, ["closure", "--root", str(root), "--no-cache", "--offline", "--json", "main.py",
                                  "--python", "3.12"])  # fmt: skip
    data = json.loads(result.stdout)
    found = [(d["line"], d["severity"]) for d in [*data["errors"], *data["warnings"]] if d["code"] == "DM110"]
    assert found == [(2, severity)]
    assert result.exit_code == (2 if severity == "error" else 0)


def test_the_answer_is_the_same_with_an_empty_cache_a_warm_one_and_uv_s(runner, tmp_path, monkeypatch):
    """The recorded facts (a warm cache) against the file lists of local wheels (another source)."""
    root = write_tree(tmp_path / "repo", {"main.py": "import attr\nimport six\n"})
    (root / "wheels").mkdir()
    for wheel in ("attrs-25.3.0-py3-none-any.whl", "six-1.17.0-py2.py3-none-any.whl"):
        shutil.copy(WHEELS / wheel, root / "wheels")
    import hashlib

    def entry(name: str, version: str, wheel: str) -> str:
        digest = hashlib.sha256((WHEELS / wheel).read_bytes()).hexdigest()
        return (
            f'[[package]]\nname = "{name}"\nversion = "{version}"\nsource = {{ path = "wheels/{wheel}" }}\n'
            f'wheels = [\n    {{ filename = "{wheel}", hash = "sha256:{digest}" }},\n]\n\n'
        )

    (root / "uv.lock").write_text(
        'version = 1\nrequires-python = ">=3.11"\n\n[[package]]\nname = "example"\nversion = "0"\n'
        'source = { virtual = "." }\ndependencies = [{ name = "attrs" }, { name = "six" }]\n\n'
        + entry("attrs", "25.3.0", "attrs-25.3.0-py3-none-any.whl")
        + entry("six", "1.17.0", "six-1.17.0-py2.py3-none-any.whl")
    )
    outputs = []
    for cache in ("a", "a", "b"):  # empty, then warm; then another empty cache
        monkeypatch.setenv("DEPMIN_CACHE_DIR", str(tmp_path / cache))
        result = runner.invoke(main, ["closure", "--root", str(root), "--offline", "--json", "main.py"])
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    assert [r["name"] for r in json.loads(outputs[0])["direct"]] == ["attrs", "six"]


def test_artifacts_without_a_hash_are_not_chosen():
    from depmin.lock.model import LockedPackage

    assert Chosen("x", "1", Artifact("x-1-py3-none-any.whl", None, None)).digest == ""
    package = LockedPackage("x", "1", "git", None, (), {}, (), (), None)
    assert package.wheels == ()


def test_the_bundled_table_is_generated_and_knows_the_names_real_repositories_needed():
    from depmin.imports.distributions import known_modules

    from ..helpers import REPOSITORY

    header = (REPOSITORY / "depmin" / "data" / "known-modules.txt").read_text().splitlines()[0]
    assert header.startswith("# Generated by scripts/build_module_table.py from ")
    table = known_modules()
    for module, distribution in [
        ("griffe", "griffelib"),
        ("pythonjsonlogger", "python-json-logger"),
        ("key_value", "py-key-value-aio"),
        ("docket", "pydocket"),
        ("yaml", "pyyaml"),
        ("bs4", "beautifulsoup4"),
    ]:
        assert distribution in table[module], module


def test_an_unlocked_import_that_the_table_knows_names_its_distribution(runner, tmp_path):
    root = tmp_path / "repo"
    write_tree(root, {"main.py": "import griffe\n"})
    (root / "uv.lock").write_bytes(CARAMBA_LOCK.read_bytes())
    result = runner.invoke(main, ["closure", "--root", str(root), "--no-cache", "--json", "main.py"])
    [error] = json.loads(result.stdout)["errors"]
    assert (error["file"], error["line"], error["code"]) == ("main.py", 1, "DM101")
    assert "griffelib" in error["message"]
