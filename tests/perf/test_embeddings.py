"""Embeddings load tests (``--api embedding``) against the mock's ``/v1/embeddings``."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from evalscope.client.adapters import make_adapter
from evalscope.client.types import GenerationRequest
from evalscope.mock.embeddings import embed
from evalscope.mock.tokenizer import count_tokens

TEXTS = ["the quick brown fox", "jumps over, the lazy dog!", "embeddings are vectors", "one more text"]


@pytest.fixture
def texts_file(tmp_path: Path) -> Path:
    p = tmp_path / "texts.txt"
    p.write_text("\n".join(TEXTS) + "\n\n", encoding="utf-8")
    return p


def test_adapter_on_a_recorded_body():
    a = make_adapter("embedding", "http://h/v1/chat/completions", "e5")
    assert a.endpoint(False) == "http://h/v1/embeddings"
    body = a.body(GenerationRequest(prompt="hello world", stream=False, extra_body={"dimensions": 8}))
    assert body == {"model": "e5", "input": "hello world", "dimensions": 8}
    assert a.count_inputs(body) == 1 and a.count_inputs({"input": ["a", "b", "c"]}) == 3
    # a body as OpenAI's API answers it (vectors shortened)
    recorded = {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.0023, -0.0093, 0.0158]}],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 5, "total_tokens": 5},
    }
    d = a.parse_body(recorded)
    assert d.prompt_tokens == 5 and d.completion_tokens is None and d.text == ""
    assert a.parse_body({"data": [], "usage": {"total_tokens": 7}}).prompt_tokens == 7
    with pytest.raises(ValueError, match="data"):
        a.parse_body({"choices": []})


def test_mock_embeddings_are_unit_vectors_with_usage(mock_server):
    srv = mock_server(embedding_dim=12)
    r = httpx.post(srv.url + "/v1/embeddings", json={"model": "m", "input": TEXTS[:2]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [d["index"] for d in body["data"]] == [0, 1]
    for d, t in zip(body["data"], TEXTS[:2], strict=True):
        assert d["embedding"] == pytest.approx(embed(t, 12))
        assert math.isclose(math.fsum(x * x for x in d["embedding"]), 1.0, rel_tol=1e-9)
    assert body["usage"]["prompt_tokens"] == count_tokens(TEXTS[0]) + count_tokens(TEXTS[1]) == 11
    bad = httpx.post(srv.url + "/v1/embeddings", json={"model": "m", "input": [1, 2]})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "input"


def _summary(root: Path) -> dict:
    return json.loads(next(root.rglob("benchmark_summary.json")).read_text())


def _percentiles(root: Path) -> dict:
    return json.loads(next(root.rglob("benchmark_percentile.json")).read_text())


def test_cli_embedding_run(mock_server, tmp_path, texts_file):
    srv = mock_server(embedding_dim=8)
    out = subprocess.run(
        [sys.executable, "-m", "evalscope", "perf", "--model", "e", "--url", srv.url, "--api", "embedding"]
        + ["--dataset", "embedding", "--dataset-path", str(texts_file), "--number", "8", "--parallel", "2"]
        + ["--outputs-dir", str(tmp_path / "o"), "--sleep-interval", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    s = _summary(tmp_path / "o")
    assert s["Total requests"] == s["Succeed requests"] == 8
    assert s["Average inputs per request"] == 1
    # each text sent twice: the mean of the mock's usage counts
    assert s["Average input tokens per request"] == sum(count_tokens(t) for t in TEXTS) / 4
    assert s["Input throughput (inputs/s)"] > 0 and s["Input token throughput (tok/s)"] > 0
    assert s["Input token throughput (tok/s)"] == pytest.approx(
        s["Input throughput (inputs/s)"] * s["Average input tokens per request"], rel=1e-3
    )
    for key in ("Average time to first token (s)", "Average time per output token (s)"):
        assert s[key] is None  # the key stays (the chat summary's keys), with no value
    assert s["Average inter-token latency (s)"] is None and s["Output token throughput (tok/s)"] is None
    p = _percentiles(tmp_path / "o")
    assert set(p["TTFT (s)"]) == {None} and None not in p["Latency (s)"]
    stats = srv.stats()
    assert stats["by_path"] == {"/v1/embeddings": 8}
    assert stats["prompts"] == {t: 2 for t in TEXTS}


def test_random_embedding_exact_lengths(mock_server, tmp_path, word_tokenizer):
    from evalscope.perf.api import run_perf

    srv = mock_server()
    run = run_perf(
        {
            "model": "e",
            "url": srv.url,
            "api": "openai_embedding",
            "dataset": "random_embedding",
            "tokenizer_path": str(word_tokenizer),
            "min_prompt_length": 5,
            "max_prompt_length": 5,
            "number": 6,
            "parallel": 3,
            "outputs_dir": str(tmp_path / "o"),
            "sleep_interval": 0,
        }
    )
    assert run is not None
    s = _summary(tmp_path / "o")
    assert s["Succeed requests"] == 6 and s["Average input tokens per request"] == 5


def test_embedding_dataset_needs_the_embedding_api(tmp_path, texts_file):
    out = subprocess.run(
        [sys.executable, "-m", "evalscope", "perf", "--model", "e", "--url", "http://127.0.0.1:9"]
        + ["--dataset", "embedding", "--dataset-path", str(texts_file), "--outputs-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "--api" in out.stderr and "Traceback" not in out.stderr
