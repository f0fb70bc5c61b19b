"""The one server-sent-events reader used by every adapter, in eval and in perf.

It only frames events: it splits bytes into lines, joins the ``data:`` lines of each event and
hands the payload back. Every protocol we speak puts a self-describing JSON object in ``data``, so
``event:``/``id:`` fields and comment lines are ignored.
"""

from __future__ import annotations


class SSEDecoder:
    """Incremental SSE framer: ``feed`` bytes as they arrive, get the completed events' data."""

    __slots__ = ("_buf", "_data")

    def __init__(self) -> None:
        self._buf = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        """Consume ``chunk``; return the ``data`` payload of every event it completes, in order."""
        buf = self._buf + chunk if self._buf else chunk
        out: list[bytes] = []
        start = 0
        find = buf.find
        while True:
            nl = find(b"\n", start)
            if nl < 0:
                break
            line = buf[start:nl]
            start = nl + 1
            if line[-1:] == b"\r":
                line = line[:-1]
            if not line:
                data = self._data
                if data:
                    out.append(data[0] if len(data) == 1 else b"\n".join(data))
                    self._data = []
                continue
            if line[:5] == b"data:":
                value = line[5:]
                if value[:1] == b" ":
                    value = value[1:]
                self._data.append(value)
        self._buf = buf[start:] if start < len(buf) else b""
        return out

    def flush(self) -> list[bytes]:
        """End of stream: return an event left without its closing blank line, if any."""
        out = self.feed(b"\n") if self._buf else []
        if self._data:
            data = self._data
            out.append(data[0] if len(data) == 1 else b"\n".join(data))
            self._data = []
        return out
