"""Outcomes shared by both engines and everything that runs them (CLI, job workers, the service).

Kept free of heavy imports: the job worker and the CLIs import it just to recognise the exception.
"""

from __future__ import annotations

from typing import Any


class RunFailed(RuntimeError):
    """A run that produced nothing usable: the model could not be reached, or every request failed.

    ``message`` says why and names the model URL; ``output_dir`` is the run folder when one was
    written (else None); ``result`` is what the engine would have returned (reports, warnings,
    error counts), or None when the run stopped before asking anything.  The CLIs exit non-zero on
    it, a job ends ``failed`` keeping ``result``, and the service's blocking routes answer 500.
    """

    def __init__(
        self, message: str, output_dir: str | None = None, result: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.output_dir = output_dir
        self.result = result


def error_counts(total: int, reasons: list[str]) -> dict[str, Any]:
    """``{"total": n, "failed": k, "by_reason": {"http_500": k, ...}}``: one shape for eval and perf."""
    by_reason: dict[str, int] = {}
    for r in reasons:
        by_reason[r] = by_reason.get(r, 0) + 1
    return {"total": total, "failed": len(reasons), "by_reason": by_reason}
