"""OpenAI-compatible mock model server (``evalscope mock-server``) for tests, benchmarks and demos.

See docs/mock-server.md for the wire formats, the token counting rule and the fault flags.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evalscope.mock.config import MockConfig, ScriptedAnswer, load_answers
from evalscope.mock.tokenizer import count_tokens, split_tokens

if TYPE_CHECKING:
    from evalscope.mock.app import create_app
    from evalscope.mock.server import MockServer

__all__ = [
    "MockConfig",
    "MockServer",
    "ScriptedAnswer",
    "count_tokens",
    "create_app",
    "load_answers",
    "split_tokens",
]


def __getattr__(name: str) -> Any:
    # aiohttp is imported only when a server is wanted, so `evalscope --help` stays quick
    if name == "MockServer":
        from evalscope.mock.server import MockServer

        return MockServer
    if name == "create_app":
        from evalscope.mock.app import create_app

        return create_app
    raise AttributeError(f"module 'evalscope.mock' has no attribute {name!r}")
