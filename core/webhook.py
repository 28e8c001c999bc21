"""Posting a text to a group robot's webhook (WeCom 企业微信群机器人, DingTalk 钉钉自定义机器人).

Both take the same request for a plain text message::

    POST <webhook URL>
    Content-Type: application/json; charset=utf-8

    {"msgtype": "text", "text": {"content": "…"}}

and answer HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}`` when the message was taken.
Anything else — another status, a non-zero ``errcode`` (a robot's rate limit is 45009 on
WeCom, 130101 on DingTalk; a wrong key 93000 / 310000), no JSON, a redirect, no answer within
``settings.WEBHOOK_TIMEOUT`` seconds (default 10) — raises ``WebhookError``, which the outbox
records and retries. The URL carries the robot's key, so it never appears in an error: only
its scheme and host do; nor does the robot's answer beyond its status, ``errcode`` and
``errmsg``.

A robot's address is typed in by whoever edits a user's channels, and the portal's workers
post to it: it must not reach inside the portal's own network (server-side request forgery:
the cloud's metadata service at 169.254.169.254, the database, Redis, an internal admin).
So an address must be ``https://`` and its host must resolve only to public addresses —
none loopback, private, link-local, shared (100.64/10), multicast, reserved or unspecified,
IPv4-mapped IPv6 ones judged as the IPv4 address they carry (``webhook_address_check``).
It is checked when the admin saves it and again at every send: the host is resolved, every
address checked, and the connection is made to an address that was checked, so a name that
resolves elsewhere the second time (DNS rebinding) gets nowhere. A refused address raises
``WebhookError`` like any other failure. Through a proxy (``HTTPS_PROXY``) the robot's host
is checked before the request; the proxy is the operator's own.

``settings.WEBHOOK_ALLOW_PRIVATE`` (default ``False``; environment ``WEBHOOK_ALLOW_PRIVATE``)
lifts both rules — ``http://`` and private addresses are taken. It is for the tests, whose
robot is a local HTTP server on 127.0.0.1, and for a robot on a closed network the operator
vouches for; never turn it on where anyone who may edit channels is not trusted with the
portal's network.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings

# WeCom cuts a text message at 2,048 bytes; DingTalk at 20,000. Keep well under both.
CONTENT_MAX_CHARS = 600


class WebhookError(Exception):
    """The robot did not take the message."""


class WebhookRefused(WebhookError):
    """The robot's address is one the portal does not post to. ``reason`` says which rule:
    ``"scheme"`` (not https), ``"host"`` (no host), ``"unresolvable"`` (the name does not
    resolve) or ``"private"`` (it resolves to an address that is not public)."""

    def __init__(self, message: str, *, reason: str, host: str = "", address: str = ""):
        super().__init__(message)
        self.reason, self.host, self.address = reason, host, address


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE", False))


# The resolver, one name for the tests to stand in for DNS.
_getaddrinfo = socket.getaddrinfo


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id is no part of it
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        not ip.is_global
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _public_addresses(host: str, port: int) -> list[tuple]:
    """``getaddrinfo`` of ``host``, refused unless every address is public (or
    ``WEBHOOK_ALLOW_PRIVATE``)."""
    where = f"robot host {host}"
    try:
        infos = _getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise WebhookRefused(
            f"the {where} does not resolve ({error})", reason="unresolvable", host=host
        ) from None
    if not infos:
        raise WebhookRefused(f"the {where} does not resolve", reason="unresolvable", host=host)
    if not _allow_private():
        for info in infos:
            address = info[4][0]
            if _not_public(address):
                raise WebhookRefused(
                    f"the {where} resolves to {address}, which is not a public address "
                    "(loopback, private, link-local or reserved): not posted to",
                    reason="private",
                    host=host,
                    address=address,
                )
    return infos


def webhook_address_check(url: str) -> None:
    """Raise ``WebhookRefused`` unless ``url`` is an address the portal posts to: https, and
    a host that resolves only to public addresses (both waived by
    ``settings.WEBHOOK_ALLOW_PRIVATE``, which also takes http)."""
    parts = urlsplit(url)
    schemes = ("https", "http") if _allow_private() else ("https",)
    if parts.scheme not in schemes:
        raise WebhookRefused(
            "a robot webhook must be an https:// address"
            + (" (or http:// with WEBHOOK_ALLOW_PRIVATE)" if not _allow_private() else ""),
            reason="scheme",
        )
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host:
        raise WebhookRefused("a robot webhook needs a host", reason="host")
    _public_addresses(host, port or (443 if parts.scheme == "https" else 80))


def _connect_checked(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None):
    """``socket.create_connection`` to an address of the host that was checked just now:
    what is connected to is what was checked, whatever the name resolves to later."""
    host, port = address
    last = None
    for family, kind, proto, _name, sockaddr in _public_addresses(host, port):
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as error:
            sock.close()
            last = error
    raise last if last is not None else OSError(f"cannot connect to {host}")


def _checked(connection_class):
    class Checked(connection_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = self._checked_connection

        def _checked_connection(self, address, *args, **kwargs):
            if self._tunnel_host:  # through the operator's proxy: the host was checked before
                return socket.create_connection(address, *args, **kwargs)
            return _connect_checked(address, *args, **kwargs)

    return Checked


_CheckedHTTPConnection = _checked(http.client.HTTPConnection)
_CheckedHTTPSConnection = _checked(http.client.HTTPSConnection)


class _CheckedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_CheckedHTTPConnection, req)


class _CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        options = {"context": self._context}
        # Python 3.11 keeps check_hostname beside the context; 3.12 and later put it in the
        # context and no longer take it as an argument.
        check_hostname = getattr(self, "_check_hostname", None)
        if check_hostname is not None:
            options["check_hostname"] = check_hostname
        return self.do_open(_CheckedHTTPSConnection, req, **options)


def webhook_where(url: str) -> str:
    """What of a robot's address may be shown: its scheme and host (the key is in the path
    or the query)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: say nothing of it
        port = ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def webhook_post(url: str, text: str, *, timeout: float | None = None) -> None:
    """Send ``text`` to the robot at ``url``; ``WebhookError`` if it was not taken."""
    webhook_address_check(url)
    timeout = timeout if timeout is not None else getattr(settings, "WEBHOOK_TIMEOUT", 10)
    content = text if len(text) <= CONTENT_MAX_CHARS else text[: CONTENT_MAX_CHARS - 1] + "…"
    body = json.dumps({"msgtype": "text", "text": {"content": content}}, ensure_ascii=False).encode(
        "utf-8"
    )
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    where = f"robot at {webhook_where(url)}"
    opener = urllib.request.build_opener(_NoRedirect, _CheckedHTTPHandler, _CheckedHTTPSHandler)
    try:
        with opener.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read(64 * 1024)
    except urllib.error.HTTPError as error:
        raise WebhookError(f"{where} answered HTTP {error.code}") from None
    except TimeoutError:
        raise WebhookError(f"{where} gave no answer within {timeout} s") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, WebhookError):  # refused when connecting
            raise error.reason from None
        if isinstance(error.reason, TimeoutError):
            raise WebhookError(f"{where} gave no answer within {timeout} s") from None
        raise WebhookError(f"cannot reach the {where} ({error.reason})") from None
    except OSError as error:
        raise WebhookError(f"connection to the {where} failed ({error})") from None
    if not 200 <= status < 300:
        raise WebhookError(f"{where} answered HTTP {status}")
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        # Not the body itself: whatever answered may echo what it should not be kept.
        raise WebhookError(f"{where} answered HTTP {status}, not with JSON") from None
    errcode = answer.get("errcode", 0) if isinstance(answer, dict) else None
    if errcode != 0:
        message = answer.get("errmsg", "") if isinstance(answer, dict) else ""
        raise WebhookError(f"{where} refused the message: errcode {errcode} {message!r}"[:300])
