"""The SSRF guard: webhooks go only to http(s) URLs whose every address is public, unless the server allows
loopback and private targets (tests, private networks). Checked when an endpoint is saved and again before
each attempt (DNS may have changed)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from catalog.domain.webhooks import UnsafeWebhookUrl

MAX_URL = 2000

__all__ = ["UnsafeWebhookUrl", "check_url", "pinned"]


def _parts(url: str) -> tuple[str, int]:
    if len(url) > MAX_URL:
        raise UnsafeWebhookUrl(f"a webhook URL has at most {MAX_URL} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeWebhookUrl(f"webhook URLs are http or https, not {parts.scheme or 'no scheme'!r}")
    if parts.username or parts.password:
        raise UnsafeWebhookUrl("a webhook URL may not carry a user or password: use the signing secret")
    if not parts.hostname:
        raise UnsafeWebhookUrl("the webhook URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeWebhookUrl(f"the webhook URL's port is not valid: {exc}") from None
    return parts.hostname, port


async def check_url(url: str, *, allow_private: bool) -> str:
    """UnsafeWebhookUrl unless the URL is http(s) and (unless allowed) resolves only to public addresses;
    returns the address to connect to. Connecting to that address (not resolving the name again) closes
    the DNS-rebinding window: a name that answers a public address to the check and a private one to the
    connection."""
    host, port = _parts(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeWebhookUrl(f"the webhook host {host!r} does not resolve: {exc.strerror}") from None
    if not infos:
        raise UnsafeWebhookUrl(f"the webhook host {host!r} has no address")
    if allow_private:
        return str(infos[0][4][0])
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise UnsafeWebhookUrl(
                f"{host} resolves to {address}, a loopback, private or reserved address: webhooks go "
                "to public addresses only (a server may allow private ones: "
                "MEDIASIGHT_WEBHOOKS_ALLOW_PRIVATE=true)"
            )
    return str(infos[0][4][0])


def pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(URL with the host replaced by the checked address, its Host header, the request's TLS name): the
    request goes to that address while HTTP and TLS (SNI and certificate check) still use the name."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal + (f":{parts.port}" if parts.port else "")
    header_host = parts.netloc.rsplit("@", 1)[-1]
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return parts._replace(netloc=netloc).geturl(), {"host": header_host}, extensions
