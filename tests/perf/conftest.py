"""Small fixtures for the perf tests: prompt files and a tiny offline tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

WORDS = [f"w{i}" for i in range(200)]


@pytest.fixture
def prompts_file(tmp_path: Path) -> Path:
    """A line_by_line prompt file of four prompts."""
    p = tmp_path / "prompts.txt"
    p.write_text("first prompt here\nsecond prompt\n\nthird one please\nfourth\n", encoding="utf-8")
    return p


@pytest.fixture
def openqa_file(tmp_path: Path) -> Path:
    """A local open_qa.jsonl in HC3's schema."""
    p = tmp_path / "open_qa.jsonl"
    rows = [
        {"question": f"Question number {i} about things?", "human_answers": [], "chatgpt_answers": []}
        for i in range(10)
    ]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return p


@pytest.fixture
def word_tokenizer(tmp_path: Path) -> Path:
    """A WordLevel tokenizer over ``w0..w199`` whose tokens the mock also counts one each."""
    from tokenizers import Tokenizer, decoders
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    vocab = {"[UNK]": 0, **{w: i + 1 for i, w in enumerate(WORDS)}}
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    tok.add_special_tokens(["[UNK]"])
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    d = tmp_path / "tok"
    d.mkdir()
    tok.save(str(d / "tokenizer.json"))
    return d
