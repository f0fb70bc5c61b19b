"""Prototype (bench only): ``evalscope.perf.http.Connection`` with httptools' C parser (llhttp) in
place of the hand-rolled head and chunked-body parsing, for ``bench/http_client_ab.py --variant``.

Same contract as the hand-rolled parser: ``data_received`` takes one ``perf_counter()`` stamp per
network read, and every body byte of that read reaches the sink in one call with that stamp (the
pieces llhttp hands to ``on_body`` during one ``feed_data`` are joined first), so the stream
accumulator still splits SSE events and stamps each with the read that completed it. Exchange,
timeouts, keep-alive pooling and failure handling are the parent's.

    .venv/bin/python bench/http_httptools.py   # exactness check (same sink calls as the hand-rolled parser), CPU per read
"""

from __future__ import annotations

import random
import time

import httptools

from evalscope.client.errors import StreamError
from evalscope.perf import http
from evalscope.perf.http import _BODY, _CHUNKED, _CLOSE, _HEAD, _IDLE, _LENGTH, MAX_HEAD, Connection


class HttptoolsConnection(Connection):
    """A keep-alive connection whose responses are parsed by llhttp (one parser per connection)."""

    def __init__(self) -> None:
        super().__init__()
        self._parser = httptools.HttpResponseParser(self)
        self._pending: list[bytes] = []
        self._complete = False
        self._head_size = 0

    def exchange(self, request, sink, total_timeout, read_timeout):  # type: ignore[no-untyped-def]
        self._pending = []
        self._complete = False
        self._head_size = 0
        self._headers = {}
        return super().exchange(request, sink, total_timeout, read_timeout)

    def data_received(self, data: bytes) -> None:
        t = time.perf_counter()
        self._last = t
        self._got_bytes = True
        if self._state == _IDLE:
            if data.strip(b"\r\n"):
                self.close()  # a server speaking out of turn
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._pending = []
            self._fail(StreamError("bad_response", f"malformed response: {exc}"))
            self.close()
            return
        if self._state == _HEAD and self._head_size > MAX_HEAD:
            self._fail(StreamError("bad_response", "response head too large"))
            self.close()
            return
        pending = self._pending
        if pending:
            self._pending = []
            self._deliver(pending[0] if len(pending) == 1 else b"".join(pending), t)
        if self._complete:
            self._complete = False
            fut = self._fut
            if fut is not None and not fut.done():
                self._finish()

    # -- llhttp callbacks ---------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # interim response: the real one follows
            self._headers = {}
            return
        headers = self._headers
        self._status = status
        self._keep = self._parser.should_keep_alive()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._mode = _CHUNKED
        elif "content-length" in headers:
            self._mode = _LENGTH
        else:
            self._mode, self._keep = _CLOSE, False
        if status != 200:
            self._sink = None
        self._state = _BODY

    def on_body(self, body: bytes) -> None:
        self._pending.append(body)

    def on_message_complete(self) -> None:
        if self._state == _BODY:
            self._complete = True


def use_httptools() -> None:
    """Make every new perf connection (``ConnectionPool.connect``) an :class:`HttptoolsConnection`."""
    http.Connection = HttptoolsConnection  # type: ignore[misc]


# -- exactness check ---------------------------------------------------------------------------
class _Transport:
    def __init__(self) -> None:
        self.closed = False

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> None:
        return None


def _stream(events: int, rng: random.Random) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = b""
    for _ in range(events):
        ev = b'data: {"choices":[{"delta":{"content":"t%d"}}]}\n\n' % rng.randrange(10 ** rng.randrange(1, 6))
        body += b"%x\r\n%s\r\n" % (len(ev), ev)
    return head + body + b"0\r\n\r\n"


def _deliveries(cls: type[Connection], reads: list[bytes]) -> list[tuple[int, bytes]]:
    """(index of the network read, bytes handed to the sink) for each sink call, over 2 exchanges."""
    import asyncio

    async def go() -> list[tuple[int, bytes]]:
        conn = cls()
        conn.connection_made(_Transport())  # type: ignore[arg-type]
        got: list[tuple[int, bytes]] = []
        now = [0]  # the index of the read being fed
        for _ in range(2):  # a second exchange on the same kept-alive connection
            fut = conn.exchange(b"", lambda piece, t: got.append((now[0], piece)), 60, 60)
            for i, r in enumerate(reads):
                now[0] = i
                conn.data_received(r)
            ex = await fut
            assert ex.status == 200 and conn.reusable
        return got

    return asyncio.run(go())


def check(trials: int = 300, seed: int = 1) -> None:
    """Random streams split at random points: both parsers deliver the same bytes from the same reads."""
    rng = random.Random(seed)
    for _ in range(trials):
        wire = _stream(rng.randrange(1, 40), rng)
        cuts = sorted(rng.sample(range(1, len(wire)), rng.randrange(0, min(30, len(wire) - 1))))
        reads = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True)]
        a, b = _deliveries(Connection, reads), _deliveries(HttptoolsConnection, reads)
        assert a == b, (reads, a, b)
    print(f"exact: {trials} random splits, same sink calls (read index and bytes) from both parsers")


def micro(events: int = 256, rounds: int = 200) -> None:
    """CPU per network read when each read is one whole chunk (one SSE event), the usual stream."""
    rng = random.Random(2)
    wire = _stream(events, rng)
    head_end = wire.index(b"\r\n\r\n") + 4
    reads = [wire[:head_end]]
    pos = head_end
    while pos < len(wire):  # one read per chunk: size line, data, CRLF
        eol = wire.index(b"\r\n", pos)
        end = eol + 2 + int(wire[pos:eol], 16) + 2
        reads.append(wire[pos:end])
        pos = end
    short = _stream(19, rng)  # a fixed 16-token reply, chunked: the whole response in one read
    body = b"".join(b"data: %d\n\n" % i for i in range(19))
    fixed = (
        b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 01 Jan 2026 00:00:00 GMT\r\n"
        b"Content-Type: text/event-stream\r\nContent-Length: %d\r\nLast-Modified: Mon, 01 Jan 2026 "
        b'00:00:00 GMT\r\nConnection: keep-alive\r\nETag: "1-2"\r\nAccept-Ranges: bytes\r\n\r\n%s'
        % (len(body), body)
    )  # nginx's static-file answer, Content-Length
    for cls in (Connection, HttptoolsConnection, Connection, HttptoolsConnection):
        best = min(_time_reads(cls, reads, rounds) for _ in range(5))
        whole = min(_time_reads(cls, [short], rounds * 20) for _ in range(5))
        length = min(_time_reads(cls, [fixed], rounds * 20) for _ in range(5))
        print(
            f"{cls.__name__:>20}: {best / (len(reads) * rounds) * 1e6:.2f} us per read of one chunk "
            f"({len(reads)} reads per response); per response in one read: {whole / (rounds * 20) * 1e6:.2f} "
            f"us chunked (19 chunks), {length / (rounds * 20) * 1e6:.2f} us Content-Length (best of 5)"
        )


def _time_reads(cls: type[Connection], reads: list[bytes], rounds: int) -> float:
    import asyncio

    async def go() -> float:
        conn = cls()
        conn.connection_made(_Transport())  # type: ignore[arg-type]
        sink = lambda piece, t: None  # noqa: E731
        t0 = time.perf_counter()
        for _ in range(rounds):
            fut = conn.exchange(b"", sink, 60, 60)
            for r in reads:
                conn.data_received(r)
            await fut
        return time.perf_counter() - t0

    return asyncio.run(go())


if __name__ == "__main__":
    check()
    micro()
