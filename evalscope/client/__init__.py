"""Model API clients shared by eval and perf.

``ModelClient`` is the retrying client for eval; the adapters in ``evalscope.client.adapters`` and
the ``StreamAccumulator``/``SSEDecoder`` are what the perf hot loop uses directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalscope._lazy import lazy_exports

if TYPE_CHECKING:
    from evalscope.client.adapters import API_NAMES, Adapter, make_adapter
    from evalscope.client.errors import ApiError, StreamError, classify_exception
    from evalscope.client.model_client import ModelClient
    from evalscope.client.sse import SSEDecoder
    from evalscope.client.stream import StreamAccumulator
    from evalscope.client.types import Completion, Delta, GenerationRequest, Usage

__all__ = [
    "API_NAMES",
    "Adapter",
    "ApiError",
    "Completion",
    "Delta",
    "GenerationRequest",
    "ModelClient",
    "SSEDecoder",
    "StreamAccumulator",
    "StreamError",
    "Usage",
    "classify_exception",
    "make_adapter",
]
__getattr__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(("API_NAMES", "Adapter", "make_adapter"), "evalscope.client.adapters"),
        **dict.fromkeys(("ApiError", "StreamError", "classify_exception"), "evalscope.client.errors"),
        **dict.fromkeys(("ModelClient",), "evalscope.client.model_client"),
        **dict.fromkeys(("SSEDecoder",), "evalscope.client.sse"),
        **dict.fromkeys(("StreamAccumulator",), "evalscope.client.stream"),
        **dict.fromkeys(("Completion", "Delta", "GenerationRequest", "Usage"), "evalscope.client.types"),
    },
)
