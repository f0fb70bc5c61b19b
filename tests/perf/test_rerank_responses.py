"""Rerank (``--api rerank``) and OpenAI Responses (``--api openai_responses``) load tests against the
mock's ``/v1/rerank`` and ``/v1/responses``, plus servers answering in a wrong shape."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from evalscope.client.adapters import make_adapter
from evalscope.client.errors import StreamError
from evalscope.client.stream import StreamAccumulator
from evalscope.client.types import GenerationRequest
from evalscope.mock.rerank import relevance, rerank_usage
from evalscope.mock.tokenizer import count_tokens

PAIRS = [
    {"query": "the quick fox", "documents": ["a quick brown fox", "the lazy dog", "quick, the fox!"]},
    {"query": "capital of France", "passages": ["Paris is the capital of France.", "Berlin"]},
    {"query": "no documents here", "documents": []},  # skipped: nothing to rank
]
PROMPTS = ["hello there", "what is the answer, please?"]


def _summary(root: Path) -> dict:
    return json.loads(next(root.rglob("benchmark_summary.json")).read_text())


def _percentiles(root: Path) -> dict:
    return json.loads(next(root.rglob("benchmark_percentile.json")).read_text())


@pytest.fixture
def pairs_file(tmp_path: Path) -> Path:
    p = tmp_path / "pairs.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in PAIRS) + "\n", encoding="utf-8")
    return p


@pytest.fixture
def prompts_txt(tmp_path: Path) -> Path:
    p = tmp_path / "prompts.txt"
    p.write_text("\n".join(PROMPTS) + "\n", encoding="utf-8")
    return p


# -- adapters on recorded bodies ---------------------------------------------------------------


def test_rerank_adapter_on_a_vllm_body():
    a = make_adapter("rerank", "http://h/v1", "bge")
    assert a.endpoint(False) == "http://h/v1/rerank"
    assert make_adapter("rerank", "http://h/v1/chat/completions", "m").endpoint(False) == "http://h/v1/rerank"
    msgs = [
        {"role": "query", "content": "q"},
        {"role": "document", "content": "d1"},
        {"role": "document", "content": "d2"},
    ]
    body = a.body(
        GenerationRequest(
            messages=msgs,
            stream=False,
            extra_body={"top_n": 1, "num_documents": 5, "document_length_ratio": 2},
        )
    )
    # random_rerank's settings configure the dataset and never reach the server
    assert body == {"model": "bge", "query": "q", "documents": ["d1", "d2"], "top_n": 1}
    assert a.count_inputs(body) == 2
    # a bare prompt is the query of EvalScope's one fixed document
    plain = a.body(GenerationRequest(prompt="hello", stream=False))
    assert plain["query"] == "hello" and plain["documents"] == ["This is a test document for reranking."]
    recorded = {  # vLLM 0.10 /v1/rerank
        "id": "rerank-7f",
        "model": "BAAI/bge-reranker-base",
        "usage": {"total_tokens": 56},
        "results": [
            {"index": 1, "document": {"text": "d2"}, "relevance_score": 0.99},
            {"index": 0, "document": {"text": "d1"}, "relevance_score": 0.01},
        ],
    }
    d = a.parse_body(recorded)
    assert d.prompt_tokens == 56 and d.completion_tokens is None
    with pytest.raises(ValueError, match="results"):
        a.parse_body({"data": []})
    with pytest.raises(ValueError, match="index"):
        a.parse_body({"results": [{"relevance_score": 1.0}]})


def _stream(adapter, events: list[dict]) -> StreamAccumulator:
    acc = StreamAccumulator(adapter)
    for i, ev in enumerate(events):
        acc.feed(f"event: {ev['type']}\ndata: {json.dumps(ev)}\n\n".encode(), float(i))
    acc.close()
    return acc


def test_responses_adapter_on_openai_events():
    a = make_adapter("openai_responses", "http://h/v1/chat/completions", "gpt")
    assert a.endpoint(True) == "http://h/v1/responses"
    body = a.body(GenerationRequest(prompt="hi", max_tokens=7, temperature=0.0, stop=["x"], min_tokens=3))
    assert body == {"model": "gpt", "input": "hi", "max_output_tokens": 7, "temperature": 0.0, "stream": True}
    chat = a.body(GenerationRequest(messages=[{"role": "user", "content": "yo"}], stream=False))
    assert chat["input"] == [{"role": "user", "content": "yo"}] and chat["stream"] is False
    final = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "Hi there"}]}],
        "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7},
    }
    events = [
        {"type": "response.created", "sequence_number": 0, "response": {**final, "status": "in_progress"}},
        {"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": {}},
        {"type": "response.output_text.delta", "sequence_number": 2, "delta": "Hi"},
        {"type": "response.output_text.delta", "sequence_number": 3, "delta": " there"},
        {"type": "response.output_text.done", "sequence_number": 4, "text": "Hi there"},
        {"type": "response.completed", "sequence_number": 5, "response": final},
    ]
    acc = _stream(a, events)
    assert acc.text == "Hi there" and acc.out_times == [2.0, 3.0]  # TTFT from the first delta
    assert (acc.prompt_tokens, acc.completion_tokens, acc.finish_reason) == (5, 2, "stop")
    d = a.parse_body(final)
    assert (d.text, d.prompt_tokens, d.completion_tokens, d.finish_reason) == ("Hi there", 5, 2, "stop")
    cut = {**final, "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}
    assert a.parse_body(cut).finish_reason == "length"
    failed = {"type": "response.failed", "response": {"status": "failed", "error": {"message": "overloaded"}}}
    with pytest.raises(StreamError, match="overloaded") as err:
        _stream(a, events[:3] + [failed])
    assert err.value.reason == "api_error"
    with pytest.raises(StreamError, match="final event"):  # no response.completed: a cut stream
        _stream(a, events[:4])


# -- the mock ------------------------------------------------------------------------------------


def test_mock_rerank_scores_and_usage(mock_server):
    srv = mock_server()
    docs = PAIRS[0]["documents"]
    r = httpx.post(srv.url + "/v1/rerank", json={"model": "m", "query": "the quick fox", "documents": docs})
    assert r.status_code == 200, r.text
    body = r.json()
    # "the quick fox" in "quick, the fox!" 3/3, in "a quick brown fox" 2/3, in "the lazy dog" 1/3
    assert [(x["index"], x["relevance_score"]) for x in body["results"]] == [
        (2, 1.0),
        (0, 0.666667),
        (1, 0.333333),
    ]
    assert body["results"][1]["relevance_score"] == relevance("the quick fox", docs[0])
    assert body["usage"]["prompt_tokens"] == 3 * 3 + (4 + 3 + 5) == rerank_usage("the quick fox", docs)
    top = httpx.post(
        srv.url + "/rerank", json={"query": "fox", "documents": docs, "top_n": 1, "return_documents": True}
    ).json()
    assert top["results"] == [{"index": 0, "relevance_score": 1.0, "document": {"text": docs[0]}}]
    bad = httpx.post(srv.url + "/v1/rerank", json={"query": "q", "documents": "not a list"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "documents"
    assert srv.stats()["by_path"] == {"/v1/rerank": 1, "/rerank": 1}


def test_mock_responses_stream_and_body(mock_server):
    srv = mock_server(output_tokens=4)
    r = httpx.post(srv.url + "/v1/responses", json={"model": "m", "input": "hello there", "stream": True})
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
    kinds = [e["type"] for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds.count("response.output_text.delta") == 4 and kinds[-1] == "response.completed"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    final = events[-1]["response"]
    assert final["output"][0]["content"][0]["text"] == text and count_tokens(text) == 4
    assert final["usage"] == {
        "input_tokens": 2,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 4,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 6,
    }
    cut = httpx.post(
        srv.url + "/v1/responses",
        json={
            "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
            "max_output_tokens": 2,
        },
    ).json()
    assert cut["status"] == "incomplete" and cut["incomplete_details"] == {"reason": "max_output_tokens"}
    assert cut["usage"]["output_tokens"] == 2
    assert srv.stats()["prompts"] == {"hello there": 1, "hi": 1}


# -- runs through the CLI ------------------------------------------------------------------------


def test_cli_rerank_run(mock_server, tmp_path, pairs_file, evalscope_cli):
    srv = mock_server(ttft=0.01)
    out = evalscope_cli(
        "perf", "--model", "bge", "--url", srv.url, "--api", "rerank", "--dataset", "rerank",
        "--dataset-path", pairs_file, "--number", 8, "--parallel", 2,
        "--outputs-dir", tmp_path / "o", "--sleep-interval", 0,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    s = _summary(tmp_path / "o")
    assert s["Total requests"] == s["Succeed requests"] == 8 and s["Failed requests"] == 0
    # the two usable pairs alternate: 3 and 2 documents
    assert s["Average inputs per request"] == 2.5
    tokens = [
        rerank_usage(PAIRS[0]["query"], PAIRS[0]["documents"]),
        rerank_usage(PAIRS[1]["query"], PAIRS[1]["passages"]),
    ]
    assert s["Average input tokens per request"] == sum(tokens) / 2  # what the mock reported
    # inputs/s = documents ranked / duration; input tok/s = the mock's usage / duration
    assert s["Input throughput (inputs/s)"] == pytest.approx(20 / s["Time taken for tests (s)"], rel=2e-3)
    assert s["Input token throughput (tok/s)"] == pytest.approx(
        4 * sum(tokens) / s["Time taken for tests (s)"], rel=2e-3
    )
    for key in (
        "Average time to first token (s)",
        "Average time per output token (s)",
        "Average inter-token latency (s)",
    ):
        assert s[key] is None
    p = _percentiles(tmp_path / "o")
    assert set(p["TTFT (s)"]) == {None} and None not in p["Latency (s)"]
    assert srv.stats()["by_path"] == {"/v1/rerank": 8}
    assert srv.stats()["prompts"] == {PAIRS[0]["query"]: 4, PAIRS[1]["query"]: 4}
    # the console shows the input metrics and no TTFT row
    assert "Input throughput (inputs/s)" in out.stdout and "Average inputs per request" in out.stdout
    assert "time to first token" not in out.stdout and "TTFT" not in out.stdout


def test_random_rerank_lengths(mock_server, tmp_path, word_tokenizer):
    from evalscope.perf.api import run_perf

    srv = mock_server()
    run_perf(
        {
            "model": "r",
            "url": srv.url + "/v1",
            "api": "openai_rerank",
            "dataset": "random_rerank",
            "tokenizer_path": str(word_tokenizer),
            "min_prompt_length": 4,
            "max_prompt_length": 4,
            "extra_args": {"num_documents": 3, "document_length_ratio": 2},
            "number": 4,
            "parallel": 2,
            "outputs_dir": str(tmp_path / "o"),
            "sleep_interval": 0,
        },
        show_progress=False,
        show_summary=False,
    )
    s = _summary(tmp_path / "o")
    assert s["Succeed requests"] == 4 and s["Average inputs per request"] == 3
    # each pair: the 4-token query once per document plus the 8-token documents
    assert s["Average input tokens per request"] == 3 * 4 + 3 * 8


def test_cli_responses_stream_and_not(mock_server, tmp_path, prompts_txt, evalscope_cli):
    srv = mock_server(ttft=0.03, itl=0.005, output_tokens=6)
    base = ["perf", "--model", "gpt", "--url", srv.url + "/v1", "--api", "openai_responses", "--dataset",
            "line_by_line", "--dataset-path", prompts_txt, "--number", 6, "--parallel", 2, "--sleep-interval", 0]  # fmt: skip
    out = evalscope_cli(*base, "--outputs-dir", tmp_path / "s")
    assert out.returncode == 0, out.stderr
    s = _summary(tmp_path / "s")
    assert s["Total requests"] == s["Succeed requests"] == 6
    assert s["Average output tokens per request"] == 6  # response.completed's usage
    assert s["Average input tokens per request"] == sum(count_tokens(p) for p in PROMPTS) / 2
    # TTFT from the first output_text.delta: at least the mock's delay before it; ITL between deltas
    assert s["Average time to first token (s)"] >= 0.03
    assert s["Average inter-token latency (s)"] >= 0.005 and s["Average time per output token (s)"] >= 0.005
    assert s["Output token throughput (tok/s)"] == pytest.approx(36 / s["Time taken for tests (s)"], rel=2e-3)
    assert "Input throughput (inputs/s)" not in s
    assert srv.stats()["by_path"] == {"/v1/responses": 6}

    out = evalscope_cli(*base, "--no-stream", "--max-tokens", 4, "--outputs-dir", tmp_path / "n")
    assert out.returncode == 0, out.stderr
    n = _summary(tmp_path / "n")
    assert n["Succeed requests"] == 6 and n["Average output tokens per request"] == 4  # max_output_tokens
    # one body: its arrival is the first output (stamped just before it is parsed)
    assert 0.03 <= n["Average time to first token (s)"] <= n["Average latency (s)"]


def test_responses_faults_are_failed_requests(mock_server, tmp_path, prompts_txt, evalscope_cli):
    srv = mock_server(malformed_rate=1.0, output_tokens=4)
    out = evalscope_cli(
        "perf", "--model", "gpt", "--url", srv.url, "--api", "responses", "--dataset", "line_by_line",
        "--dataset-path", prompts_txt, "--number", 4, "--parallel", 2, "--outputs-dir", tmp_path / "o",
        "--sleep-interval", 0,
    )  # fmt: skip
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "every request failed" in out.stderr
    s = _summary(tmp_path / "o")
    assert s["Failed requests"] == 4 and s["Failures by reason"] == {"bad_chunk": 4}


# -- a server answering in the wrong shape -------------------------------------------------------


@pytest.fixture
def wrong_server() -> Iterator[str]:
    """A server whose /v1/rerank answers an embeddings-like body and whose /v1/responses streams a
    ``response.failed`` event after a first delta (both with status 200)."""

    async def rerank(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [], "usage": {"total_tokens": 3}})

    async def responses(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        delta = {"type": "response.output_text.delta", "delta": "Hi"}
        failed = {
            "type": "response.failed",
            "response": {"status": "failed", "error": {"message": "model crashed"}},
        }
        for ev in (delta, failed):
            await resp.write(f"event: {ev['type']}\ndata: {json.dumps(ev)}\n\n".encode())
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_post("/v1/rerank", rerank)
    app.router.add_post("/v1/responses", responses)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.run_until_complete(runner.cleanup())
    loop.close()


def test_wrong_shapes_are_failed_requests_with_a_reason(wrong_server, tmp_path, pairs_file, prompts_txt):
    from evalscope.errors import RunFailed
    from evalscope.perf.api import run_perf

    common = {"model": "m", "url": wrong_server, "number": 3, "parallel": 1, "sleep_interval": 0}
    with pytest.raises(RunFailed) as err:
        run_perf(
            {**common, "api": "rerank", "dataset": "rerank", "dataset_path": str(pairs_file),
             "outputs_dir": str(tmp_path / "r")},
            show_progress=False, show_summary=False,
        )  # fmt: skip
    s = _summary(tmp_path / "r")
    assert s["Failures by reason"] == {"bad_chunk": 3}
    assert "'results' list" in s["Failure examples"]["bad_chunk"] and "bad_chunk" in err.value.message
    with pytest.raises(RunFailed):
        run_perf(
            {**common, "api": "openai_responses", "dataset": "line_by_line", "dataset_path": str(prompts_txt),
             "outputs_dir": str(tmp_path / "s")},
            show_progress=False, show_summary=False,
        )  # fmt: skip
    s = _summary(tmp_path / "s")
    assert (
        s["Failures by reason"] == {"api_error": 3} and s["Failure examples"]["api_error"] == "model crashed"
    )


def test_rerank_dataset_needs_the_rerank_api(tmp_path, pairs_file, evalscope_cli):
    out = evalscope_cli(
        "perf", "--model", "m", "--url", "http://127.0.0.1:9", "--dataset", "rerank",
        "--dataset-path", pairs_file, "--outputs-dir", tmp_path,
    )  # fmt: skip
    assert out.returncode == 2 and "--api" in out.stderr and "Traceback" not in out.stderr
    out = evalscope_cli(
        "perf", "--model", "m", "--url", "http://127.0.0.1:9", "--api", "rerank", "--dataset", "random_rerank",
        "--tokenizer-path", tmp_path, "--extra-args", '{"num_documents": 0}', "--outputs-dir", tmp_path,
    )  # fmt: skip
    assert out.returncode == 2 and "--extra-args" in out.stderr and "num_documents" in out.stderr
