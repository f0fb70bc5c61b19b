"""Language detection and sentence/word splitting for the checkers, each from a kept library.

- Language: ``langdetect`` (the port of Google's language-detection that the original IFEval uses;
  its language profiles ship inside the wheel, so it works offline). Seeded (``DetectorFactory.seed
  = 0``) so a text gets the same answer on every run; the original leaves it unseeded.
- Sentences: ``pysbd`` (rule-based, works from its wheel). The original uses NLTK's Punkt English
  model, a data download that is not available offline; pysbd is the closest offline splitter.
  Known difference: pysbd also ends a sentence at a line break, where Punkt needs punctuation, so
  unpunctuated lines (markdown headings, bullets) count as sentences here.
- Words: NLTK's ``RegexpTokenizer(r"\\w+")`` (the original's ``count_words``) and NLTK's Treebank
  word tokenizer (the original's ``word_tokenize``, for capitalised words) with ``preserve_line``:
  neither needs a data download. Skipping Punkt's sentence split only changes how a sentence's
  final period is tokenised, which does not change which words are all capitals.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_local = threading.local()
_langdetect_ready = False


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code langdetect gives ``text``, or None when it cannot tell (no letters)."""
    global _langdetect_ready
    from langdetect import DetectorFactory, LangDetectException, detect
    from langdetect.detector_factory import init_factory

    if not _langdetect_ready:
        with _lock:  # langdetect loads its profiles into a global on first use, without a lock
            DetectorFactory.seed = 0
            init_factory()
            _langdetect_ready = True
    try:
        return str(detect(text))
    except LangDetectException:
        return None


def _segmenter():
    seg = getattr(_local, "segmenter", None)
    if seg is None:  # one per thread: a Segmenter keeps the text it works on
        import pysbd

        seg = _local.segmenter = pysbd.Segmenter(language="en", clean=False)
    return seg


def count_sentences(text: str) -> int:
    """Sentences in ``text`` (pysbd), blank segments not counted."""
    if not text.strip():
        return 0
    return sum(1 for s in _segmenter().segment(text) if s.strip())


def count_words(text: str) -> int:
    """Runs of word characters (NLTK ``RegexpTokenizer(r"\\w+")``, as the original counts words)."""
    from nltk.tokenize import RegexpTokenizer

    return len(RegexpTokenizer(r"\w+").tokenize(text))


def word_tokens(text: str) -> list[str]:
    """NLTK's Treebank word tokens (hyphenated words stay one token; "DON'T" is "DO", "N'T")."""
    from nltk.tokenize import word_tokenize

    return list(word_tokenize(text, preserve_line=True))
