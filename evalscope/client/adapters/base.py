"""What a wire adapter declares, and nothing else.

An adapter knows the path it posts to, how a :class:`GenerationRequest` becomes its JSON body and
headers, and how one decoded stream event or one whole non-streamed body becomes a :class:`Delta`.
Timing, SSE framing, retries and error classification live outside, once.
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit, urlunsplit

from evalscope.client.types import Delta, GenerationRequest


class Adapter:
    """Base of every wire protocol; subclasses override the declared parts."""

    name: ClassVar[str] = ""
    #: payload that ends a stream without being JSON (OpenAI's ``[DONE]``), if the protocol has one
    done_sentinel: ClassVar[bytes | None] = None

    def __init__(
        self, url: str, model: str, api_key: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        # Credentials in the URL (user:password@host, ?key=...) are kept apart: the paths below are
        # built on the bare URL, the query goes back on the endpoint, the user info becomes Basic auth.
        parts = urlsplit(url.strip())
        self._userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
        self._query = parts.query
        netloc = parts.netloc.rpartition("@")[2]
        self.base_url = (
            urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/")
            if parts.scheme
            else url.strip().rstrip("/")
        )
        self.model = model
        self._api_key = api_key
        self._extra_headers = dict(headers or {})

    def __repr__(self) -> str:
        # never show the key: reprs end up in logs and tracebacks
        return f"{type(self).__name__}(url={self.base_url!r}, model={self.model!r}, api_key='***')"

    # -- declared by each protocol ------------------------------------------------------------
    def _endpoint(self, stream: bool) -> str:
        """The URL to post to, built on ``base_url`` (no user info, no query of the user's)."""
        raise NotImplementedError

    def endpoint(self, stream: bool) -> str:
        """The URL to post to: the protocol's path, with the query of the URL given (``?key=...``).

        The ``user:password@`` part is not in it (it is sent as Basic auth, see :meth:`headers`).
        """
        url = self._endpoint(stream)
        if not self._query:
            return url
        have = set(urlsplit(url).query.split("&"))
        extra = "&".join(item for item in self._query.split("&") if item and item not in have)
        if not extra:
            return url
        return url + ("&" if "?" in url else "?") + extra

    def full_url(self, stream: bool) -> str:
        """:meth:`endpoint` with the URL's ``user:password@`` part kept (to store the normalised URL)."""
        url = self.endpoint(stream)
        if not self._userinfo:
            return url
        scheme, sep, rest = url.partition("://")
        return f"{scheme}{sep}{self._userinfo}@{rest}"

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        """Headers carrying the API key (the key never goes into a URL or a body)."""
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        """The JSON body for ``req``."""
        raise NotImplementedError

    def parse_event(self, event: Any) -> Delta | None:
        """One decoded stream event -> its contribution (None: nothing in it for us)."""
        raise NotImplementedError

    def parse_body(self, body: Any) -> Delta:
        """A whole non-streamed response body -> its contribution."""
        raise NotImplementedError

    def fast_text(self, data: bytes) -> str | None:
        """Optional shortcut: the text of a plain content-only event, read without decoding JSON.

        Must return None for anything else (usage, finish, reasoning, escapes, several choices...);
        the caller then decodes the event fully. A shortcut can only skip work, never change a result.
        """
        return None

    def stream_headers(self) -> dict[str, str]:
        """Extra headers a protocol needs to switch streaming on (DashScope)."""
        return {}

    # -- shared -------------------------------------------------------------------------------
    def headers(self, stream: bool) -> dict[str, str]:
        """All request headers: content type, auth, protocol extras, then the user's own."""
        h = {"Content-Type": "application/json"}
        h.update(self.auth_headers(self._api_key))
        if (
            self._userinfo
            and (self._api_key in (None, "", "EMPTY"))
            and not any(k.lower() == "authorization" for k in self._extra_headers)
        ):
            # user:password@ in the URL, as browsers and curl send it (a real api_key wins)
            h = {k: v for k, v in h.items() if k.lower() != "authorization"}
            user, _, password = self._userinfo.partition(":")
            token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
            h["Authorization"] = f"Basic {token}"
        if stream:
            h.update(self.stream_headers())
        h.update(self._extra_headers)
        return h

    def error_in_event(self, event: Any) -> str | None:
        """An error reported inside a stream event (HTTP 200 already sent), else None."""
        if isinstance(event, dict):
            err = event.get("error")
            if err:
                return str(err.get("message", err)) if isinstance(err, dict) else str(err)
        return None


def optional(body: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Add every field whose value is not None (servers reject explicit nulls for some keys)."""
    for key, value in fields.items():
        if value is not None:
            body[key] = value
    return body
