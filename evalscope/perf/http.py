"""A minimal HTTP/1.1 client for the perf hot loop (keep-alive, chunked, TLS), built on asyncio.Protocol.

Why not aiohttp here: per request it builds request/response objects, header multidicts, URL
objects, a stream reader and several timers, and every network chunk costs a coroutine switch.
This client sends one pre-built ``bytes`` per request and hands each body piece to the stream
accumulator *inside* ``data_received``, stamped with ``perf_counter()`` at that moment, so a chunk's
timestamp never waits for a coroutine to be scheduled. It speaks exactly what a load test needs:
POST, ``Content-Length``/chunked/until-close bodies, keep-alive reuse, timeouts. ``ModelClient``
(eval) keeps using aiohttp. Measured against aiohttp inside the same engine: ``bench/http_client_ab.py``.

Limits (what it does not do; ``EVALSCOPE_PERF_HTTP=aiohttp`` is the reference path, not a way
around most of them: it is configured with no proxies and no decompression either):

- HTTP/1.1 only (no HTTP/2, no ALPN); POST only; the body is always sent with ``Content-Length``
  (no chunked upload, no ``Expect: 100-continue``; interim 1xx answers are skipped). HTTP/1.0
  responses are read (closed unless ``Connection: keep-alive``).
- The first address ``getaddrinfo`` returns, resolved once per pool and kept for the run: no
  fallback to the next address, no Happy Eyeballs, no re-resolution.
- No proxies: ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``NO_PROXY`` are ignored (there is no proxy code).
- No compression: no ``Accept-Encoding`` is sent and a ``Content-Encoding`` is not decoded (a
  compressed stream fails as undecodable).
- TLS works (``https://``): ``ssl.create_default_context()``, certificates verified against the
  system store (OpenSSL's ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` add a private CA), SNI from the
  URL's host. No switch to skip verification, no client certificates.
- Redirects are not followed: a 3xx, like every status other than 200, is a failed request
  (``http_<status>``, the body's error message, if any, as its error).
- Credentials in the URL (``user:pass@host``) are dropped, not sent; the URL's fragment too.
- A response head (or trailer) over 64 KiB fails the request; trailers are read and discarded.
- The pool has no size limit (the scheduler bounds concurrency) and reuses idle connections
  last-in first-out; a request on a reused connection that the server had closed before any byte
  of the answer is sent again once, on a fresh connection.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from evalscope.client.errors import StreamError

MAX_HEAD = 1 << 16
_HEAD, _BODY, _TRAILER, _IDLE = 0, 1, 2, 3
_LENGTH, _CHUNKED, _CLOSE = 0, 1, 2


class HttpTarget:
    """Where requests go and their fixed head; ``request(body)`` gives the bytes to write."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"url: unsupported scheme {parts.scheme!r}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.tls else 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        default_port = (self.tls and self.port == 443) or (not self.tls and self.port == 80)
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal keeps its brackets
        host_header = host if default_port else f"{host}:{self.port}"
        lines = [f"POST {path} HTTP/1.1", f"Host: {host_header}", "Accept: */*"]
        for k, v in headers.items():
            if k.lower() not in ("host", "content-length", "connection", "transfer-encoding"):
                lines.append(f"{k}: {v}")
        self._head = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        self.ssl_context = ssl.create_default_context() if self.tls else None

    def request(self, body: bytes) -> bytes:
        """The complete request for ``body``: head, Content-Length, blank line, body."""
        return self._head + b"Content-Length: %d\r\n\r\n" % len(body) + body


class Exchange:
    """The outcome of one request: status, headers (lower-case names) and, unless streamed, the body."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Connection(asyncio.Protocol):
    """One keep-alive connection; ``exchange`` runs one request/response on it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.used = 0
        self._state = _IDLE
        self._buf = b""
        self._fut: asyncio.Future | None = None
        self._sink: Callable[[bytes, float], None] | None = None
        self._status = 0
        self._headers: dict[str, str] = {}
        self._parts: list[bytes] = []
        self._mode = _CLOSE
        self._left = 0
        self._need_crlf = False
        self._keep = True
        self._got_bytes = False
        self._timer: asyncio.TimerHandle | None = None
        self._last = 0.0
        self._read_timeout = 0.0
        self._deadline = 0.0

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except (OSError, AttributeError):
                pass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._fut is None or self._fut.done():
            return
        if self._state == _BODY and self._mode == _CLOSE:
            self._finish()  # a body delimited by the end of the connection
        elif not self._got_bytes:
            self._fail(ConnectionResetError("connection closed before any response"))
        else:
            self._fail(StreamError("cut_stream", "connection closed before the response ended"))

    def data_received(self, data: bytes) -> None:
        t = time.perf_counter()
        self._last = t
        self._got_bytes = True
        if self._state == _BODY:
            self._body(data, t)
            return
        if self._state == _HEAD:
            self._buf += data
            self._head(t)
        elif self._state == _TRAILER:
            self._buf += data
            self._trailer()
        # bytes while idle: a server speaking out of turn; the next exchange would misread them
        elif data.strip(b"\r\n"):
            self.close()

    # -- one request ------------------------------------------------------------------------
    def exchange(
        self,
        request: bytes,
        sink: Callable[[bytes, float], None] | None,
        total_timeout: float,
        read_timeout: float,
    ) -> asyncio.Future:
        """Write ``request``; the future resolves to an :class:`Exchange` or raises.

        With a ``sink``, the body of a 200 response is handed to it piece by piece with arrival
        times (and the exchange's ``body`` is empty); other statuses always collect the body.
        """
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._fut = fut
        self._sink = sink
        self._state = _HEAD
        self._buf = b""
        self._parts = []
        self._got_bytes = False
        self.used += 1
        now = time.perf_counter()
        self._last = now
        self._read_timeout = read_timeout
        self._deadline = now + total_timeout
        self._timer = loop.call_later(min(total_timeout, read_timeout), self._check_timeout)
        transport = self.transport
        assert transport is not None  # exchanges run only on a connected Connection
        transport.write(request)
        return fut

    def _check_timeout(self) -> None:
        if self._fut is None or self._fut.done():
            return
        now = time.perf_counter()
        if now >= self._deadline or now - self._last >= self._read_timeout:
            self._fail(TimeoutError("request timed out"))
            self.close()
            return
        wait = min(self._deadline, self._last + self._read_timeout) - now
        self._timer = asyncio.get_running_loop().call_later(max(wait, 0.001), self._check_timeout)

    def _head(self, t: float) -> None:
        buf = self._buf
        if buf[:2] == b"\r\n":  # the end of a previous chunked body's trailer
            buf = buf.lstrip(b"\r\n")
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            self._buf = buf
            if len(buf) > MAX_HEAD:
                self._fail(StreamError("bad_response", "response head too large"))
                self.close()
            return
        lines = buf[:end].decode("latin-1").split("\r\n")
        try:
            version, code = lines[0].split(" ", 2)[:2]
            status = int(code)
        except ValueError:
            self._fail(StreamError("bad_response", f"not an HTTP response: {lines[0][:100]!r}"))
            self.close()
            return
        if 100 <= status < 200:  # interim response: the real one follows
            self._buf = buf[end + 4 :]
            self._head(t)
            return
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        self._status, self._headers = status, headers
        conn = headers.get("connection", "").lower()
        self._keep = not (conn == "close" or (version == "HTTP/1.0" and conn != "keep-alive"))
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._mode, self._left, self._need_crlf = _CHUNKED, 0, False
        elif "content-length" in headers:
            self._mode, self._left = _LENGTH, int(headers["content-length"])
        else:
            self._mode, self._keep = _CLOSE, False
        if status != 200:
            self._sink = None
        self._state = _BODY
        rest = buf[end + 4 :]
        self._buf = b""
        if self._mode == _LENGTH and self._left == 0:
            self._finish()
        elif rest:
            self._body(rest, t)

    def _deliver(self, piece: bytes, t: float) -> None:
        sink = self._sink
        if sink is None:
            self._parts.append(piece)
            return
        try:
            sink(piece, t)
        except StreamError as exc:
            self._fail(exc)
            self.close()

    def _body(self, data: bytes, t: float) -> None:
        mode = self._mode
        if mode == _LENGTH:
            left = self._left
            if len(data) >= left:
                self._deliver(data[:left] if len(data) > left else data, t)
                self._left = 0
                fut = self._fut
                if fut is not None and not fut.done():
                    self._finish()
            else:
                self._left = left - len(data)
                self._deliver(data, t)
        elif mode == _CHUNKED:
            self._chunked(data, t)
        else:
            self._deliver(data, t)

    def _chunked(self, data: bytes, t: float) -> None:
        if not self._left and not self._need_crlf and not self._buf:
            # the usual network read of a stream: exactly one whole chunk (size line, data, CRLF)
            eol = data.find(b"\r\n")
            if 0 < eol < 9 and data[-2:] == b"\r\n":
                try:
                    end = eol + 2 + int(data[:eol], 16)
                except ValueError:  # a chunk extension, or garbage: the full parser decides
                    end = -1
                if end == len(data) - 2 and end > eol + 2:
                    self._deliver(data[eol + 2 : end], t)
                    return
        buf = self._buf + data if self._buf else data
        pos, n = 0, len(buf)
        out = []
        while pos < n:
            if self._left:
                take = min(self._left, n - pos)
                out.append(buf[pos : pos + take])
                pos += take
                self._left -= take
                if not self._left:
                    self._need_crlf = True
                continue
            if self._need_crlf:
                if n - pos < 2:
                    break
                pos += 2
                self._need_crlf = False
                continue
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                break
            try:
                size = int(buf[pos:eol].split(b";", 1)[0], 16)
            except ValueError:
                self._buf = b""
                self._fail(StreamError("bad_response", "malformed chunked encoding"))
                self.close()
                return
            pos = eol + 2
            if size == 0:
                if out:
                    self._deliver(b"".join(out), t)
                self._buf = buf[pos:]
                self._state = _TRAILER
                self._trailer()
                return
            self._left = size
        self._buf = buf[pos:]
        if out:
            self._deliver(out[0] if len(out) == 1 else b"".join(out), t)

    def _trailer(self) -> None:
        # after the last chunk: optional trailer fields, then an empty line
        buf = self._buf
        if buf[:2] == b"\r\n":
            self._buf = buf[2:]
            self._finish()
            return
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            self._buf = buf[end + 4 :]
            self._finish()
        elif len(buf) > MAX_HEAD:
            self._fail(StreamError("bad_response", "trailer too large"))
            self.close()

    def _finish(self) -> None:
        self._state = _IDLE
        if self._timer is not None:
            self._timer.cancel()
        if not self._keep:
            self.close()
        fut = self._fut
        if fut is not None and not fut.done():
            body = b"".join(self._parts) if self._parts else b""
            fut.set_result(Exchange(self._status, self._headers, body))

    def _fail(self, exc: BaseException) -> None:
        self._state = _IDLE
        self._keep = False
        if self._timer is not None:
            self._timer.cancel()
        fut = self._fut
        if fut is not None and not fut.done():
            fut.set_exception(exc)

    @property
    def reusable(self) -> bool:
        return not self.closed and self._keep and self._state == _IDLE

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class ConnectionPool:
    """Idle keep-alive connections to one target, reused last-in first-out; no size limit (the
    scheduler bounds concurrency)."""

    def __init__(self, target: HttpTarget, connect_timeout: float) -> None:
        self.target = target
        self.connect_timeout = connect_timeout
        self._idle: list[Connection] = []
        self._all: set[Connection] = set()
        self._addr: tuple | None = None

    async def _resolve(self) -> tuple:
        if self._addr is None:
            loop = asyncio.get_running_loop()
            infos = await loop.getaddrinfo(self.target.host, self.target.port, type=socket.SOCK_STREAM)
            self._addr = infos[0][4][:2]
        return self._addr

    async def connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        host, port = await self._resolve()
        t = self.target
        _, conn = await asyncio.wait_for(
            loop.create_connection(
                Connection, host, port, ssl=t.ssl_context, server_hostname=t.host if t.tls else None
            ),
            self.connect_timeout,
        )
        self._all.add(conn)
        return conn

    async def acquire(self) -> Connection:
        idle = self._idle
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
            self._all.discard(conn)
        return await self.connect()

    def release(self, conn: Connection) -> None:
        if conn.reusable:
            self._idle.append(conn)
        else:
            conn.close()
            self._all.discard(conn)

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._idle.clear()
