"""Reading locked artifacts from their index, treating the network as untrusted input.

A pull request's uv.lock must not make CI request an internal address: only https URLs on the
hosts of the indexes the project declares (PyPI's by default, [[tool.uv.index]], and the
UV_INDEX_URL / UV_EXTRA_INDEX_URL / UV_DEFAULT_INDEX / UV_INDEX settings) are read, no redirect
leaves those hosts, and sizes, counts and time are bounded. Proxies and CA bundles are honoured
as uv honours them (HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE); credentials come from index URLs in
the environment, UV_INDEX_<NAME>_USERNAME / _PASSWORD, or a netrc, and are never printed.
"""

from __future__ import annotations

import base64
import functools
import http.client
import netrc
import os
import re
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

PYPI_HOSTS = frozenset({"pypi.org", "files.pythonhosted.org"})
# Bounds: one artifact never costs more than this many bytes of reading, nor a request this long.
_LARGEST_READ = 48 * 1024 * 1024
_TIMEOUT = 15.0


class Refused(Exception):
    """A URL depmin will not request, or a response it will not use: the message says why."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient  # a dropped connection, a timeout, HTTP 429 or 5xx: worth another try


# A kept-alive connection the index closed, a timeout, a 503: tried again after these pauses.
_RETRY_PAUSES = (0.5, 2.0)


@dataclass(frozen=True)
class Network:
    allowed_hosts: frozenset[str]
    credentials: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # host → (user, password)
    timeout: float = _TIMEOUT

    def check(self, url: str) -> str:
        """The URL's host, when depmin may request it; Refused otherwise."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme != "https":
            raise Refused(f"not https: {parts.scheme or 'no scheme'}://{host}")
        if host not in self.allowed_hosts:
            raise Refused(f"{host} is not the host of an index the project declares")
        return host

    def get(self, url: str, start: int | None = None, end: int | None = None, *, suffix: int = 0) -> tuple[bytes, int]:
        """Bytes [start, end) of `url` (or its last `suffix` bytes) and the resource's whole size.
        Connections are kept per thread and host (one DNS lookup and TLS handshake per host); a
        transient failure is tried again, on a new connection."""
        for pause in (*_RETRY_PAUSES, None):
            try:
                return self._get_once(url, start, end, suffix)
            except Refused as refused:
                if not refused.transient or pause is None:
                    raise
                time.sleep(pause)
        raise AssertionError("unreachable")

    def _get_once(self, url: str, start: int | None, end: int | None, suffix: int) -> tuple[bytes, int]:
        headers = {"User-Agent": "depmin (artifact facts)", "Accept-Encoding": "identity"}
        if suffix:
            headers["Range"] = f"bytes=-{suffix}"
        elif start is not None:
            headers["Range"] = f"bytes={start}-{(end or start + 1) - 1}"
        for _ in range(4):  # the request and up to three redirects, each checked like the first
            host = self.check(url)
            if host in self.credentials:
                user, password = self.credentials[host]
                headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            else:
                headers.pop("Authorization", None)
            parts = urlsplit(url)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            try:
                connection = self._connection(host, parts.port or 443)
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                if response.status in (301, 302, 303, 307, 308):
                    response.read()
                    url = urljoin(url, response.getheader("Location") or "")
                    continue
                if response.status not in (200, 206):
                    response.read()
                    transient = response.status == 429 or response.status >= 500
                    raise Refused(f"{host}: HTTP {response.status}", transient=transient)
                wanted = (end - start) if start is not None and end is not None else suffix or _LARGEST_READ
                data = response.read(min(wanted, _LARGEST_READ) + 1)
                total = _total_size(response.getheader("Content-Range"), response.getheader("Content-Length"))
                if response.status == 200 and (start is not None or suffix):
                    # The server ignored the range: the whole file comes; use its part.
                    if total > _LARGEST_READ:
                        raise Refused(f"{host} ignores byte ranges and the file is {total} bytes")
                    data += response.read()
                    total = len(data)
                    data = data[-suffix:] if suffix else data[start:end]
                else:
                    response.read()  # drained, so the connection can be used again
            except (OSError, http.client.HTTPException) as exc:
                self._forget(host)
                raise Refused(f"{host}: {exc or type(exc).__name__}", transient=True) from None
            except ValueError as exc:
                self._forget(host)
                raise Refused(f"{host}: {exc}") from None
            if len(data) > _LARGEST_READ:
                raise Refused(f"{host}: more than {_LARGEST_READ} bytes")
            return data, total
        raise Refused(f"{urlsplit(url).hostname}: too many redirects")

    def _connection(self, host: str, port: int) -> http.client.HTTPSConnection:
        connections: dict[tuple[int, str], http.client.HTTPSConnection] = _THREAD.__dict__.setdefault("c", {})
        connection = connections.get((id(self), host))
        if connection is None:
            proxy = _proxy_for(host)
            if proxy is not None:
                connection = http.client.HTTPSConnection(
                    proxy.hostname or "", proxy.port or 8080, timeout=self.timeout, context=_ssl_context()
                )
                connection.set_tunnel(host, port)
            else:
                connection = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=_ssl_context())
            connections[(id(self), host)] = connection
        return connection

    def _forget(self, host: str) -> None:
        connection = _THREAD.__dict__.get("c", {}).pop((id(self), host), None)
        if connection is not None:
            connection.close()


_THREAD = threading.local()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE"))


def _proxy_for(host: str) -> SplitResult | None:
    """The proxy uv would use for `host` (HTTPS_PROXY / ALL_PROXY, unless NO_PROXY names it)."""
    proxies = urllib.request.getproxies()
    chosen = proxies.get("https") or proxies.get("all")
    if not chosen or urllib.request.proxy_bypass(host):
        return None
    return urlsplit(chosen if "://" in chosen else f"http://{chosen}")


def _total_size(content_range: str | None, content_length: str | None) -> int:
    if content_range and "/" in content_range:
        total = content_range.rsplit("/", 1)[1].strip()
        if total.isdigit():
            return int(total)
    return int(content_length) if content_length and content_length.isdigit() else 0


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl() if "@" in parts.netloc else url


def declared_indexes(pyprojects: Iterable[Mapping[str, object]], environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(name, url) of every index the project declares: [[tool.uv.index]] of the project and its
    members, [tool.uv] index-url / extra-index-url, and uv's environment settings."""
    found: list[tuple[str, str]] = []
    for pyproject in pyprojects:
        tool = pyproject.get("tool", {})
        uv = tool.get("uv", {}) if isinstance(tool, dict) else {}
        if not isinstance(uv, dict):
            continue
        for index in uv.get("index", []) if isinstance(uv.get("index"), list) else []:
            if isinstance(index, dict) and isinstance(index.get("url"), str):
                found.append((str(index.get("name", "")), index["url"]))
        for key in ("index-url", "extra-index-url"):
            values = uv.get(key)
            for value in [values] if isinstance(values, str) else values if isinstance(values, list) else []:
                if isinstance(value, str):
                    found.append(("", value))
    for key in ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX"):
        for value in environ.get(key, "").split():
            name, _, url = value.rpartition("=") if "=" in value and not value.startswith("http") else ("", "", value)
            found.append((name, url))
    return found


def network_for(pyprojects: Iterable[Mapping[str, object]], environ: Mapping[str, str] | None = None) -> Network:
    environ = os.environ if environ is None else environ
    hosts = set(PYPI_HOSTS)
    credentials: dict[str, tuple[str, str]] = {}
    for name, url in declared_indexes(pyprojects, environ):
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme != "https" or not host:
            continue
        hosts.add(host)
        if parts.username:
            credentials[host] = (unquote(parts.username), unquote(parts.password or ""))
        if name:
            variable = re.sub(r"[^A-Za-z0-9]", "_", name).upper()
            user = environ.get(f"UV_INDEX_{variable}_USERNAME")
            password = environ.get(f"UV_INDEX_{variable}_PASSWORD")
            if user or password:
                credentials[host] = (user or "", password or "")
    for host in hosts - set(credentials):
        found = _netrc(host, environ)
        if found:
            credentials[host] = found
    return Network(frozenset(hosts), credentials)


def _netrc(host: str, environ: Mapping[str, str]) -> tuple[str, str] | None:
    path = Path(environ["NETRC"]) if environ.get("NETRC") else Path.home() / ".netrc"
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return None
    return (entry[0] or "", entry[2] or "") if entry else None
