"""Which push endpoints the server will POST to: subscriptions are an SSRF risk.

An endpoint must be https on a known browser push service whose addresses are all public, or on a
host listed in LINLI_PUSH_ALLOWED_HOSTS (`host[:port]`, http allowed: tests run a local endpoint).
Checked when a browser subscribes and again before each send (a name may come to resolve
elsewhere); redirects are never followed.
"""
from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

# Chrome/Edge (FCM), Firefox (autopush), Safari (Apple), legacy Edge/Windows (WNS).
KNOWN_HOSTS = frozenset({"fcm.googleapis.com", "android.googleapis.com", "updates.push.services.mozilla.com",
                         "push.services.mozilla.com", "web.push.apple.com"})
KNOWN_SUFFIXES = (".notify.windows.com", ".push.apple.com")


class EndpointRefused(ValueError):
    """This endpoint may not be used; the message says why (in both languages)."""


Resolver = Callable[[str, int], Iterable[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address host resolves to."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


class EndpointPolicy:
    """check(url) passes an allowed endpoint and raises EndpointRefused otherwise."""

    def __init__(self, allowed_hosts: Iterable[str] = (), *, resolver: Resolver = system_resolver,
                 cache_seconds: float = 300.0):
        self._allowed = {h.strip().lower() for h in allowed_hosts if h.strip()}
        self._resolver = resolver
        self._cache_seconds = cache_seconds
        self._resolved: dict[tuple[str, int], float] = {}  # (host, port) -> checked until

    def check(self, url: str) -> str:
        """The endpoint as given when allowed; EndpointRefused otherwise."""
        try:
            parts = urlsplit(url)
            host, port = (parts.hostname or "").lower(), parts.port
        except ValueError as exc:
            raise EndpointRefused("推送地址无效 / not a valid URL") from exc
        if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
            raise EndpointRefused("推送地址无效 / not a valid push endpoint URL")
        if host in self._allowed or (port and f"{host}:{port}" in self._allowed):
            return url  # the operator's own list (tests: a local endpoint), http allowed
        if parts.scheme != "https":
            raise EndpointRefused("推送地址必须是 https / a push endpoint must be https")
        if not (host in KNOWN_HOSTS or host.endswith(KNOWN_SUFFIXES)):
            raise EndpointRefused("不是已知的浏览器推送服务 / not a known browser push service")
        self._check_public(host, port or 443)
        return url

    def _check_public(self, host: str, port: int) -> None:
        now = time.monotonic()
        if self._resolved.get((host, port), 0.0) > now:
            return
        try:
            addresses = list(self._resolver(host, port))
        except OSError as exc:
            raise EndpointRefused("推送服务地址无法解析 / the push service's name does not resolve") from exc
        if not addresses or any(not _public(a) for a in addresses):
            raise EndpointRefused("推送服务解析到内网地址 / the push service resolves to a private address")
        self._resolved[(host, port)] = now + self._cache_seconds


def _public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast
