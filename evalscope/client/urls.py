"""What counts as a model URL: the one rule behind eval's ``api_url`` and perf's ``url``."""

from __future__ import annotations

from urllib.parse import urlsplit

#: a URL longer than this is a mistake (browsers and servers cap URLs around 8 KiB)
MAX_URL_LENGTH = 2048


def check_model_url(url: str) -> str:
    """``url`` stripped, if it is an absolute ``http(s)://host[:port]/...`` URL; else ValueError.

    ``file://``, ``gopher://``, ``unix://``, ``javascript:``, bare words and URLs with spaces or
    control characters are refused: the engines only speak HTTP to a model server.
    """
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise ValueError("not an http(s) URL: it contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # a bad port or bracketed host
        port_ok = False
        parts = None
    # The URL itself is not echoed: it may carry a key (user:key@host, ?key=).
    if parts is None or parts.scheme not in ("http", "https"):
        scheme = f"scheme {parts.scheme!r}" if parts is not None and parts.scheme else "no scheme"
        raise ValueError(f"not an http(s) URL ({scheme}); give http://host[:port]/...")
    if not parts.hostname or not port_ok:
        raise ValueError("not an http(s) URL: no host, or a bad port; give http://host[:port]/...")
    return url
