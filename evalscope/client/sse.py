"""The one server-sent-events reader used by every adapter, in eval and in perf.

It only frames events: it splits bytes into events at blank lines, joins each event's ``data:``
lines and hands the payload back. Every protocol we speak puts a self-describing JSON object in
``data``, so ``event:``/``id:`` fields and comment lines are ignored.

The common case (one ``data: ...`` line per event, ``\\n`` line ends) is a single ``split`` per
network chunk plus a slice per event; anything else takes the line-by-line path.
"""

from __future__ import annotations


def _event_data(event: bytes) -> bytes | None:
    """The data of one event (its lines joined by ``\\n``), or None when it has no data line."""
    data = [line[5:] for line in event.split(b"\n") if line[:5] == b"data:"]
    if not data:
        return None
    data = [d[1:] if d[:1] == b" " else d for d in data]
    return data[0] if len(data) == 1 else b"\n".join(data)


class SSEDecoder:
    """Incremental SSE framer: ``feed`` bytes as they arrive, get the completed events' data."""

    __slots__ = ("pending",)  # bytes of an event not yet complete

    def __init__(self) -> None:
        self.pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        """Consume ``chunk``; return the ``data`` payload of every event it completes, in order."""
        if self.pending:
            chunk = self.pending + chunk
        if b"\r" in chunk:
            if chunk[-1:] == b"\r":  # a CRLF may be split across two network chunks
                self.pending = chunk
                return []
            chunk = chunk.replace(b"\r\n", b"\n")
        parts = chunk.split(b"\n\n")
        self.pending = parts.pop()
        if len(parts) == 1:  # the usual network chunk: one plain ``data:`` event
            ev = parts[0]
            if ev[:6] == b"data: " and b"\n" not in ev:
                return [ev[6:]]
        else:
            out = [ev[6:] for ev in parts if ev[:6] == b"data: " and b"\n" not in ev]
            if len(out) == len(parts):
                return out
        out = []
        for ev in parts:
            if ev[:6] == b"data: " and b"\n" not in ev:
                out.append(ev[6:])
            elif ev:
                data = _event_data(ev.strip(b"\n"))
                if data is not None:
                    out.append(data)
        return out

    def flush(self) -> list[bytes]:
        """End of stream: return an event left without its closing blank line, if any."""
        rest, self.pending = self.pending, b""
        rest = rest.replace(b"\r\n", b"\n").strip(b"\n")
        if not rest:
            return []
        data = _event_data(rest)
        return [data] if data is not None else []
