"""PerfArguments: EvalScope's names and defaults, list pairing, URL normalisation, clear errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from evalscope.perf import PerfArguments


def test_defaults_follow_evalscope():
    a = PerfArguments(model="m", url="http://h:1/v1/chat/completions")
    assert a.number == [1000] and a.parallel == [1] and a.rate == -1
    assert a.max_tokens == 2048 and a.temperature == 0.0 and a.stream is True
    assert a.dataset == "openqa" and a.outputs_dir == "outputs" and a.sleep_interval == 5
    assert a.api == "openai" and a.api_key is None


@pytest.mark.parametrize(
    "api,url,expected",
    [
        ("openai", "http://h:1", "http://h:1/v1/chat/completions"),
        ("openai", "http://h:1/v1", "http://h:1/v1/chat/completions"),
        ("openai", "http://h:1/v1/completions", "http://h:1/v1/completions"),
        ("anthropic", "http://h:1", "http://h:1/v1/messages"),
        ("gemini", "http://h:1", "http://h:1/v1beta/models/m:streamGenerateContent?alt=sse"),
        ("dashscope", "http://h:1", "http://h:1/api/v1/services/aigc/text-generation/generation"),
    ],
)
def test_bare_url_gets_path(api, url, expected):
    assert PerfArguments(model="m", url=url, api=api).url == expected


def test_lists_pair_and_broadcast():
    a = PerfArguments(model="m", url="http://h", number=["10 20"], parallel=[1, 2])
    assert a.pairs == [(1, 10), (2, 20)]
    assert PerfArguments(model="m", url="http://h", number=5, parallel=[1, 2, 4]).pairs == [
        (1, 5),
        (2, 5),
        (4, 5),
    ]
    with pytest.raises(ValidationError, match="paired element-wise"):
        PerfArguments(model="m", url="http://h", number=[1, 2, 3], parallel=[1, 2])


@pytest.mark.parametrize(
    "field,value,needle",
    [
        ("rate", 0, "positive number"),
        ("parallel", [0], "not a positive"),
        ("slo", "ttft", "name:milliseconds"),
        ("extra_args", "{bad", "not valid JSON"),
        ("dataset", "nope", "unknown dataset"),
        ("url", "ftp://x", "http"),
    ],
)
def test_bad_values_name_the_field(field, value, needle):
    with pytest.raises(ValidationError, match=needle):
        PerfArguments(model="m", **({"url": "http://h"} | {field: value}))


def test_secrets_are_removed_from_public_dict_and_repr():
    a = PerfArguments(
        model="m", url="http://h", api_key="sk-123", headers=["Authorization=Bearer sk-123", "X-Team=a"]
    )
    d = a.public_dict()
    assert "api_key" not in d and d["headers"] == {"Authorization": "***", "X-Team": "a"}
    assert "sk-123" not in repr(a) and "sk-123" not in str(d)


def test_cli_bad_flag_is_exit_2_with_flag_name(evalscope_cli):
    out = evalscope_cli(
        "perf",
        "--model",
        "m",
        "--url",
        "http://h",
        "--number",
        "1",
        "2",
        "3",
        "--parallel",
        "1",
        "2",
        "--rate",
        "0",
    )
    assert out.returncode == 2
    assert "error: --rate:" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "extra, flag",
    [
        (["--dataset", "random"], "--tokenizer-path"),
        (["--dataset", "custom"], "--dataset-path"),
        (["--number", "1", "2", "3", "--parallel", "1", "2"], "--number"),
    ],
)
def test_cli_cross_field_errors_name_the_flag(extra, flag, evalscope_cli):
    out = evalscope_cli("perf", "--model", "m", "--url", "http://h", *extra)
    assert out.returncode == 2
    assert f"error: {flag}:" in out.stderr and "Traceback" not in out.stderr, out.stderr


@pytest.mark.parametrize(
    ("api", "url", "dataset", "expected"),
    [
        ("openai", "http://h?key=x", "openqa", "http://h/v1/chat/completions?key=x"),
        ("openai", "http://h:8000/?key=x", "openqa", "http://h:8000/v1/chat/completions?key=x"),
        ("openai", "http://h/v1?key=x", "openqa", "http://h/v1/chat/completions?key=x"),
        ("openai", "http://h?key=x", "speed_benchmark", "http://h/v1/completions?key=x"),
        (
            "gemini",
            "http://h?key=x",
            "openqa",
            "http://h/v1beta/models/m:streamGenerateContent?alt=sse&key=x",
        ),
    ],
)
def test_a_key_in_the_query_stays_after_the_appended_path(api, url, dataset, expected):
    from evalscope.perf.arguments import normalize_url

    assert normalize_url(api, url, "m", True, dataset) == expected
