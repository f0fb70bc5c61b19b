"""The per-request record: every timestamp the metrics need, and nothing computed yet.

A :class:`RequestRecord` is created once per request on the load generator's hot path, so it stays a
plain slotted class (no pydantic, no validation).  It crosses process boundaries by pickle (the
client processes of one machine) and machine boundaries as JSON columns (:func:`dump_records` /
:func:`load_records`, distributed perf); both name every field explicitly, so adding or reordering a
field never mismatches values.
"""

from __future__ import annotations

from array import array
from typing import Any

#: every field of a record, by name (what pickling and the JSON columns carry)
FIELDS = (
    "index",
    "prompt_index",
    "intended",
    "start",
    "end",
    "status",
    "reason",
    "error",
    "out_times",
    "out_parts",
    "prompt_tokens",
    "completion_tokens",
    "finish_reason",
    "text",
    "worker",
    "inputs",
    "session",
    "turn",
    "ramp",
)


class RequestRecord:
    """One request as measured by the client.

    Times are ``time.perf_counter()`` seconds (CLOCK_MONOTONIC on Linux, so comparable across the
    client processes of one machine). ``intended`` is when the schedule wanted the request sent;
    ``start`` when it was; ``out_times`` the arrival time of every chunk that carried output.
    ``reason`` is None for a success, else the failure label (``http_429``, ``timeout``, ...).
    ``worker`` is the shard (client process or distributed shard) that sent it. In a multi-turn run
    ``session`` and ``turn`` say which session and which of its turns (from 1) the request was.
    """

    __slots__ = FIELDS

    def __init__(self, index: int, prompt_index: int, intended: float, start: float) -> None:
        self.index = index
        self.prompt_index = prompt_index
        self.intended = intended
        self.start = start
        self.end = start
        self.status = 0
        self.reason: str | None = None
        self.error: str | None = None
        self.out_times: array = array("d")
        self.out_parts: list[str] = []
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.finish_reason: str | None = None
        self.text = ""
        self.worker = 0
        self.inputs: int | None = None  # texts sent (embeddings); None for generation
        self.session: int | None = None  # multi-turn: the session (conversation) this request is a turn of
        self.turn: int | None = None  # multi-turn: the turn's number in its session, from 1
        self.ramp = False  # sent during --ramp-up: kept in the records, left out of the metrics

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)

    @property
    def ok(self) -> bool:
        return self.reason is None


def dump_records(records: list[RequestRecord]) -> dict[str, list[Any]]:
    """JSON-ready columns ``{field: [value per record]}`` (never pickle: data read back from a shared
    store must not be able to run code)."""
    columns: dict[str, list[Any]] = {name: [getattr(r, name) for r in records] for name in FIELDS}
    columns["out_times"] = [list(t) for t in columns["out_times"]]
    return columns


def load_records(columns: dict[str, list[Any]]) -> list[RequestRecord]:
    """The records of :func:`dump_records`' columns (fields missing from the columns keep their defaults)."""
    names = [name for name in FIELDS if name in columns]
    n = len(columns[names[0]]) if names else 0
    records = []
    for i in range(n):
        rec = RequestRecord(0, 0, 0.0, 0.0)
        for name in names:
            setattr(rec, name, columns[name][i])
        rec.out_times = array("d", rec.out_times)
        records.append(rec)
    return records


def rebase(records: list[RequestRecord], t0: float) -> None:
    """Make every timestamp relative to ``t0`` (in place): clocks of different machines are not
    comparable, times relative to a common start are."""
    for r in records:
        r.intended -= t0
        r.start -= t0
        r.end -= t0
        r.out_times = array("d", (t - t0 for t in r.out_times))
