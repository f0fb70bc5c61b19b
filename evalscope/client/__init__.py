"""Model API clients shared by eval and perf.

``ModelClient`` is the retrying client for eval; the adapters in ``evalscope.client.adapters`` and
the ``StreamAccumulator``/``SSEDecoder`` are what the perf hot loop uses directly.
"""

from evalscope.client.adapters import API_NAMES, Adapter, make_adapter
from evalscope.client.errors import ApiError, StreamError, classify_exception
from evalscope.client.model_client import ModelClient
from evalscope.client.sse import SSEDecoder
from evalscope.client.stream import StreamAccumulator
from evalscope.client.types import Completion, Delta, GenerationRequest, Usage

__all__ = ["API_NAMES", "Adapter", "ApiError", "Completion", "Delta", "GenerationRequest", "ModelClient",
           "SSEDecoder", "StreamAccumulator", "StreamError", "Usage", "classify_exception", "make_adapter"]
