"""``change_case:*``: all capitals, all lower case (both in English), and capitalised words."""

from __future__ import annotations

from evalscope.eval.ifeval.registry import Relation, checker, compare
from evalscope.eval.ifeval.text import detect_language, word_tokens


def _english(text: str) -> bool:
    # A text langdetect cannot classify counts as English, as in the original.
    found = detect_language(text)
    return found is None or found == "en"


@checker("change_case:english_capital")
def english_capital(text: str) -> bool:
    """Every cased letter is a capital (``str.isupper``) and the text is English."""
    return text.isupper() and _english(text)


@checker("change_case:english_lowercase")
def english_lowercase(text: str) -> bool:
    """Every cased letter is lower case (``str.islower``) and the text is English."""
    return text.islower() and _english(text)


@checker("change_case:capital_word_frequency")
def capital_word_frequency(text: str, *, capital_frequency: int, capital_relation: Relation) -> bool:
    """The number of all-capital words (NLTK word tokens) compared with ``capital_frequency``."""
    return compare(sum(1 for w in word_tokens(text) if w.isupper()), capital_relation, capital_frequency)
