"""Small fixtures for the perf tests: prompt files (the offline word tokenizer is in tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


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
