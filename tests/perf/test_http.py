"""The perf client's HTTP/1.1 response parser, fed a response split every way the network may split it."""

from __future__ import annotations

import asyncio

import pytest

from evalscope.perf.http import Connection


class FakeTransport:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default=None):
        return default


def _chunk(data: bytes, ext: bytes = b"") -> bytes:
    return b"%x%s\r\n%s\r\n" % (len(data), ext, data)


EVENTS = [b'data: {"n": %d}\n\n' % i for i in range(5)]
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    + b"".join(_chunk(e) for e in EVENTS[:3])
    + _chunk(EVENTS[3], b";ext=1")
    + _chunk(EVENTS[4])
    + b"0\r\n\r\n"
)


def _splits(raw: bytes, how: str) -> list[bytes]:
    if how == "whole":
        return [raw]
    if how == "per_chunk":  # what a streaming server's separate writes look like: head, then chunk by chunk
        head_end = raw.index(b"\r\n\r\n") + 4
        pieces, rest = [raw[:head_end]], raw[head_end:]
        while rest:
            eol = rest.index(b"\r\n")
            size = int(rest[:eol].split(b";")[0], 16)
            end = eol + 2 + size + 2 if size else eol + 4
            pieces.append(rest[:end])
            rest = rest[end:]
        return pieces
    step = int(how)
    return [raw[i : i + step] for i in range(0, len(raw), step)]


async def _exchange(pieces: list[bytes]) -> tuple[object, list[bytes], Connection]:
    conn = Connection()
    conn.connection_made(FakeTransport())
    got: list[bytes] = []
    fut = conn.exchange(b"POST / HTTP/1.1\r\n\r\n", lambda b, t: got.append(b), 5.0, 5.0)
    for p in pieces:
        conn.data_received(p)
    return await asyncio.wait_for(fut, 1), got, conn


@pytest.mark.parametrize("how", ["whole", "per_chunk", "1", "2", "3", "5", "17", "64"])
def test_chunked_body_delivered_intact_however_split(how):
    ex, got, conn = asyncio.run(_exchange(_splits(CHUNKED, how)))
    assert ex.status == 200
    assert b"".join(got) == b"".join(EVENTS)
    assert conn.reusable


def test_one_whole_chunk_per_read_is_one_delivery():
    """The fast path: each streamed chunk reaches the sink as exactly its own bytes."""
    _, got, _ = asyncio.run(_exchange(_splits(CHUNKED, "per_chunk")))
    assert got == EVENTS


def test_malformed_chunk_size_fails_the_exchange():
    raw = CHUNKED.replace(_chunk(EVENTS[1]), b"zz\r\n" + EVENTS[1] + b"\r\n")

    async def go():
        ex, _, _ = await _exchange([raw[:200], raw[200:]])
        return ex

    with pytest.raises(Exception) as e:
        asyncio.run(go())
    assert "chunked" in str(e.value)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://[::1]/v1", b"Host: [::1]"),
        ("http://[::1]:8000/v1", b"Host: [::1]:8000"),
        ("http://127.0.0.1/v1", b"Host: 127.0.0.1"),
        ("https://h:8443/v1?key=1", b"Host: h:8443"),
    ],
)
def test_host_header_keeps_ipv6_brackets(url, host):
    from evalscope.perf.http import HttpTarget

    head = HttpTarget(url, {}).request(b"{}").split(b"\r\n")
    assert head[1] == host
