"""``length_constraints:*``: sentence, word and paragraph counts."""

from __future__ import annotations

import re

from evalscope.eval.ifeval.registry import Relation, checker, compare
from evalscope.eval.ifeval.text import count_sentences, count_words

_FIRST_WORD_STOP = frozenset(".,?!'\"")


@checker("length_constraints:number_sentences")
def number_sentences(text: str, *, num_sentences: int, relation: Relation) -> bool:
    """The number of sentences compared with ``num_sentences``."""
    return compare(count_sentences(text), relation, num_sentences)


@checker("length_constraints:number_words")
def number_words(text: str, *, num_words: int, relation: Relation) -> bool:
    """The number of words (runs of word characters) compared with ``num_words``."""
    return compare(count_words(text), relation, num_words)


@checker("length_constraints:number_paragraphs")
def number_paragraphs(text: str, *, num_paragraphs: int) -> bool:
    """Exactly ``num_paragraphs`` paragraphs separated by the markdown divider ``***``; an empty
    paragraph is allowed only before the first or after the last divider."""
    parts = re.split(r"\s?\*\*\*\s?", text)
    count = len(parts)
    for i, part in enumerate(parts):
        if not part.strip():
            if i in (0, len(parts) - 1):
                count -= 1
            else:
                return False
    return count == num_paragraphs


@checker("length_constraints:nth_paragraph_first_word")
def nth_paragraph_first_word(text: str, *, num_paragraphs: int, nth_paragraph: int, first_word: str) -> bool:
    """Exactly ``num_paragraphs`` non-empty paragraphs (separated by a blank line, ``\\n\\n``), and
    paragraph ``nth_paragraph`` (1-based) starts with ``first_word`` (case and trailing punctuation
    ignored)."""
    parts = text.split("\n\n")
    count = sum(1 for p in parts if p.strip())
    if nth_paragraph > count:
        return False
    # the original indexes the split list itself, empty pieces included
    paragraph = parts[nth_paragraph - 1].strip()
    if not paragraph:
        return False
    word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
    found = ""
    for ch in word:
        if ch in _FIRST_WORD_STOP:
            break
        found += ch.lower()
    return count == num_paragraphs and found == first_word.lower()
