"""OpenAI-compatible mock model server (``evalscope mock-server``) for tests, benchmarks and demos.

See docs/mock-server.md for the wire formats, the token counting rule and the fault flags.
"""

from evalscope.mock.app import create_app
from evalscope.mock.config import MockConfig, ScriptedAnswer, load_answers
from evalscope.mock.server import MockServer
from evalscope.mock.tokenizer import count_tokens, split_tokens

__all__ = [
    "MockConfig",
    "MockServer",
    "ScriptedAnswer",
    "count_tokens",
    "create_app",
    "load_answers",
    "split_tokens",
]
