"""The per-request record: every timestamp the metrics need, and nothing computed yet."""

from __future__ import annotations

from array import array


class Record:
    """One request as measured by the client.

    Times are ``time.perf_counter()`` seconds (CLOCK_MONOTONIC on Linux, so comparable across the
    worker processes of one machine). ``intended`` is when the schedule wanted the request sent;
    ``start`` when it was; ``out_times`` the arrival time of every chunk that carried output.
    ``reason`` is None for a success, else the failure label (``http_429``, ``timeout``, ...).
    """

    __slots__ = ("index", "prompt_index", "intended", "start", "end", "status", "reason", "error",
                 "out_times", "out_parts", "prompt_tokens", "completion_tokens", "finish_reason", "text",
                 "worker")

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

    def __getstate__(self) -> tuple:
        return tuple(getattr(self, s) for s in self.__slots__)

    def __setstate__(self, state: tuple) -> None:
        for s, v in zip(self.__slots__, state, strict=True):
            setattr(self, s, v)

    @property
    def ok(self) -> bool:
        return self.reason is None
