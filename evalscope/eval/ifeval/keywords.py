"""``keywords:*``: words that must appear, how often, words that must not, and letter counts.

Keywords are matched as literal text, case-insensitively (the original passes them to ``re`` as
patterns; no keyword in the dataset holds a pattern character, so the two agree on it).
"""

from __future__ import annotations

import re
from collections import Counter

from evalscope.eval.ifeval.registry import Relation, checker, compare


@checker("keywords:existence")
def existence(text: str, *, keywords: list[str]) -> bool:
    """Every keyword occurs somewhere (also inside a longer word)."""
    return all(re.search(re.escape(k), text, flags=re.IGNORECASE) for k in keywords)


@checker("keywords:frequency")
def frequency(text: str, *, keyword: str, frequency: int, relation: Relation) -> bool:
    """The keyword's occurrences (also inside longer words) compared with ``frequency``."""
    found = len(re.findall(re.escape(keyword.strip()), text, flags=re.IGNORECASE))
    return compare(found, relation, frequency)


@checker("keywords:forbidden_words")
def forbidden_words(text: str, *, forbidden_words: list[str]) -> bool:
    """None of the words occurs as a whole word."""
    return not any(re.search(rf"\b{re.escape(w)}\b", text, flags=re.IGNORECASE) for w in forbidden_words)


@checker("keywords:letter_frequency")
def letter_frequency(text: str, *, letter: str, let_frequency: int, let_relation: Relation) -> bool:
    """How often one letter occurs, either case, compared with ``let_frequency``."""
    letter = letter.strip().lower()
    if len(letter) != 1:
        raise ValueError(f"letter must be one character, got {letter!r}")
    return compare(Counter(text.lower())[letter], let_relation, let_frequency)
