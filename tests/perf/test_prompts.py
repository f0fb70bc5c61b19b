"""Prompt sources, length filters, templates and exact-length random prompts."""

from __future__ import annotations

import json

import pytest

from evalscope.mock import count_tokens
from evalscope.perf import PerfArguments
from evalscope.perf.prompts import PromptSourceError, Tokenizer, load_prompts


def _args(**kw):
    return PerfArguments(model="m", url="http://h", **kw)


def test_line_by_line_skips_blank_lines(prompts_file):
    items = load_prompts(_args(dataset="line_by_line", dataset_path=str(prompts_file)))
    assert [i.prompt for i in items] == ["first prompt here", "second prompt", "third one please", "fourth"]


def test_custom_prompt_and_messages(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text(
        json.dumps({"prompt": "hello"})
        + "\n"
        + json.dumps({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]})
        + "\n",
        encoding="utf-8",
    )
    items = load_prompts(_args(dataset="custom", dataset_path=str(p)))
    assert items[0].as_messages() == [{"role": "user", "content": "hello"}]
    assert items[1].as_messages() == [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    p.write_text(json.dumps({"other": 1}) + "\n", encoding="utf-8")
    with pytest.raises(PromptSourceError, match="neither 'prompt' nor 'messages'"):
        load_prompts(_args(dataset="custom", dataset_path=str(p)))


def test_openqa_local_copy_and_offline_error(openqa_file, tmp_path, monkeypatch):
    items = load_prompts(_args(dataset_path=str(openqa_file)))
    assert len(items) == 10 and items[0].prompt.startswith("Question number 0")
    monkeypatch.setenv("EVALSCOPE_OFFLINE", "1")
    monkeypatch.setenv("EVALSCOPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("EVALSCOPE_DATASET_DIR", raising=False)
    # The Python API (and the service) name the field, the CLI the flag; both give the layout that works.
    with pytest.raises(PromptSourceError, match=r"^dataset_path: .*openqa/open_qa\.jsonl") as err:
        load_prompts(_args())
    assert err.value.field == "dataset_path" and "--dataset-path" not in str(err.value)
    from evalscope.fieldnames import cli_style

    with cli_style(), pytest.raises(PromptSourceError, match=r"^--dataset-path: .*Set --dataset-path to"):
        load_prompts(_args())


@pytest.mark.parametrize("folder", ["openqa", "HC3-Chinese", "AI-ModelScope/HC3-Chinese"])
def test_openqa_found_in_the_dataset_dir_by_short_name(openqa_file, tmp_path, monkeypatch, folder):
    """A dataset directory laid out like ../shared/datasets (openqa/open_qa.jsonl) works offline."""
    root = tmp_path / "datasets"
    (root / folder).mkdir(parents=True)
    (root / folder / "open_qa.jsonl").write_bytes(openqa_file.read_bytes())
    monkeypatch.setenv("EVALSCOPE_OFFLINE", "1")
    monkeypatch.setenv("EVALSCOPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EVALSCOPE_DATASET_DIR", str(root))
    assert len(load_prompts(_args())) == 10


def test_length_filter_template_and_fixed_prompt(prompts_file):
    items = load_prompts(
        _args(
            dataset="line_by_line",
            dataset_path=str(prompts_file),
            min_prompt_length=9,
            max_prompt_length=16,
            query_template="Q: {prompt}",
        )
    )
    assert [i.prompt for i in items] == ["Q: second prompt", "Q: fourth"]
    with pytest.raises(PromptSourceError, match="length limits"):
        load_prompts(_args(dataset="line_by_line", dataset_path=str(prompts_file), min_prompt_length=100))
    assert [i.prompt for i in load_prompts(_args(prompt="fixed"))] == ["fixed"]


def test_random_prompts_have_exact_token_lengths(word_tokenizer):
    args = _args(
        dataset="random",
        tokenizer_path=str(word_tokenizer),
        min_prompt_length=20,
        max_prompt_length=40,
        prefix_length=5,
        number=[30],
    )
    items = load_prompts(args, Tokenizer(str(word_tokenizer)))
    tok = Tokenizer(str(word_tokenizer))
    lengths = [tok.count(i.prompt) for i in items]
    assert all(25 <= n <= 45 for n in lengths) and len(set(lengths)) > 3  # prefix + 20..40 (EvalScope)
    assert [i.input_tokens for i in items] == lengths
    assert lengths == [count_tokens(i.prompt) for i in items]  # the mock counts the same words
    prefixes = {" ".join(i.prompt.split()[:5]) for i in items}
    assert len(prefixes) == 1


def test_random_needs_tokenizer():
    with pytest.raises(ValueError, match="tokenizer_path"):
        _args(dataset="random")
