"""The mock server's deterministic tokenizer.

Rule (documented in docs/mock-server.md so tests can predict exact ``usage`` numbers):

* a run of ASCII letters, digits and underscores (``[A-Za-z0-9_]+``) is one token;
* every other non-whitespace character (punctuation, each CJK character, each emoji code point,
  each accented letter) is one token;
* whitespace is not a token: it is glued to the front of the token that follows it (trailing
  whitespace is glued to the last token), so joining the pieces gives back the text exactly.

Because a word run is matched greedily, any prefix made of whole pieces re-tokenizes to the same
pieces; that is what lets the server cut a reply at ``max_tokens`` and still report
``completion_tokens == count_tokens(text_sent)``.
"""

from __future__ import annotations

import re

_PIECE = re.compile(r"\s*(?:[A-Za-z0-9_]+|[^\sA-Za-z0-9_])")
_TOKEN = re.compile(r"[A-Za-z0-9_]+|[^\sA-Za-z0-9_]")


def count_tokens(text: str) -> int:
    """Number of tokens in ``text`` under the mock's documented rule."""
    if not text:
        return 0
    return len(_TOKEN.findall(text))


def split_tokens(text: str) -> list[str]:
    """Split ``text`` into token pieces whose concatenation is exactly ``text``.

    Whitespace-only text yields no pieces (it has no tokens), so it cannot be emitted.
    """
    if not text:
        return []
    pieces = _PIECE.findall(text)
    if pieces:
        consumed = sum(len(p) for p in pieces)
        if consumed < len(text):  # trailing whitespace
            pieces[-1] += text[consumed:]
    return pieces
