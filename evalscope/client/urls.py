"""What counts as a model URL: the one rule behind eval's ``api_url`` and perf's ``url``."""

from __future__ import annotations

import re
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


#: an API key longer than this is a mistake (it travels in one header line)
MAX_API_KEY_LENGTH = 4096


def check_api_key(key: str | None) -> str | None:
    """``key`` unchanged if it can travel in an HTTP header; else ValueError (never echoing the key).

    A key with a newline or another control character would only fail later, in the worker, as a
    refused header; over HTTP it is a 400 naming ``api_key`` instead.
    """
    if key is None:
        return None
    if len(key) > MAX_API_KEY_LENGTH:
        raise ValueError(f"longer than {MAX_API_KEY_LENGTH} characters")
    if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in key):
        raise ValueError("contains control characters (a key travels in an HTTP header)")
    return key


#: the paths an API appends to a server's base URL (eval's api_url is the base; perf's url the full one)
_API_PATHS = (
    "/chat/completions",
    "/completions",
    "/embeddings",
    "/rerank",
    "/responses",
    "/messages",
    "/services/aigc/text-generation/generation",
)
_GEMINI_PATH = re.compile(r"/models/[^/]+:[A-Za-z]+$")


def model_server(url: str, model: str) -> str:
    """Which model server and model a URL aims at, as one comparable string: scheme, lower-case host,
    explicit port and the base path (the API's own path, credentials and query left out), then
    ``#model``. Perf's ``http://h:8000/v1/chat/completions`` and eval's ``http://H:8000/v1/`` are the
    same server."""
    parts = urlsplit(url.strip())
    scheme = (parts.scheme or "http").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or (443 if scheme == "https" else 80)
    path = parts.path.rstrip("/")
    path = _GEMINI_PATH.sub("", path)
    for suffix in _API_PATHS:
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}{path.rstrip('/')}#{model}"
