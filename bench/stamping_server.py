"""A minimal OpenAI-style streaming server that stamps each request with the *kernel's* arrival time.

Used by ``bench/perf_fidelity.py`` as the reference clock. The mock server stamps ``received``
when its aiohttp handler starts, which is after its own accept/parse queue; under a burst of 256
requests that queue is tens of milliseconds and is wrongly charged to the client. Here the
listening socket has ``SO_TIMESTAMPNS`` set, so ``recvmsg`` returns the time the request's bytes
entered the socket (a loopback packet is stamped ~40 us after the client's ``send``), and every
chunk is stamped right after its own ``send``. The server is a plain non-blocking socket loop on
asyncio readers and timers: no framework between the socket and the stamps.

Wire format: ``POST /v1/chat/completions`` with ``stream: true`` answers a role-only chunk at
once, then ``max_tokens`` one-token content chunks at ``arrival + ttft + i * itl`` (kernel
arrival, so the schedule does not drift with the server's own queue), a usage chunk and
``[DONE]``, chunked transfer encoding, keep-alive. ``GET /timings`` returns (and clears) the
records, ``{"records": [{"received", "handled", "chunks": [write times], "end"}], "kernel_stamps",
"fallback_stamps"}`` (times in ``time.time()`` seconds; a fallback stamp is taken where the kernel
gave none).

    python bench/stamping_server.py --port 8801 --ttft 0.05 --itl 0.01
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import struct
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
ANC_SIZE = socket.CMSG_SPACE(16)


def _kernel_time(anc: list) -> float | None:
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack("qq", data[:16])
            return sec + nsec * 1e-9
    return None


def _chunk(payload: bytes) -> bytes:
    """One HTTP chunk carrying one SSE event."""
    event = b"data: " + payload + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(event), event)


class Server:
    def __init__(self, ttft: float, itl: float) -> None:
        self.ttft, self.itl = ttft, itl
        self.records: list[dict] = []
        self.loop = asyncio.get_event_loop()
        self.kernel_stamps = 0
        self.fallback_stamps = 0

    def listen(self, host: str, port: int) -> socket.socket:
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # set before any connection exists: accepted sockets inherit it, and the kernel's
        # timestamping switch is turned on (lazily) well before the first request arrives
        lsock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        lsock.bind((host, port))
        lsock.listen(4096)
        lsock.setblocking(False)
        self.loop.add_reader(lsock.fileno(), self._accept, lsock)
        return lsock

    def _accept(self, lsock: socket.socket) -> None:
        while True:
            try:
                sock, _ = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            Conn(self, sock)


class Conn:
    def __init__(self, server: Server, sock: socket.socket) -> None:
        self.server, self.sock = server, sock
        self.buf = b""
        self.rx = 0.0  # kernel arrival time of the first byte of the request in ``buf``
        self.out = b""  # bytes the socket would not take yet
        self.busy = False
        server.loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            data, anc, _, _ = self.sock.recvmsg(65536, ANC_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close()
            return
        stamp = _kernel_time(anc)
        if stamp is None:
            self.server.fallback_stamps += 1
            stamp = time.time()
        else:
            self.server.kernel_stamps += 1
        if not self.buf:
            self.rx = stamp
        self.buf += data
        self._parse()

    def _parse(self) -> None:
        if self.busy:
            return
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buf[:end].decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if len(self.buf) < end + 4 + length:
            return
        body = self.buf[end + 4 : end + 4 + length]
        self.buf = self.buf[end + 4 + length :]
        method, path = head[0].split(" ")[:2]
        rx, self.rx = self.rx, time.time()
        if method == "GET" and path.startswith("/timings"):
            srv = self.server
            payload = json.dumps(
                {
                    "records": srv.records,
                    "kernel_stamps": srv.kernel_stamps,
                    "fallback_stamps": srv.fallback_stamps,
                }
            ).encode()
            srv.records = []
            self._send(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (len(payload), payload)
            )
            return
        self._stream(rx, json.loads(body or b"{}"))

    def _stream(self, rx: float, req: dict) -> None:
        server, loop = self.server, self.server.loop
        tokens = int(req.get("max_tokens") or 16)
        rec = {"received": rx, "handled": time.time(), "chunks": [], "end": None}
        self.busy = True
        self._send(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            + _chunk(
                b'{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,'
                b'"delta":{"role":"assistant","content":""}}]}'
            )
        )
        # the schedule is in time.time() (the kernel's clock); the loop's timers run on monotonic
        offset = loop.time() - time.time()

        def emit(i: int) -> None:
            piece = _chunk(
                b'{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,'
                b'"delta":{"content":"tok "}}]}'
            )
            if i == tokens - 1:
                piece += _chunk(
                    b'{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,'
                    b'"delta":{},"finish_reason":"length"}]}'
                )
                piece += _chunk(
                    b'{"id":"x","object":"chat.completion.chunk","choices":[],"usage":'
                    b'{"prompt_tokens":8,"completion_tokens":%d,"total_tokens":%d}}' % (tokens, tokens + 8)
                )
                piece += _chunk(b"[DONE]") + b"0\r\n\r\n"
            self._send(piece)
            now = time.time()
            rec["chunks"].append(now)
            if i == tokens - 1:
                rec["end"] = now
                server.records.append(rec)
                self.busy = False
                if self.buf:
                    self._parse()

        for i in range(tokens):
            loop.call_at(rx + server.ttft + i * server.itl + offset, emit, i)

    def _send(self, data: bytes) -> None:
        if self.out:
            self.out += data
            return
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._close()
            return
        if sent < len(data):
            self.out = data[sent:]
            self.server.loop.add_writer(self.sock.fileno(), self._flush)

    def _flush(self) -> None:
        try:
            sent = self.sock.send(self.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close()
            return
        self.out = self.out[sent:]
        if not self.out:
            self.server.loop.remove_writer(self.sock.fileno())

    def _close(self) -> None:
        loop = self.server.loop
        try:
            loop.remove_reader(self.sock.fileno())
            loop.remove_writer(self.sock.fileno())
        except (ValueError, OSError):
            pass
        self.sock.close()


def serve(host: str, port: int, ttft: float, itl: float, cpu: int | None = None) -> None:
    """Run the server until killed (``cpu``: pin this process to that core)."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    Server(ttft, itl).listen(host, port)
    loop.run_forever()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8801)
    ap.add_argument("--ttft", type=float, default=0.05)
    ap.add_argument("--itl", type=float, default=0.01)
    ap.add_argument("--cpu", type=int, default=None)
    a = ap.parse_args()
    serve(a.host, a.port, a.ttft, a.itl, a.cpu)


if __name__ == "__main__":
    main()
